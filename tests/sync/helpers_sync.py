"""Set-up shared by the sync tests that run desktops against a real PostgreSQL server.

- ``prepare_server``: the sync schema on a fresh database and a least-privilege desktop login;
- ``Desktop`` / ``open_desktop``: one desktop (its own SQLite file, node id and sync engine) whose
  hybrid logical clock reads a wall clock that can be skewed while the test runs, and that can be cut
  off from the server (its engine then points at a closed port) and healed;
- ``server_state`` / ``local_state`` / ``state_differences``: the live rows of every synced table, on
  the server (``hotline.rows``) and in a desktop's SQLite file, normalised to the same Python types so
  they can be compared table by table.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Boolean, Integer, text
from sqlalchemy.orm import sessionmaker

from app.ids import HybridLogicalClock
from app.services.reference import seed_reference_data
from app.storage.db import Database, make_engine, open_database, run_migrations
from app.storage.models import SYNCED_TABLES, Base
from app.storage.outbox import install_outbox_recorder
from app.storage.types import UTCDateTime
from app.storage.uow import UnitOfWork
from app.sync import admin
from app.sync.config import ServerConfig
from app.sync.engine import SyncEngine
from tests.helpers.pgserver import PgDatabase, PgServer, free_port

APP_PASSWORD = "desk-secret-1"
MISSING = "<missing>"  # a column the server's JSON lacks

# table -> {row id -> (normalised synced columns, server version)}
State = dict[str, dict[str, tuple[dict[str, Any], int | None]]]


def prepare_server(admin_url: str, user: str) -> ServerConfig:
    """Create the sync schema on the database at ``admin_url`` and a desktop login ``user``; the config
    a desktop connects with (the login is cluster-wide and reused if it exists)."""
    adm = ServerConfig.from_url(admin_url)
    admin.init_or_upgrade(adm)
    admin.create_app_user(adm, user, APP_PASSWORD)
    return ServerConfig(
        host=adm.host,
        port=adm.port,
        database=adm.database,
        user=user,
        sslmode="disable",
        password=APP_PASSWORD,
    )


def clone_database(server: PgServer, template: str, name: str) -> PgDatabase:
    """A new database copied from ``template`` (which nobody may be connected to): a server database with
    the sync schema in a tenth of the time Alembic takes to make one."""
    server.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    )
    return server.database(name)


def closed_port() -> int:
    """A local TCP port nothing listens on (a connection to it is refused at once)."""
    return free_port()


# --- desktops -------------------------------------------------------------------------------------


class SkewedWallClock:
    """Wall-clock milliseconds ``offset_ms`` away from the real clock; the offset may change any time."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


def migrated_template(path: Path) -> Path:
    """An empty desktop database file at the newest schema, to copy instead of migrating every desktop."""
    engine = make_engine(path)
    try:
        run_migrations(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


def open_skewed_database(path: Path, wall: Callable[[], int], template: Path | None = None) -> Database:
    """``open_database(path)`` whose HLC — the one the outbox recorder stamps changes with — reads ``wall``.

    ``open_database`` gives the recorder the clock object it makes itself, so replacing ``db.clock``
    afterwards would not reach the recorder. Instead the file is opened once by ``open_database``
    (migrations, node id) and closed, and the database is put together again, the same way, around a
    clock this test controls. ``template`` (see ``migrated_template``) is copied to ``path`` first.
    """
    if template is not None:
        shutil.copyfile(template, path)
    first = open_database(path)
    node_id = first.node_id
    first.dispose()
    engine = make_engine(path)
    factory = sessionmaker(engine, expire_on_commit=False)
    clock = HybridLogicalClock(node_id, wall_clock_ms=wall)
    install_outbox_recorder(factory, node_id, clock)
    return Database(path, engine, node_id, clock, factory)


@dataclass
class Desktop:
    name: str
    db: Database
    engine: SyncEngine
    wall: SkewedWallClock
    config: ServerConfig  # the reachable server
    online: bool = True

    @property
    def node_id(self) -> str:
        return self.db.node_id

    def partition(self) -> None:
        """Cut this desktop off: its engine now points at a port nothing listens on."""
        self.engine.close()
        self.engine.config = replace(self.config, port=closed_port())
        self.online = False

    def heal(self) -> None:
        self.engine.close()
        self.engine.config = self.config
        self.online = True

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()


def open_desktop(
    folder: Path,
    name: str,
    config: ServerConfig,
    offset_ms: int = 0,
    engine_class: type[SyncEngine] = SyncEngine,
    template: Path | None = None,
) -> Desktop:
    """A desktop with its own SQLite file in ``folder``, the seeded reference data, not synced yet."""
    wall = SkewedWallClock(offset_ms)
    folder.mkdir(parents=True, exist_ok=True)
    db = open_skewed_database(folder / f"{name}.sqlite3", wall, template)
    with UnitOfWork(db) as uow:
        seed_reference_data(uow)
    return Desktop(name, db, engine_class(db, config, name), wall, config)


def outbox_ops(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT client_op_id, table_name, row_id, op, fields, hlc, base_version "
                "FROM outbox ORDER BY op_id"
            )
        )
        return [
            {
                "client_op_id": r[0], "table": r[1], "row_id": r[2], "op": r[3], "fields": json.loads(r[4]),
                "hlc": r[5], "base_version": r[6],
            }
            for r in rows
        ]  # fmt: skip


def count_rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() or 0)


# --- the rows of the synced tables, side by side --------------------------------------------------


def synced_columns(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """Every synced table and the columns a desktop may write, as the server declares them."""
    return {
        name: list(columns)
        for name, columns in conn.execute("SELECT name, columns FROM hotline.synced_tables")
    }


def normalise(table: str, column: str, value: Any) -> Any:
    """A column's value (from the server's JSON or from SQLite) as one Python type."""
    if value is None or value == MISSING:
        return value
    kind = Base.metadata.tables[table].columns[column].type
    if isinstance(kind, UTCDateTime):
        moment = dt.datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Integer):
        return int(value)
    return value


def server_state(conn: psycopg.Connection[Any], columns: dict[str, list[str]]) -> State:
    """The server's rows (admin connection, autocommit), with a check that ``deleted`` agrees with the
    JSON's."""
    state: State = {table: {} for table in columns}
    for table, row_id, data, version, deleted in conn.execute(
        "SELECT table_name, row_id, data, version, deleted FROM hotline.rows"
    ):
        values = {c: normalise(table, c, data.get(c, MISSING)) for c in columns[table]}
        assert bool(deleted) == bool(values.get("deleted")), (
            f"{table} {row_id}: deleted column vs JSON {data}"
        )
        state[table][row_id] = (values, int(version))
    return state


def local_state(db: Database, columns: dict[str, list[str]]) -> State:
    state: State = {}
    with db.engine.connect() as conn:
        for table, cols in columns.items():
            names = ", ".join(f'"{c}"' for c in cols)
            rows = conn.execute(text(f'SELECT {names}, server_version FROM "{table}"'))
            state[table] = {
                str(row[0]): (
                    {c: normalise(table, c, v) for c, v in zip(cols, row[:-1], strict=True)},
                    row[-1],
                )
                for row in rows
            }
    return state


def state_differences(
    server: State, replica: State, tables: Iterable[str] = SYNCED_TABLES, limit: int = 12
) -> list[str]:
    """What differs between the server's rows and a replica's, table by table (at most ``limit`` lines)."""
    found: list[str] = []
    for table in tables:
        theirs, ours = server.get(table, {}), replica.get(table, {})
        for row_id in sorted(theirs.keys() | ours.keys()):
            if row_id not in ours:
                found.append(f"{table} {row_id}: only on the server {theirs[row_id]}")
            elif row_id not in theirs:
                found.append(f"{table} {row_id}: only here {ours[row_id]}")
            elif theirs[row_id] != ours[row_id]:
                (s_values, s_version), (r_values, r_version) = theirs[row_id], ours[row_id]
                fields = {
                    c: (s_values.get(c), r_values.get(c))
                    for c in s_values.keys() | r_values.keys()
                    if s_values.get(c) != r_values.get(c)
                }
                found.append(
                    f"{table} {row_id}: server version {s_version} / here {r_version}; "
                    f"fields (server, here): {fields}"
                )
    if len(found) > limit:
        found = [*found[:limit], f"... and {len(found) - limit} more"]
    return found
