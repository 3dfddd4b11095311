"""Shared fixtures: a migrated database on SQLite and, when configured, on PostgreSQL.

`SOTABOT_TEST_POSTGRES_URL` turns on the PostgreSQL half of every storage-backed test; each
test gets its own schema there (search_path), so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.fixture_data import FixtureFiles, project_fixtures

ROOT = Path(__file__).resolve().parent.parent

POSTGRES_URL = os.environ.get("SOTABOT_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])

# Config must never come from the developer's own environment or ./sotabot.toml.
for _name in list(os.environ):
    if _name.startswith("SOTABOT_") and _name not in ("SOTABOT_TEST_POSTGRES_URL",):
        del os.environ[_name]


@pytest.fixture(scope="session")
def fixture_files() -> FixtureFiles:
    """Where recorded upstream data lives; the one way tests reach tests/fixtures."""
    return project_fixtures()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`pwc_table_file`: one case per real evaluation-tables file, so each file fails on its own."""
    if "pwc_table_file" in metafunc.fixturenames:
        files = sorted(project_fixtures().pwc_tables.glob("*.json"))
        assert files, "tests/fixtures/pwc-evaluation-tables holds no tables"
        metafunc.parametrize("pwc_table_file", files, ids=[f.stem for f in files])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository (for subprocesses that run `python -m sotabot.bot.cli` from a checkout)."""
    return ROOT


def _sqlite_engine(tmp_path: Path) -> Engine:
    from sotabot.storage.db import make_engine

    return make_engine(f"sqlite:///{tmp_path / 'sotabot.db'}")


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    from sotabot.storage.db import make_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with an empty, private schema: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sotabot.db'}"
        return
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL schema, for tests of PostgreSQL-only behaviour."""
    if not POSTGRES_URL:
        pytest.skip("set SOTABOT_TEST_POSTGRES_URL to run PostgreSQL tests")
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    from sotabot.storage.db import make_engine, upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite engine, for tests that are about logic rather than the backend."""
    from sotabot.storage.db import upgrade

    eng = _sqlite_engine(tmp_path)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def twin_engines(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two migrated engines on the same backend, for tests that compare two write paths."""
    from sotabot.storage.db import make_engine, upgrade

    with _twin_url(db_url, tmp_path) as other:
        engines = (make_engine(db_url), make_engine(other))
        for eng in engines:
            upgrade(eng)
        yield engines
        for eng in engines:
            eng.dispose()


@contextmanager
def _twin_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
    with _postgres_schema() as url:
        yield url
