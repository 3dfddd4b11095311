"""The delivery ledger: a busy database delays records but never lets a row be sent twice."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from sotabot.bot.ledger import Ledger
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Channel, Delivery
from sotabot.storage.outbox import claim, enqueue, mark_sent

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _engine(tmp_path, busy_timeout: float = 30.0):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}", busy_timeout=busy_timeout)
    upgrade(engine)
    with Session(engine) as s:
        ch = Channel(platform="slack", workspace="T", channel="C")
        s.add(ch)
        s.flush()
        for key in ("a", "b"):
            enqueue(s, ch.id, key, {"text": key}, due=NOW - timedelta(minutes=1))
        s.commit()
    return engine


def _hold_write_lock(tmp_path, seconds: float) -> threading.Event:
    locked = threading.Event()

    def hold() -> None:
        with make_engine(f"sqlite:///{tmp_path / 'ledger.db'}").connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(seconds)
            conn.rollback()

    threading.Thread(target=hold, daemon=True).start()
    locked.wait(5)
    return locked


def test_an_expired_lease_is_not_taken_over_by_a_claim_that_waited_for_the_lock(tmp_path):
    engine = _engine(tmp_path)
    first = claim(engine, NOW, limit=1, lease=timedelta(seconds=3))
    assert [c.dedupe_key for c in first.rows] == ["a"]
    later = NOW + timedelta(seconds=10)  # a's lease ran out while its owner was blocked
    _hold_write_lock(tmp_path, 0.5)
    waited = claim(engine, later, lease=timedelta(seconds=3), stale_max_lock_wait=0.1)
    assert waited.lock_wait >= 0.3
    assert [c.dedupe_key for c in waited.rows] == ["b"]  # the pending row, not the busy owner's
    quiet = claim(engine, later, lease=timedelta(seconds=3), stale_max_lock_wait=0.1)
    assert [c.dedupe_key for c in quiet.rows] == ["a"]  # no wait: its owner had every chance to renew
    engine.dispose()


def test_a_record_after_a_send_is_retried_until_the_lock_goes(tmp_path):
    engine = _engine(tmp_path, busy_timeout=0.2)
    ledger = Ledger(engine, lease_seconds=2.0, now=lambda: NOW)

    async def run() -> None:
        (a,) = await ledger.claim(NOW, 1)
        _hold_write_lock(tmp_path, 1.5)  # longer than busy_timeout: the first writes fail
        record = asyncio.ensure_future(ledger.record(a.id, "sent", mark_sent, NOW, sent=True))
        await asyncio.sleep(0.8)
        assert not record.done() and ledger.unrecorded == 1 and a.id in ledger.owned
        assert ledger.trouble == "database is locked"
        await asyncio.wait_for(record, 10)

    try:
        asyncio.run(run())
    finally:
        ledger.close()
    with Session(engine) as s:
        assert s.get(Delivery, 1).state == "sent"
    assert ledger.owned == set() and ledger.unrecorded == 0
    engine.dispose()


def test_a_write_still_blocked_behind_a_lock_is_reported_before_it_returns(tmp_path):
    # PostgreSQL queues a write behind LOCK TABLE without a timeout: nothing fails, so the
    # wait itself must say the database is busy while it lasts, not once the lock is gone.
    engine = _engine(tmp_path, busy_timeout=30.0)
    ledger = Ledger(engine, lease_seconds=2.0, now=lambda: NOW)  # slow_wait 0.5 s

    async def run() -> None:
        (a,) = await ledger.claim(NOW, 1)
        assert ledger.delay() is None
        _hold_write_lock(tmp_path, 1.5)
        record = asyncio.ensure_future(ledger.record(a.id, "sent", mark_sent, NOW, sent=True))
        await asyncio.sleep(0.2)
        assert ledger.delay() is None  # a short wait is normal
        await asyncio.sleep(0.6)
        assert not record.done() and ledger.trouble is None
        assert (ledger.delay() or "").startswith("a write has waited")
        await asyncio.wait_for(record, 10)

    try:
        asyncio.run(run())
    finally:
        ledger.close()
    assert ledger.delay() is not None  # the long wait is remembered until a quick write
    engine.dispose()


def test_rows_this_process_owns_are_never_claimed_again_here_even_with_their_lease_gone(tmp_path):
    engine = _engine(tmp_path)
    ledger = Ledger(engine, lease_seconds=2.0, now=lambda: NOW)
    ledger._quiet_since -= 3600  # an hour of quiet writes: expired leases may be taken over

    async def run() -> tuple[list[str], list[str]]:
        first = await ledger.claim(NOW, 1)
        again = await ledger.claim(NOW + timedelta(hours=1), 10)
        return [c.dedupe_key for c in first], [c.dedupe_key for c in again]

    try:
        assert asyncio.run(run()) == (["a"], ["b"])
    finally:
        ledger.close()
    engine.dispose()
