"""Small cleaners for archive values: every string stripped and clipped to its column's width."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any

from sotabot.sources.normalise.taxonomy import slugify
from sotabot.storage.models import NAME_CHARS


def clean_line(value: Any, limit: int = 300) -> str:
    """One line of text: whitespace collapsed, clipped to `limit` characters."""
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())[:limit]


def clean_prose(value: Any, limit: int) -> str:
    """Long text (abstracts): line breaks become spaces; cheaper than collapsing every run."""
    if not isinstance(value, str):
        return ""
    for blank in "\n\r\t":
        if blank in value:
            value = value.replace(blank, " ")
    return value.strip()[:limit]


def stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def clean_url(value: Any, limit: int = 1000) -> str:
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]


def iso_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return bool(value) if isinstance(value, bool | int | Decimal) else False


def task_slug(name: str) -> str:
    """The slug of a task name; names with no ASCII letters get a stable hash slug."""
    slug = slugify(name)[:NAME_CHARS]
    return slug or "task-" + sha1(name.encode()).hexdigest()[:10]


def utc_now() -> datetime:
    return datetime.now(UTC)
