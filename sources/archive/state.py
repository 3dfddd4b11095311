"""Which archive imports the database records: light enough for every answer's provenance footer.

(`hub.py` has the update itself and imports every importer; a `/sota` answer needs only this.)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from sotabot.sources.archive.report import STATE_PREFIX
from sotabot.storage.models import SourceState


def starter_only(bind: Engine | Session) -> bool:
    """True while the leaderboards are the shipped starter set: no Hub update, no dump imported by hand."""
    query = select(SourceState.source).where(
        col(SourceState.source).startswith(STATE_PREFIX), col(SourceState.cursor).is_not(None)
    )
    if isinstance(bind, Session):
        names = bind.execute(query).scalars().all()
    else:
        with bind.connect() as conn:
            names = conn.execute(query).scalars().all()
    return f"{STATE_PREFIX}starter" in names and len(names) == 1
