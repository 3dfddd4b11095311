"""Which Papers with Code tasks a poll syncs, in what order, and how far the sync has got.

The order is what matters to the people using the bot:
1. tasks a channel subscribes to (least recently synced first), every poll;
2. the upstream catalog's tasks never synced yet, by popularity (`paper_count`, then
   `evaluation_count`);
3. the rest of the local tasks never synced (starter or archive tasks the catalog does not
   list);
4. then everything synced before, least recently synced first (popularity breaks ties).

A task the server answers 404 for is remembered in the source's cursor with the day it was
checked and left out until `missing_recheck_days` have passed, so a starter set of
thousands of tasks the server does not have costs nothing poll after poll. The catalog
(`areas/with-tasks/`, one request) is kept in the same cursor, so the plan and
`sotabot status` work without the network. The cursor is JSON in source_state (no schema of
its own): `{"catalog": {slug: [paper_count, evaluation_count, name, area]}, "catalog_at":
ISO, "missing": {slug: "YYYY-MM-DD"}, "papers": {arxiv_id: "YYYY-MM-DD"}, "etags": {benchmark
id: ETag}}`: papers map to the day their resources were last read, etags to the first
leaderboard page we stored (for conditional requests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from sotabot.storage.models import SourceState, Subscription, Task, as_utc

SUBSCRIBED = "subscribed"
CATALOG = "catalog"
REST = "rest"
RECHECK = "recheck"  # a task the server did not have, due to be asked again


@dataclass(frozen=True)
class CatalogTask:
    """A task as `areas/with-tasks/` lists it, with the popularity the planner ranks by."""

    slug: str
    name: str
    area: str | None
    paper_count: int = 0
    evaluation_count: int = 0


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_catalog(data: Any) -> list[CatalogTask]:
    """The visible top-level tasks of every area (`{"results": [{name, tasks: [...]}]}`)."""
    areas = data.get("results") if isinstance(data, dict) else data
    out: dict[str, CatalogTask] = {}
    for area in areas if isinstance(areas, list) else []:
        if not isinstance(area, dict):
            continue
        area_name = str(area["name"]).strip() if isinstance(area.get("name"), str) else None
        for task in area.get("tasks") or []:
            if not isinstance(task, dict):
                continue
            slug, name = task.get("slug"), task.get("name")
            if not (isinstance(slug, str) and slug.strip() and isinstance(name, str) and name.strip()):
                continue
            out.setdefault(
                slug.strip(),
                CatalogTask(
                    slug.strip(), name.strip(), area_name, _count(task.get("paper_count")),
                    _count(task.get("evaluation_count")),
                ),
            )
    return list(out.values())


@dataclass
class Cursor:
    """The planner's memory, kept as JSON in source_state.cursor."""

    catalog: dict[str, CatalogTask] = field(default_factory=dict)
    catalog_at: datetime | None = None
    missing: dict[str, date] = field(default_factory=dict)
    papers: dict[str, date] = field(default_factory=dict)  # arXiv id -> day its resources were read
    etags: dict[str, str] = field(default_factory=dict)  # benchmark id -> ETag of its stored first page

    @classmethod
    def load(cls, raw: str | None) -> Cursor:
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        cursor = cls()
        for slug, entry in (data.get("catalog") or {}).items():
            if isinstance(entry, list) and len(entry) == 4:
                cursor.catalog[slug] = CatalogTask(slug, str(entry[2]), entry[3], _count(entry[0]), _count(entry[1]))
        try:
            cursor.catalog_at = datetime.fromisoformat(data["catalog_at"]) if data.get("catalog_at") else None
        except (TypeError, ValueError):
            cursor.catalog_at = None
        etags = data.get("etags")
        if isinstance(etags, dict):
            cursor.etags = {k: v for k, v in etags.items() if isinstance(v, str)}
        for key, target in (("missing", cursor.missing), ("papers", cursor.papers)):
            for name, day in (data.get(key) or {}).items():
                try:
                    target[name] = date.fromisoformat(day)
                except (TypeError, ValueError):
                    continue
        return cursor

    def forget_papers_before(self, day: date) -> None:
        """Drop resource checks older than `day`: those papers are stale and read again when seen."""
        self.papers = {p: d for p, d in self.papers.items() if d >= day}

    def dump(self) -> str:
        return json.dumps(
            {
                "catalog": {
                    t.slug: [t.paper_count, t.evaluation_count, t.name, t.area] for t in self.catalog.values()
                },
                "catalog_at": self.catalog_at.isoformat() if self.catalog_at else None,
                "missing": {slug: day.isoformat() for slug, day in sorted(self.missing.items())},
                "papers": {p: day.isoformat() for p, day in sorted(self.papers.items())},
                "etags": self.etags,
            },
            sort_keys=True,
        )

    def set_catalog(self, tasks: list[CatalogTask], now: datetime) -> None:
        self.catalog = {t.slug: t for t in tasks}
        self.catalog_at = now


@dataclass(frozen=True)
class Planned:
    slug: str
    reason: str  # subscribed | catalog | rest | recheck
    synced_at: datetime | None = None
    paper_count: int | None = None


def _missing_now(cursor: Cursor, slug: str, today: date, recheck_days: int) -> bool | None:
    """None: not known missing; True: missing and not due; False: missing and due for a re-check."""
    checked = cursor.missing.get(slug)
    if checked is None:
        return None
    return checked > today - timedelta(days=recheck_days)


def plan(
    *,
    subscribed: list[str],
    synced: dict[str, datetime | None],
    cursor: Cursor,
    budget: int,
    now: datetime,
    recheck_days: int,
) -> list[Planned]:
    """Up to `budget` tasks in the order of the module docstring (pure: the tests drive it)."""
    today = now.date()
    oldest_first = datetime.min.replace(tzinfo=UTC)

    def when(slug: str) -> datetime:
        at = synced.get(slug)
        return as_utc(at) if at is not None else oldest_first

    out: list[Planned] = []
    taken: set[str] = set()

    def take(slug: str, reason: str) -> None:
        missing = _missing_now(cursor, slug, today, recheck_days)
        if slug in taken or missing is True:
            return
        taken.add(slug)
        entry = cursor.catalog.get(slug)
        label = RECHECK if missing is False else reason
        out.append(Planned(slug, label, synced.get(slug), entry.paper_count if entry else None))

    for slug in sorted(set(subscribed), key=lambda s: (when(s), s)):
        take(slug, SUBSCRIBED)
    def popularity(slug: str) -> tuple[int, int, str]:
        entry = cursor.catalog.get(slug)
        return (-entry.paper_count, -entry.evaluation_count, slug) if entry else (1, 1, slug)

    never = [t.slug for t in cursor.catalog.values() if synced.get(t.slug) is None]
    for slug in sorted(never, key=popularity):
        take(slug, CATALOG)
    for slug in sorted(s for s, at in synced.items() if at is None and s not in cursor.catalog):
        take(slug, REST)
    for slug in sorted((s for s, at in synced.items() if at is not None), key=lambda s: (when(s), popularity(s))):
        take(slug, CATALOG if slug in cursor.catalog else REST)
    return out[: max(budget, 0)]


def subscribed_tasks(session: Session) -> list[str]:
    return sorted(
        {t.strip() for t in session.exec(select(Subscription.target).where(Subscription.kind == "task")).all() if t}
    )


def local_tasks(session: Session) -> dict[str, datetime | None]:
    """Every stored task's slug and when it was last synced from the API."""
    return dict(session.exec(select(Task.slug, Task.synced_at).order_by(col(Task.slug))).all())


def plan_from_db(session: Session, source: str, budget: int, now: datetime, recheck_days: int) -> list[Planned]:
    state = session.exec(select(SourceState).where(SourceState.source == source)).first()
    return plan(
        subscribed=subscribed_tasks(session),
        synced=local_tasks(session),
        cursor=Cursor.load(state.cursor if state else None),
        budget=budget,
        now=now,
        recheck_days=recheck_days,
    )


@dataclass
class Coverage:
    """How far the sync has got: what `sotabot status` shows."""

    catalog: int
    catalog_synced: int
    subscribed: int
    subscribed_synced: int
    missing: int
    oldest_sync: datetime | None
    next: list[Planned]

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalog_tasks": self.catalog,
            "catalog_synced": self.catalog_synced,
            "subscribed_tasks": self.subscribed,
            "subscribed_synced": self.subscribed_synced,
            "not_on_server": self.missing,
            "oldest_sync": self.oldest_sync.isoformat() if self.oldest_sync else None,
            "next": [p.slug for p in self.next],
        }


def coverage(session: Session, source: str, now: datetime, recheck_days: int, show: int = 5) -> Coverage:
    state = session.exec(select(SourceState).where(SourceState.source == source)).first()
    cursor = Cursor.load(state.cursor if state else None)
    synced = local_tasks(session)
    subscribed = subscribed_tasks(session)
    tracked = set(cursor.catalog) | set(subscribed)
    times = [as_utc(at) for slug, at in synced.items() if slug in tracked and at is not None]
    return Coverage(
        catalog=len(cursor.catalog),
        catalog_synced=sum(1 for slug in cursor.catalog if synced.get(slug) is not None),
        subscribed=len(subscribed),
        subscribed_synced=sum(1 for slug in subscribed if synced.get(slug) is not None),
        missing=len(cursor.missing),
        oldest_sync=min(times) if times else None,
        next=plan(
            subscribed=subscribed, synced=synced, cursor=cursor, budget=show, now=now, recheck_days=recheck_days
        ),
    )
