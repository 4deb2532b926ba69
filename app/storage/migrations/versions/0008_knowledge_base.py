"""knowledge base: articles, their versions, images and links, canned answers, synonyms; the local
search index of articles and tickets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _synced() -> list[sa.Column[object]]:
    return [
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    ]


def _hlc_index(table: str) -> None:
    op.create_index(f"ix_{table}_hlc", table, ["hlc"], unique=False)


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("symptom", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("module_id", sa.String(length=36), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_kb_articles_site_id_sites"),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name="fk_kb_articles_system_id_systems"),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], name="fk_kb_articles_module_id_modules"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
    )
    op.create_index("ix_kb_articles_site_id", "kb_articles", ["site_id"], unique=False)
    _hlc_index("kb_articles")

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.String(length=32), nullable=False),
        sa.Column("saved_by", sa.String(length=100), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name="fk_kb_article_versions_article_id_kb_articles"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kb_article_versions"),
    )
    op.create_index("ix_kb_article_versions_article_id", "kb_article_versions", ["article_id"], unique=False)
    _hlc_index("kb_article_versions")

    op.create_table(
        "kb_images",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("added_at", sa.String(length=32), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name="fk_kb_images_article_id_kb_articles"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kb_images"),
    )
    op.create_index("ix_kb_images_article_id", "kb_images", ["article_id"], unique=False)
    _hlc_index("kb_images")

    op.create_table(
        "kb_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("ticket_id", sa.String(length=36), nullable=True),
        sa.Column("linked_by", sa.String(length=100), nullable=False),
        sa.Column("linked_at", sa.String(length=32), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name="fk_kb_links_article_id_kb_articles"
        ),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name="fk_kb_links_call_id_calls"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_kb_links_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_links"),
    )
    op.create_index("ix_kb_links_article_id", "kb_links", ["article_id"], unique=False)
    op.create_index("ix_kb_links_call_id", "kb_links", ["call_id"], unique=False)
    op.create_index("ix_kb_links_ticket_id", "kb_links", ["ticket_id"], unique=False)
    _hlc_index("kb_links")

    op.create_table(
        "kb_canned",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("abbreviation", sa.String(length=40), nullable=False),
        *_synced(),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_kb_canned_site_id_sites"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_canned"),
    )
    op.create_index("ix_kb_canned_site_id", "kb_canned", ["site_id"], unique=False)
    _hlc_index("kb_canned")

    op.create_table(
        "kb_synonyms",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        *_synced(),
        sa.PrimaryKeyConstraint("id", name="pk_kb_synonyms"),
    )
    _hlc_index("kb_synonyms")

    op.create_table(
        "kb_search",
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("doc_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_kb_search"),
        sa.UniqueConstraint("doc_id", name="uq_kb_search_doc_id"),
    )
    # The search index of articles and tickets (app.search.kb): rowid = kb_search.key; every column
    # holds app.search.text.index_text() tokens — title, the other words, the pinyin initials of the
    # title, and facet tokens for the filters. It keeps its own copy of the tokens, so a row is
    # replaced by its rowid alone (a few MB for 20,000 articles).
    op.execute(
        "CREATE VIRTUAL TABLE kb_fts USING fts5("
        "title, body, initials, facets, tokenize = 'unicode61 remove_diacritics 2')"
    )
    # Without tickets the empty index is complete, whatever version of it the app writes; existing
    # tickets are indexed by the rebuild the window starts (ui.search_index) or `hotline kb reindex`.
    from app.services.kb_index import VERSION_KEY, current_version

    op.get_bind().execute(
        sa.text(
            "INSERT INTO local_meta (key, value) SELECT :key, :value WHERE NOT EXISTS (SELECT 1 FROM tickets)"
        ),
        {"key": VERSION_KEY, "value": current_version()},
    )


def downgrade() -> None:
    op.execute("DROP TABLE kb_fts")
    for table in ("kb_search", "kb_synonyms", "kb_canned", "kb_links", "kb_images", "kb_article_versions"):
        op.drop_table(table)
    op.drop_table("kb_articles")
