"""The shared server's sync schema: rows, change cursor, idempotent push, field merge, conflicts.

Revision ID: s0001
Revises: (none)

Every synced row of every table lives in ``hotline.rows`` as JSON (``data``) beside its merge state
(``field_meta``: for each field the version, HLC and origin of its last accepted write), its
``version`` (from one sequence) and the transaction id that last wrote it (``xid``). Desktops never
touch the tables: they call three SECURITY DEFINER functions — ``hello``, ``push`` and ``pull`` (plus
``digest`` and ``pull_table`` for checks) — so the merge rules live in one place, the same for every
app version (../shared/design/sync.md).

Pull is safe against transactions that commit out of order: it returns only rows written by
transactions older than the oldest one still running (``xid < pg_snapshot_xmin(...)``), ordered by
``(xid, version)``, so a cursor never passes a change that is still to commit.
"""

from __future__ import annotations

from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

# Every synced table with the columns a desktop may write, in the order a first push walks them.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sites": ("document", ("id", "code", "name", "area_code", "sort_order", "active", "deleted")),
    "systems": ("document", ("id", "site_id", "name", "sort_order", "active", "deleted")),
    "modules": ("document", ("id", "system_id", "name", "sort_order", "active", "deleted")),
    "categories": ("document", ("id", "name", "sort_order", "active", "deleted")),
    "organisations": ("document", ("id", "site_id", "name", "kind", "notes", "merged_into", "deleted")),
    "contacts": ("document", ("id", "org_id", "name", "title", "notes", "merged_into", "deleted")),
    "contact_phones": ("document", ("id", "contact_id", "raw", "key", "extension", "label", "deleted")),
    "calls": (
        "document",
        (
            "id",
            "site_id",
            "started_at",
            "duration_s",
            "engineer",
            "caller_name",
            "caller_phone",
            "caller_key",
            "contact_id",
            "org_id",
            "unit_name",
            "system_id",
            "module_id",
            "category_id",
            "question",
            "answer",
            "outcome",
            "transferred_to",
            "revision",
            "updated_at",
            "deleted",
        ),
    ),
    "call_revisions": (
        "fact",
        ("id", "call_id", "revision", "snapshot", "replaced_at", "replaced_by", "deleted"),
    ),
    # Made by the server when two desktops changed one field; a person resolves it (sets ``deleted``).
    "sync_conflicts": (
        "document",
        (
            "id",
            "table_name",
            "row_id",
            "field",
            "kept_value",
            "lost_value",
            "kept_origin",
            "lost_origin",
            "kept_hlc",
            "lost_hlc",
            "detected_at",
            "deleted",
        ),
    ),
}

SCHEMA_SQL = r"""
CREATE TABLE hotline.meta (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch        uuid NOT NULL,
    min_protocol integer NOT NULL,
    max_protocol integer NOT NULL,
    -- the cluster's identity and timeline when the epoch was set: a restored or copied server differs
    fence        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO hotline.meta (epoch, min_protocol, max_protocol) VALUES (gen_random_uuid(), 1, 1);

CREATE TABLE hotline.synced_tables (
    name     text PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('document', 'fact')),
    position integer NOT NULL,
    columns  text[] NOT NULL
);

CREATE SEQUENCE hotline.change_seq;

CREATE TABLE hotline.rows (
    table_name text NOT NULL REFERENCES hotline.synced_tables (name),
    row_id     text NOT NULL,
    data       jsonb NOT NULL,
    field_meta jsonb NOT NULL DEFAULT '{}',
    hlc        text NOT NULL,
    origin     text NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    version    bigint NOT NULL,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (table_name, row_id)
);
CREATE INDEX rows_pull ON hotline.rows (xid, version);

CREATE TABLE hotline.applied_ops (
    client_id    text NOT NULL,
    client_op_id text NOT NULL,
    status       text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, client_op_id)
);

CREATE TABLE hotline.rejected_ops (
    id           bigserial PRIMARY KEY,
    client_id    text NOT NULL,
    client_op_id text NOT NULL,
    table_name   text,
    row_id       text,
    payload      jsonb NOT NULL,
    reason       text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    -- set when the op was sent again and accepted, or a person dismissed it
    resolved_at  timestamptz,
    resolution   text,
    UNIQUE (client_id, client_op_id)
);

CREATE TABLE hotline.clients (
    client_id  text PRIMARY KEY,
    name       text NOT NULL DEFAULT '',
    protocol   integer NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now()
);

-- An HLC stamp is 'wall ms (13 digits)-counter (6 digits)-node'. A desktop clock running ahead is
-- clamped to one minute past the server's clock, so it cannot win every later merge.
CREATE FUNCTION hotline.clamp_hlc(stamp text) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
DECLARE
    limit_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 60000;
BEGIN
    IF stamp IS NULL OR stamp !~ '^[0-9]{13}-[0-9]{6}-.+$' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('malformed clock stamp %L', stamp);
    END IF;
    IF left(stamp, 13)::bigint > limit_ms THEN
        RETURN lpad(limit_ms::text, 13, '0') || substr(stamp, 14);
    END IF;
    RETURN stamp;
END $$;

CREATE FUNCTION hotline.check_protocol(p_protocol integer) RETURNS hotline.meta
LANGUAGE plpgsql STABLE SET search_path = hotline, pg_temp AS $$
DECLARE
    m hotline.meta;
BEGIN
    SELECT * INTO m FROM hotline.meta;
    IF p_protocol < m.min_protocol OR p_protocol > m.max_protocol THEN
        RAISE EXCEPTION USING ERRCODE = 'HL001',
            MESSAGE = format('protocol %s outside %s..%s', p_protocol, m.min_protocol, m.max_protocol),
            DETAIL = format('%s..%s', m.min_protocol, m.max_protocol);
    END IF;
    RETURN m;
END $$;

-- Record the losing value of a field two desktops changed; idempotent (the id is derived).
CREATE FUNCTION hotline.record_conflict(
    p_table text, p_row text, p_field text, p_kept jsonb, p_lost jsonb,
    p_kept_origin text, p_lost_origin text, p_kept_hlc text, p_lost_hlc text
) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
DECLARE
    v_id text := md5(concat_ws('|', p_table, p_row, p_field, p_lost_origin, p_lost_hlc))::uuid::text;
    v_version bigint := nextval('hotline.change_seq');
    v_hlc text := greatest(p_kept_hlc, p_lost_hlc);
    v_data jsonb := jsonb_build_object(
        'id', v_id, 'table_name', p_table, 'row_id', p_row, 'field', p_field,
        'kept_value', p_kept::text, 'lost_value', p_lost::text,
        -- who: the desktops' names (their engineers) as they said hello, else their node ids
        'kept_origin', coalesce((SELECT nullif(c.name, '') FROM hotline.clients c
                                  WHERE c.client_id = p_kept_origin), p_kept_origin),
        'lost_origin', coalesce((SELECT nullif(c.name, '') FROM hotline.clients c
                                  WHERE c.client_id = p_lost_origin), p_lost_origin),
        'kept_hlc', p_kept_hlc, 'lost_hlc', p_lost_hlc,
        'detected_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'deleted', false);
BEGIN
    INSERT INTO hotline.rows (table_name, row_id, data, field_meta, hlc, origin, deleted, version)
    SELECT 'sync_conflicts', v_id, v_data,
           (SELECT jsonb_object_agg(key, jsonb_build_array(v_version, v_hlc, 'server'))
              FROM jsonb_each(v_data)),
           v_hlc, 'server', false, v_version
    ON CONFLICT (table_name, row_id) DO NOTHING;
END $$;

-- Apply one desktop operation. Returns 'applied' or 'unchanged'; raises SQLSTATE HL100 to reject it.
--
-- Field merge: a field is *concurrent* when another origin wrote it after the version this op was
-- based on (an insert of a row that exists, or a re-announce after a server restore, is concurrent
-- with everything). A concurrent write is won by the larger HLC; the losing value is kept in
-- sync_conflicts (not for re-announces, which only restore what the server lost). A tombstone
-- (deleted = true) always wins; only a non-concurrent write can restore a row. Facts are insert-only.
-- A call's revision counter and last-change time are not words anyone wrote: the larger one stands.
CREATE FUNCTION hotline.apply_op(p_client text, p_op jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
DECLARE
    t hotline.synced_tables;
    r hotline.rows;
    v_table text := p_op ->> 'table';
    v_row text := p_op ->> 'row_id';
    v_kind text := p_op ->> 'op';
    v_fields jsonb := p_op -> 'fields';
    v_base bigint := (p_op ->> 'base_version')::bigint;
    v_restore boolean := coalesce((p_op ->> 'restore')::boolean, false);
    v_hlc text;
    v_version bigint;
    v_data jsonb;
    v_meta jsonb;
    v_changed boolean := false;
    v_lost boolean := false;  -- a value of this op lost to the server's: the sender must fetch the row
    v_concurrent boolean;
    k text;
    v jsonb;
    cur jsonb;
    fm jsonb;
BEGIN
    SELECT * INTO t FROM hotline.synced_tables WHERE name = v_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('unknown table %L', v_table);
    END IF;
    IF v_kind IS NULL OR v_kind NOT IN ('insert', 'update', 'delete') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('unknown operation %L', v_kind);
    END IF;
    IF v_row IS NULL OR v_row !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('malformed row id %L', v_row);
    END IF;
    IF jsonb_typeof(v_fields) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = 'fields must be an object';
    END IF;
    FOR k IN SELECT jsonb_object_keys(v_fields) LOOP
        IF NOT (k = ANY (t.columns)) THEN
            RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('unknown field %L of %s', k, v_table);
        END IF;
    END LOOP;
    IF v_fields ? 'id' AND v_fields ->> 'id' IS DISTINCT FROM v_row THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = 'the id field differs from the row id';
    END IF;
    v_hlc := hotline.clamp_hlc(p_op ->> 'hlc');

    SELECT * INTO r FROM hotline.rows WHERE table_name = v_table AND row_id = v_row FOR UPDATE;
    IF NOT FOUND THEN
        IF v_kind <> 'insert' AND NOT v_restore THEN
            RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = 'the row is not on the server';
        END IF;
        v_version := nextval('hotline.change_seq');
        v_data := v_fields || jsonb_build_object('id', v_row);
        INSERT INTO hotline.rows (table_name, row_id, data, field_meta, hlc, origin, deleted, version)
        VALUES (v_table, v_row, v_data,
                (SELECT jsonb_object_agg(key, jsonb_build_array(v_version, v_hlc, p_client))
                   FROM jsonb_each(v_data)),
                v_hlc, p_client, coalesce((v_data ->> 'deleted')::boolean, false), v_version)
        ON CONFLICT (table_name, row_id) DO NOTHING;
        IF FOUND THEN
            RETURN 'applied';
        END IF;
        -- another push inserted it a moment ago: merge into that row
        SELECT * INTO r FROM hotline.rows WHERE table_name = v_table AND row_id = v_row FOR UPDATE;
    END IF;

    IF t.kind = 'fact' THEN
        IF v_kind = 'insert' OR v_restore THEN
            RETURN 'unchanged';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('%s records are never changed', v_table);
    END IF;

    v_version := nextval('hotline.change_seq');
    v_data := r.data;
    v_meta := r.field_meta;
    FOR k, v IN SELECT key, value FROM jsonb_each(v_fields) LOOP
        cur := v_data -> k;
        fm := v_meta -> k;
        IF cur IS NOT DISTINCT FROM v THEN
            CONTINUE;
        END IF;
        v_concurrent := fm IS NOT NULL AND fm ->> 2 IS DISTINCT FROM p_client
            AND (v_kind = 'insert' OR v_restore OR v_base IS NULL OR (fm ->> 0)::bigint > v_base);
        IF v_table = 'calls' AND k IN ('revision', 'updated_at') AND cur IS NOT NULL THEN
            -- counters of the call's history, not words a person wrote: the larger one stands
            IF (k = 'revision' AND (v #>> '{}')::bigint < (cur #>> '{}')::bigint)
               OR (k = 'updated_at' AND v #>> '{}' < cur #>> '{}') THEN
                v_lost := true;
                CONTINUE;
            END IF;
        ELSIF k = 'deleted' THEN
            IF v = 'true'::jsonb THEN
                NULL;  -- a tombstone always wins
            ELSIF v_concurrent THEN
                v_lost := true;
                CONTINUE;  -- a restore that had not seen the delete does not undo it
            END IF;
        ELSIF v_concurrent THEN
            IF v_hlc > fm ->> 1 THEN
                IF NOT v_restore THEN
                    PERFORM hotline.record_conflict(v_table, v_row, k, v, cur, p_client, fm ->> 2,
                                                    v_hlc, fm ->> 1);
                END IF;
            ELSE
                IF NOT v_restore THEN
                    PERFORM hotline.record_conflict(v_table, v_row, k, cur, v, fm ->> 2, p_client,
                                                    fm ->> 1, v_hlc);
                END IF;
                v_lost := true;
                CONTINUE;
            END IF;
        END IF;
        v_data := v_data || jsonb_build_object(k, v);
        v_meta := v_meta || jsonb_build_object(k, jsonb_build_array(v_version, v_hlc, p_client));
        v_changed := true;
    END LOOP;
    IF NOT v_changed AND NOT v_lost THEN
        RETURN 'unchanged';
    END IF;
    -- A row whose values all lost is still given a new version: the desktop that sent them may have
    -- fetched this row already (with its own values kept while they waited to be sent), so it must
    -- get it once more to hold what the server holds.
    UPDATE hotline.rows
       SET data = v_data, field_meta = v_meta, hlc = greatest(r.hlc, v_hlc), origin = p_client,
           deleted = coalesce((v_data ->> 'deleted')::boolean, false), version = v_version,
           xid = pg_current_xact_id()
     WHERE table_name = v_table AND row_id = v_row;
    RETURN 'applied';
END $$;

-- The desktop's first call of a session: protocol check, registration, what the server is.
--
-- It also notices a server that was restored or copied: another cluster or timeline than the one the
-- epoch was set on, or rows stamped with transaction ids this server has not reached yet (a dump
-- loaded into a new cluster). Then the epoch changes, so every desktop resyncs instead of trusting
-- its cursor, and the foreign transaction ids are restamped so that pull can see those rows.
CREATE FUNCTION hotline.hello(p_protocol integer, p_client text, p_name text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
DECLARE
    m hotline.meta;
    v_revision text;
    v_fence text;
    v_foreign boolean;
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
    END IF;
    RETURN jsonb_build_object(
        'epoch', m.epoch, 'min_protocol', m.min_protocol, 'max_protocol', m.max_protocol,
        'schema', v_revision, 'server_version', 'PostgreSQL ' || current_setting('server_version'),
        'now', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
        'rows', (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'hotline.rows'::regclass));
END $$;

-- An administrator marks a restored server: every desktop then resyncs and re-sends what it has.
CREATE FUNCTION hotline.new_epoch() RETURNS uuid
LANGUAGE sql VOLATILE SET search_path = hotline, pg_temp AS $$
    UPDATE hotline.meta SET epoch = gen_random_uuid() RETURNING epoch;
$$;

-- Apply a batch of operations, each once: a repeat of an op already applied answers 'duplicate'.
-- An op the server cannot accept is answered 'rejected' with the reason and kept in rejected_ops,
-- where anyone (the supervisor) can see it; it never blocks the ops behind it. A rejected op sent
-- again under the same id (a retry) is applied anew.
CREATE FUNCTION hotline.push(p_protocol integer, p_client text, p_ops jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = hotline, pg_temp
-- Point look-ups only: a plan cached while applied_ops or rows were small (a new server's first
-- pushes) must not scan tables that have since grown to millions of rows.
SET enable_seqscan = off AS $$
DECLARE
    op jsonb;
    v_items jsonb[] := '{}';
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    IF jsonb_typeof(p_ops) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = 'ops must be an array';
    END IF;
    FOR op IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
        v_items := array_append(v_items, hotline.push_one(p_client, op, 'resent'));
    END LOOP;
    UPDATE hotline.clients SET last_seen = now() WHERE client_id = p_client;
    RETURN to_jsonb(v_items);
END $$;

CREATE FUNCTION hotline.push_one(p_client text, p_op jsonb, p_resolution text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = hotline, pg_temp AS $$
DECLARE
    v_op_id text := coalesce(p_op ->> 'op_id', '');
    v_prev text;
    v_new boolean;
    v_status text;
    v_reason text;
BEGIN
    -- claim the op id through the unique index (never a scan): a new id inserts, a known one answers
    -- with the status it had
    INSERT INTO hotline.applied_ops AS a (client_id, client_op_id, status) VALUES (p_client, v_op_id, 'new')
    ON CONFLICT (client_id, client_op_id) DO UPDATE SET status = a.status
    RETURNING a.status, (a.xmax = 0) INTO v_prev, v_new;
    IF NOT v_new AND v_prev <> 'rejected' THEN
        RETURN jsonb_build_object('op_id', v_op_id, 'status', 'duplicate');
    END IF;
    BEGIN
        v_status := hotline.apply_op(p_client, p_op);
    EXCEPTION WHEN SQLSTATE 'HL100' OR data_exception OR integrity_constraint_violation THEN
        v_status := 'rejected';
        v_reason := SQLERRM;
    END;
    INSERT INTO hotline.applied_ops AS a (client_id, client_op_id, status)
    VALUES (p_client, v_op_id, v_status)
    ON CONFLICT (client_id, client_op_id) DO UPDATE SET status = excluded.status, applied_at = now();
    IF v_status = 'rejected' THEN
        INSERT INTO hotline.rejected_ops (client_id, client_op_id, table_name, row_id, payload, reason)
        VALUES (p_client, v_op_id, p_op ->> 'table', p_op ->> 'row_id', p_op, v_reason)
        ON CONFLICT (client_id, client_op_id) DO UPDATE
            SET reason = excluded.reason, payload = excluded.payload, rejected_at = now(),
                resolved_at = NULL, resolution = NULL;
        RETURN jsonb_build_object('op_id', v_op_id, 'status', v_status, 'reason', v_reason);
    END IF;
    IF NOT v_new THEN  -- a refused op accepted at last
        UPDATE hotline.rejected_ops SET resolved_at = now(), resolution = p_resolution
         WHERE client_id = p_client AND client_op_id = v_op_id AND resolved_at IS NULL;
    END IF;
    RETURN jsonb_build_object('op_id', v_op_id, 'status', v_status);
END $$;

-- Refused changes of every desktop that nobody has dealt with yet (the supervisor's view).
CREATE FUNCTION hotline.rejected(p_protocol integer, p_limit integer)
RETURNS TABLE (id bigint, client_id text, client_name text, table_name text, row_id text, op text,
               fields jsonb, reason text, rejected_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    RETURN QUERY
        SELECT r.id, r.client_id, coalesce(c.name, ''), r.table_name, r.row_id, r.payload ->> 'op',
               r.payload -> 'fields', r.reason, r.rejected_at
          FROM hotline.rejected_ops r
          LEFT JOIN hotline.clients c ON c.client_id = r.client_id
         WHERE r.resolved_at IS NULL
         ORDER BY r.id DESC
         LIMIT p_limit;
END $$;

-- Apply a refused change again on the server (after the cause was put right), or dismiss it.
-- The desktop that made it learns at its next sync (op_status) and drops its parked copy.
CREATE FUNCTION hotline.resolve_rejected(p_protocol integer, p_id bigint, p_retry boolean, p_by text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = hotline, pg_temp
SET enable_seqscan = off AS $$
DECLARE
    r hotline.rejected_ops;
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    SELECT * INTO r FROM hotline.rejected_ops WHERE id = p_id AND resolved_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('status', 'gone');
    END IF;
    IF p_retry THEN
        RETURN hotline.push_one(r.client_id, r.payload, 'retried by ' || coalesce(p_by, ''));
    END IF;
    UPDATE hotline.applied_ops SET status = 'dismissed'
     WHERE client_id = r.client_id AND client_op_id = r.client_op_id;
    UPDATE hotline.rejected_ops SET resolved_at = now(), resolution = 'dismissed by ' || coalesce(p_by, '')
     WHERE id = p_id;
    RETURN jsonb_build_object('status', 'dismissed');
END $$;

-- What became of some of this desktop's ops (its parked ones): status by op id.
CREATE FUNCTION hotline.op_status(p_protocol integer, p_client text, p_op_ids text[])
RETURNS TABLE (client_op_id text, status text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    RETURN QUERY
        SELECT a.client_op_id, a.status FROM hotline.applied_ops a
         WHERE a.client_id = p_client AND a.client_op_id = ANY (p_op_ids);
END $$;

-- Rows changed after the cursor, oldest transaction first. STABLE: the whole function sees the
-- calling statement's snapshot, so pg_current_snapshot() is the snapshot the rows are read in.
-- Raises HL002 (with the server's epoch as the message) when the desktop's epoch is not this
-- server's, or its cursor lies beyond anything this server has done: a restored or replaced server.
CREATE FUNCTION hotline.pull(p_protocol integer, p_epoch uuid, p_after_xid xid8, p_after_version bigint,
                             p_limit integer)
RETURNS TABLE (table_name text, row_id text, data jsonb, hlc text, origin text, deleted boolean,
               version bigint, xid xid8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
DECLARE
    m hotline.meta := hotline.check_protocol(p_protocol);
    snap pg_snapshot := pg_current_snapshot();
BEGIN
    IF p_epoch IS DISTINCT FROM m.epoch OR p_after_xid > pg_snapshot_xmax(snap) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL002', MESSAGE = m.epoch::text;
    END IF;
    RETURN QUERY
        SELECT r.table_name, r.row_id, r.data, r.hlc, r.origin, r.deleted, r.version, r.xid
          FROM hotline.rows r
         WHERE (r.xid, r.version) > (p_after_xid, p_after_version)
           AND r.xid < pg_snapshot_xmin(snap)
         ORDER BY r.xid, r.version
         LIMIT p_limit;
END $$;

-- Every row of one table, by row id (a resync of a table whose check failed).
CREATE FUNCTION hotline.pull_table(p_protocol integer, p_table text, p_after_row text, p_limit integer)
RETURNS TABLE (table_name text, row_id text, data jsonb, hlc text, origin text, deleted boolean,
               version bigint, xid xid8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    RETURN QUERY
        SELECT r.table_name, r.row_id, r.data, r.hlc, r.origin, r.deleted, r.version, r.xid
          FROM hotline.rows r
         WHERE r.table_name = p_table AND r.row_id > p_after_row
         ORDER BY r.row_id
         LIMIT p_limit;
END $$;

-- Per-table count and, when asked, a content hash (order-free sum of md5(row_id:version)) for the
-- tables asked. ``settled`` is false when rows beyond the given cursor exist (the desktop has not seen
-- them yet, so a comparison now would mean nothing).
CREATE FUNCTION hotline.digest(p_protocol integer, p_tables text[], p_after_xid xid8,
                               p_after_version bigint, p_with_hash boolean)
RETURNS TABLE (table_name text, row_count bigint, hash text, settled boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, pg_temp AS $$
DECLARE
    v_settled boolean;
BEGIN
    PERFORM hotline.check_protocol(p_protocol);
    v_settled := NOT EXISTS (SELECT 1 FROM hotline.rows r
                              WHERE (r.xid, r.version) > (p_after_xid, p_after_version));
    IF NOT p_with_hash THEN
        RETURN QUERY
            SELECT t.name, count(r.row_id), NULL::text, v_settled
              FROM unnest(p_tables) AS t (name)
              LEFT JOIN hotline.rows r ON r.table_name = t.name
             GROUP BY t.name;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT t.name, count(r.row_id),
               coalesce(sum(('x' || substr(md5(r.row_id || ':' || r.version), 1, 15))::bit(60)::bigint),
                        0)::text,
               v_settled
          FROM unnest(p_tables) AS t (name)
          LEFT JOIN hotline.rows r ON r.table_name = t.name
         GROUP BY t.name;
END $$;
"""

# The group role desktops log in under: it may run the sync functions and nothing else.
GRANTS_SQL = r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hotline_app') THEN
        CREATE ROLE hotline_app NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON SCHEMA hotline FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA hotline FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA hotline FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hotline FROM PUBLIC;
GRANT USAGE ON SCHEMA hotline TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.hello(integer, text, text) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.push(integer, text, jsonb) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.rejected(integer, integer) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.resolve_rejected(integer, bigint, boolean, text) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.op_status(integer, text, text[]) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.pull(integer, uuid, xid8, bigint, integer) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.pull_table(integer, text, text, integer) TO hotline_app;
GRANT EXECUTE ON FUNCTION hotline.digest(integer, text[], xid8, bigint, boolean) TO hotline_app;
"""


def upgrade() -> None:
    op.execute(SCHEMA_SQL)
    for position, (name, (kind, columns)) in enumerate(TABLES.items()):
        cols = ", ".join(f"'{column}'" for column in columns)
        op.execute(
            f"INSERT INTO hotline.synced_tables (name, kind, position, columns) "
            f"VALUES ('{name}', '{kind}', {position}, ARRAY[{cols}])"
        )
    op.execute(GRANTS_SQL)


def downgrade() -> None:
    op.execute("DROP SCHEMA hotline CASCADE")
