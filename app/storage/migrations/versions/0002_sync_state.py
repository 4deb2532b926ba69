"""sync state: conflicts (synced), parked changes, sync log

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("kept_value", sa.Text(), nullable=False),
        sa.Column("lost_value", sa.Text(), nullable=False),
        sa.Column("kept_origin", sa.String(length=40), nullable=False),
        sa.Column("lost_origin", sa.String(length=40), nullable=False),
        sa.Column("kept_hlc", sa.String(length=64), nullable=False),
        sa.Column("lost_hlc", sa.String(length=64), nullable=False),
        sa.Column("detected_at", sa.String(length=32), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_conflicts_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_conflicts_row_id"), ["row_id"], unique=False)
    op.create_table(
        "sync_parked",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_op_id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_parked")),
    )
    op.create_table(
        "sync_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_log")),
    )
    # The outbox is read in op order per row when pulled rows are applied on top of local changes.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_row", ["table_name", "row_id"], unique=False)
    # Calls never sent to a server (demo data, or not yet synced): the sync check counts the others
    # as all calls minus these, without reading a million rows.
    op.execute("CREATE INDEX ix_calls_unsynced ON calls (key) WHERE server_version IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_calls_unsynced")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_row")
    op.drop_table("sync_log")
    op.drop_table("sync_parked")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_row_id"))
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_hlc"))
    op.drop_table("sync_conflicts")
