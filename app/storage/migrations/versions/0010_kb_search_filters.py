"""kb_search: each indexed document's site and status, so the knowledge-base search filters on them
after the full-text match instead of inside it (bm25 then scores the words only)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kb_search") as batch:
        batch.add_column(sa.Column("site", sa.String(length=36), nullable=False, server_default=""))
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=False, server_default=""))
    # what the index rows already hold: an article's site ("" for every site) and status, a ticket's site
    op.execute(
        "UPDATE kb_search SET "
        "site = coalesce((SELECT a.site_id FROM kb_articles a WHERE a.id = kb_search.doc_id), ''), "
        "status = coalesce((SELECT a.status FROM kb_articles a WHERE a.id = kb_search.doc_id), '') "
        "WHERE kind = 'a'"
    )
    op.execute(
        "UPDATE kb_search SET "
        "site = coalesce((SELECT t.site_id FROM tickets t WHERE t.id = kb_search.doc_id), ''), "
        "status = 'ticket' WHERE kind = 't'"
    )


def downgrade() -> None:
    with op.batch_alter_table("kb_search") as batch:
        batch.drop_column("status")
        batch.drop_column("site")
