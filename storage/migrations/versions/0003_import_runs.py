"""import runs and their undo log; result_events indexed on what it refers to

An archive import commits in short transactions so the running service keeps writing
beside it; `import_runs` and `import_undo` let a file that fails half-way (or a killed
import) be undone, so a failed file still leaves nothing behind. The undo keeps a row that
another writer's row refers to, which it asks of result_events by paper, result and benchmark.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

EVENT_REFERENCES = ("benchmark_id", "result_id", "paper_id")


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_import_runs_state"), "import_runs", ["state"], unique=False)
    op.create_table(
        "import_undo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("op", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["import_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_import_undo_run_id"), "import_undo", ["run_id"], unique=False)
    for column in EVENT_REFERENCES:
        op.create_index(op.f(f"ix_result_events_{column}"), "result_events", [column], unique=False)


def downgrade() -> None:
    for column in EVENT_REFERENCES:
        op.drop_index(op.f(f"ix_result_events_{column}"), table_name="result_events")
    op.drop_index(op.f("ix_import_undo_run_id"), table_name="import_undo")
    op.drop_table("import_undo")
    op.drop_index(op.f("ix_import_runs_state"), table_name="import_runs")
    op.drop_table("import_runs")
