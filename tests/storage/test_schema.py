"""The schema: migrations match the models and bring any database to head idempotently."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from sotabot.storage.db import current_revision, upgrade
from sotabot.storage.models import Channel, Delivery, Paper


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_upgrade_is_idempotent(engine):
    before = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == before
    assert {"papers", "results", "deliveries", "source_state"} <= set(inspect(engine).get_table_names())


def test_a_paper_is_stored_once_per_arxiv_id(engine):
    with Session(engine) as s:
        s.add(Paper(arxiv_id="2411.17700", title="A"))
        s.commit()
        s.add(Paper(arxiv_id="2411.17700", title="B"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_a_delivery_is_unique_per_channel_and_dedupe_key(engine):
    with Session(engine) as s:
        ch = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(ch)
        s.commit()
        s.add(Delivery(channel_id=ch.id, dedupe_key="digest:2026-11-29"))
        s.commit()
        s.add(Delivery(channel_id=ch.id, dedupe_key="digest:2026-11-29"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_the_head_read_from_the_revision_files_is_alembics_head(engine) -> None:
    from alembic.script import ScriptDirectory

    from sotabot.storage.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head_revision()


def test_a_start_on_a_database_at_head_needs_no_alembic(tmp_path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'at-head.db'}"
    code = (
        "import sys\n"
        "from sotabot.storage.db import make_engine, upgrade\n"
        f"engine = make_engine({url!r})\n"
        "upgrade(engine)\n"
        "before = 'alembic' in sys.modules\n"
        "for name in [m for m in sys.modules if m == 'alembic' or m.startswith('alembic.')]:\n"
        "    del sys.modules[name]\n"
        "upgrade(engine)\n"
        "print(before, 'alembic' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "False"]  # migrated once with Alembic, then started without it
