"""site_letterheads: each site's letterhead, logo and signature labels, synced (they were settings of
one desktop before; ``app.reports.letterhead.adopt_local_settings`` moves those in)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_letterheads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("signatures", sa.Text(), nullable=False),
        sa.Column("logo", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_site_letterheads_site_id_sites"),
        sa.PrimaryKeyConstraint("id", name="pk_site_letterheads"),
    )
    op.create_index("ix_site_letterheads_site_id", "site_letterheads", ["site_id"], unique=False)
    op.create_index("ix_site_letterheads_hlc", "site_letterheads", ["hlc"], unique=False)


def downgrade() -> None:
    op.drop_table("site_letterheads")
