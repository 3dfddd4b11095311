"""What the CLI tests share: the database a command opens, named through the environment.

(test_ops and test_sota keep their own `db`: a SQLite file only, with the starter data.)
"""

from __future__ import annotations

import pytest

from sotabot.storage.db import make_engine


@pytest.fixture
def db(db_url, monkeypatch):
    """The CLI's database (SQLite file or PostgreSQL schema), named through the environment."""
    monkeypatch.setenv("SOTABOT_DATABASE__URL", db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
