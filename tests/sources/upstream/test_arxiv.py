"""arXiv: RSS and API parsing on the real recorded bodies, one paper per id, and polls that
survive faults, resume backfills from their cursor, and keep arXiv's pacing.

Upstream is always a local FakeUpstream replaying tests/fixtures/upstream/; multi-page API
answers are built from the real 2026 and 2016 entries with ids and opensearch values rewritten.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from sotabot.bot.settings import Config
from sotabot.sources.poll import get_state
from sotabot.sources.upstream.arxiv import (
    ArxivApiError,
    ArxivFeedError,
    parse_api,
    parse_arxiv_id,
    parse_rss,
    poll,
    split_authors,
    store_items,
)
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Paper, PaperRepo, Repo, SourceState
from tests.fakes.clock import FakeClock
from tests.fakes.upstream import FakeUpstream, Fault, LoggedRequest, Reply

TODAY = datetime(2024, 11, 28, 15, 0, tzinfo=UTC)  # the day of the RSS capture
CONTACT = "lab-bot@example.org"
CATEGORIES = ["cs.CV", "cs.LG"]
RSS_PATH = "/rss/cs.CV+cs.LG"
API_PATH = "/api/query"


# ------------------------------------------------------------------------------ synthetic bodies


class AtomTemplate:
    """A real API body cut into head, entries and tail, so pages can be rebuilt byte for byte."""

    def __init__(self, raw: bytes) -> None:
        spans = list(re.finditer(rb"<entry>.*?</entry>\s*", raw, re.S))
        self.head, self.tail = raw[: spans[0].start()], raw[spans[-1].end() :]
        self.entries = [m.group(0) for m in spans]
        self.ids = [re.search(rb"<id>http://arxiv\.org/abs/(.+?)v\d+</id>", e).group(1) for e in self.entries]

    def entry(self, i: int, new_id: str) -> bytes:
        k = i % len(self.entries)
        return self.entries[k].replace(self.ids[k], new_id.encode())

    def page(self, entries: list[bytes], start: int, per_page: int, total: int) -> bytes:
        head = self.head
        for tag, value in (("totalResults", total), ("startIndex", start), ("itemsPerPage", per_page)):
            head = re.sub(rb"(<opensearch:%s[^>]*>)\d+" % tag.encode(), rb"\g<1>%d" % value, head)
        return head + b"".join(entries) + self.tail


class PagedApi:
    """`/api/query` answering `start`/`max_results` from N synthetic entries; logs what it served."""

    def __init__(self, template: bytes, total: int, first: int = 20000) -> None:
        self.template = AtomTemplate(template)
        self.total = total
        self.entries = [self.template.entry(i, f"2411.{first + i:05d}") for i in range(total)]
        self.served: list[int] = []
        self.queries: list[str] = []
        self.truncate_next = 0

    def __call__(self, req: LoggedRequest) -> Reply:
        start, size = int(req.query["start"][0]), int(req.query["max_results"][0])
        self.queries.append(req.query["search_query"][0])
        body = self.template.page(self.entries[start : start + size], start, size, self.total)
        if self.truncate_next:
            self.truncate_next -= 1
            return Reply.xml(body[: len(body) // 2])  # a complete HTTP answer holding cut XML
        self.served.append(start)
        return Reply.xml(body)


class Flaky:
    """A fixed body, cut short the first `times` it is served."""

    def __init__(self, body: bytes, times: int = 0) -> None:
        self.body, self.times = body, times

    def __call__(self, req: LoggedRequest) -> Reply:
        if self.times:
            self.times -= 1
            return Reply.xml(self.body[: len(self.body) // 3])
        return Reply.xml(self.body)


def rss_item(rss_slice: bytes, arxiv_id: str) -> bytes:
    """One real <item> of the 2024 slice."""
    match = re.search(rb"<item>(?:(?!</item>).)*?abs/%s</link>.*?</item>" % arxiv_id.encode(), rss_slice, re.S)
    assert match is not None
    return match.group(0)


def rss_feed(rss_slice: bytes, items: list[bytes], day: str = "Thu, 28 Nov 2024") -> bytes:
    """The 2024 slice's channel, dated `day`, holding `items`."""
    head = rss_slice[: rss_slice.index(b"<item>")].replace(b"Thu, 28 Nov 2024", day.encode())
    return head + b"\n".join(items) + b"\n  </channel>\n</rss>\n"


def announce(item: bytes, kind: str, version: int, title: str | None = None, category: str | None = None) -> bytes:
    """A real item re-announced as `kind` at `version` (as arXiv does for cross-lists and replacements)."""
    item = re.sub(rb"Announce Type: \S+", b"Announce Type: " + kind.encode(), item)
    item = re.sub(rb"<arxiv:announce_type>\S+</", b"<arxiv:announce_type>" + kind.encode() + b"</", item)
    item = re.sub(rb"(\d{4}\.\d{5})v\d+", rb"\g<1>v%d" % version, item)
    if title:
        item = re.sub(rb"<title>.*?</title>", b"<title>" + title.encode() + b"</title>", item, flags=re.S)
    if category:
        item = item.replace(b"<pubDate>", b"<category>" + category.encode() + b"</category>\n      <pubDate>", 1)
    return item


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def rss_slice(fixture_files) -> bytes:
    """The real combined cs.CV+cs.LG feed of Thursday 28 Nov 2024: 23 items."""
    return (fixture_files.upstream / "arxiv_rss_2024_slice.xml").read_bytes()


@pytest.fixture(scope="module")
def rss_empty(fixture_files) -> bytes:
    return (fixture_files.upstream / "arxiv_rss_empty_feed.xml").read_bytes()


@pytest.fixture(scope="module")
def rss_error(fixture_files) -> bytes:
    return (fixture_files.upstream / "arxiv_rss_error_feed.xml").read_bytes()


@pytest.fixture(scope="module")
def api_2026(fixture_files) -> bytes:
    return (fixture_files.upstream / "arxiv_api_query_2026.xml").read_bytes()


@pytest.fixture(scope="module")
def api_2016(fixture_files) -> bytes:
    return (fixture_files.upstream / "arxiv_api_query_legacy_2016.xml").read_bytes()


@pytest.fixture(scope="module")
def cassette(fixture_files) -> Callable[[str], tuple[int, bytes]]:
    """`cassette(name)`: the status and body of a recorded API exchange."""

    def load(name: str) -> tuple[int, bytes]:
        data = json.loads((fixture_files.upstream / name).read_text())
        return data["status_code"], data["body"].encode()

    return load


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=TODAY.timestamp())


@pytest.fixture
def server(clock: FakeClock, rss_slice: bytes):
    with FakeUpstream(clock=clock) as srv:
        srv.route(RSS_PATH, Reply.xml(rss_slice))
        yield srv


def make_config(server: FakeUpstream, **arxiv: object) -> Config:
    cfg = Config()
    cfg.sources.arxiv.rss_url = f"{server.url}/rss"
    cfg.sources.arxiv.api_url = f"{server.url}/api"
    cfg.sources.arxiv.categories = list(CATEGORIES)
    cfg.sources.arxiv.contact = CONTACT
    cfg.sources.arxiv.page_size = 10
    for key, value in arxiv.items():
        setattr(cfg.sources.arxiv, key, value)
    cfg.sources.http.timeout_seconds = 5.0
    cfg.sources.http.backoff_base_seconds = 1.0
    return cfg


def fresh_sqlite(tmp_path: Path, name: str) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(eng)
    return eng


def upsert_papers(session: Session, items: list) -> tuple[int, int]:
    """Store items as papers without link discovery; (new, updated)."""
    result = store_items(session, items, link=False)
    return len(result.new), len(result.updated)


def stored(engine: Engine) -> set[tuple[str, int, str]]:
    with Session(engine) as s:
        return {(p.arxiv_id or "", p.version, p.title) for p in s.exec(select(Paper)).all()}


def paper_rows(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Paper)).one()


def state(engine: Engine, source: str) -> SourceState:
    with Session(engine) as s:
        row = s.exec(select(SourceState).where(SourceState.source == source)).first()
        assert row is not None, f"no source_state row for {source}"
        return row


def get_paper(engine: Engine, arxiv_id: str) -> Paper:
    with Session(engine) as s:
        paper = s.exec(select(Paper).where(Paper.arxiv_id == arxiv_id)).one()
        s.expunge(paper)
        return paper


# -------------------------------------------------------------------------------------- RSS parsing


def test_rss_items_carry_the_id_without_version_the_version_and_the_announce_type(rss_slice):
    feed = parse_rss(rss_slice)
    assert feed.error is None and feed.announced == date(2024, 11, 28)
    assert len(feed.items) == 23
    by_id = {i.arxiv_id: i for i in feed.items}
    assert (by_id["2411.17700"].version, by_id["2411.17700"].announce_type) == (1, "new")
    assert (by_id["2405.12090"].version, by_id["2405.12090"].announce_type) == (3, "cross")
    assert (by_id["1401.3665"].version, by_id["1401.3665"].announce_type) == (4, "replace")
    assert {i.announce_type for i in feed.items} == {"new", "cross", "replace"}
    assert all("v" not in i.arxiv_id for i in feed.items)


def test_rss_abstract_loses_the_announce_prefix(rss_slice):
    feed = parse_rss(rss_slice)
    first = next(i for i in feed.items if i.arxiv_id == "2411.17700")
    assert first.abstract.startswith("This study investigates the influence of generative artificial intelligence")
    assert not any("Announce Type" in i.abstract or i.abstract.startswith(("arXiv:", "Abstract:")) for i in feed.items)


def test_rss_abstract_keeps_tex_less_than_signs_verbatim(rss_slice):
    item = next(i for i in parse_rss(rss_slice).items if i.arxiv_id == "2411.17730")
    assert r"$\frac{1}{3}<s<1$" in item.abstract  # an HTML sanitiser would make this "<s><1"


def test_rss_creator_is_split_without_breaking_parenthesised_affiliations(rss_slice):
    items = {i.arxiv_id: i for i in parse_rss(rss_slice).items}
    authors = items["2411.17817"].authors
    assert len(authors) == 8
    assert authors[0] == (
        "Tianliang Yan (University of Birmingham, School of Physics and Astronomy, Birmingham, United Kingdom)"
    )
    assert authors[-1].startswith("Denis Martynov (University of Birmingham")
    assert items["2411.17748"].authors[-1] == "Matthieu Urbain (LEMTA)"
    assert items["2411.17702"].authors == ["Hyewon Jeong", "Suyeol Yun", "Hammaad Adam"]


@pytest.mark.parametrize(
    ("creator", "expected"),
    [
        ("Jun Cui", ["Jun Cui"]),
        ("A. One, B. Two (Lab, Dept), C. Three", ["A. One", "B. Two (Lab, Dept)", "C. Three"]),
        ("A (X, (Y, Z)), B", ["A (X, (Y, Z))", "B"]),
        ("A, B, and C", ["A", "B", "C"]),
        ("", []),
    ],
)
def test_split_authors(creator, expected):
    assert split_authors(creator) == expected


def test_rss_first_category_is_primary_and_doi_and_journal_ref_are_kept(rss_slice):
    items = {i.arxiv_id: i for i in parse_rss(rss_slice).items}
    item = items["2411.17758"]
    assert item.categories == ["cs.GT", "cs.CR"] and item.primary_category == "cs.GT"
    assert item.doi == "10.1016/j.segan.2024.101477"
    assert item.journal_ref.startswith("Sustainable Energy, Grids and Networks")
    assert item.published == datetime(2024, 11, 28, 5, 0, tzinfo=UTC)


def test_rss_feed_error_channel_is_an_error_not_an_empty_day(rss_error):
    feed = parse_rss(rss_error)
    assert feed.items == []
    assert feed.error is not None and "Feed error for query" in feed.error and "Bad archive 'astroph'" in feed.error


def test_empty_weekend_feed_has_no_items_and_no_error(rss_empty):
    feed = parse_rss(rss_empty)
    assert feed.items == [] and feed.error is None


@pytest.mark.parametrize(
    "body_of",
    [
        pytest.param(lambda rss: rss[: len(rss) // 2], id="the-2024-slice-cut-in-half"),
        pytest.param(lambda rss: b"", id="empty"),
        pytest.param(lambda rss: b'{"truncated": [1, 2, ', id="cut-json"),
        pytest.param(lambda rss: b"<html>busy</html>", id="html"),
    ],
)
def test_truncated_or_foreign_rss_bodies_are_feed_errors(body_of, rss_slice):
    with pytest.raises(ArxivFeedError):
        parse_rss(body_of(rss_slice))


# -------------------------------------------------------------------------------------- API parsing


def test_api_2026_layout_gives_entries_totals_and_every_author(api_2026):
    page = parse_api(api_2026, 200)
    assert (page.total_results, page.start, page.per_page, len(page.entries)) == (214881, 0, 10, 10)
    first = page.entries[0]
    assert (first.arxiv_id, first.version) == ("2202.12139", 1)
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]  # not just the last one
    assert first.primary_category == "cs.SE" and first.categories == ["cs.SE", "cs.LG"]  # primary without scheme
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.published == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.updated == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)


def test_api_2016_layout_with_namespaces_on_elements_and_old_style_ids(api_2016):
    page = parse_api(api_2016, 200)
    assert (page.total_results, page.start, page.per_page, len(page.entries)) == (31, 0, 10, 10)
    by_id = {e.arxiv_id: e for e in page.entries}
    old = by_id["cond-mat/0412498"]
    assert old.version == 1 and old.authors == ["Adrian Del Maestro", "Subir Sachdev"]
    assert by_id["cond-mat/0607501"].version == 2
    assert by_id["1201.4869"].primary_category == "cond-mat.mes-hall"  # primary with a scheme attribute
    wrapped = by_id["cond-mat/0603029"]
    assert wrapped.title == (
        "From stripe to checkerboard order on the square lattice in the presence of quenched disorder"
    )
    assert all("\n" not in e.abstract and not e.abstract.startswith(" ") for e in page.entries)
    assert "(p >= 3, integer)" in old.abstract


def test_api_old_style_id_cassette(cassette):
    status, body = cassette("arxiv_api_oldstyle_id_cassette.json")
    (entry,) = parse_api(body, status).entries
    assert (entry.arxiv_id, entry.version, entry.primary_category) == ("astro-ph/0601001", 1, "astro-ph")
    assert entry.authors[0] == "Andrew Gould" and len(entry.authors) == 4


def test_api_http_400_error_entry_is_an_error_never_a_paper(cassette):
    status, body = cassette("arxiv_api_error_400_cassette.json")
    with pytest.raises(ArxivApiError, match="incorrect id format for abc") as info:
        parse_api(body, status)
    assert info.value.status == 400
    with pytest.raises(ArxivApiError):  # even if a proxy turned the status into 200
        parse_api(body, 200)


def test_api_empty_result_is_a_page_with_no_entries(cassette):
    status, body = cassette("arxiv_api_empty_cassette.json")
    page = parse_api(body, status)
    assert page.entries == [] and page.total_results == 0


def test_truncated_api_body_is_a_feed_error(api_2026):
    with pytest.raises(ArxivFeedError):
        parse_api(api_2026[: len(api_2026) // 2], 200)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://arxiv.org/abs/2202.12139v1", ("2202.12139", 1)),
        ("oai:arXiv.org:2411.17700v12", ("2411.17700", 12)),
        ("https://arxiv.org/abs/2411.17700", ("2411.17700", None)),
        ("http://arxiv.org/abs/cond-mat/0412498v1", ("cond-mat/0412498", 1)),
        ("cs/9301114", ("cs/9301114", None)),
        ("math.GT/0309136v2", ("math.GT/0309136", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("https://arxiv.org/api/errors#incorrect_id_format_for_abc", None),
        ("", None),
    ],
)
def test_parse_arxiv_id(text, expected):
    assert parse_arxiv_id(text) == expected


# -------------------------------------------------------------------------------------- storage


def _item(rss_slice: bytes, arxiv_id: str):
    return next(i for i in parse_rss(rss_slice).items if i.arxiv_id == arxiv_id)


def test_v1_then_cross_list_then_v2_is_one_paper_at_v2(engine, rss_slice):
    v1 = _item(rss_slice, "2411.17702")
    cross = dataclasses.replace(v1, announce_type="cross", categories=["stat.ML"], primary_category="stat.ML")
    v2 = dataclasses.replace(v1, announce_type="replace", version=2, title="Better Title", abstract="New abstract.")
    with Session(engine) as s:
        assert upsert_papers(s, [v1]) == (1, 0)
        assert upsert_papers(s, [cross]) == (0, 1)
        assert upsert_papers(s, [v2]) == (0, 1)
        s.commit()
    paper = get_paper(engine, "2411.17702")
    assert paper_rows(engine) == 1
    assert (paper.version, paper.title, paper.abstract) == (2, "Better Title", "New abstract.")
    assert paper.categories == ["eess.SP", "cs.LG", "stat.ML"] and paper.primary_category == "eess.SP"


def test_a_late_older_version_never_downgrades_the_paper(engine, rss_slice):
    v1 = _item(rss_slice, "2411.17702")
    v2 = dataclasses.replace(v1, announce_type="replace", version=2, title="Second version")
    with Session(engine) as s:
        assert upsert_papers(s, [v2, v1]) == (1, 0)  # both in one batch, newest first
        assert upsert_papers(s, [v1]) == (0, 0)
        s.commit()
    paper = get_paper(engine, "2411.17702")
    assert (paper.version, paper.title) == (2, "Second version")


def test_a_cross_list_only_adds_categories(engine, rss_slice):
    v1 = _item(rss_slice, "2411.17702")
    cross = dataclasses.replace(v1, announce_type="cross", title="Other text", categories=["q-bio.QM"])
    with Session(engine) as s:
        upsert_papers(s, [v1, cross])
        s.commit()
    paper = get_paper(engine, "2411.17702")
    assert paper.title == v1.title and paper.version == 1
    assert paper.categories == ["eess.SP", "cs.LG", "q-bio.QM"]


def test_the_api_adds_the_comment_and_submission_time_to_a_paper_seen_in_rss(engine, rss_slice, api_2026):
    rss = dataclasses.replace(_item(rss_slice, "2411.17702"), arxiv_id="2202.12139")
    api = parse_api(api_2026, 200).entries[0]
    with Session(engine) as s:
        upsert_papers(s, [rss])
        assert upsert_papers(s, [api]) == (0, 1)
        s.commit()
    paper = get_paper(engine, "2202.12139")
    assert paper.comment == api.comment
    assert paper.published.replace(tzinfo=UTC) == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)


def test_storing_the_same_feed_twice_stores_nothing_twice(engine, rss_slice):
    items = parse_rss(rss_slice).items
    with Session(engine) as s:
        first = store_items(s, items)
        second = store_items(s, items)
        s.commit()
    assert (len(first.new), len(first.updated)) == (23, 0)
    assert (len(second.new), len(second.updated), second.unchanged, second.linked) == (0, 0, 23, 0)
    assert paper_rows(engine) == 23


def test_code_in_the_feed_is_linked_as_official_abstract_links(engine, rss_slice):
    with Session(engine) as s:
        result = store_items(s, parse_rss(rss_slice).items)
        s.commit()
        links = s.exec(select(Paper.arxiv_id, Repo.url, PaperRepo.found_by, PaperRepo.official)
                       .join(PaperRepo, PaperRepo.paper_id == Paper.id).join(Repo, Repo.id == PaperRepo.repo_id)).all()
    assert result.linked == 2
    assert sorted(links) == [
        ("2411.17702", "https://github.com/mandiehyewon/goodviews_ecg", "abstract", True),  # ".git" dropped
        ("2411.17705", "https://github.com/kanyooo/eeg-dcnet", "abstract", True),  # "\href{...}{here}"
    ]


# -------------------------------------------------------------------------------------- polling


def test_poll_reads_one_combined_feed_and_records_each_category(engine, server, clock):
    report = poll(engine, make_config(server), clock=clock)
    assert report.ok, report.errors
    assert (report.new, report.updated, report.linked) == (23, 0, 2)
    assert [r.path for r in server.log] == [RSS_PATH]
    assert state(engine, "arxiv:rss").cursor == "2024-11-28"
    for category in CATEGORIES:
        row = state(engine, f"arxiv:rss:{category}")
        assert row.last_success_at is not None and row.last_error is None
    again = poll(engine, make_config(server), clock=clock)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 23)
    assert paper_rows(engine) == 23


def test_a_feed_error_is_an_error_for_that_category_and_the_others_still_arrive(
    engine, server, clock, rss_slice, rss_error
):
    server.route("/rss/cs.CV+astroph", Reply.xml(rss_error))
    server.route("/rss/cs.CV", Reply.xml(rss_slice))
    report = poll(engine, make_config(server, categories=["cs.CV", "astroph"]), clock=clock)
    assert report.errors and all("astroph" in e for e in report.errors)
    assert report.details["feed_errors"] == 1
    assert report.new == 23
    assert "Bad archive 'astroph'" in state(engine, "arxiv:rss:astroph").last_error
    assert state(engine, "arxiv:rss:cs.CV").last_error is None


def test_an_empty_weekend_feed_is_no_papers_and_no_error(engine, server, clock, rss_empty):
    server.route(RSS_PATH, Reply.xml(rss_empty))
    report = poll(engine, make_config(server), clock=clock)
    assert report.ok and report.new == 0
    assert state(engine, "arxiv:rss:cs.CV").last_success_at is not None


def test_backfill_pages_through_the_api_until_total_results(engine, server, clock, api_2026):
    api = PagedApi(api_2026, total=25)
    server.route(API_PATH, api)
    report = poll(engine, make_config(server), since=date(2024, 11, 25), clock=clock)
    assert report.ok, report.errors
    assert api.served == [0, 10, 20]
    assert report.details["api_entries"] == 25 and report.new == 23 + 25
    assert set(api.queries) == {"(cat:cs.CV OR cat:cs.LG) AND submittedDate:[202411250000 TO 202411282359]"}
    requests = server.requests_to(API_PATH)
    assert {(r.query["sortBy"][0], r.query["sortOrder"][0], r.query["max_results"][0]) for r in requests} == {
        ("submittedDate", "ascending", "10")
    }
    cursor = json.loads(state(engine, "arxiv:api").cursor)
    assert cursor["done"] is True


def test_backfill_of_the_2016_layout_stores_old_style_ids(engine, server, clock, api_2016, cassette):
    api = PagedApi(api_2016, total=10)
    server.route(API_PATH, api)
    status, body = cassette("arxiv_api_oldstyle_id_cassette.json")
    report = poll(engine, make_config(server), since=date(2024, 11, 27), clock=clock)
    assert report.ok and report.details["api_entries"] == 10
    server.route(API_PATH, Reply(status, body, {"Content-Type": "application/atom+xml"}))
    assert poll(engine, make_config(server), since=date(2024, 11, 27), clock=clock).ok
    assert get_paper(engine, "astro-ph/0601001").primary_category == "astro-ph"


def test_a_backfill_longer_than_a_week_is_asked_in_weekly_windows(engine, server, clock, api_2026):
    api = PagedApi(api_2026, total=5)
    server.route(API_PATH, api)
    report = poll(engine, make_config(server), since=date(2024, 11, 14), clock=clock)
    assert report.ok
    assert [q.split("submittedDate:")[1] for q in api.queries] == [
        "[202411140000 TO 202411202359]",
        "[202411210000 TO 202411272359]",
        "[202411280000 TO 202411282359]",
    ]
    assert paper_rows(engine) == 23 + 5


def test_an_empty_backfill_window_is_not_an_error(engine, server, clock, cassette):
    status, body = cassette("arxiv_api_empty_cassette.json")
    server.route(API_PATH, Reply(status, body, {"Content-Type": "application/atom+xml"}))
    report = poll(engine, make_config(server), since=date(2024, 11, 28), clock=clock)
    assert report.ok and report.details["api_entries"] == 0


def test_the_api_400_error_entry_is_recorded_and_never_stored(engine, server, clock, cassette):
    status, body = cassette("arxiv_api_error_400_cassette.json")
    server.route(API_PATH, Reply(status, body, {"Content-Type": "application/atom+xml"}))
    report = poll(engine, make_config(server), since=date(2024, 11, 25), clock=clock)
    assert any("incorrect id format for abc" in e for e in report.errors)
    assert len(server.requests_to(API_PATH)) == 1  # a refusal is not retried
    assert "incorrect id format" in state(engine, "arxiv:api").last_error
    with Session(engine) as s:
        assert s.exec(select(Paper).where(Paper.title == "Error")).first() is None
    assert paper_rows(engine) == 23


def test_under_faults_the_poll_converges_to_the_same_stored_set(engine, server, clock, tmp_path, rss_slice, api_2026):
    # Baseline: the same upstream without faults, into its own database.
    with FakeUpstream(clock=FakeClock(start=TODAY.timestamp())) as clean:
        clean.route(RSS_PATH, Reply.xml(rss_slice))
        clean.route(API_PATH, PagedApi(api_2026, total=25))
        baseline = fresh_sqlite(tmp_path, "baseline.db")
        assert poll(baseline, make_config(clean), since=date(2024, 11, 25), clock=clean.clock).ok
        expected = stored(baseline)
        baseline.dispose()

    api = PagedApi(api_2026, total=25)
    api.truncate_next = 1
    server.route(RSS_PATH, Flaky(rss_slice, times=1))
    server.route(API_PATH, api)
    server.fail("/rss/", Fault("status", status=503))
    server.fail("/rss/", Fault("status", status=429, retry_after="7"))
    server.fail(API_PATH, Fault("status", status=500))
    server.fail(API_PATH, Fault("timeout", seconds=0.6))
    server.fail(API_PATH, Fault("truncate"))
    server.fail(API_PATH, Fault("status", status=429, retry_after="11"))
    cfg = make_config(server)
    cfg.sources.http.timeout_seconds = 0.3
    report = poll(engine, cfg, since=date(2024, 11, 25), clock=clock)

    assert report.ok, report.errors
    assert stored(engine) == expected and len(expected) == 23 + 25
    assert paper_rows(engine) == len(expected)  # nothing duplicated
    log = server.log
    after_429 = [b.at - a.at for a, b in itertools.pairwise(log) if a.path.startswith("/rss/")][1]
    assert after_429 >= 7
    assert len(server.faults) == 0 and api.truncate_next == 0


def test_a_spent_retry_budget_mid_backfill_resumes_from_the_cursor(engine, server, clock, api_2026):
    api = PagedApi(api_2026, total=25)

    def first_page_then_outage(req: LoggedRequest) -> Reply:
        reply = api(req)
        if api.served == [0]:
            server.fail(API_PATH, Fault("status", status=503), times=3)
        return reply

    server.route(API_PATH, first_page_then_outage)
    cfg = make_config(server)
    cfg.sources.http.max_retries = 2
    first = poll(engine, cfg, since=date(2024, 11, 25), clock=clock)
    assert not first.ok and "503" in first.errors[0]
    api_state = state(engine, "arxiv:api")
    assert "503" in api_state.last_error
    assert json.loads(api_state.cursor)["start"] == 10
    assert paper_rows(engine) == 23 + 10

    second = poll(engine, cfg, clock=clock)  # no --since: the cursor says there is more
    assert second.ok, second.errors
    assert api.served == [0, 10, 20]  # every page exactly once: no gap, no duplicate
    assert second.details["api_entries"] == 15
    assert paper_rows(engine) == 23 + 25
    assert json.loads(state(engine, "arxiv:api").cursor)["done"] is True
    assert state(engine, "arxiv:api").last_success_at is not None


def test_requests_are_three_seconds_apart_and_name_the_contact(engine, server, clock, api_2026):
    server.route(API_PATH, PagedApi(api_2026, total=25))
    server.fail(API_PATH, Fault("status", status=503))
    cfg = make_config(server)
    poll(engine, cfg, since=date(2024, 11, 25), clock=clock)
    poll(engine, cfg, clock=clock)  # a second poll right after the first still waits its turn
    assert len(server.log) == 1 + 4 + 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(server.log)]
    assert min(gaps) >= 3.0
    assert all(CONTACT in r.headers["user-agent"] for r in server.log)


def test_missed_announcement_days_are_caught_up_through_the_api(engine, server, clock, api_2026):
    api = PagedApi(api_2026, total=3)
    server.route(API_PATH, api)
    with Session(engine) as s:
        get_state(s, "arxiv:rss").cursor = "2024-11-25"  # last seen Monday; the feed is Thursday's
        s.commit()
    report = poll(engine, make_config(server), clock=clock)
    assert report.ok and report.details["api_entries"] == 3
    assert api.queries == ["(cat:cs.CV OR cat:cs.LG) AND submittedDate:[202411240000 TO 202411282359]"]
    assert state(engine, "arxiv:rss").cursor == "2024-11-28"


def test_a_stalled_backfill_resumes_and_stretches_to_cover_newly_missed_days(engine, server, clock, api_2026):
    api = PagedApi(api_2026, total=15)
    server.route(API_PATH, api)
    stalled = {"since": "2024-11-20", "until": "2024-11-22", "chunk_from": "2024-11-20", "start": 10}
    with Session(engine) as s:
        get_state(s, "arxiv:api").cursor = json.dumps(stalled)
        get_state(s, "arxiv:rss").cursor = "2024-11-25"  # and Tuesday and Wednesday were missed too
        s.commit()
    report = poll(engine, make_config(server), clock=clock)
    assert report.ok, report.errors
    asked = [(q.split("submittedDate:")[1], r.query["start"][0])
             for q, r in zip(api.queries, server.requests_to(API_PATH), strict=True)]
    assert asked == [
        ("[202411200000 TO 202411262359]", "10"),  # the stalled window, from its offset, to a full week
        ("[202411270000 TO 202411282359]", "0"),
        ("[202411270000 TO 202411282359]", "10"),
    ]


@pytest.mark.parametrize(
    ("last_seen", "feed_day"), [("2024-11-27", "Thu, 28 Nov 2024"), ("2024-11-22", "Mon, 25 Nov 2024")]
)
def test_consecutive_announcement_days_need_no_api_catch_up(engine, server, clock, rss_slice, last_seen, feed_day):
    server.route(RSS_PATH, Reply.xml(rss_feed(rss_slice, [rss_item(rss_slice, "2411.17700")], day=feed_day)))
    with Session(engine) as s:
        get_state(s, "arxiv:rss").cursor = last_seen  # Wednesday -> Thursday, Friday -> Monday
        s.commit()
    assert poll(engine, make_config(server), clock=clock).ok
    assert server.requests_to("/api/") == []


def test_announced_cross_listed_and_replaced_over_three_days_is_one_paper(engine, server, clock, rss_slice):
    original = rss_item(rss_slice, "2411.17702")
    days = [
        rss_feed(rss_slice, [original]),
        rss_feed(rss_slice, [announce(original, "cross", 1, category="stat.ML")]),
        rss_feed(rss_slice, [announce(original, "replace", 2, title="Good Views for ECG, Revised")]),
    ]
    reports = []
    for body in days:
        server.route(RSS_PATH, Reply.xml(body))
        reports.append(poll(engine, make_config(server), clock=clock))
    assert [(r.new, r.updated) for r in reports] == [(1, 0), (0, 1), (0, 1)]
    paper = get_paper(engine, "2411.17702")
    assert paper_rows(engine) == 1
    assert (paper.version, paper.title) == (2, "Good Views for ECG, Revised")
    assert paper.categories == ["eess.SP", "cs.LG", "stat.ML"]


def test_a_dead_upstream_ends_the_poll_with_errors_not_an_exception(engine, server, clock):
    server.fail("/", Fault("status", status=503), times=100)
    cfg = make_config(server)
    cfg.sources.http.max_retries = 1
    report = poll(engine, cfg, since=date(2024, 11, 25), clock=clock)
    assert len(report.errors) == 2  # RSS and API
    assert "503" in state(engine, "arxiv:rss:cs.LG").last_error
    assert "503" in state(engine, "arxiv:api").last_error
    assert paper_rows(engine) == 0


def test_a_since_date_in_the_future_is_a_clear_error(engine, server, clock):
    report = poll(engine, make_config(server), since=TODAY.date() + timedelta(days=1), clock=clock)
    assert report.errors == ["--since 2024-11-29 is after today (2024-11-28)"]
    assert server.log == []


def test_sotabot_poll_arxiv_since_runs_the_backfill(server, tmp_path, monkeypatch, capsys, api_2026):
    from sotabot.bot.cli import main

    api = PagedApi(api_2026, total=12)
    server.route(API_PATH, api)
    env = {
        "SOTABOT_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SOTABOT_SOURCES__ARXIV__RSS_URL": f"{server.url}/rss",
        "SOTABOT_SOURCES__ARXIV__API_URL": f"{server.url}/api",
        "SOTABOT_SOURCES__ARXIV__CATEGORIES": "cs.CV,cs.LG",
        "SOTABOT_SOURCES__ARXIV__MIN_INTERVAL_SECONDS": "0",  # real clock here: do not wait 3 s
        "SOTABOT_SOURCES__ARXIV__PAGE_SIZE": "10",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    since = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    assert main(["poll", "arxiv", "--since", since, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["new"], report["linked"], report["errors"]) == (23 + 12, 2, [])
    assert api.served == [0, 10]


def test_no_configured_categories_is_a_clear_error(engine, server, clock):
    report = poll(engine, make_config(server, categories=[]), clock=clock)
    assert report.errors == ["sources.arxiv.categories is empty: nothing to poll"]
    assert server.log == []
