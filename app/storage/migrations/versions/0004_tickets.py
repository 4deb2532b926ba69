"""tickets (synced document and event history, linked calls), service-level policies, the calendar's
overrides and confirmed years; the derived ticket state and shown countdown warnings (local only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_days")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_days_day")),
    )
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_days_hlc"), ["hlc"], unique=False)

    op.create_table(
        "calendar_years",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_years")),
        sa.UniqueConstraint("year", name=op.f("uq_calendar_years_year")),
    )
    with op.batch_alter_table("calendar_years", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_years_hlc"), ["hlc"], unique=False)

    op.create_table(
        "ticket_alerts",
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("threshold", sa.String(length=40), nullable=False),
        sa.Column("notified_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "target", "threshold", name=op.f("pk_ticket_alerts")),
    )
    op.create_table(
        "ticket_state",
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.String(length=32), nullable=True),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("flagged", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_state")),
    )
    with op.batch_alter_table("ticket_state", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_state_open_due", ["is_open", "next_due_at"], unique=False)

    op.create_table(
        "sla_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_sla_policies_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
    )
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_policies_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_sla_policies_site_id"), ["site_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("caller_name", sa.String(length=100), nullable=False),
        sa.Column("caller_phone", sa.String(length=64), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("module_id", sa.String(length=36), nullable=True),
        sa.Column("category_id", sa.String(length=36), nullable=True),
        sa.Column("handling", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_tickets_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_tickets_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_tickets_contact_id_contacts")),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], name=op.f("fk_tickets_module_id_modules")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_tickets_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_tickets_site_id_sites")),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_tickets_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_site_id"), ["site_id"], unique=False)

    op.create_table(
        "ticket_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("linked_by", sa.String(length=100), nullable=False),
        sa.Column("linked_at", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_ticket_calls_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_calls_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_calls")),
    )
    with op.batch_alter_table("ticket_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_calls_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_calls_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_calls_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("hlc", sa.String(length=64), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_hlc"), ["hlc"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_events_hlc"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("ticket_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_calls_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_calls_hlc"))
        batch_op.drop_index(batch_op.f("ix_ticket_calls_call_id"))

    op.drop_table("ticket_calls")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_site_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_org_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_number"))
        batch_op.drop_index(batch_op.f("ix_tickets_hlc"))
        batch_op.drop_index(batch_op.f("ix_tickets_call_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_assignee"))

    op.drop_table("tickets")
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_policies_site_id"))
        batch_op.drop_index(batch_op.f("ix_sla_policies_hlc"))

    op.drop_table("sla_policies")
    with op.batch_alter_table("ticket_state", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_state_open_due")

    op.drop_table("ticket_state")
    op.drop_table("ticket_alerts")
    with op.batch_alter_table("calendar_years", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_years_hlc"))

    op.drop_table("calendar_years")
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_days_hlc"))

    op.drop_table("calendar_days")
