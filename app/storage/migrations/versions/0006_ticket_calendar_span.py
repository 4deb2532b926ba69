"""ticket_state: the dates each ticket's deadlines asked the calendar about

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:20:00

A calendar edit then recomputes only the open tickets whose dates it concerns, not every open ticket.
States derived before this revision do not know their dates: they get the widest span, so the next
edit recomputes them (and records their real one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_from", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("calendar_to", sa.String(length=10), nullable=True))
    op.execute("UPDATE ticket_state SET calendar_from = '0001-01-01', calendar_to = '9999-12-31'")


def downgrade() -> None:
    with op.batch_alter_table("ticket_state", schema=None) as batch_op:
        batch_op.drop_column("calendar_to")
        batch_op.drop_column("calendar_from")
