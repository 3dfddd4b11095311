"""The scheduled jobs of `sotabot run`: polls, digest tick, alerts, star refreshes.

APScheduler 3's AsyncIOScheduler runs in the service's loop; every job body is synchronous
database work, so it runs in a thread: polls in a pool of their own (one thread per poller),
digests and alerts in asyncio's shared one, so neither a slash command nor a digest is ever
stuck behind polls waiting on slow upstreams. Jobs use max_instances=1, coalescing and a misfire grace, all in UTC;
everything that matters (cursors, what was sent) lives in the database, so a restart
resumes where it stopped. On PostgreSQL only the process holding an advisory lock runs the
jobs; when it dies its connection closes, the lock is freed and another process takes over
at its next tick. A poll interval of 0 turns that source off.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from sotabot.digests.alerts import build_alerts
from sotabot.digests.digest import send_due
from sotabot.digests.settings import DigestsSettings
from sotabot.sources.poll import POLLERS, Poller
from sotabot.storage.db import is_postgres

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x50_7A_B0_7  # arbitrary, constant across processes of one deployment
ALERT_INTERVAL_SECONDS = 60
# A job whose transaction cannot commit (database busy or full) is run again this often,
# with doubling waits, before it waits for its next interval. Every job is idempotent and
# commits its work with the mark that it was done, so a retry finishes what one did not.
DB_RETRIES = 4
FIRST_DB_RETRY_SECONDS = 2.0


class Leadership:
    """Who runs the scheduled jobs: always this process on SQLite, the lock holder on PostgreSQL."""

    def __init__(self, engine: Engine, key: int = LEADER_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    @property
    def needs_lock(self) -> bool:
        return is_postgres(self.engine)

    def is_leader(self) -> bool:
        if not self.needs_lock:
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the scheduler lock connection; will try to take the lock again")
                self._close()
        try:
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
        except Exception as exc:
            log.warning("cannot reach the database for the scheduler lock: %s", exc)
            return False
        if got:
            conn.detach()  # out of the pool: closing it really ends the session and frees the lock
            self._conn = conn
            log.info("this process now runs the scheduled jobs (advisory lock %d)", self.key)
            return True
        conn.close()
        return False

    def release(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.close()
            self._conn = None


IN_SHARED_POOL = ("digest", "alerts")  # short database jobs; every other job is a poll of an upstream


def _poll_job(p: Poller) -> Callable[[Engine, DigestsSettings], Any]:
    def run(engine: Engine, config: DigestsSettings) -> Any:
        return p.poll(engine, config)

    run.__name__ = f"poll_{p.name.replace('-', '_')}"
    return run


def job_table(config: DigestsSettings) -> list[tuple[str, Callable[[Engine, DigestsSettings], Any], float]]:
    """(job id, function, interval seconds) for every enabled job: each poller of POLLERS, digests, alerts."""
    jobs: list[tuple[str, Callable[[Engine, DigestsSettings], Any], float]] = [
        (p.job_id, _poll_job(p), p.interval_minutes(config) * 60.0) for p in POLLERS if p.interval_minutes(config) > 0
    ]
    jobs.append(("digest", lambda e, c: send_due(e, c, datetime.now(UTC)), float(config.digest.tick_seconds)))
    jobs.append(("alerts", lambda e, c: build_alerts(e, datetime.now(UTC)), float(ALERT_INTERVAL_SECONDS)))
    return jobs


def build_scheduler(
    engine: Engine,
    config: DigestsSettings,
    *,
    on_queued: Callable[[], None] | None = None,
    on_result: Callable[[str, Any, BaseException | None], None] | None = None,
    leadership: Leadership | None = None,
) -> AsyncIOScheduler:
    """A scheduler with every job; call `.start()` inside the running loop."""
    leadership = leadership or Leadership(engine)
    scheduler = AsyncIOScheduler(timezone=UTC)
    table = job_table(config)
    # Polls get threads of their own: a poll can wait on a dripping upstream up to its deadline, and
    # asyncio's shared pool has min(32, CPUs + 4) threads (5 on one CPU), so five stuck polls would
    # otherwise leave none for the digest and alerts jobs or a slash command's database work.
    polls = ThreadPoolExecutor(
        max_workers=max(1, sum(job_id not in IN_SHARED_POOL for job_id, _, _ in table)), thread_name_prefix="poll"
    )

    async def guarded(job_id: str, func: Callable[[Engine, DigestsSettings], Any]) -> None:
        try:
            await _job(job_id, func)
        except asyncio.CancelledError:  # the service is stopping: not an error worth a traceback
            log.info("job %s stopped with the service; it runs again after the next start", job_id)

    async def _job(job_id: str, func: Callable[[Engine, DigestsSettings], Any]) -> None:
        if not await asyncio.to_thread(leadership.is_leader):
            return
        delay = FIRST_DB_RETRY_SECONDS
        for attempt in range(DB_RETRIES + 1):
            try:
                pool = None if job_id in IN_SHARED_POOL else polls
                call = functools.partial(contextvars.copy_context().run, func, engine, config)
                result = await asyncio.get_running_loop().run_in_executor(pool, call)
            except OperationalError as exc:  # locked, full, unreachable: what did not commit is not done
                reason = str(exc.orig or exc).splitlines()[0][:200]
                if attempt < DB_RETRIES:
                    log.warning("job %s could not commit (%s); retrying in %.0fs", job_id, reason, delay)
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                log.warning("job %s could not commit (%s); it runs again at its next interval", job_id, reason)
                if on_result is not None:
                    on_result(job_id, None, exc)
                return
            except Exception as exc:
                log.exception("job %s failed; it runs again at its next interval", job_id)
                if on_result is not None:
                    on_result(job_id, None, exc)
                return
            break
        if on_result is not None:
            on_result(job_id, result, None)
        summary = getattr(result, "summary", None)
        if callable(summary):
            log.info("%s", summary())
        if on_queued is not None and job_id in ("digest", "alerts"):
            on_queued()

    start = datetime.now(UTC)
    for index, (job_id, func, seconds) in enumerate(table):
        first = (
            start + timedelta(seconds=1 + index)
            if job_id in ("digest", "alerts")
            else start + timedelta(seconds=10 + 5 * index)
        )
        scheduler.add_job(
            guarded,
            "interval",
            args=[job_id, func],
            seconds=seconds,
            id=job_id,
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=config.scheduler.misfire_grace_seconds,
        )
    scheduler.leadership = leadership  # type: ignore[attr-defined]
    scheduler.poll_pool = polls  # type: ignore[attr-defined]
    return scheduler
