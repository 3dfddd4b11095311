"""The outbox: deliveries queued once, claimed by one sender at a time, never lost.

A delivery moves pending -> sending -> sent (or back to pending with backoff, or dead).
`claim_due` commits the `sending` state and the attempt count *before* anything is sent, so
a crash leaves the row in `sending`; after `lease` seconds it is due again. The only
duplicate a crash can cause is that one send in flight. On PostgreSQL several processes
claim with `FOR UPDATE SKIP LOCKED`, so each row goes to exactly one of them.

A busy database must not turn into a duplicate: a live owner renews its leases
(`renew_leases`) and the caller decides whether an expired `sending` row may be taken over
(`reclaim_stale`). Every write here first takes the write lock (`BEGIN IMMEDIATE` on SQLite,
the row-exclusive table lock on PostgreSQL) and reports how long that took, so the delivery
loop can tell a busy database from a dead owner.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, false, func, or_, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.storage.db import insert_or_ignore, is_postgres
from sotabot.storage.models import ERROR_CHARS, REASON_CHARS, Channel, Delivery, utcnow

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Claimed:
    """What a sender needs, detached from the session."""

    id: int
    channel_id: int
    platform: str
    workspace: str
    channel: str
    dedupe_key: str
    payload: dict
    attempts: int


def enqueue(
    session: Session,
    channel_id: int,
    dedupe_key: str,
    payload: dict,
    *,
    kind: str = "message",
    due: datetime | None = None,
) -> bool:
    """Queue a delivery unless (channel, dedupe_key) is already queued; True if inserted.

    Runs inside the caller's transaction so that queueing and marking the work done commit
    together.
    """
    values = {
        "channel_id": channel_id,
        "dedupe_key": dedupe_key,
        "kind": kind,
        "payload": payload,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": due or utcnow(),
        "created_at": utcnow(),
    }
    return insert_or_ignore(session, Delivery, values, ("channel_id", "dedupe_key"), returning=Delivery.id) is not None


def lock_for_write(session: Session) -> float:
    """Take the write lock before reading what to change; returns the seconds it took.

    SQLite: `BEGIN IMMEDIATE`, so the rows read are the rows updated (a deferred transaction
    that reads first fails with "database is locked" when another writer committed meanwhile).
    PostgreSQL: the table lock every UPDATE takes anyway; it waits behind a LOCK TABLE.
    """
    started = time.monotonic()
    if is_postgres(session):
        session.execute(text(f"LOCK TABLE {Delivery.__tablename__} IN ROW EXCLUSIVE MODE"))
    else:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return time.monotonic() - started


@dataclass(frozen=True)
class Claim:
    """The rows claimed and how long the claim waited for the write lock."""

    rows: list[Claimed]
    lock_wait: float


def claim(
    engine: Engine,
    now: datetime,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    *,
    reclaim_stale: bool = True,
    stale_max_lock_wait: float = math.inf,
    exclude: Collection[int] = (),
) -> Claim:
    """Mark up to `limit` due deliveries as sending (attempt counted) and return them.

    `reclaim_stale`: whether `sending` rows whose lease expired may be taken over; only if the
    write lock came within `stale_max_lock_wait` seconds, too (a long wait means the database
    was busy, so their owner may be alive and about to renew). `exclude`: rows this process
    owns already.
    """
    with Session(engine) as session:
        waited = lock_for_write(session)
        stale_ok = reclaim_stale and waited <= stale_max_lock_wait
        stale = and_(Delivery.state == SENDING, Delivery.next_attempt_at <= now) if stale_ok else false()
        due = or_(and_(Delivery.state == PENDING, Delivery.next_attempt_at <= now), stale)
        query = (
            select(Delivery, Channel)
            .join(Channel, col(Channel.id) == Delivery.channel_id)
            .where(due, col(Channel.active).is_(True))
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(limit)
        )
        if exclude:
            query = query.where(col(Delivery.id).not_in(list(exclude)))
        if is_postgres(engine):
            query = query.with_for_update(skip_locked=True, of=Delivery)  # type: ignore[arg-type]
        rows = session.exec(query).all()
        claimed: list[Claimed] = []
        for delivery, channel in rows:
            delivery.state = SENDING
            delivery.attempts += 1
            delivery.next_attempt_at = now + lease
            session.add(delivery)
            claimed.append(
                Claimed(
                    id=delivery.id or 0,
                    channel_id=channel.id or 0,
                    platform=channel.platform,
                    workspace=channel.workspace,
                    channel=channel.channel,
                    dedupe_key=delivery.dedupe_key,
                    payload=dict(delivery.payload),
                    attempts=delivery.attempts,
                )
            )
        session.commit()
        return Claim(claimed, waited)


def claim_due(engine: Engine, now: datetime, limit: int = 50, lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """`claim` for a caller that owns nothing (a fresh `sotabot deliver`): expired leases are due."""
    return claim(engine, now, limit, lease).rows


def renew_leases(
    engine: Engine, ids: Collection[int], lease: timedelta, now: Callable[[], datetime] = utcnow
) -> float:
    """Extend the lease of rows this process is still sending; returns the write-lock wait.

    The new expiry counts from when the lock was granted, not from when it was asked for.
    With no ids it only takes and releases the write lock: a probe of how busy the database is.
    """
    with Session(engine) as session:
        waited = lock_for_write(session)
        until = now() + lease
        if ids:
            session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(list(ids)), col(Delivery.state) == SENDING)
                .values(next_attempt_at=until)
            )
        session.commit()
        return waited


def mark_sent(engine: Engine, delivery_id: int, now: datetime) -> None:
    with Session(engine) as session:
        session.execute(
            update(Delivery).where(col(Delivery.id) == delivery_id).values(state=SENT, sent_at=now, last_error=None)
        )
        session.commit()


def mark_retry(engine: Engine, delivery_id: int, error: str, at: datetime, *, count_attempt: bool = True) -> None:
    """Back to pending, due at `at`; a rate limit (count_attempt=False) does not use up an attempt."""
    values: dict = {"state": PENDING, "next_attempt_at": at, "last_error": error[:ERROR_CHARS]}
    if not count_attempt:
        values["attempts"] = Delivery.attempts - 1
    with Session(engine) as session:
        session.execute(update(Delivery).where(col(Delivery.id) == delivery_id).values(**values))
        session.commit()


def mark_dead(engine: Engine, delivery_id: int, error: str) -> None:
    with Session(engine) as session:
        session.execute(
            update(Delivery).where(col(Delivery.id) == delivery_id).values(state=DEAD, last_error=error[:ERROR_CHARS])
        )
        session.commit()


def deactivate_channel(engine: Engine, channel_id: int, reason: str) -> int:
    """The channel is gone: stop delivering to it; its pending rows die with the reason kept."""
    with Session(engine) as session:
        session.execute(
            update(Channel)
            .where(col(Channel.id) == channel_id)
            .values(active=False, inactive_reason=reason[:REASON_CHARS])
        )
        result = session.execute(
            update(Delivery)
            .where(col(Delivery.channel_id) == channel_id, col(Delivery.state).in_([PENDING, SENDING]))
            .values(state=DEAD, last_error=f"channel inactive: {reason}"[:ERROR_CHARS])
        )
        session.commit()
        return result.rowcount


def next_due_at(engine: Engine) -> datetime | None:
    with Session(engine) as session:
        return session.exec(
            select(func.min(Delivery.next_attempt_at))
            .join(Channel, col(Channel.id) == Delivery.channel_id)
            .where(col(Delivery.state).in_([PENDING, SENDING]), col(Channel.active).is_(True))
        ).one()


def depth(engine: Engine) -> dict[str, int]:
    """Rows per state, for `sotabot status` and /metrics."""
    with Session(engine) as session:
        rows = session.exec(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
    counts = {PENDING: 0, SENDING: 0, SENT: 0, DEAD: 0}
    counts.update({state: n for state, n in rows})
    return counts
