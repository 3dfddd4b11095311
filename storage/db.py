"""Engine and sessions: SQLite (WAL, foreign keys) by default, PostgreSQL by URL.

Migrations run through Alembic from code (`upgrade`), so `sotabot db upgrade`, the test
suite and `sotabot run` at start all bring a database to the same schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


DEFAULT_BUSY_TIMEOUT = 30.0


def make_engine(
    url: str, echo: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, **connect_args: object
) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout per connection.

    `busy_timeout`: how long a SQLite write waits for another writer before "database is locked".
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        busy_ms = int(busy_timeout * 1000)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": busy_timeout, **connect_args}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            if parsed.database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


def is_postgres(bind: Engine | Connection | Session) -> bool:
    """The one backend check: PostgreSQL (row locks, advisory locks, sequences) or the embedded SQLite."""
    if isinstance(bind, Session):
        bind = bind.get_bind()  # type: ignore[assignment]
    return bind.dialect.name == "postgresql"


def upsert(bind: Engine | Connection | Session, table: Any) -> Insert:
    """An INSERT for `table` (a model or Table) that can say ON CONFLICT on this backend."""
    return (postgresql.insert if is_postgres(bind) else sqlite.insert)(table)


def insert_or_ignore(
    session: Session, table: Any, values: dict[str, Any], conflict: Sequence[str], returning: Any = None
) -> Any:
    """Insert one row unless `conflict` (a unique key) already has it: the id (`returning`) or None.

    RETURNING rather than rowcount: drivers disagree on rowcount for DO NOTHING.
    """
    stmt = upsert(session, table).values(**values).on_conflict_do_nothing(index_elements=list(conflict))
    if returning is None:
        session.execute(stmt)
        return None
    return session.execute(stmt.returning(returning)).scalar()


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
