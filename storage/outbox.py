"""The outbox: deliveries queued once, claimed by one sender at a time, never lost.

A delivery moves pending -> sending -> sent (or back to pending with backoff, or dead).
`claim_due` commits the `sending` state and the attempt count *before* anything is sent, so
a crash leaves the row in `sending`; after `lease` seconds it is due again. The only
duplicate a crash can cause is that one send in flight. On PostgreSQL several processes
claim with `FOR UPDATE SKIP LOCKED`, so each row goes to exactly one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, update
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


def claim_due(engine: Engine, now: datetime, limit: int = 50, lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Mark up to `limit` due deliveries as sending (attempt counted) and return them."""
    due = or_(
        and_(Delivery.state == PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == SENDING, Delivery.next_attempt_at <= now),  # lease expired: crashed sender
    )
    with Session(engine) as session:
        query = (
            select(Delivery, Channel)
            .join(Channel, col(Channel.id) == Delivery.channel_id)
            .where(due, col(Channel.active).is_(True))
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(limit)
        )
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
        return claimed


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
