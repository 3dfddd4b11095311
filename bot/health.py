"""/healthz that tells the truth within a second, whatever else the process is waiting for.

A container health check restarts a process that does not answer, so the answer must never
queue behind other work: the database check has its own engine, its own thread and its own
short timeouts (and a check still stuck is not started twice), and the parts of the service
(the delivery loop, the scheduler) report through cheap in-memory probes. 200 "ok" when
all is well (with a note when the database delays deliveries but answers: a restart would
not help then); 503 with one reason a line otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sotabot.storage.db import is_postgres, make_engine

log = logging.getLogger(__name__)

DEADLINE_SECONDS = 0.8  # the whole answer, well inside the 1 s a health check may wait
DB_TIMEOUT_SECONDS = 0.5

# A probe returns (problem, note): a problem makes the answer 503, a note is said with 200.
Probe = Callable[[], tuple[str | None, str | None]]


class Health:
    """The checks behind /healthz: the database on its own timeout, then each registered probe."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.render_as_string(hide_password=False)
        if is_postgres(engine):
            self.engine = make_engine(url, connect_timeout=max(1, int(DB_TIMEOUT_SECONDS + 0.5)))
        else:
            self.engine = make_engine(url, busy_timeout=DB_TIMEOUT_SECONDS)
        self.probes: list[tuple[str, Probe]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
        self._running: Future[None] | None = None

    def watch(self, name: str, probe: Probe) -> None:
        self.probes.append((name, probe))

    def _ping(self) -> None:
        with self.engine.connect() as conn:
            if is_postgres(self.engine):
                conn.execute(text(f"SET LOCAL statement_timeout = {int(DB_TIMEOUT_SECONDS * 1000)}"))
            conn.execute(text("SELECT version_num FROM alembic_version")).all()
            conn.rollback()

    async def _database(self) -> str | None:
        if self._running is not None and not self._running.done():
            return "database unavailable: the previous check has not returned"
        self._running = self._pool.submit(self._ping)
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._running)), timeout=DEADLINE_SECONDS)
        except TimeoutError:
            return f"database unavailable: no answer within {DEADLINE_SECONDS:.1f}s"
        except Exception as exc:
            log.warning("healthz: database check failed: %s", type(exc).__name__)
            return f"database unavailable: {type(exc).__name__}"
        return None

    async def check(self) -> tuple[int, str]:
        problems: list[str] = []
        notes: list[str] = []
        database = await self._database()
        if database:
            problems.append(database)
        for name, probe in self.probes:
            try:
                problem, note = probe()
            except Exception as exc:  # a probe must not turn health into a 500
                problem, note = f"{name}: probe failed ({type(exc).__name__})", None
            if problem:
                problems.append(problem)
            if note:
                notes.append(note)
        if problems:
            return 503, "\n".join(problems)
        return 200, "ok" + (f" ({'; '.join(notes)})" if notes else "")

    async def route(self, _request: web.Request) -> web.Response:
        status, body = await self.check()
        return web.Response(status=status, text=body)

    async def close(self, _app: web.Application | None = None) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()
