"""The knowledge base on the shared server.

Revision ID: s0004
Revises: s0003

New synced tables, declared in ``hotline.synced_tables`` like the others (their rows live in
``hotline.rows``; the merge functions need nothing new): articles, canned answers and search synonyms
are documents (merged field by field, a conflict kept for a person); an article's saved versions, its
pasted images and its links to calls and tickets are facts (insert-only).
"""

from __future__ import annotations

from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None

# Every new synced table with the columns a desktop may write, parents first.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "kb_articles": (
        "document",
        (
            "id",
            "site_id",
            "title",
            "symptom",
            "cause",
            "solution",
            "system_id",
            "module_id",
            "tags",
            "kind",
            "status",
            "author",
            "created_at",
            "deleted",
        ),
    ),
    "kb_article_versions": (
        "fact",
        ("id", "article_id", "revision", "snapshot", "saved_at", "saved_by", "deleted"),
    ),
    "kb_images": ("fact", ("id", "article_id", "mime", "data", "added_at", "deleted")),
    "kb_links": ("fact", ("id", "article_id", "call_id", "ticket_id", "linked_by", "linked_at", "deleted")),
    "kb_canned": ("document", ("id", "site_id", "title", "body", "abbreviation", "deleted")),
    "kb_synonyms": ("document", ("id", "words", "deleted")),
}


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    new = _quoted(tuple(TABLES))
    for offset, (name, (kind, columns)) in enumerate(TABLES.items()):
        position = f"coalesce(max(position), -1) + 1 + {offset}"  # after the tables of s0001-s0003
        op.execute(
            f"INSERT INTO hotline.synced_tables (name, kind, position, columns) "
            f"SELECT '{name}', '{kind}', {position}, ARRAY[{_quoted(columns)}] "
            f"FROM hotline.synced_tables WHERE name NOT IN ({new})"
        )


def downgrade() -> None:
    names = _quoted(tuple(TABLES))
    op.execute(f"DELETE FROM hotline.rows WHERE table_name IN ({names})")
    op.execute(f"DELETE FROM hotline.synced_tables WHERE name IN ({names})")
