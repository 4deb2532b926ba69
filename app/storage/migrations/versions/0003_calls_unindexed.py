"""calls whose full-text row is still to be written (a large first sync indexes in the background)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls_unindexed",
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_calls_unindexed")),
    )


def downgrade() -> None:
    op.drop_table("calls_unindexed")
