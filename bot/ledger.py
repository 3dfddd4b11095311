"""The delivery loop's bookkeeping: claims, leases and records that survive a busy database.

A post that Slack accepted must be recorded as sent before anyone can claim its row again,
or the next claim posts it twice. So every write after a send (`record`) is retried in
memory, with backoff, for as long as it takes; the rows this process holds stay in `owned`
(never claimed again here) and their leases are renewed by `heartbeat` while the process is
alive, however long the database keeps it waiting.

Another process cannot see that an owner is alive while the database is locked, only that
the lease ran out. Hence the quiet rule: expired `sending` rows are taken over only after
this process has written without a long wait for a whole lease (a live owner renews within a
quarter of one), and only by a claim that itself got the write lock quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sotabot.storage.outbox import Claimed, claim, renew_leases

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.05
MAX_RETRY_SECONDS = 5.0
MAX_HEARTBEAT_SECONDS = 10.0
DB_WORKERS = 4  # threads for the loop's own writes, apart from the shared default executor


def db_reason(exc: BaseException) -> str:
    """One line saying why the database refused ("database is locked", "database or disk is full")."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


class Ledger:
    """Claims rows for one delivery loop and records their outcome, whatever the database does."""

    def __init__(self, engine: Engine, lease_seconds: float, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease_seconds)
        self.now = now
        self.owned: set[int] = set()  # claimed here and not yet recorded
        self.unrecorded = 0  # sends that happened and whose record is still waiting for the database
        self.trouble: str | None = None  # why the database delays deliveries right now
        self._trouble_since = 0.0
        self._quiet_since = time.monotonic()  # the last time a write waited long or failed
        self.alive_at = time.monotonic()  # the last heartbeat that completed
        self._pool = ThreadPoolExecutor(max_workers=DB_WORKERS, thread_name_prefix="delivery-db")
        self._beat_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="delivery-lease")
        self.beating = False
        self._waiting: dict[int, float] = {}  # database calls in flight: token -> monotonic start
        self._waiting_lock = threading.Lock()
        self._next_token = 0

    @property
    def slow_wait(self) -> float:
        """A write-lock wait this long means the database is busy (a live owner may be blocked)."""
        return min(self.lease.total_seconds() / 4, MAX_RETRY_SECONDS)

    @property
    def heartbeat_seconds(self) -> float:
        return min(self.lease.total_seconds() / 4, MAX_HEARTBEAT_SECONDS)

    def may_reclaim_stale(self) -> bool:
        return time.monotonic() - self._quiet_since >= self.lease.total_seconds()

    async def _in(self, pool: ThreadPoolExecutor, func: Callable[..., Any], *args: Any) -> Any:
        with self._waiting_lock:
            self._next_token += 1
            token = self._next_token
            self._waiting[token] = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, func, *args)
        finally:
            with self._waiting_lock:
                del self._waiting[token]

    def delay(self) -> str | None:
        """Why deliveries wait right now, if they do; safe to call from another thread (/healthz).

        A write that is still blocked counts as soon as it has waited `slow_wait`: PostgreSQL
        queues a write behind a table lock without a timeout, so `trouble` alone would say
        nothing until the lock is gone.
        """
        with self._waiting_lock:
            oldest = min(self._waiting.values(), default=None)
        if oldest is not None and (waited := time.monotonic() - oldest) > self.slow_wait:
            return f"a write has waited {waited:.1f}s for the database"
        return self.trouble

    def _busy(self, reason: str) -> None:
        self._quiet_since = time.monotonic()
        if self.trouble is None:
            self._trouble_since = time.monotonic()
            log.warning(
                "database busy (%s): deliveries are delayed, %d sends wait to be recorded", reason, self.unrecorded
            )
        self.trouble = reason

    def _fine(self, waited: float) -> None:
        if waited > self.slow_wait:
            self._busy(f"waited {waited:.1f}s for the write lock")
            return
        if self.trouble is not None:
            log.info("database writable again after %.1fs (%s)", time.monotonic() - self._trouble_since, self.trouble)
            self.trouble = None

    async def claim(self, now: datetime, limit: int) -> list[Claimed]:
        """Claim due rows; expired leases only under the quiet rule; never a row owned here."""
        try:
            result = await self._in(
                self._pool,
                lambda: claim(
                    self.engine,
                    now,
                    limit,
                    self.lease,
                    reclaim_stale=self.may_reclaim_stale(),
                    stale_max_lock_wait=self.slow_wait,
                    exclude=set(self.owned),
                ),
            )
        except SQLAlchemyError as exc:
            self._busy(db_reason(exc))
            raise
        self._fine(result.lock_wait)
        self.owned.update(item.id for item in result.rows)
        return result.rows

    async def record(self, delivery_id: int, what: str, func: Callable[..., Any], *args: Any, sent: bool) -> None:
        """Run `func(engine, delivery_id, *args)` until it commits; the row is then released.

        `sent`: the platform accepted the message, so this record is what keeps it from
        being sent twice; a stop before it commits is logged as a possible duplicate.
        """
        delay = FIRST_RETRY_SECONDS
        self.unrecorded += sent
        try:
            while True:
                started = time.monotonic()
                try:
                    await self._in(self._pool, func, self.engine, delivery_id, *args)
                except (SQLAlchemyError, OSError) as exc:
                    self._busy(db_reason(exc))
                    log.debug("recording delivery %s as %s failed (%s); retry in %.2fs", delivery_id, what, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.slow_wait)
                    continue
                self._fine(time.monotonic() - started)
                break
        except asyncio.CancelledError:
            if sent:
                log.error("delivery %s was sent but not recorded before the stop; it may be sent again", delivery_id)
            raise
        finally:
            self.unrecorded -= sent
        self.owned.discard(delivery_id)

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """Renew the leases of owned rows (and probe the write lock) until `stop`."""
        self.beating = True
        try:
            while not stop.is_set():
                try:
                    owned = set(self.owned)
                    waited = await self._in(self._beat_pool, renew_leases, self.engine, owned, self.lease, self.now)
                except (SQLAlchemyError, OSError) as exc:
                    self._busy(db_reason(exc))
                else:
                    self._fine(waited)
                    self.alive_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.heartbeat_seconds)
        finally:
            self.beating = False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._beat_pool.shutdown(wait=False, cancel_futures=True)
