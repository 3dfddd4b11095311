"""source_state.snapshot_at: when the imported data was published upstream

An archive update records the Hub revision's lastModified beside the commit it imported, so an
answer's footer can say how old the archive is ("snapshot 2025-07") rather than the day it was
imported. Null where the source gives no such date (the starter set, a file imported by hand,
the pollers).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_state", sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("snapshot_at")
