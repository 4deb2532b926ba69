"""The desktop's side of sync in its own SQLite file: cursor and epoch, outbox reads and
acknowledgements, parked (refused) changes, the sync log and the conflicts a person resolves.

Plain functions over a session or a unit of work, like the other services. The engine
(``app.sync.engine``) is the only writer of the cursor; the UI reads the status, the log, the parked
changes and the conflicts, and retries, drops or resolves them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, text
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import N_, _
from app.ids import uuid7
from app.storage.db import Database
from app.storage.models import (
    Base,
    LocalMeta,
    OutboxOp,
    SyncConflict,
    SyncLogEntry,
)
from app.storage.models import (
    ParkedOp as ParkedRow,
)
from app.storage.uow import UnitOfWork

# local_meta keys
EPOCH = "sync.epoch"
CURSOR_XID = "sync.cursor_xid"
CURSOR_VERSION = "sync.cursor_version"
LAST_SUCCESS = "sync.last_success"
LAST_ERROR = "sync.last_error"
HASHED_AT = "sync.hashed_at"  # when every table's content hash was last compared with the server's
RESYNCED_AT = "sync.resynced_at."  # + table: when it was last fetched again because it differed
SUPERVISOR = "sync.supervisor"  # "1"/"0": the server's answer whether this desktop's login is a supervisor

LOG_KEEP = 2000  # sync log entries kept; older ones are dropped as new ones come


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- cursor and epoch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    epoch: str | None
    xid: int
    version: int


def read_meta(session: Session | Connection, key: str) -> str | None:
    value = session.execute(select(LocalMeta.value).where(LocalMeta.key == key)).scalar()
    return None if value is None else str(value)


def write_meta(session: Session | Connection, key: str, value: str) -> None:
    session.execute(
        text(
            "INSERT INTO local_meta (key, value) VALUES (:key, :value) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ),
        {"key": key, "value": value},
    )


def read_cursor(session: Session | Connection) -> Cursor:
    return Cursor(
        epoch=read_meta(session, EPOCH),
        xid=int(read_meta(session, CURSOR_XID) or 0),
        version=int(read_meta(session, CURSOR_VERSION) or 0),
    )


def write_cursor(session: Session | Connection, cursor: Cursor) -> None:
    write_meta(session, EPOCH, cursor.epoch or "")
    write_meta(session, CURSOR_XID, str(cursor.xid))
    write_meta(session, CURSOR_VERSION, str(cursor.version))


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalSyncStatus:
    pending: int
    parked: int
    conflicts: int
    last_success: dt.datetime | None
    last_error: str


def sync_status(session: Session) -> LocalSyncStatus:
    pending = outbox_count(session)
    parked = session.scalar(select(func.count()).select_from(ParkedRow)) or 0
    conflicts = (
        session.scalar(select(func.count()).select_from(SyncConflict).where(~SyncConflict.deleted)) or 0
    )
    last = read_meta(session, LAST_SUCCESS)
    error = read_meta(session, LAST_ERROR)
    return LocalSyncStatus(
        pending=int(pending),
        parked=int(parked),
        conflicts=int(conflicts),
        last_success=dt.datetime.fromisoformat(last) if last else None,
        last_error=_(error) if error else "",
    )


# --- the sync log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    at: dt.datetime
    level: str
    message: str


def add_log(session: Session | Connection, level: str, message: str, **params: Any) -> None:
    """``message`` is an English source string marked with ``N_``; it is translated when shown."""
    session.execute(
        text("INSERT INTO sync_log (at, level, message, params) VALUES (:at, :level, :message, :params)"),
        {
            "at": _now().isoformat(timespec="microseconds"),
            "level": level,
            "message": message,
            "params": json.dumps(params, ensure_ascii=False),
        },
    )
    session.execute(
        text("DELETE FROM sync_log WHERE id <= (SELECT max(id) FROM sync_log) - :keep"), {"keep": LOG_KEEP}
    )


def sync_log(session: Session, limit: int = 500) -> list[LogEntry]:
    rows = session.scalars(select(SyncLogEntry).order_by(SyncLogEntry.id.desc()).limit(limit))
    entries = []
    for row in rows:
        try:
            params = json.loads(row.params)
            message = _(row.message).format(**params)
        except (ValueError, KeyError, IndexError):
            message = row.message
        entries.append(LogEntry(row.at, row.level, message))
    return entries


# --- the outbox as the engine reads it ------------------------------------------------------------


def read_outbox(session: Session, limit: int) -> list[OutboxOp]:
    return list(session.scalars(select(OutboxOp).order_by(OutboxOp.op_id).limit(limit)))


def outbox_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxOp)) or 0)


def op_payload(op: OutboxOp) -> dict[str, Any]:
    """One outbox op as the server's ``push`` takes it."""
    payload: dict[str, Any] = {
        "op_id": op.client_op_id,
        "table": op.table_name,
        "row_id": op.row_id,
        "op": "insert" if op.op == "restore" else op.op,
        "fields": json.loads(op.fields),
        "base_version": op.base_version,
        "hlc": op.hlc,
    }
    if op.op == "restore":
        payload["restore"] = True
    return payload


def acknowledge(db: Database, done: Sequence[str], rejected: dict[str, str]) -> None:
    """Drop the ops the server committed and park the ones it refused, in one local transaction."""
    with UnitOfWork(db) as uow:
        session = uow.session
        session.info["applying_remote"] = True
        if rejected:
            now = _now()
            for op in session.scalars(select(OutboxOp).where(OutboxOp.client_op_id.in_(list(rejected)))):
                session.add(
                    ParkedRow(
                        client_op_id=op.client_op_id,
                        table_name=op.table_name,
                        row_id=op.row_id,
                        op=op.op,
                        fields=op.fields,
                        base_version=op.base_version,
                        hlc=op.hlc,
                        created_at=op.created_at,
                        reason=rejected[op.client_op_id][:2000],
                        parked_at=now,
                    )
                )
        gone = [*done, *rejected]
        for start in range(0, len(gone), 500):
            session.execute(delete(OutboxOp).where(OutboxOp.client_op_id.in_(gone[start : start + 500])))
        if rejected:
            add_log(
                session,
                "error",
                N_("{count} change(s) refused by the server and parked"),
                count=len(rejected),
            )
        uow.commit()


def pending_fields(conn: Connection, table: str, row_ids: Iterable[str]) -> dict[str, set[str]]:
    """The fields of these rows that local changes still waiting in the outbox have set."""
    found: dict[str, set[str]] = {}
    if conn.exec_driver_sql("SELECT 1 FROM outbox WHERE table_name = ? LIMIT 1", (table,)).first() is None:
        return found  # the common case: nothing of this table waits
    ids = list(row_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(f":r{i}" for i in range(len(chunk)))
        rows = conn.execute(
            text(f"SELECT row_id, fields FROM outbox WHERE table_name = :t AND row_id IN ({marks})"),
            {"t": table, **{f"r{i}": value for i, value in enumerate(chunk)}},
        )
        for row_id, fields in rows:
            found.setdefault(row_id, set()).update(json.loads(fields))
    return found


def outbox_tables(session: Session | Connection) -> set[str]:
    return {str(name) for (name,) in session.execute(text("SELECT DISTINCT table_name FROM outbox"))}


# --- re-announcing everything to a restored server -------------------------------------------------


def reannounce_all(conn: Connection, tables: Sequence[str]) -> int:
    """Queue every local synced row as a ``restore`` op (full state, its own HLC) for a new server epoch.

    A restored server may lack changes this desktop sent after the backup was taken; the server merges
    these ops by field HLC without recording conflicts, so what it already has stays as it is.
    """
    from app.storage.outbox import _recorded  # the same column choice as the recorder's

    count = 0
    now = _now().isoformat(timespec="microseconds")
    for name in tables:
        table = Base.metadata.tables[name]
        mapper = next(m for m in Base.registry.mappers if m.local_table is table)
        columns = [attr.key for attr in mapper.column_attrs if _recorded(attr)]
        result = conn.execute(text(f"SELECT {', '.join(columns)}, hlc FROM {name}"))
        batch: list[dict[str, Any]] = []
        for row in result:
            values = dict(zip(columns, row[:-1], strict=True))
            for key, value in values.items():
                if isinstance(value, bool | int | float | str) or value is None:
                    continue
                values[key] = str(value)
            batch.append(
                {
                    "client_op_id": uuid7(),
                    "table_name": name,
                    "row_id": str(values["id"]),
                    "op": "restore",
                    "fields": json.dumps(_as_json_types(table, values), ensure_ascii=False, sort_keys=True),
                    "hlc": row[-1] or "",
                    "created_at": now,
                }
            )
            if len(batch) >= 5000:
                count += _insert_ops(conn, batch)
                batch = []
        count += _insert_ops(conn, batch)
    return count


def _as_json_types(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands booleans back as 0/1; the recorder writes them as JSON booleans."""
    from sqlalchemy import Boolean

    for key, value in values.items():
        column = table.columns[key]
        if isinstance(column.type, Boolean) and value is not None:
            values[key] = bool(value)
    return values


def _insert_ops(conn: Connection, batch: list[dict[str, Any]]) -> int:
    if batch:
        conn.execute(
            text(
                "INSERT INTO outbox (client_op_id, table_name, row_id, op, fields, base_version, hlc, "
                "created_at) VALUES (:client_op_id, :table_name, :row_id, :op, :fields, NULL, :hlc, "
                ":created_at)"
            ),
            batch,
        )
    return len(batch)


# --- the per-table check --------------------------------------------------------------------------


def row_hash(row_id: str, version: int) -> int:
    """The server's ``digest`` term for one row: the first 60 bits of md5('row_id:version')."""
    return int(hashlib.md5(f"{row_id}:{version}".encode()).hexdigest()[:15], 16)


def local_count(session: Session | Connection, table: str) -> int:
    """Rows of ``table`` that came from (or went through) the server: all, less the never-synced
    ones (through the partial index on calls, so a million calls cost two index counts)."""
    total = session.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
    unsynced = (
        session.execute(text(f"SELECT count(*) FROM {table} WHERE server_version IS NULL")).scalar() or 0
    )
    return int(total) - int(unsynced)


def local_digest(session: Session | Connection, table: str) -> tuple[int, str]:
    count, total = 0, 0
    result = session.execute(text(f"SELECT id, server_version FROM {table} WHERE server_version IS NOT NULL"))
    for row_id, version in result:
        count += 1
        total += row_hash(str(row_id), int(version))
    return count, str(total)


# --- parked changes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkedOp:
    id: int
    table_name: str
    row_id: str
    op: str
    reason: str
    parked_at: dt.datetime
    description: str


_TABLE_LABELS: dict[str, str] = {
    "sites": N_("Service site"),
    "systems": N_("System"),
    "modules": N_("Module"),
    "categories": N_("Call category"),
    "organisations": N_("Unit"),
    "contacts": N_("Contact"),
    "contact_phones": N_("Contact phone number"),
    "calls": N_("Call"),
    "call_revisions": N_("Earlier version of a call"),
    "sync_conflicts": N_("Sync conflict"),
    "sla_policies": N_("Service-level policy"),
    "calendar_years": N_("Holiday arrangements of a year"),
    "calendar_days": N_("Calendar date"),
    "tickets": N_("Ticket"),
    "ticket_events": N_("Ticket history entry"),
    "ticket_calls": N_("Call linked to a ticket"),
    "kb_articles": N_("Knowledge base article"),
    "kb_article_versions": N_("Saved version of an article"),
    "kb_images": N_("Picture in an article"),
    "kb_links": N_("Article used in a call or ticket"),
    "kb_canned": N_("Canned answer"),
    "kb_synonyms": N_("Search synonyms"),
    "site_letterheads": N_("Letterhead of a site"),
}

_OP_LABELS: dict[str, str] = {
    "insert": N_("new"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "restore": N_("re-sent"),
}


_FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"),
    "title": N_("Position"),
    "notes": N_("Notes"),
    "org_id": N_("Unit"),
    "site_id": N_("Service site"),
    "kind": N_("Kind"),
    "raw": N_("Phone number"),
    "label": N_("Label"),
    "extension": N_("Extension"),
    "area_code": N_("Area code"),
    "sort_order": N_("Order"),
    "active": N_("In use"),
    "deleted": N_("Deleted"),
    "merged_into": N_("Merged into"),
    "started_at": N_("Call time"),
    "duration_s": N_("Duration"),
    "engineer": N_("Engineer"),
    "caller_name": N_("Caller"),
    "caller_phone": N_("Caller number"),
    "unit_name": N_("Unit"),
    "system_id": N_("System"),
    "module_id": N_("Module"),
    "category_id": N_("Category"),
    "question": N_("Question"),
    "answer": N_("Answer"),
    "outcome": N_("Outcome"),
    "transferred_to": N_("Transferred to"),
    "number": N_("Ticket number"),
    "description": N_("Description"),
    "contact_id": N_("Contact"),
    "handling": N_("Handling"),
    "assignee": N_("Assignee"),
    "body": N_("Policy rules"),
    "day": N_("Date"),
    "year": N_("Year"),
    "confirmed": N_("Confirmed"),
    "source": N_("Source"),
}


# Fields whose name means something else in another table.
_TABLE_FIELD_LABELS: dict[tuple[str, str], str] = {
    ("tickets", "title"): N_("Subject"),
    ("calendar_days", "name"): N_("Holiday name"),
    ("sla_policies", "name"): N_("Policy name"),
    ("site_letterheads", "text"): N_("Letterhead"),
    ("site_letterheads", "signatures"): N_("Signature lines"),
    ("site_letterheads", "logo"): N_("Logo"),
}


def field_label(field: str, table: str = "") -> str:
    label = _TABLE_FIELD_LABELS.get((table, field)) or _FIELD_LABELS.get(field)
    return _(label) if label else field


# The server's reasons for refusing a change (app/sync/server_migrations), as the user reads them.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^unknown field '(?P<field>[^']*)' of (?P<table>\w+)$"),
     N_("The server does not know the field “{field}” of {table}: it may need an upgrade.")),
    (re.compile(r"^unknown table '(?P<table>[^']*)'$"),
     N_("The server does not know the record type “{table}”: it may need an upgrade.")),
    (re.compile(r"^(?P<table>\w+) records are never changed$"),
     N_("{table} records are never changed once saved.")),
    (re.compile(r"^the row is not on the server$"),
     N_("The record is not on the server (its creation was refused or lost).")),
    (re.compile(r"^malformed (clock stamp|row id) .*$|^fields must be an object$|^unknown operation .*$"
                r"|^the id field differs from the row id$"),
     N_("The change was malformed.")),
    (re.compile(r"^only a supervisor may change service-level policies"
                r"( and the working-day calendar|, the working-day calendar and the letterheads)$"),
     N_("Only a supervisor may change the service-level rules, the working-day calendar and the "
        "letterheads.")),
)  # fmt: skip


def reason_text(reason: str) -> str:
    """A refusal reason from the server in the user's language (the server's own words as a detail)."""
    for pattern, message in _REASONS:
        match = pattern.match(reason.strip())
        if match:
            values = match.groupdict()
            if "table" in values:
                values["table"] = table_label(values["table"])
            if "field" in values:
                values["field"] = field_label(values["field"], match.groupdict().get("table") or "")
            return _(message).format(**values)
    return _("The server refused the change: {reason}").format(reason=reason)


def table_label(table: str) -> str:
    return _(_TABLE_LABELS[table]) if table in _TABLE_LABELS else table


def parked_ops(session: Session) -> list[ParkedOp]:
    result = []
    for row in session.scalars(select(ParkedRow).order_by(ParkedRow.id)):
        fields = json.loads(row.fields)
        shown = ", ".join(sorted(k for k in fields if k not in ("id", "deleted")))[:200]
        op_label = _(_OP_LABELS[row.op]) if row.op in _OP_LABELS else row.op
        result.append(
            ParkedOp(
                id=row.id,
                table_name=row.table_name,
                row_id=row.row_id,
                op=row.op,
                reason=reason_text(row.reason),
                parked_at=row.parked_at,
                description=f"{table_label(row.table_name)} · {op_label} · {shown}",
            )
        )
    return result


def retry_parked(uow: UnitOfWork, ids: list[int]) -> int:
    """Put parked changes back at the end of the outbox, to be sent at the next sync under their own
    op ids (the server applies a refused op sent again anew, and marks its refusal resolved)."""
    session = uow.session
    rows = list(session.scalars(select(ParkedRow).where(ParkedRow.id.in_(ids)).order_by(ParkedRow.id)))
    for row in rows:
        session.delete(row)
    session.flush()
    for row in rows:
        session.add(
            OutboxOp(
                client_op_id=row.client_op_id,
                table_name=row.table_name,
                row_id=row.row_id,
                op=row.op,
                fields=row.fields,
                base_version=row.base_version,
                hlc=row.hlc,
                created_at=_now(),
            )
        )
    if rows:
        add_log(session, "info", N_("{count} parked change(s) queued to be sent again"), count=len(rows))
    uow.commit()
    return len(rows)


def parked_op_ids(session: Session) -> list[str]:
    return [str(v) for v in session.scalars(select(ParkedRow.client_op_id))]


def drop_parked_resolved(db: Database, op_ids: Sequence[str]) -> int:
    """Parked changes the server has since accepted or dismissed (someone dealt with them there)."""
    if not op_ids:
        return 0
    with UnitOfWork(db) as uow:
        result = uow.session.execute(delete(ParkedRow).where(ParkedRow.client_op_id.in_(list(op_ids))))
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            add_log(
                uow.session, "info", N_("{count} parked change(s) were dealt with on the server"), count=count
            )
        uow.commit()
    return count


def discard_parked(uow: UnitOfWork, ids: list[int]) -> int:
    session = uow.session
    result = session.execute(delete(ParkedRow).where(ParkedRow.id.in_(ids)))
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        add_log(session, "info", N_("{count} parked change(s) dropped"), count=count)
    uow.commit()
    return int(count or 0)


# --- conflicts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictView:
    id: str
    table_name: str
    row_id: str
    field: str
    row_label: str
    field_label: str
    kept_value: str
    lost_value: str
    lost_origin: str
    detected_at: dt.datetime


def _shown(value_json: str, table: str = "", field: str = "") -> str:
    try:
        value = json.loads(value_json)
    except ValueError:
        return value_json
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if (table, field) == ("site_letterheads", "logo") and isinstance(value, str):  # base64, not for reading
        if not value:
            return _("(no logo)")
        return _("a picture of {size} KB").format(size=max(1, round(len(value) * 3 / 4 / 1024)))
    if (table, field) == ("site_letterheads", "signatures") and isinstance(value, str):  # a JSON list
        try:
            labels = json.loads(value)
        except ValueError:
            return value
        if isinstance(labels, list):
            return "、".join(str(label) for label in labels) or _("(each document's own)")
    return str(value)


def _row_label(session: Session, table: str, row_id: str) -> str:
    model = _model_for(table)
    if model is None:
        return table_label(table)
    row = (
        session.get(model, row_id)
        if table != "calls"
        else session.scalar(select(model).where(model.id == row_id))
    )
    name = ""
    if row is not None:
        for attr in ("name", "caller_name", "question", "title", "text"):
            value = getattr(row, attr, None)
            if value:
                name = str(value)[:40]
                break
    return f"{table_label(table)} {name}".strip()


def _model_for(table: str) -> Any:
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table:  # type: ignore[attr-defined]
            return mapper.class_
    return None


def open_conflicts(session: Session) -> list[ConflictView]:
    rows = session.scalars(
        select(SyncConflict).where(~SyncConflict.deleted).order_by(SyncConflict.detected_at.desc())
    )
    return [
        ConflictView(
            id=row.id,
            table_name=row.table_name,
            row_id=row.row_id,
            field=row.field,
            row_label=_row_label(session, row.table_name, row.row_id),
            field_label=field_label(row.field, row.table_name),
            kept_value=_shown(row.kept_value, row.table_name, row.field),
            lost_value=_shown(row.lost_value, row.table_name, row.field),
            lost_origin=row.lost_origin,
            detected_at=row.detected_at or _now(),
        )
        for row in rows
    ]


def resolve_conflict(uow: UnitOfWork, conflict_id: str, use_lost: bool, editor: str = "") -> None:
    """Close a conflict: keep the current value, or put the lost value back (a normal, synced edit;
    for a call, an edit that keeps the earlier version and updates the search index)."""
    session = uow.session
    conflict = session.get(SyncConflict, conflict_id)
    if conflict is None or conflict.deleted:
        raise ValidationError({"conflict": _("This conflict was already resolved.")})
    conflict.deleted = True
    if not use_lost:
        uow.commit()
        return
    model = _model_for(conflict.table_name)
    row = session.scalar(select(model).where(model.id == conflict.row_id)) if model is not None else None
    if row is None or not hasattr(row, conflict.field):
        raise ValidationError({"conflict": _("The record of this conflict is not on this computer.")})
    value = json.loads(conflict.lost_value)
    column = model.__table__.columns[conflict.field]
    if value is not None and column.type.python_type is dt.datetime:
        value = dt.datetime.fromisoformat(value)
    if conflict.table_name == "calls":
        from app.services import calls

        data = calls.input_from_call(row)
        if conflict.field in calls.CallInput.__dataclass_fields__:
            setattr(data, conflict.field, value)
            calls.edit_call(uow, row.id, data, editor)  # commits, the conflict's tombstone with it
            return
    setattr(row, conflict.field, value)
    uow.commit()


def may_change_service_rules(session: Session | Connection) -> bool:
    """Whether this desktop may change service-level policies and the calendar: as the shared server
    last said of its login (a supervisor, or an administrator); a desktop that never heard from a
    server works alone, and its engineer decides."""
    return read_meta(session, SUPERVISOR) != "0"
