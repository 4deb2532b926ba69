"""Tickets and service levels on the shared server; a station number for every desktop.

Revision ID: s0002
Revises: s0001

The new synced tables are declared in ``hotline.synced_tables`` like the first ones (their rows live in
``hotline.rows``; the merge functions need nothing new): tickets, service-level policies and the
calendar's overrides and confirmed years are documents (merged field by field); a ticket's events and
its linked calls are facts (insert-only), from which every desktop derives the same ticket state.

``hello`` now also answers ``station``: a small number the server gives each desktop (client id) once
and never gives to another, so ticket numbers made offline on two desktops never clash
(GD-2026-030123: station 03, the desktop's 123rd ticket of 2026). The rest of ``hello`` is unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

# Every new synced table with the columns a desktop may write, parents first.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sla_policies": ("document", ("id", "site_id", "name", "body", "active", "deleted")),
    "calendar_years": ("document", ("id", "year", "confirmed", "source", "deleted")),
    "calendar_days": ("document", ("id", "day", "kind", "name", "deleted")),
    "tickets": (
        "document",
        (
            "id",
            "number",
            "site_id",
            "title",
            "description",
            "org_id",
            "unit_name",
            "contact_id",
            "caller_name",
            "caller_phone",
            "system_id",
            "module_id",
            "category_id",
            "handling",
            "assignee",
            "notes",
            "call_id",
            "created_by",
            "created_at",
            "deleted",
        ),
    ),
    "ticket_events": (
        "fact",
        ("id", "ticket_id", "kind", "at", "data", "author", "recorded_at", "deleted"),
    ),
    "ticket_calls": ("fact", ("id", "ticket_id", "call_id", "linked_by", "linked_at", "deleted")),
}

STATIONS_SQL = r"""
CREATE SEQUENCE hotline.station_seq;
CREATE TABLE hotline.stations (
    client_id   text PRIMARY KEY,
    station     integer NOT NULL UNIQUE,
    assigned_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON hotline.stations FROM PUBLIC;
REVOKE ALL ON SEQUENCE hotline.station_seq FROM PUBLIC;

-- A desktop's station: given at its first hello, the same ever after. The sequence is only advanced
-- for a desktop that has none yet, so numbers stay small (two digits for the first 99 desktops).
CREATE FUNCTION hotline.station_of(p_client text) RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
DECLARE
    v_station integer;
BEGIN
    SELECT s.station INTO v_station FROM hotline.stations s WHERE s.client_id = p_client;
    IF FOUND THEN
        RETURN v_station;
    END IF;
    INSERT INTO hotline.stations (client_id, station) VALUES (p_client, nextval('hotline.station_seq'))
    ON CONFLICT (client_id) DO NOTHING;
    SELECT s.station INTO v_station FROM hotline.stations s WHERE s.client_id = p_client;
    RETURN v_station;
END $$;
"""

# s0001's hello with the station added to its answer (given only to a desktop whose protocol the
# server accepts, like its registration in ``clients``).
HELLO_SQL = r"""
CREATE OR REPLACE FUNCTION hotline.hello(p_protocol integer, p_client text, p_name text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
DECLARE
    m hotline.meta;
    v_revision text;
    v_fence text;
    v_foreign boolean;
    v_station integer;
BEGIN
    BEGIN
        SELECT s.system_identifier::text || '/' || c.timeline_id::text INTO v_fence
          FROM pg_control_system() s, pg_control_checkpoint() c;
    EXCEPTION WHEN insufficient_privilege THEN
        v_fence := NULL;  -- the owner may not read the control data: rely on the xid check alone
    END;
    SELECT * INTO m FROM hotline.meta;
    v_foreign := EXISTS (SELECT 1 FROM hotline.rows WHERE xid >= pg_snapshot_xmax(pg_current_snapshot()));
    IF v_foreign OR (v_fence IS NOT NULL AND m.fence IS DISTINCT FROM v_fence) THEN
        SELECT * INTO m FROM hotline.meta FOR UPDATE;
        UPDATE hotline.rows SET xid = pg_current_xact_id()
         WHERE xid >= pg_snapshot_xmax(pg_current_snapshot());
        IF v_foreign OR m.fence IS NOT NULL THEN
            UPDATE hotline.meta SET epoch = gen_random_uuid(), fence = v_fence RETURNING * INTO m;
        ELSE
            UPDATE hotline.meta SET fence = v_fence RETURNING * INTO m;  -- first hello after set-up
        END IF;
    END IF;
    SELECT version_num INTO v_revision FROM hotline.schema_version;
    IF p_protocol >= m.min_protocol AND p_protocol <= m.max_protocol THEN
        INSERT INTO hotline.clients (client_id, name, protocol)
        VALUES (p_client, coalesce(p_name, ''), p_protocol)
        ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, protocol = excluded.protocol,
                                             last_seen = now();
        v_station := hotline.station_of(p_client);
    END IF;
    RETURN jsonb_build_object(
        'epoch', m.epoch, 'min_protocol', m.min_protocol, 'max_protocol', m.max_protocol,
        'schema', v_revision, 'server_version', 'PostgreSQL ' || current_setting('server_version'),
        'now', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
        'rows', (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'hotline.rows'::regclass),
        'station', v_station);
END $$;
"""


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    new = _quoted(tuple(TABLES))
    for offset, (name, (kind, columns)) in enumerate(TABLES.items()):
        position = f"coalesce(max(position), -1) + 1 + {offset}"  # after s0001's tables
        op.execute(
            f"INSERT INTO hotline.synced_tables (name, kind, position, columns) "
            f"SELECT '{name}', '{kind}', {position}, ARRAY[{_quoted(columns)}] "
            f"FROM hotline.synced_tables WHERE name NOT IN ({new})"
        )
    op.execute(STATIONS_SQL)
    op.execute(HELLO_SQL)


def _s0001_hello() -> str:
    """s0001's own ``hello``, to put back on a downgrade."""
    source = Path(__file__).with_name("s0001_sync_schema.py").read_text(encoding="utf-8")
    match = re.search(r"CREATE FUNCTION hotline\.hello\(.*?\nEND \$\$;", source, flags=re.DOTALL)
    if match is None:  # pragma: no cover - s0001 is never edited
        raise RuntimeError("s0001's hello function not found")
    return match.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def downgrade() -> None:
    op.execute(_s0001_hello())
    op.execute("DROP FUNCTION hotline.station_of(text)")
    op.execute("DROP TABLE hotline.stations")
    op.execute("DROP SEQUENCE hotline.station_seq")
    names = _quoted(tuple(TABLES))
    op.execute(f"DELETE FROM hotline.rows WHERE table_name IN ({names})")
    op.execute(f"DELETE FROM hotline.synced_tables WHERE name IN ({names})")
