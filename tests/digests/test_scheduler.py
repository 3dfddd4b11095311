"""The scheduler: which jobs run, and which process runs them on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from sqlmodel import Session, select

from sotabot.bot.settings import Config
from sotabot.digests.scheduler import Leadership, build_scheduler, job_table
from sotabot.storage.db import make_engine
from sotabot.storage.models import Channel, Delivery


def test_every_poll_has_a_job_and_an_interval_of_zero_turns_it_off():
    cfg = Config()
    assert {job for job, _, _ in job_table(cfg)} == {
        "poll:arxiv",
        "claims",
        "poll:huggingface",
        "poll:github",
        "poll:paperswithcode",
        "poll:hf-leaderboards",
        "digest",
        "alerts",
    }
    cfg.sources.github.refresh_interval_minutes = 0
    assert "poll:github" not in {job for job, _, _ in job_table(cfg)}


def test_the_claims_pass_runs_at_the_arxiv_interval_and_stops_with_it():
    cfg = Config()
    intervals = {job: seconds for job, _, seconds in job_table(cfg)}
    assert intervals["claims"] == intervals["poll:arxiv"] == cfg.sources.arxiv.poll_interval_minutes * 60.0
    cfg.sources.arxiv.poll_interval_minutes = 0
    assert {"poll:arxiv", "claims"}.isdisjoint({job for job, _, _ in job_table(cfg)})


def test_the_hub_leaderboards_run_on_their_own_interval_and_subscribed_tasks_sync_within_the_hour():
    cfg = Config()
    intervals = {job: seconds for job, _, seconds in job_table(cfg)}
    assert intervals["poll:hf-leaderboards"] == cfg.sources.huggingface.leaderboards_interval_minutes * 60.0
    assert intervals["poll:paperswithcode"] + intervals["alerts"] <= 3600  # a subscribed task's news within 1 h
    assert intervals["poll:hf-leaderboards"] + intervals["alerts"] <= 3600
    cfg.sources.paperswithcode.poll_interval_minutes = 0
    assert "poll:hf-leaderboards" in {job for job, _, _ in job_table(cfg)}
    cfg.sources.huggingface.leaderboards_interval_minutes = 0
    assert "poll:hf-leaderboards" not in {job for job, _, _ in job_table(cfg)}


def test_the_jobs_are_single_instance_coalescing_and_in_utc(sqlite_engine):
    scheduler = build_scheduler(sqlite_engine, Config())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs["digest"].max_instances == 1 and jobs["digest"].coalesce is True
    assert jobs["poll:arxiv"].misfire_grace_time == 300
    assert str(scheduler.timezone) == "UTC"


def _digests_only() -> Config:
    """A config whose only jobs are the digest and alert ticks (every poll off), empty days sent."""
    cfg = Config()
    cfg.digest.send_empty = True
    for source in (cfg.sources.arxiv, cfg.sources.huggingface, cfg.sources.paperswithcode):
        source.poll_interval_minutes = 0
    cfg.sources.github.refresh_interval_minutes = 0
    cfg.sources.huggingface.leaderboards_interval_minutes = 0
    return cfg


def _channel_due_now(engine) -> None:
    with Session(engine) as s:
        s.add(
            Channel(
                platform="slack",
                workspace="T",
                channel="C",
                digest_enabled=True,
                digest_time=datetime.now(UTC).strftime("%H:%M"),
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
        s.commit()


def test_a_running_scheduler_queues_due_digests_and_wakes_delivery(sqlite_engine):
    cfg = _digests_only()
    _channel_due_now(sqlite_engine)
    woken = asyncio.Event()

    async def run() -> None:
        scheduler = build_scheduler(sqlite_engine, cfg, on_queued=woken.set)
        scheduler.start()
        try:
            await asyncio.wait_for(woken.wait(), timeout=20)
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(run())
    with Session(sqlite_engine) as s:
        assert [d.dedupe_key.split(":")[0] for d in s.exec(select(Delivery)).all()] == ["digest"]


def test_polls_stuck_on_slow_upstreams_leave_threads_for_the_digest(sqlite_engine, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from sotabot.digests import scheduler as scheduler_module

    cfg = _digests_only()
    _channel_due_now(sqlite_engine)
    release = threading.Event()
    stuck: list[str] = []

    def dripping_poll(name: str):
        def poll(_engine, _config) -> None:  # a poll waiting on an upstream that sends a byte a second
            stuck.append(name)
            release.wait(20)

        return poll

    real = scheduler_module.job_table(cfg)
    polls = [(f"poll:{n}", dripping_poll(n), 3600.0) for n in ("arxiv", "hf", "github", "pwc", "hub")]
    monkeypatch.setattr(scheduler_module, "job_table", lambda _cfg: polls + real)
    woken = asyncio.Event()

    async def run() -> None:
        # asyncio's shared pool on a one-CPU machine: min(32, 1 + 4) threads, one per stuck poll
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=5))
        scheduler = build_scheduler(sqlite_engine, cfg, on_queued=woken.set)
        for job in scheduler.get_jobs():
            job.modify(next_run_time=datetime.now(UTC))  # every poll starts at once, before the digest
        scheduler.start()
        try:
            while len(stuck) < 5:
                await asyncio.sleep(0.05)
            await asyncio.wait_for(woken.wait(), timeout=10)  # the digest ran while all five polls wait
        finally:
            release.set()
            scheduler.shutdown(wait=False)
            scheduler.poll_pool.shutdown(wait=True)

    asyncio.run(run())
    with Session(sqlite_engine) as s:
        assert [d.dedupe_key.split(":")[0] for d in s.exec(select(Delivery)).all()] == ["digest"]


def test_on_postgresql_one_process_holds_the_lock_and_another_takes_over_when_it_dies(postgres_url):
    a_engine, b_engine = make_engine(postgres_url), make_engine(postgres_url)
    a, b = Leadership(a_engine, key=4242), Leadership(b_engine, key=4242)
    try:
        assert a.is_leader() is True
        assert b.is_leader() is False
        assert a.is_leader() is True  # keeps it
        a.release()  # the leader's connection closes, as when its process dies
        assert b.is_leader() is True
        assert a.is_leader() is False
    finally:
        a.release()
        b.release()
        a_engine.dispose()
        b_engine.dispose()


def test_on_sqlite_the_single_process_is_always_the_leader(sqlite_engine):
    assert Leadership(sqlite_engine).is_leader() is True


def test_a_digest_job_that_cannot_commit_retries_until_the_lock_goes(tmp_path, caplog):
    import threading

    from sotabot.storage.db import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}", busy_timeout=0.3)
    upgrade(engine)
    cfg = _digests_only()
    _channel_due_now(engine)
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with make_engine(f"sqlite:///{tmp_path / 'busy.db'}").connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            conn.rollback()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    locked.wait(5)
    digested = asyncio.Event()
    outcomes: list[BaseException | None] = []

    def on_result(job_id: str, _result: object, exc: BaseException | None) -> None:
        if job_id == "digest":
            outcomes.append(exc)
            digested.set()

    async def run() -> None:
        scheduler = build_scheduler(engine, cfg, on_result=on_result)
        scheduler.start()
        try:
            await asyncio.sleep(3.0)  # the first run (after 1 s) and its first retry meet the lock
            assert not digested.is_set()
            release.set()
            await asyncio.wait_for(digested.wait(), timeout=20)
        finally:
            scheduler.shutdown(wait=False)

    try:
        asyncio.run(run())
    finally:
        release.set()
        holder.join()
    with Session(engine) as s:
        assert [d.dedupe_key.split(":")[0] for d in s.exec(select(Delivery)).all()] == ["digest"]
    assert outcomes == [None]  # one run, finished by its retry, not a failure
    assert "job digest could not commit (database is locked); retrying" in caplog.text
    engine.dispose()
