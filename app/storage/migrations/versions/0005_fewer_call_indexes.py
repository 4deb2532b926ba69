"""calls: no index on site, system, module, category, outcome, engineer or hlc (nothing reads by them)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:10:00

Searches and filters by these columns go through the full-text index (facet tokens); calls still
queued for it are found through ``calls_unindexed``. Each index cost a random B-tree write per saved or
pulled call and about 2 s to build per million calls after a large first sync.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DROPPED = {
    "ix_calls_site_id": "site_id",
    "ix_calls_system_id": "system_id",
    "ix_calls_module_id": "module_id",
    "ix_calls_category_id": "category_id",
    "ix_calls_outcome": "outcome",
    "ix_calls_engineer": "engineer",
    "ix_calls_hlc": "hlc",
}


def upgrade() -> None:
    for name in DROPPED:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # a large first sync cut short by a crash may have remembered them to build again: forget them
    op.execute(
        "UPDATE local_meta SET value = ("
        " SELECT json_group_array(value) FROM json_each(local_meta.value)"
        " WHERE " + " AND ".join(f"value NOT LIKE 'CREATE INDEX {name} %'" for name in DROPPED) + ")"
        " WHERE key = 'deferred_indexes:calls'"
    )


def downgrade() -> None:
    for name, column in DROPPED.items():
        op.create_index(name, "calls", [column], unique=False)
