"""Channels, their digest settings and their subscriptions.

A channel is found only by its full key (platform, workspace, channel): every function here
takes that key or a Channel row found by it, never an id from user input, so a command from
workspace or guild A can never read or change the settings of B. Inserts use
`ON CONFLICT DO NOTHING`, so two processes answering at once cannot create a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, or_
from sqlmodel import Session, col, select

from sotabot.storage.db import insert_or_ignore
from sotabot.storage.models import CHANNEL_NAME_CHARS, LABEL_CHARS, NAME_CHARS, Channel, Subscription

PLATFORMS = ("slack", "discord", "terminal")
SUBSCRIPTION_KINDS = ("task", "category", "keyword")
MAX_TARGET_CHARS = NAME_CHARS
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _key(platform: str, workspace: str, channel: str) -> tuple[str, str, str]:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    if not workspace or not channel:
        raise ValueError("workspace and channel are required")
    return platform, workspace[:LABEL_CHARS], channel[:LABEL_CHARS]


@dataclass(frozen=True)
class SameWorkspace:
    """Other keys a platform gives the same workspace (its adapter knows which, storage does not):
    each of `keys`, and any key ending with `suffix`."""

    keys: tuple[str, ...] = ()
    suffix: str | None = None

    def matches(self, key: str) -> Any:
        """A condition on Channel.workspace: this key or one of its other spellings."""
        terms = [Channel.workspace == key, *(Channel.workspace == k for k in self.keys)]
        if self.suffix:
            terms.append(col(Channel.workspace).like(f"%{self.suffix}"))
        return or_(*terms)


def find_channel(
    session: Session, platform: str, workspace: str, channel: str, same: SameWorkspace | None = None
) -> Channel | None:
    """The channel row for this key, or None (reads never create rows).

    `same`: where the platform spells one workspace several ways, a channel stored under another
    spelling of this workspace is this channel (the first such row; an exact key wins).
    """
    platform, workspace, channel = _key(platform, workspace, channel)
    if same is None:
        return session.exec(
            select(Channel).where(
                Channel.platform == platform, Channel.workspace == workspace, Channel.channel == channel
            )
        ).first()
    return session.exec(  # one read, found or not (every command asks): the exact key first
        select(Channel)
        .where(Channel.platform == platform, Channel.channel == channel, same.matches(workspace))
        .order_by(case((Channel.workspace == workspace, 0), else_=1), col(Channel.id))
        .limit(1)
    ).first()


def get_or_create_channel(
    session: Session,
    platform: str,
    workspace: str,
    channel: str,
    name: str | None = None,
    *,
    timezone: str = "UTC",
    digest_time: str = "09:00",
    same: SameWorkspace | None = None,
) -> Channel:
    """The channel row for this key, created with the given defaults on first use (`same`: as find_channel)."""
    platform, workspace, channel = _key(platform, workspace, channel)
    found = find_channel(session, platform, workspace, channel, same)
    if found is None:
        row = {
            "platform": platform,
            "workspace": workspace,
            "channel": channel,
            "name": name[:CHANNEL_NAME_CHARS] if name else None,
            "timezone": timezone,
            "digest_enabled": False,
            "digest_time": digest_time,
            "categories": [],
            "keywords": [],
            "active": True,
            "created_at": datetime.now(UTC),
        }
        insert_or_ignore(session, Channel, row, ("platform", "workspace", "channel"))
        found = find_channel(session, platform, workspace, channel)
        assert found is not None
    else:
        changed = False
        if found.workspace != workspace:  # found under another spelling of the workspace: adopt today's
            found.workspace = workspace
            changed = True
        if name and found.name != name[:CHANNEL_NAME_CHARS]:
            found.name = name[:CHANNEL_NAME_CHARS]
            changed = True
        if changed:
            session.add(found)
            session.flush()
    return found


def _check_target(kind: str, target: str) -> str:
    if kind not in SUBSCRIPTION_KINDS:
        raise ValueError(f"unknown subscription kind {kind!r}")
    target = target.strip()
    if not target or len(target) > MAX_TARGET_CHARS:
        raise ValueError(f"subscription target must be 1 to {MAX_TARGET_CHARS} characters")
    return target


def subscribe(session: Session, channel: Channel, kind: str, target: str) -> bool:
    """Subscribe the channel; False when it already was."""
    target = _check_target(kind, target)
    row = {"channel_id": channel.id, "kind": kind, "target": target, "created_at": datetime.now(UTC)}
    added = insert_or_ignore(session, Subscription, row, ("channel_id", "kind", "target"), returning=Subscription.id)
    return added is not None


def unsubscribe(session: Session, channel: Channel, kind: str, target: str) -> bool:
    """Remove one subscription; False when the channel did not have it."""
    target = _check_target(kind, target)
    result = session.exec(
        delete(Subscription).where(
            Subscription.channel_id == channel.id, Subscription.kind == kind, Subscription.target == target
        )
    )
    return bool(result.rowcount)


def unsubscribe_all(session: Session, channel: Channel) -> int:
    """Remove every subscription of the channel; how many there were."""
    result = session.exec(delete(Subscription).where(Subscription.channel_id == channel.id))
    return int(result.rowcount or 0)


def list_subscriptions(session: Session, channel: Channel) -> list[Subscription]:
    """The channel's subscriptions, by kind then target."""
    return list(
        session.exec(
            select(Subscription)
            .where(Subscription.channel_id == channel.id)
            .order_by(col(Subscription.kind), col(Subscription.target))
        ).all()
    )


def set_digest(
    session: Session,
    channel: Channel,
    *,
    enabled: bool | None = None,
    time: str | None = None,
    timezone: str | None = None,
    categories: list[str] | None = None,
    keywords: list[str] | None = None,
) -> Channel:
    """Change the given digest settings only; validates HH:MM and the IANA zone."""
    if time is not None:
        if not _HHMM.match(time):
            raise ValueError(f"digest time must be HH:MM, got {time!r}")
        channel.digest_time = time
    if timezone is not None:
        ZoneInfo(timezone)  # raises on an unknown zone
        channel.timezone = timezone
    if enabled is not None:
        channel.digest_enabled = enabled
    if categories is not None:
        channel.categories = list(dict.fromkeys(categories))
    if keywords is not None:
        channel.keywords = list(dict.fromkeys(keywords))
    session.add(channel)
    session.flush()
    return channel


def reactivate(session: Session, channel: Channel) -> bool:
    """Deliveries to the channel on again (the bot is back); False when it was active already."""
    if channel.active:
        return False
    channel.active = True
    channel.inactive_reason = None
    session.add(channel)
    session.flush()
    return True


def workspace_channels(
    session: Session, platform: str, workspace: str, same: SameWorkspace | None = None
) -> list[Channel]:
    """Every channel of one workspace (a Slack team, a Discord guild), under any spelling `same` names."""
    if platform not in PLATFORMS or not workspace:
        return []
    key = workspace[:LABEL_CHARS]
    where = same.matches(key) if same is not None else Channel.workspace == key
    query = select(Channel).where(Channel.platform == platform, where)
    return list(session.exec(query.order_by(col(Channel.id))).all())
