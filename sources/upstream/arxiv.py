"""arXiv: daily announcements from the RSS feeds, catch-up and backfill from the API.

One Paper per arXiv id: a v1 announcement, a cross-listing and a v2 replacement are the same
paper at version 2 (never downgraded). Politeness follows arXiv's terms: one request every
`min_interval_seconds` per process over one connection, with the operator's contact address
in the User-Agent. Upstream failures never escape `poll`: they are retried by PoliteClient,
then recorded in source_state and the report; an API backfill saves its cursor after every
committed page so the next poll resumes it with no gap and no duplicate.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import weakref
import xml.sax
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import feedparser
import httpx
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.sources.normalise.links import discover_links_for, mentions_code
from sotabot.sources.poll import PollReport, get_state, record_outcome, run_poll
from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import Clock, PoliteClient, Politeness, SystemClock, UpstreamError, user_agent
from sotabot.storage.db import chunks, session_scope
from sotabot.storage.models import Paper, as_utc

log = logging.getLogger(__name__)

SOURCE = "arxiv"
RSS_STATE = "arxiv:rss"
API_STATE = "arxiv:api"
CHUNK_DAYS = 7  # submittedDate windows per API query: keeps start+max_results far below arXiv's 30,000 cap
MALFORMED_RETRIES = 2  # a 200 with a truncated or empty-by-mistake body is fetched again this many times

# New-style (2411.17700, 0704.0001) and old-style (cs/9301114, math.GT/0309136) ids, optional version.
_ID = re.compile(
    r"(?:^|[/:])(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z-]{2,})?/\d{7})(?:v(?P<v>\d+))?/?$",
    re.IGNORECASE,
)
_RSS_PREFIX = re.compile(
    r"^\s*arXiv:(?P<ref>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'([^']+)'")


class ArxivError(Exception):
    """arXiv answered, but not with papers."""


class ArxivApiError(ArxivError):
    """The API refused the query (HTTP 400 with an Atom "Error" entry, or another 4xx)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ArxivFeedError(ArxivError):
    """The body is not a complete feed (truncated, empty, not XML): worth fetching again."""


@dataclass
class ArxivItem:
    """One paper as an RSS item or an API entry says it is, before storage."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    primary_category: str | None
    source: Literal["rss", "api"]
    announce_type: str | None = None  # RSS only: new | cross | replace | replace-cross
    comment: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    published: datetime | None = None
    updated: datetime | None = None


@dataclass
class RssFeed:
    items: list[ArxivItem] = field(default_factory=list)
    error: str | None = None  # the "Feed error for query" channel: an error, not "no papers"
    title: str = ""
    announced: date | None = None  # the announcement day the feed is for
    skipped: int = 0  # items without a recognisable arXiv id


@dataclass
class ApiPage:
    entries: list[ArxivItem]
    total_results: int
    start: int
    per_page: int


# ---------------------------------------------------------------------------------------- parsing


def parse_arxiv_id(text: str | None) -> tuple[str, int | None] | None:
    """(id without version, version or None) from an id, abs URL or OAI guid; None if none."""
    if not text:
        return None
    match = _ID.search(text.strip())
    if match is None:
        return None
    return match["id"], int(match["v"]) if match["v"] else None


def unwrap(text: str | None) -> str:
    """Undo arXiv's hard wrapping: every run of whitespace becomes one space."""
    return " ".join(text.split()) if text else ""


def split_authors(creator: str) -> list[str]:
    """Split RSS `dc:creator` on commas, but not on commas inside "(Affil, Dept)"."""
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for char in creator:
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        if char == "," and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    cleaned = []
    for name in names:
        name = unwrap(name)
        if name.lower().startswith("and "):
            name = name[4:].lstrip()
        if name:
            cleaned.append(name)
    return cleaned


def _parse_feed(data: bytes) -> feedparser.FeedParserDict:
    # A BytesIO, never raw bytes: feedparser would try a short body as a file name first.
    # arXiv text is plain text, not HTML: sanitising turns "$1<s<2$" into "$1<s><2$".
    return feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)


def _check_well_formed(parsed: feedparser.FeedParserDict, kind: str) -> None:
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        raise ArxivFeedError(f"malformed {kind} ({parsed['bozo_exception']})")
    if not str(parsed.get("version") or "").startswith(kind):
        raise ArxivFeedError(f"not an {kind} feed")


def _utc(struct: time.struct_time | None) -> datetime | None:
    return datetime(*struct[:6], tzinfo=UTC) if struct else None


def _rss_item(entry: feedparser.FeedParserDict) -> ArxivItem | None:
    description = entry.get("summary") or ""
    prefix = _RSS_PREFIX.match(description)
    ident = parse_arxiv_id(entry.get("id")) or parse_arxiv_id(entry.get("link"))
    if prefix is not None:
        ident = ident or parse_arxiv_id(prefix["ref"])
        if ident and ident[1] is None:
            ident = (ident[0], (parse_arxiv_id(prefix["ref"]) or (None, None))[1])
        description = description[prefix.end() :]
    if ident is None:
        return None
    announce = (entry.get("arxiv_announce_type") or (prefix["type"] if prefix else "new")).strip().lower()
    authors = [a for author in entry.get("authors", []) for a in split_authors(author.get("name", ""))]
    categories = list(dict.fromkeys(t["term"] for t in entry.get("tags", []) if t.get("term")))
    announced = _utc(entry.get("published_parsed"))
    replaced = announce.startswith("replace")
    return ArxivItem(
        arxiv_id=ident[0],
        version=ident[1] or 1,
        title=unwrap(entry.get("title")),
        abstract=unwrap(description),
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        source="rss",
        announce_type=announce,
        doi=entry.get("arxiv_doi"),
        journal_ref=entry.get("arxiv_journal_reference") or entry.get("arxiv_journal_ref"),
        published=None if replaced else announced,
        updated=announced,
    )


def parse_rss(data: bytes) -> RssFeed:
    """An arXiv RSS 2.0 feed (rss.arxiv.org, 2024+). Raises ArxivFeedError if malformed."""
    parsed = _parse_feed(data)
    _check_well_formed(parsed, "rss")
    title = unwrap(parsed.feed.get("title"))
    announced_at = _utc(parsed.feed.get("published_parsed"))
    feed = RssFeed(title=title, announced=announced_at.date() if announced_at else None)
    if title.lower().startswith("feed error"):
        detail = unwrap(parsed.feed.get("subtitle"))
        feed.error = f"{title}: {detail}" if detail else title
        return feed
    for entry in parsed.entries:
        item = _rss_item(entry)
        if item is None:
            feed.skipped += 1
            log.warning("arxiv rss: item without an arXiv id skipped (%s)", entry.get("id"))
        else:
            feed.items.append(item)
    return feed


def _api_errors(parsed: feedparser.FeedParserDict) -> list[str]:
    """Messages of the API's Atom "Error" entries (id .../api/errors#...)."""
    return [
        unwrap(e.get("summary")) or unwrap(e.get("id"))
        for e in parsed.entries
        if "/api/errors" in (e.get("id") or "") or unwrap(e.get("title")) == "Error"
    ]


def _api_entry(entry: feedparser.FeedParserDict) -> ArxivItem | None:
    ident = parse_arxiv_id(entry.get("id"))
    if ident is None:
        return None
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    tags = [t["term"] for t in entry.get("tags", []) if t.get("term")]
    categories = list(dict.fromkeys(([primary] if primary else []) + tags))
    comment = unwrap(entry.get("arxiv_comment")) or None
    return ArxivItem(
        arxiv_id=ident[0],
        version=ident[1] or 1,
        title=unwrap(entry.get("title")),
        abstract=unwrap(entry.get("summary")),
        # entry.author is the *last* author in feedparser; entry.authors is all of them.
        authors=[unwrap(a.get("name")) for a in entry.get("authors", []) if unwrap(a.get("name"))],
        categories=categories,
        primary_category=primary or (categories[0] if categories else None),
        source="api",
        comment=comment,
        doi=entry.get("arxiv_doi"),
        journal_ref=unwrap(entry.get("arxiv_journal_ref")) or None,
        published=_utc(entry.get("published_parsed")),
        updated=_utc(entry.get("updated_parsed")),
    )


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_api(data: bytes, status: int) -> ApiPage:
    """One page of `/api/query` (current and 2016 Atom layouts).

    Raises ArxivApiError when arXiv refused the query (the HTTP 400 Atom "Error" entry is an
    error, never a paper) and ArxivFeedError when the body is not a complete Atom feed.
    """
    parsed = _parse_feed(data)
    errors = _api_errors(parsed) if str(parsed.get("version") or "").startswith("atom") else []
    if status != 200 or errors:
        message = "; ".join(errors) or f"HTTP {status}"
        raise ArxivApiError(f"arXiv API error: {message}", status=status)
    _check_well_formed(parsed, "atom")
    total = _int(parsed.feed.get("opensearch_totalresults"))
    if total is None:
        raise ArxivFeedError("API feed without opensearch:totalResults")
    entries = []
    for raw in parsed.entries:
        item = _api_entry(raw)
        if item is None:
            log.warning("arxiv api: entry without an arXiv id skipped (%s)", raw.get("id"))
        else:
            entries.append(item)
    return ApiPage(
        entries=entries,
        total_results=total,
        start=_int(parsed.feed.get("opensearch_startindex"), 0) or 0,
        per_page=_int(parsed.feed.get("opensearch_itemsperpage"), len(entries)) or 0,
    )


# ---------------------------------------------------------------------------------------- storage


@dataclass
class StoreResult:
    new: list[str] = field(default_factory=list)  # arXiv ids
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    linked: int = 0


@dataclass
class _Draft:
    """A paper about to be inserted: the same fields `_merge` folds into a stored Paper."""

    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    primary_category: str | None
    published: datetime | None
    updated: datetime | None
    comment: str | None

    @classmethod
    def of(cls, item: ArxivItem) -> _Draft:
        return cls(
            version=item.version,
            title=item.title,
            abstract=item.abstract,
            authors=list(item.authors),
            categories=list(item.categories),
            primary_category=item.primary_category,
            published=item.published,
            updated=item.updated,
            comment=item.comment,
        )


def _merge(paper: Paper | _Draft, item: ArxivItem) -> bool:
    """Fold a later sighting of the same paper into the row; True if anything changed."""
    changed = False
    if item.version > paper.version:
        # A newer version: its text replaces ours. Never the other way round.
        paper.version = item.version
        paper.title = item.title or paper.title
        paper.abstract = item.abstract or paper.abstract
        paper.authors = list(item.authors) or paper.authors
        if item.updated is not None:
            paper.updated = item.updated
        if item.comment is not None:
            paper.comment = item.comment
        changed = True
    elif item.version == paper.version and item.source == "api":
        # The API knows things RSS does not (comment); same version, so same text.
        if item.comment and item.comment != paper.comment:
            paper.comment = item.comment
            changed = True
        if item.authors and item.authors != paper.authors:
            paper.authors = list(item.authors)
            changed = True
    # Cross-lists only ever add categories; the primary one stays first.
    extra = [c for c in item.categories if c not in paper.categories]
    if extra:
        paper.categories = [*paper.categories, *extra]
        changed = True
    if paper.primary_category is None and item.primary_category:
        paper.primary_category = item.primary_category
        changed = True
    # The API's `published` is the v1 submission time; RSS only knows the announcement day.
    if item.published is not None and (
        paper.published is None or (item.source == "api" and as_utc(paper.published) != item.published)
    ):
        paper.published = item.published
        changed = True
    return changed


def store_items(
    session: Session, items: Iterable[ArxivItem], *, now: datetime | None = None, link: bool = True
) -> StoreResult:
    """Upsert papers (one per arXiv id) and, for new or changed ones, discover code links.

    Known papers are loaded in one query per 500 ids and merged; unknown ones go in as one
    bulk INSERT (a day of announcements is thousands of rows), all in the caller's transaction.
    """
    now = now or datetime.now(UTC)
    by_id: dict[str, list[ArxivItem]] = {}
    for item in items:
        by_id.setdefault(item.arxiv_id, []).append(item)
    existing: dict[str, Paper] = {}
    for chunk in chunks(list(by_id)):
        for paper in session.exec(select(Paper).where(col(Paper.arxiv_id).in_(chunk))).all():
            existing[paper.arxiv_id or ""] = paper
    result = StoreResult()
    rows: list[dict[str, Any]] = []
    texts: dict[str, tuple[str, str | None]] = {}
    for arxiv_id, sightings in by_id.items():
        paper = existing.get(arxiv_id)
        if paper is None:
            draft = _Draft.of(sightings[0])
            for later in sightings[1:]:
                _merge(draft, later)
            rows.append({"arxiv_id": arxiv_id, "hf_upvotes": None, "first_seen_at": now, **vars(draft)})
            result.new.append(arxiv_id)
            texts[arxiv_id] = (draft.abstract, draft.comment)
            continue
        changed = False
        for item in sightings:
            changed = _merge(paper, item) or changed
        if changed:
            session.add(paper)
            result.updated.append(arxiv_id)
            texts[arxiv_id] = (paper.abstract, paper.comment)
        else:
            result.unchanged += 1
    if rows:
        session.exec(insert(Paper), params=rows)
    session.flush()
    if link:
        # Only the few papers whose text names GitHub are loaded back for linking.
        with_code = [aid for aid, (abstract, comment) in texts.items() if mentions_code(abstract, comment)]
        papers: list[Paper] = []
        for chunk in chunks(with_code):
            papers += session.exec(select(Paper).where(col(Paper.arxiv_id).in_(chunk))).all()
        result.linked = discover_links_for(session, papers)
    return result


# ---------------------------------------------------------------------------------------- polling


@dataclass
class BackfillCursor:
    """Where an API catch-up stands: the window, the 7-day chunk being paged, the offset."""

    since: date
    until: date
    chunk_from: date
    start: int = 0
    total: int | None = None

    @property
    def done(self) -> bool:
        return self.chunk_from > self.until

    @property
    def chunk_to(self) -> date:
        return min(self.chunk_from + timedelta(days=CHUNK_DAYS - 1), self.until)

    def to_json(self) -> str:
        data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}
        return json.dumps({**data, "done": self.done}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> BackfillCursor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                since=date.fromisoformat(data["since"]),
                until=date.fromisoformat(data["until"]),
                chunk_from=date.fromisoformat(data["chunk_from"]),
                start=int(data.get("start") or 0),
                total=data.get("total"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("arxiv: unreadable API cursor %r ignored", text)
            return None


_SYSTEM_CLOCK = SystemClock()
# When each clock last saw a poll's final request: pacing holds across polls, not only within one.
_LAST_POLL_END: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

T = TypeVar("T")


def _client(config: SourcesSettings, clock: Clock, transport: httpx.BaseTransport | None) -> PoliteClient:
    arxiv = config.sources.arxiv
    return PoliteClient(
        arxiv.api_url,
        politeness=Politeness.from_config(config.sources.http, min_interval=arxiv.min_interval_seconds),
        user_agent=user_agent(arxiv.contact),
        clock=clock,
        transport=transport,
        name="arxiv",
    )


def _fetch(client: PoliteClient, url: str, params: dict[str, Any] | None, parse: Callable[[bytes, int], T]) -> T:
    """GET and parse; a body that is not a complete feed is fetched again a few times."""
    for attempt in range(MALFORMED_RETRIES + 1):
        response = client.get(url, params=params)
        try:
            return parse(response.content, response.status_code)
        except ArxivFeedError as exc:
            if attempt == MALFORMED_RETRIES:
                raise
            delay = min(client.politeness.backoff_max, client.politeness.backoff_base * 2**attempt)
            log.warning("arxiv %s: %s; fetching again in %.1fs", url, exc, delay)
            client.clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _rss_response(data: bytes, status: int) -> RssFeed:
    if status != 200:
        raise ArxivApiError(f"RSS answered HTTP {status}", status=status)
    return parse_rss(data)


def _weekdays_between(first: date, last: date) -> int:
    """Weekdays strictly between two dates: announcement days a poll may have missed."""
    day, count = first + timedelta(days=1), 0
    while day < last:
        count += day.weekday() < 5
        day += timedelta(days=1)
    return count


def _bad_categories(error: str, asked: Sequence[str]) -> list[str]:
    named = {q.lower() for q in _QUOTED.findall(error)}
    return [c for c in asked if c.lower() in named]


def _count(report: PollReport, result: StoreResult) -> None:
    report.new += len(result.new)
    report.updated += len(result.updated)
    report.unchanged += result.unchanged
    report.linked += result.linked


def _poll_rss(
    engine: Engine, config: SourcesSettings, client: PoliteClient, report: PollReport, now: datetime
) -> date | None:
    """Fetch the combined category feed; returns the first day a backfill should cover, if any."""
    arxiv = config.sources.arxiv
    pending = list(dict.fromkeys(arxiv.categories))
    while pending:
        url = f"{arxiv.rss_url.rstrip('/')}/{'+'.join(pending)}"
        try:
            feed = _fetch(client, url, None, _rss_response)
        except (UpstreamError, ArxivError) as exc:
            message = f"rss {'+'.join(pending)}: {exc}"
            log.warning("arxiv %s", message)
            report.errors.append(message)
            for category in pending:
                record_outcome(engine, f"{RSS_STATE}:{category}", str(exc), now)
            record_outcome(engine, RSS_STATE, str(exc), now)
            return None
        if feed.error:
            bad = _bad_categories(feed.error, pending) or pending
            for category in bad:
                report.errors.append(f"rss {category}: {feed.error}")
                record_outcome(engine, f"{RSS_STATE}:{category}", feed.error, now)
            report.add("feed_errors", len(bad))
            pending = [c for c in pending if c not in bad]
            if not pending:
                record_outcome(engine, RSS_STATE, feed.error, now)
            continue
        with session_scope(engine) as session:
            result = store_items(session, feed.items, now=now)
            state = get_state(session, RSS_STATE)
            previous = _date_or_none(state.cursor)
            if feed.announced and (previous is None or feed.announced > previous):
                state.cursor = feed.announced.isoformat()
                session.add(state)
        _count(report, result)
        report.add("rss_items", len(feed.items))
        for category in pending:
            record_outcome(engine, f"{RSS_STATE}:{category}", None, now)
        record_outcome(engine, RSS_STATE, None, now)
        if previous and feed.announced and _weekdays_between(previous, feed.announced) > 0:
            log.info("arxiv: announcements missed between %s and %s; catching up", previous, feed.announced)
            return previous - timedelta(days=1)
        return None
    return None


def _date_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _plan_backfill(engine: Engine, since: date | None, gap_from: date | None, today: date) -> BackfillCursor | None:
    """The backfill to run now: a saved unfinished one (stretched if more is needed), or a new one.

    Days before the saved cursor's chunk are done, so a need that starts at or after its
    `since` only stretches its end to today; an earlier need starts over from that day.
    """
    with Session(engine) as session:
        saved = BackfillCursor.from_json(get_state(session, API_STATE).cursor)
        session.commit()
    active = saved if saved is not None and not saved.done else None
    needed = min((d for d in (since, gap_from) if d is not None), default=None)
    if active is not None:
        if needed is None:
            return active
        if needed >= active.since:
            active.until = max(active.until, today)
            return active
    if needed is None:
        return None
    return BackfillCursor(since=needed, until=today, chunk_from=needed)


def search_query(categories: Sequence[str], first: date, last: date) -> str:
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND submittedDate:[{first:%Y%m%d}0000 TO {last:%Y%m%d}2359]"


def _poll_api(
    engine: Engine,
    config: SourcesSettings,
    client: PoliteClient,
    report: PollReport,
    cursor: BackfillCursor,
    now: datetime,
) -> None:
    arxiv = config.sources.arxiv
    url = f"{arxiv.api_url.rstrip('/')}/query"
    categories = list(dict.fromkeys(arxiv.categories))
    page_size = max(1, arxiv.page_size)
    while not cursor.done:
        params = {
            "search_query": search_query(categories, cursor.chunk_from, cursor.chunk_to),
            "start": cursor.start,
            "max_results": page_size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        start = cursor.start

        def parse(data: bytes, status: int, start: int = start) -> ApiPage:
            page = parse_api(data, status)
            if not page.entries and start < page.total_results:
                # arXiv sometimes answers a page in the middle with no entries; ask again.
                raise ArxivFeedError(f"empty page at start={start} of {page.total_results}")
            return page

        try:
            page = _fetch(client, url, params, parse)
        except (UpstreamError, ArxivError) as exc:
            message = f"api {cursor.chunk_from}..{cursor.chunk_to} start={cursor.start}: {exc}"
            log.warning("arxiv %s", message)
            report.errors.append(message)
            record_outcome(engine, API_STATE, message, now)
            return
        with session_scope(engine) as session:
            result = store_items(session, page.entries, now=now)
            cursor.start += len(page.entries)
            cursor.total = page.total_results
            if not page.entries or cursor.start >= page.total_results:
                cursor.chunk_from = cursor.chunk_to + timedelta(days=1)
                cursor.start, cursor.total = 0, None
            state = get_state(session, API_STATE)
            state.cursor = cursor.to_json()  # committed with the page it describes
            session.add(state)
        _count(report, result)
        report.add("api_entries", len(page.entries))
        report.add("api_pages", 1)
    record_outcome(engine, API_STATE, None, now)


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PollReport:
    """One arXiv poll: today's RSS for the configured categories, then any API catch-up.

    `since` backfills submissions from that day to today through the API; without it the API
    is only used to resume an unfinished backfill or to fill announcement days the RSS missed.
    """
    clock = clock or _SYSTEM_CLOCK
    now = datetime.fromtimestamp(clock.time(), UTC)
    today = now.date()
    if since is not None and since > today:
        return _refused(f"--since {since} is after today ({today})")
    if not config.sources.arxiv.categories:
        return _refused("sources.arxiv.categories is empty: nothing to poll")
    last = _LAST_POLL_END.get(clock)
    interval = config.sources.arxiv.min_interval_seconds
    if last is not None and last + interval > clock.monotonic():
        clock.sleep(last + interval - clock.monotonic())
    client = _client(config, clock, transport)

    def body(report: PollReport) -> None:
        try:
            gap_from = _guard(report, "rss", lambda: _poll_rss(engine, config, client, report, now))
            cursor = _guard(report, "api plan", lambda: _plan_backfill(engine, since, gap_from, today))
            if cursor is not None:
                _guard(report, "api", lambda: _poll_api(engine, config, client, report, cursor, now))
        finally:
            if client.requests:
                _LAST_POLL_END[clock] = clock.monotonic()

    # the RSS and API phases record their own states (per category, rss, api)
    return run_poll(engine, SOURCE, body, client=client, record=False)


def _refused(error: str) -> PollReport:
    report = PollReport(SOURCE)
    report.errors.append(error)
    return report


def _guard(report: PollReport, phase: str, run: Callable[[], T]) -> T | None:
    """Run one phase; an unexpected failure is logged and reported, never raised to the caller."""
    try:
        return run()
    except Exception as exc:
        log.exception("arxiv %s failed", phase)
        report.errors.append(f"{phase}: {type(exc).__name__}: {exc}")
        return None
