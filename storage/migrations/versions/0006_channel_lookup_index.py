"""channels(platform, channel): every command finds its channel in one indexed read

A command's channel is looked up under every spelling of its workspace at once (Slack "T…"
and "E…:T…"); the unique key starts with the workspace, so without this index the read went
through every channel of the platform.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_channels_platform_channel", "channels", ["platform", "channel"])


def downgrade() -> None:
    op.drop_index("ix_channels_platform_channel", table_name="channels")
