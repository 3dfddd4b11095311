"""Engine and sessions: SQLite (WAL, foreign keys) by default, PostgreSQL by URL.

Migrations run through Alembic from code (`upgrade`), so `sotabot db upgrade`, the test
suite and `sotabot run` at start all bring a database to the same schema.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]+)?\s*=\s*(.+)$", re.M)
_PARENT_ID = re.compile(r"['\"]([^'\"]+)['\"]")


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


IN_CHUNK = 500  # values per `IN (...)` list: well inside SQLite's and PostgreSQL's parameter limits


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`, for IN lists and batches."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


ANALYSIS_LIMIT = 2000  # rows SQLite's ANALYZE samples per index: approximate statistics in well under a second


def analyze(bind: Engine | Connection | Session) -> None:
    """Refresh the planner's statistics after a write that changed many rows.

    Without them SQLite guesses, and on a freshly imported archive it guessed a scan of
    `ix_result_values_metric_value` for the leaderboard subquery (130 ms instead of 0.4 ms);
    PostgreSQL's autovacuum catches up only later. SQLite samples `ANALYSIS_LIMIT` rows per
    index (`PRAGMA analysis_limit`), so this stays cheap on a big file. Commits on an engine;
    on a connection or session it runs in the caller's transaction.
    """
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            analyze(conn)
        return
    postgres = is_postgres(bind)
    execute = bind.exec_driver_sql if isinstance(bind, Connection) else bind.connection().exec_driver_sql
    if postgres:
        # Our tables only, by name through the search_path: a bare ANALYZE walks every table of
        # the database (other schemas and applications too) and deadlocks with a neighbour's.
        from sqlmodel import SQLModel

        import sotabot.storage.models  # noqa: F401  (registers the tables)

        # only those that exist: a data migration analyses before later revisions add theirs
        wanted = [table.name for table in SQLModel.metadata.sorted_tables]
        present = {row[0] for row in execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).all()}
        names = ", ".join(f'"{name}"' for name in wanted if name in present)
        execute(f"ANALYZE {names}")
    else:
        execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        execute("ANALYZE")
    log.debug("planner statistics refreshed")


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # alembic is imported only when a schema is checked

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


class NewerDatabase(RuntimeError):
    """The database carries a schema revision this sotabot does not know: a newer one wrote it."""

    def __init__(self, revision: str) -> None:
        super().__init__(f"this database was written by a newer sotabot (revision {revision}); upgrade sotabot")
        self.revision = revision


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent); a migration that ran leaves statistics fresh.

    NewerDatabase if the database is already past what this sotabot knows. A SQLite file that
    has never been analysed (imported by an older sotabot) is analysed once too.
    """
    if revision == "head" and _stored_revision(engine) == head_revision() and _has_statistics(engine):
        return  # the usual start: already at head; Alembic (about 0.1 s to import) is not needed
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    before = current_revision(engine)
    if before is not None:
        known = {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}
        if before not in known:
            raise NewerDatabase(before)
    command.upgrade(cfg, revision)
    if current_revision(engine) != before or not _has_statistics(engine):
        analyze(engine)


def head_revision() -> str | None:
    """The newest migration's id, read from the revision files (no Alembic import); None if not one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found:
            revisions.add(found.group(1))
        down = _DOWN_REVISION.search(text)
        if down:
            parents.update(_PARENT_ID.findall(down.group(1)))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    """The revision the database records, read with plain SQL; None when it has none (or no schema yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except Exception:  # no alembic_version table yet: the slow path creates it
        return None
    return rows[0][0] if len(rows) == 1 else None


def _has_statistics(engine: Engine) -> bool:
    if is_postgres(engine):
        return True  # autovacuum analyses PostgreSQL tables in the background
    with engine.connect() as conn:
        return bool(conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first())


def disk_full_message(exc: BaseException, database_url: str = "") -> str | None:
    """"no space left on device: PATH" when `exc` is a full disk (SQLite's or the OS's words), else None."""
    import errno

    text = str(getattr(exc, "orig", None) or exc)
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    if not full and "database or disk is full" not in text and "No space left on device" not in text:
        return None
    path = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
    if not path and database_url:
        parsed = make_url(database_url)
        path = parsed.database if parsed.get_backend_name() == "sqlite" else parsed.render_as_string()
    return f"no space left on device: {path or 'the database'}"


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
