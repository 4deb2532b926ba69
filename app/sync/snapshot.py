"""A large first sync reads the server's tables whole instead of pulling a million changes one by one.

``pull`` serves rows in commit order with each row's ``data`` as JSON: right for keeping up, slow for
a new desktop, which then spends most of its time decoding JSON. A snapshot (server schema s0003)
asks instead for one table's rows after a row id, with the values of the columns this desktop keeps
as text columns, and writes new rows with one ``INSERT`` per page.

Why it cannot miss a change (../shared/design/sync.md): before the first page the server answers the
oldest transaction still running (``start``). Every change by an older transaction is visible to every
page read later; a change by a newer one may or may not be. Once every table is read, the pull
cursor is set just before ``start``, so ``pull`` sends again every change that may have been missed
(and the ones already read merge as "nothing new"). The pages need no common snapshot, so a first
sync cut short — cancelled, offline, power cut — resumes from the last page it stored, in another
session, on a new connection; only a new server epoch starts it over.

Rows this desktop already holds (its own, pushed before the first pull, or every row after a server
restore) go through the ordinary merge (``apply_rows``), as do the ticket and service-level tables,
whose derived state (deadlines) is worked out as their rows arrive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Connection, Integer, Table, text
from sqlalchemy.orm import Session

from app.storage.models import Base
from app.storage.types import UTCDateTime
from app.sync import apply, local
from app.sync.apply import PulledRow
from app.sync.protocol import TABLES

PAGE_ROWS = 10_000
_MAX_VERSION = 2**63 - 1  # the cursor's version part: every change of transaction start - 1 is read

# local_meta keys of a snapshot under way (all cleared when it completes or a new epoch begins)
EPOCH = "sync.snapshot_epoch"
START = "sync.snapshot_start"
TABLE = "sync.snapshot_table"
AFTER = "sync.snapshot_after"

# Tables whose pages go through the ordinary merge: their rows change derived ticket state.
_MERGED_TABLES = frozenset(
    {
        "tickets",
        "ticket_events",
        "ticket_calls",
        "sla_policies",
        "calendar_days",
        "calendar_years",
        "kb_articles",
    }
)


@dataclass(frozen=True)
class Progress:
    epoch: str
    start: int  # the server's oldest running transaction when the snapshot began
    table: str  # the table being read
    after: str  # the last row id of it stored here ('' before its first page)

    def cursor(self) -> local.Cursor:
        """The pull cursor once every table is read: every change from ``start`` on is pulled."""
        return local.Cursor(self.epoch, max(self.start - 1, 0), _MAX_VERSION)


def tables() -> list[str]:
    """The tables a snapshot reads, parents first (those this version of the app keeps)."""
    return [name for name in TABLES if name in Base.metadata.tables]


def read_progress(session: Session | Connection) -> Progress | None:
    epoch = local.read_meta(session, EPOCH)
    if not epoch:
        return None
    return Progress(
        epoch,
        int(local.read_meta(session, START) or 0),
        local.read_meta(session, TABLE) or "",
        local.read_meta(session, AFTER) or "",
    )


def write_progress(conn: Connection, progress: Progress) -> None:
    local.write_meta(conn, EPOCH, progress.epoch)
    local.write_meta(conn, START, str(progress.start))
    local.write_meta(conn, TABLE, progress.table)
    local.write_meta(conn, AFTER, progress.after)


def clear_progress(conn: Connection) -> None:
    for key in (EPOCH, START, TABLE, AFTER):
        conn.execute(text("DELETE FROM local_meta WHERE key = :key"), {"key": key})


def stored_rows(conn: Connection | Session, upto: str) -> int:
    """Rows already stored of the tables before ``upto`` and of ``upto`` itself (a resumed snapshot's
    progress starts there)."""
    names = tables()
    done = names[: names.index(upto) + 1] if upto in names else []
    return sum(int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() or 0) for name in done)


def holds_rows(conn: Connection | Session, table: str) -> bool:
    """Whether ``table`` has rows here: when it has none as its first page is read, no row of the
    snapshot can be one this desktop holds (its own new rows are not on the server before the next
    push), and the pages skip that look-up."""
    return conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None


# --- the page -------------------------------------------------------------------------------------


def _text_bool(value: str) -> bool:
    return value in ("true", "1")


def _text_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return int(float(value))


@dataclass(frozen=True)
class TablePlan:
    """How one table's snapshot pages are asked for and stored."""

    table: Table
    columns: tuple[str, ...]  # asked of the server, in this order, after the five fixed ones
    converters: tuple[tuple[int, Callable[[str], Any]], ...]  # by position in ``columns``
    not_null: tuple[tuple[int, Any], ...]  # NOT NULL columns: the value stored when none was sent
    nullable: frozenset[str]
    local_columns: tuple[str, ...]  # columns this desktop alone fills (calls' key), after the stamps
    local_defaults: tuple[Any, ...]
    insert_sql: str
    sql: str  # the page query

    def values(self, row: Sequence[Any]) -> list[Any]:
        """One server row as the table's column values (``columns`` only, converted)."""
        values = list(row[5:])
        for i, convert in self.converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        for i, default in self.not_null:
            if values[i] is None:
                values[i] = default
        return values

    def data(self, row: Sequence[Any]) -> dict[str, Any]:
        """One server row as ``PulledRow.data`` for the ordinary merge (a NOT NULL column the server
        sent no value for is left out, so the merge keeps what is here)."""
        raw = row[5:]
        values = self.values(row)
        data = {
            name: value
            for name, value, sent in zip(self.columns, values, raw, strict=True)
            if sent is not None or name in self.nullable
        }
        data["deleted"] = bool(row[3])
        return data


_FIXED = ("row_id text", "hlc text", "origin text", "deleted boolean", "version bigint")
_STAMPS = ("origin", "hlc", "server_version", "deleted")


@functools.cache
def plan(name: str) -> TablePlan:
    table = Base.metadata.tables[name]
    columns: list[str] = []
    converters: list[tuple[int, Callable[[str], Any]]] = []
    not_null: list[tuple[int, Any]] = []
    nullable: set[str] = set()
    defaults = apply.column_defaults(table)
    local_columns: list[str] = []
    for column in table.columns:
        if column.name == "id" or column.name in _STAMPS:
            continue
        if column.info.get("local") or column.primary_key:
            local_columns.append(column.name)
            continue
        position = len(columns)
        columns.append(column.name)
        kind = column.type
        if isinstance(kind, UTCDateTime):
            converters.append((position, apply.utc_text(kind)))
        elif isinstance(kind, Boolean):
            converters.append((position, _text_bool))
        elif isinstance(kind, Integer):
            converters.append((position, _text_int))
        if column.nullable:
            nullable.add(column.name)
        else:
            not_null.append((position, defaults[column.name]))
    stored = ", ".join(f'"{c}"' for c in ["id", *columns, *_STAMPS, *local_columns])
    marks = ", ".join("?" * (1 + len(columns) + len(_STAMPS) + len(local_columns)))
    declared = ", ".join([*_FIXED, *(f"c{i} text" for i in range(len(columns)))])
    return TablePlan(
        table=table,
        columns=tuple(columns),
        converters=tuple(converters),
        not_null=tuple(not_null),
        nullable=frozenset(nullable),
        local_columns=tuple(local_columns),
        local_defaults=tuple(defaults.get(c) for c in local_columns),
        insert_sql=(f'INSERT INTO "{name}" ({stored}) VALUES ({marks})'),
        sql=f"SELECT * FROM hotline.snapshot_page(%s, %s, %s, %s, %s, %s) AS t ({declared})",
    )


def apply_page(
    conn: Connection, name: str, rows: Sequence[Sequence[Any]], look_up: bool, defer_index: bool
) -> None:
    """Store one page of ``name``: rows this desktop does not hold with one ``INSERT`` (calls get their
    local key, and are queued for the background full-text indexer when ``defer_index``), the rest
    through the ordinary merge. ``look_up``: the table may hold some of these rows (see
    ``holds_rows``); they are looked up by id, page by page — never by comparing ids with the last
    one stored, since the server may order text by another collation than SQLite's."""
    table_plan = plan(name)
    if name in _MERGED_TABLES:
        merged, new = list(rows), []
    elif look_up:
        held = apply.existing_ids(conn, name, [str(row[0]) for row in rows])
        merged = [row for row in rows if row[0] in held]
        new = [row for row in rows if row[0] not in held]
    else:
        merged, new = [], list(rows)
    if merged:
        apply.apply_rows(
            conn,
            [
                PulledRow(
                    name,
                    str(row[0]),
                    table_plan.data(row),
                    str(row[1]),
                    str(row[2]),
                    bool(row[3]),
                    int(row[4]),
                    0,
                )
                for row in merged
            ],
            defer_index,
        )
    if not new:
        return
    if name == "calls":
        apply.insert_new_calls(conn, table_plan, new, defer_index)
        return
    stamps_and_local = table_plan.local_defaults
    conn.exec_driver_sql(
        table_plan.insert_sql,
        [
            (row[0], *table_plan.values(row), row[2], row[1], row[4], bool(row[3]), *stamps_and_local)
            for row in new
        ],
    )
