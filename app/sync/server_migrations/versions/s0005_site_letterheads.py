"""Each site's letterhead on the shared server, changed by a supervisor only.

Revision ID: s0005
Revises: s0004

A new synced document table, declared in ``hotline.synced_tables`` like the others (its rows live in
``hotline.rows``): a site's letterhead text, signature labels and logo. Like the service-level policies
and the calendar, only a supervisor (or an administrator) may change it: ``apply_op`` refuses the
others' changes, which their desktops park for a supervisor to see.
"""

from __future__ import annotations

from alembic import op

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None

TABLE = "site_letterheads"
COLUMNS = ("id", "site_id", "text", "signatures", "logo", "deleted")

_CHECKED_BEFORE = "'sla_policies', 'calendar_days', 'calendar_years'"


def _apply_op(checked: str) -> str:
    """s0003's supervisor check in front of ``apply_op``, for the tables in ``checked``."""
    return f"""
CREATE OR REPLACE FUNCTION hotline.apply_op(p_client text, p_op jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
BEGIN
    IF p_op ->> 'table' IN ({checked})
       AND NOT coalesce((p_op ->> 'restore')::boolean, false)
       AND NOT hotline.is_supervisor() THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100',
            MESSAGE = 'only a supervisor may change service-level policies, the working-day calendar '
                      'and the letterheads';
    END IF;
    RETURN hotline.apply_op_unchecked(p_client, p_op);
END $$;
REVOKE ALL ON FUNCTION hotline.apply_op(text, jsonb) FROM PUBLIC;
"""


def upgrade() -> None:
    columns = ", ".join(f"'{column}'" for column in COLUMNS)
    op.execute(
        f"INSERT INTO hotline.synced_tables (name, kind, position, columns) "
        f"SELECT '{TABLE}', 'document', coalesce(max(position), -1) + 1, ARRAY[{columns}] "
        f"FROM hotline.synced_tables WHERE name <> '{TABLE}'"
    )
    op.execute(_apply_op(f"{_CHECKED_BEFORE}, '{TABLE}'"))


def downgrade() -> None:
    op.execute(_apply_op(_CHECKED_BEFORE))
    op.execute(f"DELETE FROM hotline.rows WHERE table_name = '{TABLE}'")
    op.execute(f"DELETE FROM hotline.synced_tables WHERE name = '{TABLE}'")
