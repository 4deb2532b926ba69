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
"""

from __future__ import annotations

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

REVOKE ALL ON FUNCTION hotline.snapshot_start(integer, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hotline.snapshot_start(integer, uuid) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer) TO hotline_app;
"""


# Calls gain one column a desktop writes: when a call that needed a call back was returned.
CALLS_COLUMN = "called_back_at"


def upgrade() -> None:
    op.execute(SNAPSHOT_SQL)
    op.execute(
        f"UPDATE hotline.synced_tables SET columns = array_append(columns, '{CALLS_COLUMN}') "
        f"WHERE name = 'calls' AND NOT ('{CALLS_COLUMN}' = ANY (columns))"
    )


def downgrade() -> None:
    op.execute(
        f"UPDATE hotline.synced_tables SET columns = array_remove(columns, '{CALLS_COLUMN}') "
        "WHERE name = 'calls'"
    )
    op.execute("DROP FUNCTION hotline.snapshot_page(integer, uuid, text, text[], text, integer)")
    op.execute("DROP FUNCTION hotline.snapshot_start(integer, uuid)")
