"""Hugging Face Hub benchmark leaderboards against a local server replaying the fixture JSON.

The fixture files (tests/fixtures/huggingface-leaderboards/) are served byte for byte;
the scenarios they do not cover (a leaderboard that gains a record, a lower-is-better WER
benchmark, a listing of many benchmarks over several pages) are built from the fixture rows
and summaries, in the same field names.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from sotabot.bot.settings import Config
from sotabot.sources.upstream.hf_leaderboards import parse_leaderboard, poll
from sotabot.storage.config import Secret
from sotabot.storage.models import (
    Benchmark,
    Dataset,
    Metric,
    Paper,
    Result,
    ResultEvent,
    ResultValue,
    SourceState,
    Task,
)
from tests.fakes.clock import FakeClock
from tests.fakes.hub import FakeHub, listing
from tests.fakes.upstream import FakeUpstream, Fault, Reply

LIST = "/api/datasets"
LISTING_QUERY = {"filter": ["benchmark:official"], "expand": ["tags", "cardData"]}  # the card is not listed unasked
OLMOCR = "allenai/olmOCR-bench"
CODE = "example-org/code-bench"
SPEECH = "example-org/speech-bench"


def board_path(repo_id: str) -> str:
    return f"/api/datasets/{repo_id}/leaderboard"


@dataclass(frozen=True)
class HubFixtures:
    """The fixture files of one folder, as server bodies or parsed, and rows and summaries built like them."""

    folder: Path

    def reply(self, name: str) -> Reply:
        """A fixture file as the server's body, unchanged."""
        return Reply(200, (self.folder / name).read_bytes(), {"Content-Type": "application/json"})

    def truncated_reply(self, name: str) -> Reply:
        """The first half of a fixture file: a complete HTTP answer holding cut JSON."""
        body = (self.folder / name).read_bytes()
        return Reply(200, body[: len(body) // 2], {"Content-Type": "application/json"})

    def load(self, name: str) -> Any:
        """A fixture file parsed, a fresh copy each call."""
        return json.loads((self.folder / name).read_text())

    def rows_like_fixture(self, values: list[tuple[str, float, bool]]) -> list[dict]:
        """Leaderboard rows in the fixture's shape (the first fixture row as template), ranked as given."""
        template = self.load("leaderboard_example.json")[0]
        out = []
        for rank, (model, value, verified) in enumerate(values, start=1):
            row = copy.deepcopy(template)
            row.update(rank=rank, modelId=model, value=value, verified=verified)
            row["source"]["url"] = f"https://huggingface.co/{model}"
            out.append(row)
        return out

    def summary_like_fixture(self, repo_id: str, **extra: Any) -> dict:
        item = copy.deepcopy(self.load("datasets_benchmarks_example.json")[1])  # the one without task tags
        item.update(id=repo_id, author=repo_id.split("/")[0], **extra)
        return item


@pytest.fixture(scope="module")
def hf_files(fixture_files) -> HubFixtures:
    return HubFixtures(fixture_files.hf_leaderboards)


@pytest.fixture
def speech_summary(hf_files: HubFixtures) -> dict:
    return hf_files.summary_like_fixture(
        SPEECH,
        tags=["benchmark:official", "task_categories:automatic-speech-recognition"],
        cardData={"pretty_name": "Speech Bench", "train-eval-index": [{"metrics": [{"type": "wer", "name": "WER"}]}]},
    )


def make_config(url: str, **hf: object) -> Config:
    cfg = Config()
    cfg.sources.huggingface.api_url = url + "/api"
    cfg.sources.http.max_retries = 1
    cfg.sources.http.backoff_base_seconds = 1.0
    for key, value in hf.items():
        setattr(cfg.sources.huggingface, key, value)
    return cfg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock, hf_files: HubFixtures):
    """The fixture listing and olmOCR-bench's leaderboard; code-bench has none (404)."""
    with FakeUpstream(clock=clock) as srv:
        srv.route(LIST, hf_files.reply("datasets_benchmarks_example.json"))
        srv.route(board_path(OLMOCR), hf_files.reply("leaderboard_example.json"))
        yield srv


def run(engine, srv: FakeUpstream, clock: FakeClock, cfg: Config | None = None, **kw: Any):
    return poll(engine, cfg or make_config(srv.url), clock=clock, **kw)


def board(session: Session, repo_id: str) -> dict[str, tuple[float | None, str, bool, str]]:
    """model -> (value, raw, verified, source) on the benchmark of one Hub dataset."""
    rows = session.exec(
        select(Result.model, ResultValue.value, ResultValue.raw, Result.verified, Result.source)
        .join(Benchmark, col(Benchmark.id) == col(Result.benchmark_id))
        .join(ResultValue, col(ResultValue.result_id) == col(Result.id))
        .where(Benchmark.external_id == f"hf:{repo_id}")
    ).all()
    return {model: (value, raw, verified, source) for model, value, raw, verified, source in rows}


def events(session: Session, kind: str | None = None) -> list[ResultEvent]:
    query = select(ResultEvent).order_by(col(ResultEvent.id))
    if kind:
        query = query.where(ResultEvent.kind == kind)
    return list(session.exec(query).all())


def snapshot(engine) -> tuple:
    """Everything a poll may write: results with values, benchmarks, events."""
    with Session(engine) as s:
        results = sorted(
            s.exec(
                select(Result.benchmark_id, Result.model, Result.verified, Result.result_date, ResultValue.raw)
                .join(ResultValue, col(ResultValue.result_id) == col(Result.id))
            ).all()
        )
        benches = sorted(s.exec(select(Benchmark.id, Benchmark.external_id, Benchmark.primary_metric_id)).all())
        evts = sorted((e.kind, e.dedupe_key) for e in events(s))
    return results, benches, evts


# ------------------------------------------------------------------------------------------ import


def test_a_row_whose_source_is_a_stored_arxiv_paper_is_linked_to_it(engine, server, clock):
    with Session(engine) as s:
        paper = Paper(arxiv_id="2601.00001", title="OCR Base")
        s.add(paper)
        s.commit()
        paper_id = paper.id
    assert run(engine, server, clock).ok
    with Session(engine) as s:
        linked = {r.model: r.paper_id for r in s.exec(select(Result)).all()}
    assert linked == {"lab/ocr-base": paper_id, "example-org/reader-xl": None, "someone/tiny-ocr": None}


def test_rows_are_imported_with_verified_kept_on_a_benchmark_of_the_datasets_task(engine, server, clock):
    report = run(engine, server, clock)
    assert report.ok, report.errors
    assert (report.new, report.details["benchmarks"], report.details["no_leaderboard"]) == (3, 1, 1)
    with Session(engine) as s:
        assert board(s, OLMOCR) == {
            "example-org/reader-xl": (82.4, "82.4", True, "hf"),
            "someone/tiny-ocr": (79.05, "79.05", False, "hf"),
            "lab/ocr-base": (61.0, "61.0", False, "hf"),
        }
        bench = s.exec(select(Benchmark).where(Benchmark.external_id == f"hf:{OLMOCR}")).one()
        task, dataset = s.get(Task, bench.task_id), s.get(Dataset, bench.dataset_id)
        metric = s.get(Metric, bench.primary_metric_id)
        assert (task.slug, task.name) == ("image-to-text", "Image to text")  # from task_categories:image-to-text
        assert dataset.name == "olmOCR-bench"
        assert (metric.name, metric.direction) == ("Score", "higher")
        ocr_base = s.exec(select(Result).where(Result.model == "lab/ocr-base")).one()
        assert ocr_base.paper_url == "https://arxiv.org/abs/2601.00001"  # the row's source
        tiny = s.exec(select(Result).where(Result.model == "someone/tiny-ocr")).one()
        assert tiny.paper_url == "https://huggingface.co/someone/tiny-ocr"  # no source: the model's page
        assert events(s) == []  # a first read of a leaderboard is its baseline, not news
        assert s.exec(select(Benchmark).where(Benchmark.external_id == f"hf:{CODE}")).first() is None
        state = s.exec(select(SourceState).where(SourceState.source == "hf-leaderboards")).one()
        assert state.last_success_at is not None and state.last_error is None
    listing = next(r for r in server.log if r.path == LIST)
    assert listing.path == LIST and listing.query == LISTING_QUERY


def test_a_benchmark_without_task_tags_gets_a_task_named_after_it(engine, server, clock, hf_files):
    rows = hf_files.rows_like_fixture([("a/coder", 55.5, True), ("b/coder", 40.0, False)])
    server.route(board_path(CODE), Reply.json(rows))
    assert run(engine, server, clock).ok
    with Session(engine) as s:
        bench = s.exec(select(Benchmark).where(Benchmark.external_id == f"hf:{CODE}")).one()
        assert (s.get(Task, bench.task_id).slug, s.get(Dataset, bench.dataset_id).name) == ("code-bench", "code-bench")
        assert set(board(s, CODE)) == {"a/coder", "b/coder"}


def test_a_second_poll_of_the_same_leaderboards_writes_nothing_new(engine, server, clock):
    run(engine, server, clock)
    before = snapshot(engine)
    again = run(engine, server, clock)
    assert (again.new, again.updated, again.unchanged, again.details.get("events", 0)) == (0, 0, 3, 0)
    assert snapshot(engine) == before


def test_a_better_verified_value_is_a_new_state_of_the_art(engine, server, clock, hf_files):
    run(engine, server, clock)
    v2 = hf_files.load("leaderboard_example.json")
    v2[1].update(rank=1, value=86.0, verified=True)  # someone/tiny-ocr improves past reader-xl, now verified
    v2[0]["rank"] = 2
    v2.append({**hf_files.rows_like_fixture([("new/ocr-small", 70.0, True)])[0], "rank": 4})  # new, not a record
    server.route(board_path(OLMOCR), Reply.json(v2))
    report = run(engine, server, clock)
    assert (report.new, report.updated, report.details["new_sota"]) == (1, 1, 1)
    with Session(engine) as s:
        (sota,) = events(s, "new_sota")
        assert sota.payload["model"] == "someone/tiny-ocr" and sota.payload["value"] == 86.0
        assert sota.payload["previous"]["model"] == "example-org/reader-xl"
        assert sota.payload["verified"] is True and sota.payload["source"] == "hf"
        assert board(s, OLMOCR)["someone/tiny-ocr"] == (86.0, "86.0", True, "hf")
        # the first poll was the baseline: the one row that appeared since is the only new result
        assert [e.payload["model"] for e in events(s, "new_result")] == ["new/ocr-small"]


def test_on_a_lower_is_better_metric_only_a_lower_verified_value_is_a_record(engine, clock, hf_files, speech_summary):
    with FakeUpstream(clock=clock) as srv:
        srv.route(LIST, listing([speech_summary]))  # the card only comes when asked for (expand)
        first = hf_files.rows_like_fixture([("a/asr", 5.1, True), ("b/asr", 7.3, True), ("c/asr", 9.9, False)])
        srv.route(board_path(SPEECH), Reply.json(first))
        with Session(engine) as s:
            s.add(Task(slug="speech-recognition", name="Speech Recognition"))
            s.commit()
        assert run(engine, srv, clock).ok
        second = hf_files.rows_like_fixture(
            [("d/asr", 4.2, True), ("a/asr", 5.1, True), ("e/asr", 6.0, True), ("b/asr", 7.3, True),
             ("c/asr", 9.9, False), ("f/asr", 12.0, True)]
        )
        srv.route(board_path(SPEECH), Reply.json(second))
        report = run(engine, srv, clock)
    assert (report.new, report.details["new_sota"]) == (3, 1)
    with Session(engine) as s:
        bench = s.exec(select(Benchmark).where(Benchmark.external_id == f"hf:{SPEECH}")).one()
        metric = s.get(Metric, bench.primary_metric_id)
        assert (metric.name, metric.direction) == ("WER", "lower")  # the card's train-eval-index metric
        assert s.get(Task, bench.task_id).slug == "speech-recognition"  # via the curated alias of the HF tag
        assert s.get(Dataset, bench.dataset_id).name == "Speech Bench"  # the card's pretty_name
        (sota,) = events(s, "new_sota")
        assert (sota.payload["model"], sota.payload["value"]) == ("d/asr", 4.2)
        assert sota.payload["previous"]["model"] == "a/asr"


def test_an_undeclared_score_ranked_lowest_first_is_not_mixed_with_higher_is_better_scores(
    engine, server, clock, hf_files
):
    server.route(board_path(CODE), Reply.json(hf_files.rows_like_fixture([("a/m", 1.5, True), ("b/m", 2.5, True)])))
    assert run(engine, server, clock).ok
    with Session(engine) as s:
        pairs = s.exec(select(Benchmark, Metric).join(Metric, col(Metric.id) == col(Benchmark.primary_metric_id)))
        metrics = {b.external_id: (m.name, m.direction) for b, m in pairs}
    assert metrics == {f"hf:{OLMOCR}": ("Score", "higher"), f"hf:{CODE}": ("Score (lower is better)", "lower")}


def test_rows_missing_required_fields_are_skipped_and_unknown_fields_ignored(hf_files):
    rows = hf_files.load("leaderboard_example.json")
    rows += [
        {"rank": 4, "value": 1.0, "verified": True},  # no modelId
        {"rank": 5, "modelId": "x/y", "value": "n/a", "verified": True},  # no number
        {"modelId": "x/z", "value": 3.0, "verified": True},  # no rank
        {"rank": 6, "modelId": "lab/ocr-base", "value": 1.0, "verified": True},  # a model listed twice: best rank wins
        "not a row",
    ]
    parsed = parse_leaderboard(rows)
    assert [(r.rank, r.model_id, r.value, r.verified) for r in parsed] == [
        (1, "example-org/reader-xl", 82.4, True),
        (2, "someone/tiny-ocr", 79.05, False),
        (3, "lab/ocr-base", 61.0, False),
    ]
    assert parsed[2].arxiv_id == "2601.00001"


# ------------------------------------------------------------------------------------------ faults


FAULTS = {
    "HTTP 500 until the retries are spent": lambda srv, _: srv.fail(board_path(OLMOCR), Fault("status", 500), times=2),
    "HTTP 503 then 500": lambda srv, _: [srv.fail(board_path(OLMOCR), Fault("status", s)) for s in (503, 500)],
    "HTTP 429 with Retry-After": lambda srv, _: srv.fail(
        board_path(OLMOCR), Fault("status", 429, retry_after="30"), times=2
    ),
    "connection cut mid-body": lambda srv, _: srv.fail(board_path(OLMOCR), Fault("truncate"), times=2),
    "truncated JSON": lambda srv, files: srv.route(
        board_path(OLMOCR), files.truncated_reply("leaderboard_example.json")
    ),
    "oversized body": lambda srv, _: srv.fail(board_path(OLMOCR), Fault("oversize", status=64)),
}


@pytest.mark.parametrize("inject", list(FAULTS.values()), ids=list(FAULTS))
def test_a_fault_leaves_the_stored_data_as_it_was_and_is_recorded(engine, server, clock, inject, hf_files):
    cfg = make_config(server.url)
    cfg.sources.http.max_body_bytes = 32 * 1024  # the oversized reply is 128 KiB; real ones are far smaller
    run(engine, server, clock, cfg)
    before = snapshot(engine)
    better = hf_files.load("leaderboard_example.json")
    better[1].update(rank=1, value=99.0, verified=True)
    server.route(board_path(OLMOCR), Reply.json(better))
    inject(server, hf_files)
    report = run(engine, server, clock, cfg)
    assert report.errors and all(OLMOCR in e for e in report.errors)
    assert snapshot(engine) == before
    with Session(engine) as s:
        state = s.exec(select(SourceState).where(SourceState.source == "hf-leaderboards")).one()
        assert state.last_error and OLMOCR in state.last_error


def test_a_fault_on_the_first_poll_stores_nothing_for_that_benchmark_and_the_next_poll_recovers(engine, server, clock):
    server.fail(board_path(OLMOCR), Fault("status", 503), times=2)
    failed = run(engine, server, clock)
    assert failed.errors
    with Session(engine) as s:
        assert board(s, OLMOCR) == {}
    assert run(engine, server, clock).ok
    with Session(engine) as s:
        assert len(board(s, OLMOCR)) == 3


def test_a_failed_listing_is_an_error_not_a_crash(engine, server, clock):
    server.route(LIST, Reply(200, b'[{"id": "allenai/olm', {"Content-Type": "application/json"}))
    report = run(engine, server, clock)
    assert report.errors and "benchmark list" in report.errors[0]
    assert snapshot(engine) == ([], [], [])


# ------------------------------------------------------------------------------------------ politeness


def test_requests_are_paced_to_the_anonymous_budget_and_a_token_is_sent_as_bearer(engine, server, clock, hf_files):
    server.route(board_path(CODE), Reply.json(hf_files.rows_like_fixture([("a/coder", 55.5, True)])))
    run(engine, server, clock)
    gaps = [b.at - a.at for a, b in zip(server.log, server.log[1:], strict=False)]
    assert len(server.log) == 3 and min(gaps) >= 300 / 500 - 1e-9  # 500 calls per 5 minutes
    assert all("authorization" not in r.headers for r in server.log)
    assert all(r.headers["user-agent"].startswith("sotabot/") for r in server.log)
    server.log.clear()
    run(engine, server, clock, make_config(server.url, token=Secret("hf_test_token")))
    assert {r.headers.get("authorization") for r in server.log} == {"Bearer hf_test_token"}
    gaps = [b.at - a.at for a, b in zip(server.log, server.log[1:], strict=False)]
    assert min(gaps) >= 300 / 1000 - 1e-9  # 1,000 calls per 5 minutes with a token


def test_a_429_is_retried_after_the_servers_retry_after(engine, server, clock):
    server.fail(board_path(OLMOCR), Fault("status", 429, retry_after="45"))
    assert run(engine, server, clock).ok
    tries = server.requests_to(board_path(OLMOCR))
    assert len(tries) == 2 and tries[1].at - tries[0].at >= 45


# ------------------------------------------------------------------------------------------ scale


def big_listing(hf_files: HubFixtures, n: int) -> list[dict]:
    base = hf_files.load("datasets_benchmarks_example.json")[0]
    out = []
    for i in range(n):
        item = copy.deepcopy(base)
        item["id"] = f"org{i:03d}/bench-{i:03d}"
        out.append(item)
    return out


def test_many_benchmarks_over_paged_listings_are_read_in_rotation_within_the_poll_budget(engine, clock, hf_files):
    listing = big_listing(hf_files, 40)
    rows = hf_files.load("leaderboard_example.json")
    large = hf_files.rows_like_fixture([(f"org/model-{i:04d}", 90.0 - i * 0.01, i % 3 == 0) for i in range(300)])
    with FakeUpstream(clock=clock) as srv:
        page2 = f"{srv.url}{LIST}?filter=benchmark%3Aofficial&cursor=p2"
        elsewhere = "https://elsewhere.example/api/datasets?cursor=p3"

        def pages(req):
            if req.query.get("cursor") == ["p2"]:
                return Reply.json(listing[25:], headers={"Link": f'<{elsewhere}>; rel="next"'})
            return Reply.json(listing[:25], headers={"Link": f'<{page2}>; rel="next"'})

        srv.route(LIST, pages)
        for item in listing:
            srv.route(board_path(item["id"]), Reply.json(large if item["id"] == "org007/bench-007" else rows))
        reports = [run(engine, srv, clock, max_benchmarks=15) for _ in range(3)]
        assert sum(r.path == LIST for r in srv.log) == 6  # two pages a poll; the foreign next link is not followed
    assert all(r.ok for r in reports), [r.errors for r in reports]
    assert [r.details["listed"] for r in reports] == [40, 40, 40]
    assert [r.details["benchmarks"] for r in reports] == [15, 15, 15]
    with Session(engine) as s:
        per_bench = {b: len(board(s, b)) for b in (item["id"] for item in listing)}
        assert per_bench["org007/bench-007"] == 300
        assert set(per_bench.values()) == {3, 300}  # every benchmark read (the third poll wrapped round)
        assert len(s.exec(select(Task)).all()) == 1  # all tagged task_categories:image-to-text
        assert len(events(s, "new_sota")) == 0  # rows arrive best first: an import is not news


def test_a_subscribed_tasks_boards_are_read_every_poll_before_the_rotation(engine, clock, hf_files):
    from sotabot.storage.models import Channel, Subscription

    listing = big_listing(hf_files, 12)
    listing.append(hf_files.summary_like_fixture("TIGER-Lab/MMLU-Pro", tags=["benchmark:official"]))  # curated
    rows = hf_files.load("leaderboard_example.json")
    with Session(engine) as s:
        channel = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(channel)
        s.flush()
        s.add(Subscription(channel_id=channel.id, kind="task", target="mmlu-pro"))
        s.commit()
    with FakeUpstream(clock=clock) as srv:
        srv.route(LIST, Reply.json(listing))
        for item in listing:
            srv.route(board_path(item["id"]), Reply.json(rows))
        read: list[list[str]] = []
        for _ in range(4):
            srv.log.clear()
            assert run(engine, srv, clock, max_benchmarks=5).ok
            read.append([r.path.split("/")[3] + "/" + r.path.split("/")[4] for r in srv.log if r.path != LIST])
    assert [boards[0] for boards in read] == ["TIGER-Lab/MMLU-Pro"] * 4  # followed: first, every poll
    rotation = [b for boards in read for b in boards[1:]]
    assert rotation[:13] == [*sorted(item["id"] for item in listing[:12]), "org000/bench-000"]  # the rest in turn


def test_the_poll_command_reports_the_sync(tmp_path, monkeypatch, capsys, hf_files):
    from sotabot.bot.cli import main

    with FakeUpstream() as srv:
        srv.route(LIST, Reply.json(hf_files.load("datasets_benchmarks_example.json")[:1]))  # one leaderboard only
        srv.route(board_path(OLMOCR), hf_files.reply("leaderboard_example.json"))
        monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
        monkeypatch.setenv("SOTABOT_SOURCES__HUGGINGFACE__API_URL", srv.url + "/api")
        assert main(["poll", "hf-leaderboards", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["source"], out["errors"], out["new"], out["requests"]) == ("hf-leaderboards", [], 3, 2)


# --- the benchmarks people ask for by name --------------------------------------------------

CURATED = {
    "SWE-bench/SWE-bench_Verified": ("swe-bench", "SWE-bench Verified", [("agent/coder-pro", 74.4, True),
                                                                        ("lab/coder-small", 51.0, False)]),
    "Idavidrein/gpqa": ("gpqa", "GPQA", [("lab/reasoner", 84.0, True)]),
    "TIGER-Lab/MMLU-Pro": ("mmlu-pro", "MMLU-Pro", [("lab/generalist", 81.2, True)]),
}


def test_swe_bench_gpqa_and_mmlu_pro_land_on_their_own_tasks_and_sota_answers_from_them(engine, clock, hf_files):
    from sotabot.bot.commands import CommandContext, handle

    listing = [
        hf_files.summary_like_fixture(repo, tags=["benchmark:official", "task_categories:text-generation"])
        for repo in CURATED
    ]
    with FakeUpstream(clock=clock) as srv:
        srv.route(LIST, Reply.json(listing))
        for repo, (_, _, rows) in CURATED.items():
            srv.route(board_path(repo), Reply.json(hf_files.rows_like_fixture(rows)))
        report = run(engine, srv, clock)
    assert report.ok, report.errors
    ctx = CommandContext("slack", "T1", "C1", user="U1")
    for repo, (slug, dataset, rows) in CURATED.items():
        with Session(engine) as s:
            bench = s.exec(select(Benchmark).where(Benchmark.external_id == f"hf:{repo}")).one()
            assert (s.get(Task, bench.task_id).slug, s.get(Dataset, bench.dataset_id).name) == (slug, dataset)
        msg = handle(engine, Config(), ctx, slug, charts=False)
        text = json.dumps(msg.to_dict())
        assert dataset in text and rows[0][0] in text, slug
        assert "Hugging Face Hub benchmark leaderboards" in text  # marked with its source
    swe = json.dumps(handle(engine, Config(), ctx, "swe-bench", charts=False).to_dict())
    assert "lab/coder-small ?" in swe  # the Hub's verified flag is kept: unverified rows are marked


# --- the Hub's own client (huggingface_hub) -------------------------------------------------


@pytest.fixture
def no_real_sleep(monkeypatch):
    """huggingface_hub's own backoff sleeps on the real clock: make any such sleep fail the test."""
    import huggingface_hub.utils._http as hf_http

    def refuse(seconds: float) -> None:
        raise AssertionError(f"huggingface_hub slept {seconds}s on the real clock")

    monkeypatch.setattr(hf_http.time, "sleep", refuse)


def test_the_hub_client_reads_the_mirror_hf_endpoint_names(engine, clock, hf_files, monkeypatch):
    with FakeHub(clock=clock) as hub, FakeHub(clock=clock) as configured:
        hub.benchmark(OLMOCR, hf_files.load("leaderboard_example.json"), tags=("task_categories:image-to-text",))
        hub.benchmark("example-org/not-a-benchmark", None)
        hub.datasets["example-org/not-a-benchmark"]["tags"] = ["task_categories:image-to-text"]
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        cfg = Config()  # api_url left at the public Hub's: HF_ENDPOINT replaces it, as huggingface_hub does
        assert run(engine, hub, clock, cfg).ok
        assert [(r.path, r.query) for r in hub.log] == [
            (LIST, LISTING_QUERY),  # list_datasets(benchmark=True, expand=[...])
            (board_path(OLMOCR), {}),  # get_dataset_leaderboard
        ]
        assert all(r.headers["user-agent"].startswith("sotabot/") for r in hub.log)
        cfg.sources.huggingface.api_url = configured.url + "/api"  # a configured address wins over HF_ENDPOINT
        run(engine, configured, clock, cfg)
        assert [r.path for r in configured.log] == [LIST] and len(hub.log) == 2
    with Session(engine) as s:
        assert set(board(s, OLMOCR)) == {"example-org/reader-xl", "someone/tiny-ocr", "lab/ocr-base"}


def test_a_row_the_hub_client_cannot_type_costs_that_row_only_and_is_logged_once(
    engine, server, clock, hf_files, caplog
):
    rows = hf_files.load("leaderboard_example.json")
    rows.append({"rank": 4, "modelId": "lab/no-author", "value": 50.0, "verified": False})  # no filename, no author
    rows.append({"rank": 5, "value": 40.0, "verified": True, "filename": "x.yaml"})  # no model: unusable
    rows.append("not a row")
    server.route(board_path(OLMOCR), Reply.json(rows))
    code = [*hf_files.rows_like_fixture([("a/coder", 55.5, True)]), {"rank": 2, "modelId": "b/coder", "value": None}]
    server.route(board_path(CODE), Reply.json(code))
    with caplog.at_level("WARNING", logger="sotabot.sources.upstream.hf_leaderboards"):
        report = run(engine, server, clock)
    assert report.ok, report.errors
    assert (report.details["benchmarks"], report.details["bad_rows"]) == (2, 3)
    with Session(engine) as s:
        assert set(board(s, OLMOCR)) == {"example-org/reader-xl", "someone/tiny-ocr", "lab/ocr-base", "lab/no-author"}
        assert set(board(s, CODE)) == {"a/coder"}
    (warning,) = [r for r in caplog.records if "rows skipped" in r.getMessage()]
    assert OLMOCR in warning.getMessage() and CODE in warning.getMessage()


def test_a_429_storm_is_waited_out_on_our_clock_recorded_and_the_next_poll_recovers(
    engine, server, clock, no_real_sleep
):
    server.fail(board_path(OLMOCR), Fault("status", 429, retry_after="30"), times=2)  # every try of this poll
    failed = run(engine, server, clock)
    assert failed.errors and OLMOCR in failed.errors[0]
    assert 30 in clock.sleeps  # the server's Retry-After, on our clock
    with Session(engine) as s:
        assert board(s, OLMOCR) == {}
        assert OLMOCR in s.exec(select(SourceState).where(SourceState.source == "hf-leaderboards")).one().last_error
    assert run(engine, server, clock).ok


def test_a_429_asking_for_longer_than_we_wait_ends_the_poll_without_waiting(engine, server, clock, no_real_sleep):
    server.fail(board_path(OLMOCR), Fault("status", 429, retry_after="3600"))
    report = run(engine, server, clock)
    assert report.errors and "next poll" in report.errors[0]
    assert 3600 not in clock.sleeps
    assert server.requests_to(board_path(CODE)) == []  # the rest of the poll would be refused too
    assert run(engine, server, clock).ok


def test_a_429_on_a_later_listing_page_is_retried_by_our_client(engine, clock, hf_files, no_real_sleep):
    with FakeHub(clock=clock) as hub:
        hub.page_size = 1
        for repo in (OLMOCR, CODE):
            hub.benchmark(repo, hf_files.load("leaderboard_example.json"))
        listing = hub.routes[("GET", LIST)]
        limited: list[bool] = []

        def second_page_limited_once(req):
            if req.query.get("cursor") and not limited:
                limited.append(True)
                return Reply.json({"error": "rate limited"}, status=429, headers={"Retry-After": "20"})
            return listing(req)

        hub.route(LIST, second_page_limited_once)
        report = run(engine, hub, clock)
        pages = [r.query.get("cursor") for r in hub.log if r.path == LIST]
    assert report.ok, report.errors
    assert report.details["listed"] == 2 and pages == [None, ["1"], ["1"]]
    assert 20 in clock.sleeps


def test_the_poll_deadline_holds_through_the_hub_client(engine, server, clock):
    from sotabot.sources.upstream.http import poll_deadline

    with poll_deadline(1e-9):
        report = run(engine, server, clock)
    assert report.errors and "deadline" in report.errors[0]
    assert server.log == []


def test_an_oversized_listing_is_refused_by_our_cap(engine, server, clock):
    cfg = make_config(server.url)
    cfg.sources.http.max_body_bytes = 32 * 1024
    server.fail(LIST, Fault("oversize", status=64))
    report = run(engine, server, clock, cfg)
    assert report.errors and "benchmark list" in report.errors[0] and "cap" in report.errors[0]
    assert snapshot(engine) == ([], [], [])


@pytest.mark.parametrize(
    ("api_url", "env", "endpoint"),
    [
        ("https://huggingface.co/api", "", "https://huggingface.co"),
        ("https://huggingface.co/api/", "http://mirror.local/", "http://mirror.local"),
        ("http://hub.lab/api", "http://mirror.local", "http://hub.lab"),
    ],
)
def test_the_endpoint_is_the_configured_api_url_or_hf_endpoint_for_the_public_hub(api_url, env, endpoint, monkeypatch):
    from sotabot.sources.upstream.hf_leaderboards import hub_endpoint

    monkeypatch.setenv("HF_ENDPOINT", env)
    assert hub_endpoint(api_url) == endpoint
