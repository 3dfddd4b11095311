"""Papers with Code API sync against a local server replaying the paperswithcode-co fixtures.

The fixture files are served byte for byte; scenarios the fixtures do not cover (a WER
leaderboard that gains a new record) are built in the same documented row shape.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import Session, SQLModel, col, select

from sotabot.bot.settings import Config
from sotabot.sources.upstream.paperswithcode import merge_rows, poll
from sotabot.storage.models import (
    Benchmark,
    Channel,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultEvent,
    ResultValue,
    SourceState,
    Subscription,
    Task,
)
from tests.fakes.clock import FakeClock
from tests.fakes.upstream import FakeUpstream, Fault, LoggedRequest, Reply

API = "/api/v1"


@pytest.fixture(scope="module")
def recorded(fixture_files) -> Callable[[str], Reply]:
    """`recorded(name)`: a fixture file of the paperswithcode.co API as the server's body, unchanged."""

    def reply(name: str) -> Reply:
        return Reply(200, (fixture_files.pwc_api / name).read_bytes(), {"Content-Type": "application/json"})

    return reply


def paged(*pages: Reply) -> object:
    """A handler serving `pages[page-1]` by the `page` query parameter (404 past the end)."""

    def handler(req: LoggedRequest) -> Reply:
        page = int(req.query.get("page", ["1"])[0])
        return pages[page - 1] if 1 <= page <= len(pages) else Reply.json({"detail": "Invalid page."}, status=404)

    return handler


def make_config(url: str, **pwc: object) -> Config:
    cfg = Config()
    cfg.sources.paperswithcode.api_url = url + API
    cfg.sources.http.max_retries = 1
    cfg.sources.http.backoff_base_seconds = 1.0
    for key, value in pwc.items():
        setattr(cfg.sources.paperswithcode, key, value)
    return cfg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock, recorded):
    with FakeUpstream(clock=clock) as srv:
        srv.route(f"{API}/areas/with-tasks/", recorded("areas_with-tasks.json"))
        yield srv


def serve_ocr(srv: FakeUpstream, recorded: Callable[[str], Reply]) -> None:
    srv.route(f"{API}/tasks/ocr/trending-benchmarks", recorded("tasks_OCR_trending-benchmarks.json"))
    srv.route(f"{API}/datasets/2/evaluations/", recorded("datasets_42_evaluations.json"))
    srv.route(
        f"{API}/datasets/1/evaluations/",
        paged(recorded("evaluations_paper_id_9_page1.json"), recorded("evaluations_paper_id_9_page2.json")),
    )


def subscribe(engine, *targets: str) -> None:
    with Session(engine) as s:
        ch = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(ch)
        s.flush()
        s.add_all([Subscription(channel_id=ch.id, kind="task", target=t) for t in targets])
        s.commit()


def board(session: Session, task: str, dataset: str) -> dict[str, dict[str, tuple[float | None, str]]]:
    """model -> {metric: (value, raw)} for one benchmark."""
    rows = session.exec(
        select(Result.model, Metric.name, ResultValue.value, ResultValue.raw)
        .join(Benchmark, col(Benchmark.id) == col(Result.benchmark_id))
        .join(Task, col(Task.id) == col(Benchmark.task_id))
        .join(Dataset, col(Dataset.id) == col(Benchmark.dataset_id))
        .join(ResultValue, col(ResultValue.result_id) == col(Result.id))
        .join(Metric, col(Metric.id) == col(ResultValue.metric_id))
        .where(Task.slug == task, Dataset.name == dataset)
    ).all()
    out: dict[str, dict[str, tuple[float | None, str]]] = {}
    for model, metric, value, raw in rows:
        out.setdefault(model, {})[metric] = (value, raw)
    return out


def events(session: Session, kind: str | None = None) -> list[ResultEvent]:
    query = select(ResultEvent).order_by(col(ResultEvent.id))
    if kind:
        query = query.where(ResultEvent.kind == kind)
    return list(session.exec(query).all())


def test_leaderboards_are_imported_with_split_rows_merged_and_the_servers_priority_kept(
    engine, server, clock, recorded
):
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    report = poll(engine, make_config(server.url), clock=clock)
    assert report.ok, report.errors
    assert report.new == 3
    with Session(engine) as s:
        task = s.exec(select(Task).where(Task.slug == "ocr")).one()
        benches = s.exec(select(Benchmark, Dataset).join(Dataset).where(Benchmark.task_id == task.id)).all()
        by_name = {d.name: b for b, d in benches}
        assert {name: (b.priority, b.external_id) for name, b in by_name.items()} == {
            "Recent OCR": (0, "2"),
            "Classic OCR": (1, "1"),
        }
        assert task.default_benchmark_id == by_name["Recent OCR"].id
        # two rows of "Agent | One" (Resolved, then Pass@1) are one result with both values
        assert board(s, "ocr", "Recent OCR") == {"Agent | One": {"Resolved": (55.5, "55.5"), "Pass@1": (50.0, "50")}}
        primary = s.get(Metric, by_name["Recent OCR"].primary_metric_id)
        assert primary.name == "Resolved"
        result = s.exec(select(Result).where(Result.benchmark_id == by_name["Recent OCR"].id)).one()
        assert (result.paper_key, result.paper_title, result.result_date) == (
            "2601.12345", "An Agent Paper", date(2026, 1, 20)
        )
        assert (result.source, result.verified) == ("pwc_api", True)
        assert result.paper_url == "https://arxiv.org/abs/2601.12345"
        assert s.exec(select(Paper).where(Paper.arxiv_id == "2601.12345")).one().title == "An Agent Paper"
        # the second leaderboard spans two pages; the harness is part of the model's identity
        assert board(s, "ocr", "Classic OCR") == {
            "Agent | One": {"Resolved": (55.5, "55.5")},
            "Agent Two (verified)": {"Accuracy": (50.0, "50")},
        }
        assert events(s) == []  # a first sync is the board's baseline: history is not news
        assert {t.slug for t in s.exec(select(Task)).all()} >= {"audio-classification", "3d-generation"}
    evals = server.requests_to(f"{API}/datasets/1/evaluations/")
    assert [r.query["page"] for r in evals] == [["1"], ["2"]]
    assert all(r.query["ordering"] == ["best_rank"] and r.query["page_size"] == ["100"] for r in evals)
    assert all("sotabot" in r.headers["user-agent"] for r in server.log)
    assert server.log[0].path == f"{API}/areas/with-tasks/"


def test_a_second_sync_writes_nothing_new_and_stops_paging_at_known_rows(engine, server, clock, recorded):
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    cfg = make_config(server.url)
    poll(engine, cfg, clock=clock)
    with Session(engine) as s:
        before = snapshot(s)
    server.log.clear()
    again = poll(engine, cfg, clock=clock)
    assert again.ok, again.errors
    assert (again.new, again.updated, again.details.get("events", 0)) == (0, 0, 0)
    assert again.unchanged == 2  # page 2 of the paged leaderboard was not read again
    with Session(engine) as s:
        assert snapshot(s, skip={"synced_at"}) == strip(before, {"synced_at"})
    assert [r.query["page"] for r in server.requests_to(f"{API}/datasets/1/evaluations/")] == [["1"]]


def catalog(*tasks: tuple[str, int]) -> Reply:
    """An `areas/with-tasks/` reply listing (slug, paper_count) in one area, in the given order."""
    return Reply.json({"results": [{"id": "1", "name": "Area", "tasks": [
        {"id": str(i), "slug": slug, "name": slug.replace("-", " ").title(), "paper_count": papers,
         "benchmark_count": 1, "evaluation_count": papers}
        for i, (slug, papers) in enumerate(tasks)
    ]}]})


def synced_order(srv: FakeUpstream) -> list[str]:
    return [r.path.split("/")[4] for r in srv.requests_to(f"{API}/tasks/")]


def test_the_plan_is_subscribed_tasks_then_the_catalog_by_popularity_then_the_rest(engine, server, clock):
    server.route(f"{API}/areas/with-tasks/", catalog(("image-classification", 10), ("speech-recognition", 900),
                                                     ("3d-generation", 2389)))
    with Session(engine) as s:  # a starter set the server does not have, alphabetically before the catalog
        s.add_all([Task(slug=slug, name=slug) for slug in ("abstract-games", "abstract-strategy-games", "zz-followed")])
        s.commit()
    subscribe(engine, "zz-followed")
    report = poll(engine, make_config(server.url, tasks_per_poll=5), clock=clock)
    assert synced_order(server) == [
        "zz-followed", "3d-generation", "speech-recognition", "image-classification", "abstract-games",
    ]
    assert report.details["not_found"] == 5  # nothing routed: each task answers 404


def test_the_catalogs_most_popular_task_is_reached_on_a_fresh_install_with_a_big_starter_set(
    engine, server, clock, recorded
):
    server.route(f"{API}/areas/with-tasks/", catalog(("speech-recognition", 900)))
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    with Session(engine) as s:
        s.add_all([Task(slug=f"aa-starter-{i:03d}", name=f"Starter {i}") for i in range(200)])
        s.commit()
    report = poll(engine, make_config(server.url, tasks_per_poll=50), clock=clock)
    assert synced_order(server)[0] == "speech-recognition"
    assert report.new == 2


def test_a_task_the_server_does_not_have_is_left_out_until_it_is_due_for_a_recheck(engine, server, clock):
    server.route(f"{API}/areas/with-tasks/", catalog(("speech-recognition", 900)))
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    with Session(engine) as s:
        s.add_all([Task(slug="gone-task", name="Gone")])
        s.commit()
    cfg = make_config(server.url, missing_recheck_days=7)
    poll(engine, cfg, clock=clock)
    assert synced_order(server) == ["speech-recognition", "gone-task"]
    for days, expected in ((1, ["speech-recognition"]), (5, ["speech-recognition"]), (1, ["gone-task",
                                                                                            "speech-recognition"])):
        clock.sleep(days * 86400)
        server.log.clear()
        poll(engine, cfg, clock=clock)
        assert synced_order(server) == expected, days
    with Session(engine) as s:
        state = s.exec(select(SourceState).where(SourceState.source == "paperswithcode")).one()
        assert json.loads(state.cursor)["missing"] == {"gone-task": "1970-01-19"}  # asked again on day 7


def test_synced_tasks_come_round_again_least_recently_synced_first(engine, server, clock):
    server.route(f"{API}/areas/with-tasks/", catalog(("a-task", 1), ("b-task", 2), ("c-task", 3)))
    for slug in ("a-task", "b-task", "c-task"):
        serve_board(server, slug, f"{slug} set", WER_V1, dataset_id=slug)
    cfg = make_config(server.url, tasks_per_poll=2)
    order = []
    for _ in range(3):
        server.log.clear()
        poll(engine, cfg, clock=clock)
        clock.sleep(60)
        order.append(synced_order(server))
    # one poll stamps its tasks alike: popularity breaks the tie
    assert order == [["c-task", "b-task"], ["a-task", "c-task"], ["b-task", "c-task"]]


def test_requests_are_paced_by_the_configured_rate(engine, server, clock, recorded):
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    poll(engine, make_config(server.url, requests_per_second=0.5), clock=clock)
    gaps = {round(b.at - a.at, 6) for a, b in itertools.pairwise(server.log)}
    assert gaps == {2.0}
    assert len(server.log) >= 5


# --- records in both metric directions ------------------------------------------------------


def row(id_: str, model: str, metric: str, value: object, rank: int, arxiv: str, day: str, dataset: str = "77") -> dict:
    """An evaluation row in the documented shape (datasets/{id}/evaluations/)."""
    return {
        "id": id_,
        "paper_id": f"p{arxiv}",
        "task_id": "5",
        "dataset_id": dataset,
        "model_name": model,
        "metrics": {metric: value},
        "best_metric": metric,
        "best_rank": rank,
        "paper_title": f"Paper {arxiv}",
        "paper_arxiv_id": arxiv,
        "paper_published_date": day,
        "task_name": "Task",
        "is_open": True,
    }


def serve_board(srv: FakeUpstream, task: str, dataset: str, rows: list[dict], dataset_id: str = "77") -> None:
    srv.route(
        f"{API}/tasks/{task}/trending-benchmarks",
        Reply.json({"task_id": "5", "task_slug": task, "recent_days": 90, "results": [
            {"id": dataset_id, "slug": dataset.lower().replace(" ", "-"), "name": dataset, "description": None,
             "hf_url": None, "recent_paper_count": 1, "all_time_paper_count": len(rows), "trend_score": 1.0,
             "support_weighted_score": 1.0, "best_model_name": rows[0]["model_name"], "best_paper_title": "",
             "best_code_url": None},
        ]}),
    )
    srv.route(f"{API}/datasets/{dataset_id}/evaluations/", Reply.json({"count": len(rows), "results": rows}))


WER_V1 = [
    row("1", "Conformer", "WER", "2.5", 1, "2401.00001", "2024-01-05"),
    row("2", "LSTM", "WER", 3.1, 2, "2301.00002", "2023-01-05"),
]
WER_V2 = [
    row("3", "Whisper-Next", "WER", "1.9", 1, "2501.01234", "2025-01-03"),
    *WER_V1,
    row("4", "Tiny", "WER", 4.0, 4, "2502.00004", "2025-02-01"),
]


def test_a_lower_wer_is_a_new_sota_and_its_official_code_is_linked(engine, server, clock, recorded):
    subscribe(engine, "speech-recognition")
    cfg = make_config(server.url)
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    poll(engine, cfg, clock=clock)
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V2)
    server.route(f"{API}/papers/2501.01234", recorded("papers_2501.01234_include_resources.json"))
    server.log.clear()
    report = poll(engine, cfg, clock=clock)
    assert report.ok, report.errors
    assert (report.new, report.details["new_sota"]) == (2, 1)
    with Session(engine) as s:
        assert s.exec(select(Metric).where(Metric.name == "WER")).one().direction == "lower"
        sota = events(s, "new_sota")
        assert [(e.payload["model"], e.payload["value"], e.payload["previous"]["model"]) for e in sota] == [
            ("Whisper-Next", 1.9, "Conformer")
        ]
        # the first poll was the baseline: only the two rows that appeared since are news
        assert sorted(e.payload["model"] for e in events(s, "new_result")) == ["Tiny", "Whisper-Next"]
        best = s.exec(select(Result).where(Result.model == "Whisper-Next")).one()
        assert best.code_url == "https://github.com/example/official"
        links = s.exec(select(Repo.url, PaperRepo.official, PaperRepo.found_by).join(PaperRepo)).all()
        assert sorted(links) == [
            ("https://github.com/example/implementation", False, "pwc"),
            ("https://github.com/example/official", True, "pwc"),
        ]
        code = events(s, "new_paper_with_code")
        assert [(e.payload["task"], e.payload["arxiv_id"]) for e in code] == [("speech-recognition", "2501.01234")]
    # only the papers of new rows are looked up (2502.00004 has no resources: 404)
    assert [r.path for r in server.requests_to(f"{API}/papers/")] == [
        f"{API}/papers/2501.01234",
        f"{API}/papers/2502.00004",
    ]
    assert all(r.query["include_resources"] == ["true"] for r in server.requests_to(f"{API}/papers/"))


def test_a_higher_error_is_not_a_new_sota(engine, server, clock):
    subscribe(engine, "image-classification")
    cfg = make_config(server.url)
    first = [row("1", "ResNet", "Percentage error", "3.0%", 1, "1512.03385", "2015-12-10", "9")]
    serve_board(server, "image-classification", "CIFAR-10", first, "9")
    poll(engine, cfg, clock=clock)
    worse = [*first, row("2", "Worse", "Percentage error", "5.0%", 2, "2601.00009", "2026-01-09", "9")]
    serve_board(server, "image-classification", "CIFAR-10", worse, "9")
    report = poll(engine, cfg, clock=clock)
    assert report.new == 1
    with Session(engine) as s:
        assert events(s, "new_sota") == []
        assert board(s, "image-classification", "CIFAR-10")["Worse"] == {"Percentage error": (5.0, "5.0%")}


def test_a_value_corrected_upstream_updates_the_stored_row(engine, server, clock):
    subscribe(engine, "speech-recognition")
    cfg = make_config(server.url)
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    poll(engine, cfg, clock=clock)
    corrected = [{**WER_V1[0], "metrics": {"WER": "2.4"}}, WER_V1[1]]
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", corrected)
    report = poll(engine, cfg, clock=clock)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    with Session(engine) as s:
        assert board(s, "speech-recognition", "LibriSpeech test-clean")["Conformer"] == {"WER": (2.4, "2.4")}
        assert events(s, "new_sota") == []  # the record holder improving on itself is not a new record


def test_since_rescans_every_page_and_skips_older_rows(engine, server, clock, recorded):
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    cfg = make_config(server.url)
    poll(engine, cfg, clock=clock)
    server.log.clear()
    poll(engine, cfg, since=date(2026, 1, 1), clock=clock)
    assert [r.query["page"] for r in server.requests_to(f"{API}/datasets/1/evaluations/")] == [["1"], ["2"]]


# --- faults leave stored data as it was -----------------------------------------------------


def strip(snap: dict, skip: set[str]) -> dict:
    return {t: [{k: v for k, v in r.items() if k not in skip} for r in rows] for t, rows in snap.items()}


def snapshot(session: Session, skip: set[str] = frozenset()) -> dict[str, list[dict]]:
    tables: list[type[SQLModel]] = [
        Task, Dataset, Metric, Benchmark, Paper, Repo, PaperRepo, Result, ResultValue, ResultEvent,
    ]
    out = {}
    for table in tables:
        rows = session.exec(select(table).order_by(col(table.id))).all()
        out[table.__tablename__] = [{k: v for k, v in r.model_dump().items() if k not in skip} for r in rows]
    return out


TRUNCATED_JSON = Reply(
    200, json.dumps({"count": 4, "results": WER_V2})[:300].encode(), {"Content-Type": "application/json"}
)

FAULTS = {
    "5xx": (f"{API}/datasets/77/evaluations/", Fault("status", status=503), 10),
    "429": (f"{API}/datasets/77/evaluations/", Fault("status", status=429, retry_after="30"), 10),
    "dropped connection mid-body": (f"{API}/datasets/77/evaluations/", Fault("truncate"), 10),
    "oversized body": (f"{API}/datasets/77/evaluations/", Fault("oversize", status=64), 1),
    "5xx on a paper's resources": (f"{API}/papers/", Fault("status", status=502), 10),
}


@pytest.mark.parametrize("fault", [*FAULTS, "truncated JSON"])
def test_a_fault_leaves_the_stored_data_as_it_was_and_the_next_poll_recovers(engine, server, clock, fault, recorded):
    subscribe(engine, "speech-recognition")
    cfg = make_config(server.url, max_body_bytes=32 * 1024)
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    assert poll(engine, cfg, clock=clock).ok
    with Session(engine) as s:
        before = snapshot(s)
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V2)
    server.route(f"{API}/papers/2501.01234", recorded("papers_2501.01234_include_resources.json"))
    if fault == "truncated JSON":
        server.route(f"{API}/datasets/77/evaluations/", TRUNCATED_JSON)
    else:
        path, injected, times = FAULTS[fault]
        server.fail(path, injected, times=times)
    report = poll(engine, cfg, clock=clock)
    assert not report.ok
    with Session(engine) as s:
        assert snapshot(s) == before
        state = s.exec(select(SourceState).where(SourceState.source == "paperswithcode")).one()
        assert state.last_error and "speech-recognition" in state.last_error
    server.faults.clear()
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V2)
    recovered = poll(engine, cfg, clock=clock)
    assert recovered.ok, recovered.errors
    assert (recovered.new, recovered.details["new_sota"]) == (2, 1)


# --- parsing ----------------------------------------------------------------------------------


def test_split_rows_merge_on_paper_task_dataset_model_and_harness():
    base = {"paper_id": "9", "task_id": "3", "dataset_id": "42", "model_name": "M", "paper_arxiv_id": "2601.12345v2"}
    rows = [
        {**base, "id": "1", "metrics": {"A": 1}, "best_metric": "A", "best_rank": 3},
        {**base, "id": "2", "metrics": {"B": "2%", "A": 9}, "best_metric": "B", "best_rank": 1},
        {**base, "id": "3", "harness": "verified", "metrics": {"A": 5}, "best_metric": "A", "best_rank": None},
        {**base, "id": "4", "model_name": None, "metrics": {"A": 1}},
        "not a row",
    ]
    merged = merge_rows(rows)
    assert [(r.model, r.metrics, r.best_rank, r.best_metric, r.ids) for r in merged] == [
        ("M", {"A": 1, "B": "2%"}, 1, "A", ["1", "2"]),
        ("M (verified)", {"A": 5}, None, "A", ["3"]),
    ]
    assert merged[0].paper_key == "2601.12345"  # the version is not part of the key


def test_the_poll_command_reports_the_sync(server, tmp_path, monkeypatch, capsys, recorded):
    from sotabot.bot.cli import main

    serve_ocr(server, recorded)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SOTABOT_SOURCES__PAPERSWITHCODE__API_URL", server.url + API)
    monkeypatch.setenv("SOTABOT_SOURCES__PAPERSWITHCODE__REQUESTS_PER_SECOND", "1000")
    assert main(["poll", "paperswithcode", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "paperswithcode"
    assert out["errors"] == []
    from sotabot.storage.db import make_engine

    with Session(make_engine(f"sqlite:///{tmp_path / 'cli.db'}")) as s:
        slugs = set(s.exec(select(Task.slug)).all())
    assert {"audio-classification", "3d-generation", "image-classification"} <= slugs  # the API's catalog


# --- only news is news ----------------------------------------------------------------------


def test_a_first_sync_is_a_baseline_and_a_row_added_upstream_later_is_news(engine, server, clock):
    cfg = make_config(server.url)
    subscribe(engine, "speech-recognition")
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    first = poll(engine, cfg, clock=clock)
    assert (first.new, first.details.get("events", 0)) == (2, 0)
    with Session(engine) as s:
        assert events(s) == []
    newer = row("5", "Whisper-Next", "WER", "1.9", 1, "2501.01234", "2025-01-03")
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", [newer, *WER_V1])
    second = poll(engine, cfg, clock=clock)
    assert second.new == 1
    with Session(engine) as s:
        assert [(e.kind, e.payload["model"]) for e in events(s) if e.kind != "new_paper_with_code"] == [
            ("new_result", "Whisper-Next"),
            ("new_sota", "Whisper-Next"),
        ]


def test_on_a_first_sync_rows_dated_since_a_channel_subscribed_are_news(engine, server, clock):
    cfg = make_config(server.url)
    subscribe(engine, "speech-recognition")
    with Session(engine) as s:
        sub = s.exec(select(Subscription)).one()
        sub.created_at = sub.created_at.replace(year=2024, month=6, day=1)
        s.add(sub)
        s.commit()
    after = row("6", "Fresh", "WER", "2.0", 1, "2406.00006", "2024-06-01")  # the day it subscribed counts
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", [after, *WER_V1])
    report = poll(engine, cfg, clock=clock)
    assert report.new == 3
    with Session(engine) as s:
        # the history (2023, early 2024) is the baseline; the row since the subscription beats it
        assert [(e.kind, e.payload["model"]) for e in events(s)] == [
            ("new_result", "Fresh"),
            ("new_sota", "Fresh"),
        ]
        assert events(s, "new_sota")[0].payload["previous"]["model"] == "Conformer"


def test_a_first_syncs_dated_row_is_news_only_to_the_channels_subscribed_by_its_date(engine, server, clock):
    from datetime import UTC, datetime

    from sotabot.digests.alerts import build_alerts
    from sotabot.storage.models import Delivery

    with Session(engine) as s:
        for channel, day in (("C-OLD", datetime(2024, 6, 1)), ("C-NEW", datetime(2024, 7, 1))):
            ch = Channel(platform="slack", workspace="T1", channel=channel)
            s.add(ch)
            s.flush()
            s.add(Subscription(channel_id=ch.id, kind="task", target="speech-recognition", created_at=day))
        s.commit()
    fresh = row("6", "Fresh", "WER", "2.0", 1, "2406.00006", "2024-06-01")  # between the two subscriptions
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", [fresh, *WER_V1])
    cfg = make_config(server.url)
    poll(engine, cfg, clock=clock)
    build_alerts(engine, datetime.fromtimestamp(clock.time(), UTC))

    def told() -> list[str]:
        with Session(engine) as s:
            return sorted(s.get(Channel, d.channel_id).channel for d in s.exec(select(Delivery)).all())

    assert told() == ["C-OLD"]  # C-NEW subscribed in July and saw Fresh on the board
    serve_board(server, "speech-recognition", "LibriSpeech test-clean",
                [row("7", "Newer", "WER", "1.5", 1, "2412.00007", "2024-12-01"), fresh, *WER_V1])
    poll(engine, cfg, clock=clock)
    build_alerts(engine, datetime.fromtimestamp(clock.time(), UTC))
    assert told() == ["C-NEW", "C-OLD", "C-OLD"]  # a later sync's row is news to every follower


def test_the_plan_and_the_coverage_are_shown_by_the_cli(server, tmp_path, monkeypatch, capsys):
    from sotabot.bot.cli import main

    server.route(f"{API}/areas/with-tasks/", catalog(("image-classification", 10), ("speech-recognition", 900),
                                                     ("3d-generation", 2389)))
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", WER_V1)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SOTABOT_SOURCES__PAPERSWITHCODE__API_URL", server.url + API)
    monkeypatch.setenv("SOTABOT_SOURCES__PAPERSWITHCODE__REQUESTS_PER_SECOND", "1000")
    monkeypatch.setenv("SOTABOT_SOURCES__PAPERSWITHCODE__TASKS_PER_POLL", "2")
    assert main(["poll", "paperswithcode", "--json"]) == 0  # 3d-generation has no route: a 404, remembered
    capsys.readouterr()
    assert main(["poll", "paperswithcode", "--plan", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    # the catalog's last unsynced task, then the starter set's tasks (never synced) before any re-sync
    assert [(p["task"], p["why"]) for p in planned] == [("image-classification", "catalog"),
                                                        ("abstract-games-with-hints", "rest")]
    assert (planned[0]["last_synced"], planned[0]["paper_count"]) == (None, 10)
    requests = len(server.log)
    assert main(["status", "--json"]) == 0
    cover = json.loads(capsys.readouterr().out)["paperswithcode"]
    assert {k: cover[k] for k in ("catalog_tasks", "catalog_synced", "not_on_server")} == {
        "catalog_tasks": 3, "catalog_synced": 1, "not_on_server": 1,
    }
    assert cover["next"][:2] == ["image-classification", "abstract-games-with-hints"]
    assert cover["oldest_sync"] is not None
    assert len(server.log) == requests  # neither the plan nor the status asks the server
    assert main(["poll", "arxiv", "--plan"]) == 1
    assert "paperswithcode only" in capsys.readouterr().err


# --- few requests ---------------------------------------------------------------------------


def with_etag(reply: Reply) -> object:
    """A handler serving `reply` with a strong ETag of its body, and 304 to a matching If-None-Match."""
    import hashlib

    tag = '"' + hashlib.sha1(reply.body).hexdigest() + '"'

    def handler(req: LoggedRequest) -> Reply:
        if req.headers.get("if-none-match") == tag:
            return Reply(304, b"", {"ETag": tag})
        return Reply(reply.status, reply.body, {**reply.headers, "ETag": tag})

    return handler


def counts(srv: FakeUpstream) -> dict[str, int]:
    """Requests per kind, as the server saw them."""
    out: dict[str, int] = {}
    for r in srv.log:
        kind = r.path.removeprefix(API + "/").split("/")[0]
        kind = "trending" if r.path.endswith("trending-benchmarks") else kind
        out[kind] = out.get(kind, 0) + 1
    return out


def test_a_repeated_sync_of_an_unchanged_task_costs_at_most_its_pages(engine, server, clock, recorded):
    server.route(f"{API}/areas/with-tasks/", catalog(("ocr", 5)))
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    cfg = make_config(server.url)
    first = poll(engine, cfg, clock=clock)
    # the catalog, the task's benchmarks, 1 + 2 leaderboard pages, and the one paper (on both boards) once
    assert counts(server) == {"areas": 1, "trending": 1, "datasets": 3, "papers": 1}
    assert first.requests == 6
    server.log.clear()
    again = poll(engine, cfg, clock=clock)
    assert again.ok, again.errors
    # the catalog is fresh (a day), the paper is known, each board's first page shows nothing new
    assert counts(server) == {"trending": 1, "datasets": 2}
    assert again.requests <= first.details["pages"] + 1


def test_an_unchanged_leaderboard_answers_304_to_its_etag(engine, server, clock, recorded):
    server.route(f"{API}/tasks/ocr/trending-benchmarks", recorded("tasks_OCR_trending-benchmarks.json"))
    server.route(f"{API}/datasets/2/evaluations/", with_etag(recorded("datasets_42_evaluations.json")))
    server.route(f"{API}/datasets/1/evaluations/", with_etag(recorded("evaluations_paper_id_9_page1.json")))
    subscribe(engine, "ocr")
    cfg = make_config(server.url)
    poll(engine, cfg, clock=clock)
    assert all("if-none-match" not in r.headers for r in server.log)
    with Session(engine) as s:
        before = snapshot(s, skip={"synced_at"})
    server.log.clear()
    again = poll(engine, cfg, clock=clock)
    evals = server.requests_to(f"{API}/datasets/")
    assert len(evals) == 2 and all(r.headers.get("if-none-match", "").startswith('"') for r in evals)
    assert (again.new, again.updated, again.details["not_modified"]) == (0, 0, 2)
    with Session(engine) as s:
        assert snapshot(s, skip={"synced_at"}) == before  # a 304 keeps the board, priorities and default
    # a changed board is read in full again (its new ETag no longer matches ours)
    server.route(f"{API}/datasets/2/evaluations/", with_etag(Reply.json({"count": 1, "results": [
        row("9", "Agent Three", "Resolved", "60.0", 1, "2611.00001", "2026-11-01", "2")
    ]})))
    third = poll(engine, cfg, clock=clock)
    assert (third.new, third.details["not_modified"]) == (1, 1)


def test_a_papers_resources_are_read_once_and_again_only_when_stale(engine, server, recorded):
    import time

    clock = FakeClock(time.time())  # links are stamped with the wall clock: keep the poll's clock with it
    shared = "2501.01234"
    server.route(f"{API}/areas/with-tasks/", catalog(("task-a", 2), ("task-b", 1)))
    server.route(f"{API}/papers/{shared}", recorded("papers_2501.01234_include_resources.json"))
    for slug, ds in (("task-a", "71"), ("task-b", "72")):
        serve_board(server, slug, f"{slug} set", [row("1", "M", "Accuracy", "90", 1, shared, "2025-01-03", ds)], ds)
    cfg = make_config(server.url, resources_recheck_days=14)
    poll(engine, cfg, clock=clock)
    assert len(server.requests_to(f"{API}/papers/")) == 1  # on two leaderboards, read once
    for days, expected in ((13, 0), (2, 1)):
        clock.sleep(days * 86400)
        for slug, ds in (("task-a", "71"), ("task-b", "72")):  # a new row of the same paper on each board
            serve_board(server, slug, f"{slug} set", [
                row("1", "M", "Accuracy", "90", 1, shared, "2025-01-03", ds),
                row("2", f"M-{days}", "Accuracy", "80", 2, shared, "2025-01-03", ds),
            ], ds)
        server.log.clear()
        poll(engine, cfg, clock=clock)
        assert len(server.requests_to(f"{API}/papers/")) == expected, days


def code_of(engine, arxiv_id: str) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(
            select(Repo.url).join(PaperRepo).join(Paper, col(Paper.id) == col(PaperRepo.paper_id))
            .where(Paper.arxiv_id == arxiv_id)
        ).all())


def test_a_papers_code_read_by_a_poll_that_stored_nothing_is_read_again(engine, server, clock, recorded):
    first, second = "2501.01234", "2501.09999"
    server.route(f"{API}/areas/with-tasks/", catalog(("task-a", 2)))
    server.route(f"{API}/papers/{first}", recorded("papers_2501.01234_include_resources.json"))
    serve_board(server, "task-a", "A set", [row("1", "M", "Accuracy", "90", 1, first, "2025-01-03", "71"),
                                            row("2", "N", "Accuracy", "80", 2, second, "2025-01-03", "71")], "71")
    cfg = make_config(server.url, requests_per_poll=4)  # catalog, benchmarks, board, first paper: then spent
    assert poll(engine, cfg, clock=clock).details["budget_spent"] == 1
    assert [r.path for r in server.requests_to(f"{API}/papers/")] == [f"{API}/papers/{first}"]
    server.log.clear()
    cfg.sources.paperswithcode.requests_per_poll = 0
    assert poll(engine, cfg, clock=clock).new == 2
    assert len(server.requests_to(f"{API}/papers/{first}")) == 1  # what the cut-short poll read was not kept
    assert code_of(engine, first) == ["https://github.com/example/implementation",
                                      "https://github.com/example/official"]


def test_a_paper_still_without_code_is_asked_again_once_its_check_is_stale(engine, server, recorded):
    import time

    clock = FakeClock(time.time())  # links are stamped with the wall clock: keep the poll's clock with it
    paper = "2501.01234"
    server.route(f"{API}/areas/with-tasks/", catalog(("task-a", 2)))
    server.route(f"{API}/papers/{paper}", Reply.json({"arxiv_id": paper, "title": "A Paper", "repositories": []}))
    serve_board(server, "task-a", "A set", [row("1", "M", "Accuracy", "90", 1, paper, "2025-01-03", "71")], "71")
    cfg = make_config(server.url, resources_recheck_days=14)
    poll(engine, cfg, clock=clock)
    assert len(server.requests_to(f"{API}/papers/")) == 1 and code_of(engine, paper) == []
    server.route(f"{API}/papers/{paper}", recorded("papers_2501.01234_include_resources.json"))  # code appeared
    for days, asked in ((13, 0), (2, 1), (15, 0)):  # the board is unchanged all along
        clock.sleep(days * 86400)
        server.log.clear()
        poll(engine, cfg, clock=clock)
        assert len(server.requests_to(f"{API}/papers/")) == asked, days
    assert len(code_of(engine, paper)) == 2  # found at the stale re-check; once it has code it is not asked again


def test_the_request_budget_is_honoured_to_the_request_and_the_next_poll_goes_on(engine, server, clock, recorded):
    serve_ocr(server, recorded)
    subscribe(engine, "ocr")
    server.fail(f"{API}/datasets/2/evaluations/", Fault("status", status=503), times=1)  # a retry counts too
    cfg = make_config(server.url, requests_per_poll=4)
    report = poll(engine, cfg, clock=clock)
    assert len(server.log) == report.requests == 4
    assert report.details["budget_spent"] == 1 and report.ok  # a spent budget is not an upstream fault
    with Session(engine) as s:
        assert s.exec(select(Result)).all() == []  # the half-read task was not stored
    server.log.clear()
    cfg.sources.paperswithcode.requests_per_poll = 0  # no limit
    assert poll(engine, cfg, clock=clock).new == 3


def test_a_budget_spent_on_the_catalogs_retries_ends_the_poll_quietly(engine, server, clock):
    server.fail(f"{API}/areas/with-tasks/", Fault("status", status=503), times=1)
    report = poll(engine, make_config(server.url, requests_per_poll=1), clock=clock)
    assert len(server.log) == 1 and report.details["budget_spent"] == 1


def test_a_leaderboard_is_written_in_a_few_bulk_inserts_not_one_per_row(engine, server, clock):
    subscribe(engine, "speech-recognition")
    rows = [row(str(i), f"Model {i}", "WER", f"{2 + i / 100:.2f}", i + 1, f"2401.{i:05d}", "2024-01-05")
            for i in range(90)]
    serve_board(server, "speech-recognition", "LibriSpeech test-clean", rows)
    inserts: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO results "):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    report = poll(engine, make_config(server.url), clock=clock)
    event.remove(engine, "before_cursor_execute", watch)
    assert report.ok, report.errors
    assert report.new == 90
    assert len(inserts) <= 2  # storage.results.record_results: the board's rows in bulk
