"""Where a leaderboard comes from and how old it is: the sources its rows were written by, each with the
time it was last refreshed (source_state), for the footer of every answer and `sota --json`.

Only sources that wrote a shown row are named. The archive is "the starter set" while nothing but the
shipped starter leaderboards has been imported (then the footer says how to load the full archive).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from sotabot.sources.archive.report import SOURCE as ARCHIVE_SOURCE
from sotabot.sources.archive.report import STATE_PREFIX
from sotabot.storage.models import SourceState, as_utc
from sotabot.storage.results import CLAIM_SOURCE

# Result.source -> (name shown, source_state keys whose last success dates it; a trailing ":" is a prefix)
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    ARCHIVE_SOURCE: ("Papers with Code archive", (STATE_PREFIX,)),
    "pwc_api": ("paperswithcode.co", ("paperswithcode",)),
    "hf": ("Hugging Face Hub benchmark leaderboards", ("hf-leaderboards",)),
    # dated by the claim extractor's runs (sources.claims.store.SOURCE); the shipped starter claims are the
    # starter set's, so while the extractor has never run the claims name no date
    CLAIM_SOURCE: ("claims in arXiv abstracts (unverified)", ("claims",)),
}
STARTER_NAME = "starter set (results up to 2022)"
# Papers with Code's data is CC BY-SA 4.0: every line showing rows from it credits the licence.
PWC_LICENCE = "CC BY-SA 4.0"
UPDATE_HINT = "run `sotabot data update` for the full archive"


@dataclass
class DataSource:
    name: str
    updated_at: datetime | None
    snapshot_at: datetime | None = None  # when upstream published the imported data (a Hub revision), if known


@dataclass
class Provenance:
    sources: list[DataSource]
    starter_only: bool

    @property
    def as_of(self) -> date | None:
        """The day the shown board was last refreshed from any of its sources."""
        days = [s.updated_at.date() for s in self.sources if s.updated_at is not None]
        return max(days) if days else None

    def footer(self) -> str:
        """One plain line: "Papers with Code archive (CC BY-SA 4.0), snapshot 2025-07 · paperswithcode.co,
        synced 2026-11-30" (an archive without a known snapshot date: "imported 2026-12-01"), or "starter set
        (results up to 2022, CC BY-SA 4.0) · run `sotabot data update` for the full archive". A source with
        no recorded refresh is named without a date (never "synced" when it never was)."""
        parts = []
        archive = SOURCES[ARCHIVE_SOURCE][0]
        for source in self.sources:
            name = source.name
            if name in (archive, STARTER_NAME):
                name = f"{archive} ({PWC_LICENCE})" if name == archive else f"{name[:-1]}, {PWC_LICENCE})"
            if source.snapshot_at is not None:
                parts.append(f"{name}, snapshot {source.snapshot_at.strftime('%Y-%m')}")
                continue
            if source.name == STARTER_NAME or source.updated_at is None:
                parts.append(name)
                continue
            verb = "imported" if source.name == archive else "synced"
            parts.append(f"{name}, {verb} {source.updated_at.date().isoformat()}")
        if self.starter_only:
            parts.append(UPDATE_HINT)
        return " · ".join(parts)

    def to_json(self) -> list[dict[str, str | None]]:
        return [
            {"name": s.name, "updated_at": as_utc(s.updated_at).isoformat() if s.updated_at else None}
            for s in self.sources
        ]


def _last_success(session: Session, keys: tuple[str, ...], column: Any = SourceState.last_success_at
                  ) -> datetime | None:
    """The newest `column` (last success, or snapshot date) of the source_state rows `keys` name."""
    newest: datetime | None = None
    for key in keys:
        where = col(SourceState.source).startswith(key) if key.endswith(":") else SourceState.source == key
        value = session.execute(select(func.max(column)).where(where)).scalar()
        if isinstance(value, str):  # SQLite hands max() of a timestamp back as text
            value = datetime.fromisoformat(value)
        if value is not None and (newest is None or as_utc(value) > as_utc(newest)):
            newest = value
    return as_utc(newest) if newest is not None else None


def board_provenance(session: Session, row_sources: Iterable[str]) -> Provenance:
    """The provenance of a board whose rows were written by `row_sources` (Result.source values)."""
    from sotabot.sources.archive.state import starter_only

    used = sorted(set(row_sources), key=lambda s: list(SOURCES).index(s) if s in SOURCES else len(SOURCES))
    only_starter = bool({ARCHIVE_SOURCE, CLAIM_SOURCE} & set(used)) and starter_only(session)
    out: list[DataSource] = []
    for source in used:
        name, keys = SOURCES.get(source, (source, (source,)))
        if source in (ARCHIVE_SOURCE, CLAIM_SOURCE) and only_starter:  # both shipped with the package
            if all(s.name != STARTER_NAME for s in out):
                out.append(DataSource(STARTER_NAME, _last_success(session, (f"{STATE_PREFIX}starter",))))
            continue
        snapshot = _last_success(session, keys, SourceState.snapshot_at) if source == ARCHIVE_SOURCE else None
        out.append(DataSource(name, _last_success(session, keys), snapshot))
    return Provenance(out, only_starter)
