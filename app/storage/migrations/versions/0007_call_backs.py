"""calls: when a call that needed a call back was returned, and an index of those still to return

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("called_back_at", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_calls_callback_open",
        "calls",
        ["key"],
        unique=False,
        sqlite_where=sa.text("outcome = 'callback' AND called_back_at IS NULL AND deleted IS 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_callback_open", table_name="calls")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("called_back_at")
