"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 20:14:24.176078
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
    )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_categories_hlc"), ["hlc"], unique=False)

    op.create_table(
        "local_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_local_meta")),
    )
    op.create_table(
        "outbox",
        sa.Column("op_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_op_id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("op_id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("client_op_id", name=op.f("uq_outbox_client_op_id")),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_hlc"), ["hlc"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_organisations_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_merged_into"), ["merged_into"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_site_id"), ["site_id"], unique=False)

    op.create_table(
        "systems",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_systems_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_systems")),
    )
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_systems_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_systems_site_id"), ["site_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_contacts_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_merged_into"), ["merged_into"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_org_id"), ["org_id"], unique=False)

    op.create_table(
        "modules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_modules_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modules")),
    )
    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_modules_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_modules_system_id"), ["system_id"], unique=False)

    op.create_table(
        "calls",
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("engineer", sa.String(length=100), nullable=False),
        sa.Column("caller_name", sa.String(length=100), nullable=False),
        sa.Column("caller_phone", sa.String(length=64), nullable=False),
        sa.Column("caller_key", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("module_id", sa.String(length=36), nullable=True),
        sa.Column("category_id", sa.String(length=36), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("transferred_to", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_calls_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_calls_contact_id_contacts")),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], name=op.f("fk_calls_module_id_modules")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_calls_org_id_organisations")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_calls_site_id_sites")),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_calls_system_id_systems")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_calls")),
        sa.UniqueConstraint("id", name=op.f("uq_calls_id")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_caller_key_live", ["caller_key", "deleted"], unique=False)
        batch_op.create_index("ix_calls_contact_id_live", ["contact_id", "deleted"], unique=False)
        batch_op.create_index("ix_calls_live", ["deleted"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_engineer"), ["engineer"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_module_id"), ["module_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_system_id"), ["system_id"], unique=False)

    op.create_table(
        "contact_phones",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("raw", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_phones_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_phones")),
    )
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_phones_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_phones_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_phones_key"), ["key"], unique=False)

    op.create_table(
        "call_revisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("replaced_at", sa.String(length=32), nullable=False),
        sa.Column("replaced_by", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_revisions_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_revisions")),
    )
    with op.batch_alter_table("call_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_revisions_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_revisions_hlc"), ["hlc"], unique=False)

    # Full-text index of calls: contentless (the text lives in ``calls``); rowid = calls.key; the body is
    # app.search.text.index_text() of the call's words. Maintained by app.services.calls.
    op.execute(
        "CREATE VIRTUAL TABLE calls_fts USING fts5("
        "body, content='', tokenize = 'unicode61 remove_diacritics 2')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE calls_fts")
    with op.batch_alter_table("call_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_revisions_hlc"))
        batch_op.drop_index(batch_op.f("ix_call_revisions_call_id"))

    op.drop_table("call_revisions")
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_phones_key"))
        batch_op.drop_index(batch_op.f("ix_contact_phones_hlc"))
        batch_op.drop_index(batch_op.f("ix_contact_phones_contact_id"))

    op.drop_table("contact_phones")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_system_id"))
        batch_op.drop_index(batch_op.f("ix_calls_site_id"))
        batch_op.drop_index(batch_op.f("ix_calls_outcome"))
        batch_op.drop_index(batch_op.f("ix_calls_org_id"))
        batch_op.drop_index(batch_op.f("ix_calls_module_id"))
        batch_op.drop_index(batch_op.f("ix_calls_hlc"))
        batch_op.drop_index(batch_op.f("ix_calls_engineer"))
        batch_op.drop_index("ix_calls_contact_id_live")
        batch_op.drop_index("ix_calls_live")
        batch_op.drop_index(batch_op.f("ix_calls_category_id"))
        batch_op.drop_index("ix_calls_caller_key_live")

    op.drop_table("calls")
    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_modules_system_id"))
        batch_op.drop_index(batch_op.f("ix_modules_hlc"))

    op.drop_table("modules")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_org_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_name"))
        batch_op.drop_index(batch_op.f("ix_contacts_merged_into"))
        batch_op.drop_index(batch_op.f("ix_contacts_hlc"))

    op.drop_table("contacts")
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_systems_site_id"))
        batch_op.drop_index(batch_op.f("ix_systems_hlc"))

    op.drop_table("systems")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_site_id"))
        batch_op.drop_index(batch_op.f("ix_organisations_name"))
        batch_op.drop_index(batch_op.f("ix_organisations_merged_into"))
        batch_op.drop_index(batch_op.f("ix_organisations_hlc"))

    op.drop_table("organisations")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_hlc"))

    op.drop_table("sites")
    op.drop_table("outbox")
    op.drop_table("local_meta")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_categories_hlc"))

    op.drop_table("categories")
