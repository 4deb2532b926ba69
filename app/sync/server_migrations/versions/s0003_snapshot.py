"""A first sync reads each table whole, by row id, with every value as text.

Revision ID: s0003
Revises: s0002

``pull`` hands out rows in commit order, each row's ``data`` as JSON, a few thousand at a time: right
for keeping up, slow for a new desktop that needs a million rows (the desktop spends most of its time
decoding JSON). A first sync now reads the tables instead (``app.sync.snapshot``):

- ``snapshot_start`` answers the oldest transaction still running (``pg_snapshot_xmin``). Every change
  made by a transaction older than that is visible to every page read afterwards; the desktop keeps
  that point and, once every table is read, starts its pull cursor just before it, so whatever changed
  while it was reading is pulled again by ``pull``.
- ``snapshot_page`` answers one table's rows after a row id, in row id order (the primary key), with
  the values of the columns the desktop names, each as text (``data ->> column``), as a record whose
  columns the caller declares. Pages need no common snapshot: the cursor above covers every change,
  so a first sync cut short resumes from the last page it stored, even on a new connection.

Calls gain a column desktops write, ``called_back_at`` (when a call that needed a call back was
returned: the Changzhou contract's 30-minute call-back).

Supervisors: logins that are members of the group role ``hotline_supervisor`` (``hotline server
add-user NAME --supervisor``), and administrators (logins that are not desktop logins), may change
service-level policies and the working-day calendar; the server refuses such a change from any other
login (``apply_op`` is wrapped by a check). A restore — a desktop sending again, after a server
restore, what the server lost, or the contracts' default policies every desktop seeds — is accepted
from any login: it only puts back what was accepted once (and merges by its stamp). ``hello`` says
whether the login is a supervisor, so the settings pages can be read-only for the others.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None

SNAPSHOT_SQL = r"""
CREATE FUNCTION hotline.snapshot_start(p_protocol integer, p_epoch uuid) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
DECLARE
    m hotline.meta := hotline.check_protocol(p_protocol);
BEGIN
    IF p_epoch IS DISTINCT FROM m.epoch THEN
        RAISE EXCEPTION USING ERRCODE = 'HL002', MESSAGE = m.epoch::text;
    END IF;
    RETURN pg_snapshot_xmin(pg_current_snapshot())::text;
END $$;

-- Called as SELECT * FROM hotline.snapshot_page(...) AS t (row_id text, hlc text, origin text,
-- deleted boolean, version bigint, c1 text, ..., cN text): one text column per name in p_columns.
-- work_mem: the page is gathered before it is sent; a page of calls is some tens of MB.
CREATE FUNCTION hotline.snapshot_page(p_protocol integer, p_epoch uuid, p_table text, p_columns text[],
                                      p_after_row text, p_limit integer)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp SET work_mem = '64MB' AS $$
DECLARE
    m hotline.meta := hotline.check_protocol(p_protocol);
    v_values text;
BEGIN
    IF p_epoch IS DISTINCT FROM m.epoch THEN
        RAISE EXCEPTION USING ERRCODE = 'HL002', MESSAGE = m.epoch::text;
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('page size %s out of range', p_limit);
    END IF;
    SELECT coalesce(string_agg(format(', r.data ->> %L', c), '' ORDER BY o), '') INTO v_values
      FROM unnest(coalesce(p_columns, '{}')) WITH ORDINALITY AS u (c, o);
    RETURN QUERY EXECUTE format(
        'SELECT r.row_id, r.hlc, r.origin, r.deleted, r.version%s FROM hotline.rows r '
        'WHERE r.table_name = $1 AND r.row_id > $2 ORDER BY r.row_id LIMIT $3', v_values)
        USING p_table, coalesce(p_after_row, ''), p_limit;
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hotline_supervisor') THEN
        CREATE ROLE hotline_supervisor NOLOGIN;
    END IF;
END $$;

-- The login on the other end may change policies and the calendar: a supervisor, or an administrator
-- (a login that is not a desktop login). session_user: the login, whatever function is running.
CREATE FUNCTION hotline.is_supervisor() RETURNS boolean
LANGUAGE sql STABLE SET search_path = hotline, pg_temp AS $$
    SELECT pg_has_role(session_user, 'hotline_supervisor', 'MEMBER')
        OR NOT pg_has_role(session_user, 'hotline_app', 'MEMBER')
$$;

ALTER FUNCTION hotline.apply_op(text, jsonb) RENAME TO apply_op_unchecked;

CREATE FUNCTION hotline.apply_op(p_client text, p_op jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
BEGIN
    IF p_op ->> 'table' IN ('sla_policies', 'calendar_days', 'calendar_years')
       AND NOT coalesce((p_op ->> 'restore')::boolean, false)
       AND NOT hotline.is_supervisor() THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100',
            MESSAGE = 'only a supervisor may change service-level policies and the working-day calendar';
    END IF;
    RETURN hotline.apply_op_unchecked(p_client, p_op);
END $$;

REVOKE ALL ON FUNCTION hotline.is_supervisor() FROM PUBLIC;
REVOKE ALL ON FUNCTION hotline.apply_op(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION hotline.snapshot_start(integer, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hotline.snapshot_start(integer, uuid) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer) TO hotline_app;
"""


# Calls gain one column a desktop writes: when a call that needed a call back was returned.
CALLS_COLUMN = "called_back_at"


def _s0002_hello() -> str:
    """s0002's ``hello`` (a CREATE OR REPLACE), to build on and to put back on a downgrade."""
    source = Path(__file__).with_name("s0002_tickets.py").read_text(encoding="utf-8")
    pattern = r"CREATE OR REPLACE FUNCTION hotline\.hello\(.*?\nEND \$\$;"
    match = re.search(pattern, source, flags=re.DOTALL)
    if match is None:  # pragma: no cover - s0002 is never edited
        raise RuntimeError("s0002's hello function not found")
    return match.group(0)


def _hello() -> str:
    """s0002's ``hello``, also saying whether the login is a supervisor."""
    before = "'station', v_station);"
    hello = _s0002_hello()
    if before not in hello:  # pragma: no cover - s0002 is never edited
        raise RuntimeError("s0002's hello does not end as expected")
    return hello.replace(before, "'station', v_station, 'supervisor', hotline.is_supervisor());")


def upgrade() -> None:
    op.execute(SNAPSHOT_SQL)
    op.execute(_hello())
    op.execute(
        f"UPDATE hotline.synced_tables SET columns = array_append(columns, '{CALLS_COLUMN}') "
        f"WHERE name = 'calls' AND NOT ('{CALLS_COLUMN}' = ANY (columns))"
    )


def downgrade() -> None:
    op.execute(_s0002_hello())
    op.execute("DROP FUNCTION hotline.apply_op(text, jsonb)")
    op.execute("ALTER FUNCTION hotline.apply_op_unchecked(text, jsonb) RENAME TO apply_op")
    op.execute("DROP FUNCTION hotline.is_supervisor()")
    op.execute(
        f"UPDATE hotline.synced_tables SET columns = array_remove(columns, '{CALLS_COLUMN}') "
        "WHERE name = 'calls'"
    )
    op.execute("DROP FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer)")
    op.execute("DROP FUNCTION hotline.snapshot_start(integer, uuid)")
