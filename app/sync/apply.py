"""Applying rows pulled from the server to the local SQLite file.

One batch and the cursor that follows it are written in one transaction (``BEGIN IMMEDIATE``, so a
save from the GUI waits on the busy timeout instead of failing). Fields that local changes still
waiting in the outbox have set are left as they are: those changes are re-applied on top, are sent at
the next push and come back merged. Nothing here writes the outbox: pulled rows are the server's.

Foreign keys are not enforced while a batch is applied: rows arrive in commit order, not parent
first (a unit edited after a contact was added to it comes after the contact), and the server holds
every parent a desktop has referred to, so references are whole again once the pull is complete.

Calls get their local key (time order) and their full-text row here, as ``record_call`` gives them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Boolean, Connection, Integer, Table, text

from app.services import kb_index, tickets
from app.services.calls import call_index_body
from app.storage.db import Database
from app.storage.models import CALL_KEY_SLOTS, Base, Call, call_key_floor
from app.storage.types import UTCDateTime
from app.sync import local

_STAMPS = ("origin", "hlc", "server_version")


@dataclass(frozen=True, slots=True)
class PulledRow:
    table_name: str
    row_id: str
    data: dict[str, Any]
    hlc: str
    origin: str
    deleted: bool
    version: int
    xid: int


@contextmanager
def remote_transaction(db: Database) -> Iterator[Connection]:
    """A write transaction for applying server rows: foreign keys off, ``BEGIN IMMEDIATE``."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.commit()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            conn.commit()


_Converter = Callable[[Any], Any]
_STORED_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def utc_text(kind: UTCDateTime) -> _Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, str) and _STORED_UTC.fullmatch(value):
            return value  # already as the column stores it (what a desktop pushes)
        return kind.process_bind_param(dt.datetime.fromisoformat(str(value)), None)  # type: ignore[arg-type]

    return convert


def _json_text(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


@functools.cache
def _converters(table: Table) -> dict[str, _Converter | None]:
    """Per synced column of ``table``: how a JSON value becomes what the column stores (None: as is).
    Worked out once per table: a first sync converts a million rows."""
    plan: dict[str, _Converter | None] = {}
    for column in table.columns:
        if column.info.get("local") or column.name in _STAMPS:
            continue
        kind = column.type
        if isinstance(kind, UTCDateTime):
            plan[column.name] = utc_text(kind)
        elif isinstance(kind, Boolean):
            plan[column.name] = bool
        elif isinstance(kind, Integer):
            plan[column.name] = int
        else:
            plan[column.name] = _json_text
    return plan


def _convert(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """JSON values as the table's columns store them (only the columns this table has)."""
    plan = _converters(table)
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in plan:
            continue
        convert = plan[name]
        values[name] = value if value is None or convert is None else convert(value)
    return values


def apply_batch(
    db: Database, rows: Sequence[PulledRow], cursor: local.Cursor | None, defer_index: bool = False
) -> None:
    """Write pulled rows (and the cursor after them, if given) in one local transaction.

    ``defer_index``: new calls are queued for the background full-text indexer
    (``app.services.call_index``) instead of being indexed here — for a large first sync."""
    with remote_transaction(db) as conn:
        apply_rows(conn, rows, defer_index)
        if cursor is not None:
            local.write_cursor(conn, cursor)
    if rows:
        db.clock.observe(max(row.hlc for row in rows))


def apply_rows(conn: Connection, rows: Sequence[PulledRow], defer_index: bool = False) -> None:
    by_table: dict[str, list[PulledRow]] = {}
    for row in rows:
        by_table.setdefault(row.table_name, []).append(row)
    for name, table_rows in by_table.items():
        table = Base.metadata.tables.get(name)
        if table is None:
            continue  # a table a newer app added: this version has nowhere to keep it
        pending = local.pending_fields(conn, name, (row.row_id for row in table_rows))
        if name == "calls":
            _apply_calls(conn, table, table_rows, pending, defer_index)
        else:
            _apply_plain(conn, table, table_rows, pending)
    _refresh_tickets(conn, by_table)
    _refresh_search(conn, by_table)


def _refresh_search(conn: Connection, by_table: dict[str, list[PulledRow]]) -> None:
    """The knowledge-base search index follows pulled articles and tickets (``app.services.kb_index``)."""
    if "kb_articles" in by_table:
        kb_index.index_articles(conn, [row.row_id for row in by_table["kb_articles"]])
    if "tickets" in by_table:
        kb_index.index_tickets(conn, [row.row_id for row in by_table["tickets"]])


# Pulled rows of these tables change derived ticket state: of their tickets, or of every open ticket.
_TICKET_TABLES = frozenset({"tickets", "ticket_events"})
_SLA_CONFIG_TABLES = frozenset({"sla_policies", "calendar_days", "calendar_years"})


def _refresh_tickets(conn: Connection, by_table: dict[str, list[PulledRow]]) -> None:
    """Derive again the state of the tickets whose rows or events arrived — of every open ticket when a
    policy or a confirmed year did, of those a date concerns when calendar dates did
    (``app.services.tickets``). A batch of calls costs a set lookup."""
    if by_table.keys().isdisjoint(_TICKET_TABLES | _SLA_CONFIG_TABLES):
        return
    ids = {row.row_id for row in by_table.get("tickets", ())}
    ids.update(str(row.data.get("ticket_id")) for row in by_table.get("ticket_events", ()))
    config_changed = not by_table.keys().isdisjoint(_SLA_CONFIG_TABLES - {"calendar_days"})
    days: list[dt.date] = []
    for row in by_table.get("calendar_days", ()):
        try:
            days.append(dt.date.fromisoformat(str(row.data.get("day"))))
        except ValueError:
            config_changed = True  # a date this version cannot read: recompute every open ticket
    tickets.recompute_after_pull(conn, ids, config_changed, dt.datetime.now(dt.UTC), days)


def _stamps(row: PulledRow) -> dict[str, Any]:
    return {"origin": row.origin, "hlc": row.hlc, "server_version": row.version, "deleted": row.deleted}


def _apply_plain(
    conn: Connection, table: Table, rows: Sequence[PulledRow], pending: dict[str, set[str]]
) -> None:
    name = table.name
    existing = existing_ids(conn, name, [row.row_id for row in rows])
    inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        values = _convert(table, row.data) | _stamps(row)
        values["id"] = row.row_id
        keep = pending.get(row.row_id, set())
        if row.row_id in existing:
            keep = _differing(conn, name, row.row_id, keep, values)
            changes = {k: v for k, v in values.items() if k != "id" and k not in keep}
            if not changes:
                continue
            sets = ", ".join(f'"{k}" = :{k}' for k in changes)
            conn.execute(text(f'UPDATE "{name}" SET {sets} WHERE id = :id'), {**changes, "id": row.row_id})
        else:
            values = _with_defaults(table, values)
            inserts.setdefault(tuple(values), []).append(tuple(values.values()))
    for columns, rows_values in inserts.items():  # new rows (most of a first sync): one statement each
        cols = ", ".join(f'"{k}"' for k in columns)
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', rows_values)


def _differing(
    conn: Connection, name: str, row_id: str, pending: set[str], values: dict[str, Any]
) -> set[str]:
    """The waiting fields whose local value differs from the server's: those are kept — and then the
    row's ``server_version`` is left where it was too. Advanced, it would make this desktop's next
    edit of such a field look, to the server, as if it had seen the other desktop's value, which it
    never showed: that value would be overwritten without a conflict. The row comes back after the
    push (the server gives it a new version whether the waiting values win or lose)."""
    fields = sorted(k for k in pending if k in values)
    if not fields:
        return set()
    columns = ", ".join(f'"{k}"' for k in fields)
    local_row = conn.execute(text(f'SELECT {columns} FROM "{name}" WHERE id = :id'), {"id": row_id}).first()
    if local_row is None:
        return set()
    keep = {k for k, local_value in zip(fields, local_row, strict=True) if local_value != values[k]}
    if keep:
        values.pop("server_version", None)
    return keep


@functools.cache
def column_defaults(table: Table) -> dict[str, Any]:
    """What a column holds when the server sent no value for it (a row written by an older app): its
    scalar default, else an empty value for a NOT NULL column, else NULL."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key:
            continue
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[column.name] = default.arg  # type: ignore[attr-defined]
        elif not column.nullable:
            defaults[column.name] = "" if column.type.python_type is str else 0
        else:
            defaults[column.name] = None
    return defaults


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    return {**column_defaults(table), **values}


def existing_ids(conn: Connection, name: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(f":i{i}" for i in range(len(chunk)))
        params = {f"i{i}": value for i, value in enumerate(chunk)}
        found.update(
            str(r[0]) for r in conn.execute(text(f'SELECT id FROM "{name}" WHERE id IN ({marks})'), params)
        )
    return found


# --- calls: local key and full-text row -----------------------------------------------------------

_CALL_COLUMNS = [c.name for c in Call.__table__.columns]


def _call_rows(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cols = ", ".join(_CALL_COLUMNS)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(f":i{i}" for i in range(len(chunk)))
        params = {f"i{i}": value for i, value in enumerate(chunk)}
        for row in conn.execute(text(f"SELECT {cols} FROM calls WHERE id IN ({marks})"), params):
            found[str(row.id)] = dict(row._mapping)
    return found


def _index_body(values: dict[str, Any]) -> str:
    return call_index_body(cast(Call, SimpleNamespace(**values)))


def _key_floor(stored_started_at: str) -> int:
    return call_key_floor(dt.datetime.fromisoformat(stored_started_at))


class _KeyAllocator:
    """Free local keys for a batch of calls: a slot derived from the id, checked in one query for the
    whole batch (a first sync of a million calls needs one per batch); only a slot found taken is
    probed further, one key at a time."""

    def __init__(self, conn: Connection, wanted: list[tuple[str, int]]) -> None:
        self._conn = conn
        self._taken: set[int] = set()
        self._checked = {self._first(row_id, floor) for row_id, floor in wanted}
        candidates = sorted(self._checked)
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            self._taken.update(
                int(r[0])
                for r in conn.exec_driver_sql(f"SELECT key FROM calls WHERE key IN ({marks})", tuple(chunk))
            )

    @staticmethod
    def _first(row_id: str, floor: int) -> int:
        return floor + int(row_id[-3:], 16) % CALL_KEY_SLOTS

    def _free(self, key: int) -> bool:
        if key in self._taken:
            return False
        if key in self._checked:
            return True
        return self._conn.exec_driver_sql("SELECT 1 FROM calls WHERE key = ?", (key,)).first() is None

    def allocate(self, row_id: str, floor: int) -> int:
        key = self._first(row_id, floor)
        while not self._free(key):
            key += 1  # the next slot (past the millisecond's last slot is the next millisecond's)
        self._taken.add(key)
        return key


_call_tuple = operator.itemgetter(*_CALL_COLUMNS)  # a row's values in column order, for executemany
_SYNCED_CALL_COLUMNS = [c for c in _CALL_COLUMNS if c not in ("key", *_STAMPS)]
_INSERT_CALL = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({', '.join('?' * len(_CALL_COLUMNS))})"
)
_UPDATE_CALL = f"UPDATE calls SET {', '.join(f'{c} = ?' for c in _CALL_COLUMNS if c != 'id')} WHERE id = ?"
_STAMP_CALL = "UPDATE calls SET origin = ?, hlc = ?, server_version = ? WHERE id = ?"


def _same_content(old: dict[str, Any], values: dict[str, Any], columns: Sequence[str]) -> bool:
    """The pulled row says what this copy already holds (most often this desktop's own change coming
    back): only its stamps need writing, not the row and its search index."""
    return all(old[c] == values[c] for c in columns)


def _queued_keys(conn: Connection, keys: list[int]) -> set[int]:
    """Those of ``keys`` whose full-text row is still to be written by the background indexer."""
    if not keys or conn.exec_driver_sql("SELECT 1 FROM calls_unindexed LIMIT 1").first() is None:
        return set()
    found: set[int] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(
            int(r[0])
            for r in conn.exec_driver_sql(
                f"SELECT key FROM calls_unindexed WHERE key IN ({marks})", tuple(chunk)
            )
        )
    return found


def _apply_calls(
    conn: Connection,
    table: Table,
    rows: Sequence[PulledRow],
    pending: dict[str, set[str]],
    defer_index: bool = False,
) -> None:
    existing = _call_rows(conn, [row.row_id for row in rows])
    merged: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    stamps_only: list[tuple[Any, ...]] = []
    for row in rows:
        values = _convert(table, row.data) | _stamps(row)
        values["id"] = row.row_id
        old = existing.get(row.row_id)
        if old is not None:
            keep = {k for k in pending.get(row.row_id, set()) if k in values and old[k] != values[k]}
            if keep:  # see _differing
                values.pop("server_version")
            values = old | {k: v for k, v in values.items() if k not in keep}
            if _same_content(old, values, _SYNCED_CALL_COLUMNS):
                stamps_only.append((values["origin"], values["hlc"], values["server_version"], row.row_id))
                continue
        else:
            values = _with_defaults(table, values)
        merged.append((values, old))
    if stamps_only:
        conn.exec_driver_sql(_STAMP_CALL, stamps_only)
    floors = {values["id"]: _key_floor(values["started_at"]) for values, _old in merged}
    wanted = [
        (values["id"], floors[values["id"]])
        for values, old in merged
        if old is None or _key_floor(old["started_at"]) != floors[values["id"]]
    ]
    allocator = _KeyAllocator(conn, wanted)
    queued = _queued_keys(conn, [old["key"] for _values, old in merged if old is not None])
    fts_delete: list[tuple[int, str]] = []
    fts_insert: list[tuple[int, str]] = []
    to_queue: list[tuple[int]] = []
    requeue: list[tuple[int, int]] = []
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for values, old in merged:
        if old is None:
            values["key"] = allocator.allocate(values["id"], floors[values["id"]])
            inserts.append(_call_tuple(values))
        else:
            if not old["deleted"] and old["key"] not in queued:
                fts_delete.append((old["key"], _index_body(old)))
            if _key_floor(old["started_at"]) != floors[values["id"]]:
                values["key"] = allocator.allocate(values["id"], floors[values["id"]])
            else:
                values["key"] = old["key"]
            updates.append((*(values[c] for c in _CALL_COLUMNS if c != "id"), values["id"]))
        if old is not None and old["key"] in queued:
            if values["key"] != old["key"]:  # still queued: the indexer reads the call as it is then
                requeue.append((values["key"], old["key"]))
        elif old is None and defer_index:
            to_queue.append((values["key"],))
        elif not values["deleted"]:
            fts_insert.append((values["key"], _index_body(values)))
    if requeue:
        conn.exec_driver_sql("UPDATE calls_unindexed SET key = ? WHERE key = ?", requeue)
    if to_queue:
        conn.exec_driver_sql("INSERT INTO calls_unindexed(key) VALUES (?)", to_queue)
    if fts_delete:  # before the keys move: the index rows are found by their old key and body
        conn.exec_driver_sql(
            "INSERT INTO calls_fts(calls_fts, rowid, body) VALUES ('delete', ?, ?)", fts_delete
        )
    if updates:
        conn.exec_driver_sql(_UPDATE_CALL, updates)
    if inserts:
        conn.exec_driver_sql(_INSERT_CALL, inserts)
    if fts_insert:
        conn.exec_driver_sql("INSERT INTO calls_fts(rowid, body) VALUES (?, ?)", fts_insert)


def insert_new_calls(conn: Connection, plan: Any, rows: Sequence[Sequence[Any]], defer_index: bool) -> None:
    """Calls of a snapshot page (``app.sync.snapshot``) that this desktop does not hold: each gets its
    local key, then all are inserted with one statement and queued for the background full-text
    indexer (``defer_index``) or indexed here."""
    if plan.local_columns != ("key",):  # pragma: no cover - a new local column of calls needs a value here
        raise RuntimeError(f"calls has local columns {plan.local_columns}")
    started_at = plan.columns.index("started_at")
    values = [plan.values(row) for row in rows]
    floors = [_key_floor(v[started_at]) for v in values]
    allocator = _KeyAllocator(conn, [(str(row[0]), floor) for row, floor in zip(rows, floors, strict=True)])
    inserts: list[tuple[Any, ...]] = []
    for row, row_values, floor in zip(rows, values, floors, strict=True):
        key = allocator.allocate(str(row[0]), floor)
        inserts.append((row[0], *row_values, row[2], row[1], row[4], bool(row[3]), key))
    conn.exec_driver_sql(plan.insert_sql, inserts)
    if defer_index:
        conn.exec_driver_sql("INSERT INTO calls_unindexed(key) VALUES (?)", [(row[-1],) for row in inserts])
        return
    names = ["id", *plan.columns, "origin", "hlc", "server_version", "deleted", "key"]
    fts = [
        (row[-1], _index_body(dict(zip(names, row, strict=True))))
        for row in inserts
        if not row[-2]  # deleted
    ]
    if fts:
        conn.exec_driver_sql("INSERT INTO calls_fts(rowid, body) VALUES (?, ?)", fts)
