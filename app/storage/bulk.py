"""Loading a great many rows into one table: its secondary indexes dropped for the load, built after.

Inserting a million calls into ``calls`` with its secondary indexes (eleven until revision 0005,
four since) is slow on a 2-core desktop, because every row lands at a random place in most of them;
the same rows loaded bare and each index built once afterwards are several times faster. A large
first sync uses this.

The definitions of the dropped indexes are written to ``local_meta`` in the transaction that drops
them, so a crash or power cut during the load is mended when the database is next opened
(``open_database`` calls ``restore_deferred_indexes``). Unique and partial indexes stay: the load
itself relies on them (``uq_calls_id`` finds rows already there, ``ix_calls_unsynced`` is empty for
pulled rows and so costs nothing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

log = logging.getLogger("hotline.storage")

META_PREFIX = "deferred_indexes:"


def _secondary_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY name",
        (table,),
    ).fetchall()
    return [
        (str(name), str(sql))
        for name, sql in rows
        if " WHERE " not in sql.upper() and not sql.upper().startswith("CREATE UNIQUE")
    ]


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def drop_secondary_indexes(engine: Engine, table: str) -> int:
    """Drop ``table``'s secondary indexes, remembering them; the number dropped."""
    with _transaction(engine) as conn:
        key = META_PREFIX + table
        if conn.exec_driver_sql("SELECT 1 FROM local_meta WHERE key = ?", (key,)).first() is not None:
            return 0  # already dropped (an earlier load was cut short and not yet restored)
        indexes = _secondary_indexes(conn, table)
        for name, _sql in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.exec_driver_sql(
            "INSERT INTO local_meta(key, value) VALUES (?, ?)",
            (key, json.dumps([sql for _n, sql in indexes])),
        )
    log.info("dropped %d index(es) of %s for a bulk load", len(indexes), table)
    return len(indexes)


def restore_deferred_indexes(engine: Engine) -> int:
    """Build again every index a bulk load dropped (after the load, or after a crash during one)."""
    with engine.connect() as conn:
        if not conn.exec_driver_sql(
            "SELECT 1 FROM local_meta WHERE key LIKE ? LIMIT 1", (META_PREFIX + "%",)
        ).first():
            return 0
    built = 0
    with _transaction(engine) as conn:
        rows = conn.exec_driver_sql(
            "SELECT key, value FROM local_meta WHERE key LIKE ?", (META_PREFIX + "%",)
        ).fetchall()
        for key, value in rows:
            for sql in json.loads(value):
                conn.exec_driver_sql(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
                built += 1
            conn.exec_driver_sql("DELETE FROM local_meta WHERE key = ?", (key,))
    if built:
        log.info("built %d index(es) again after a bulk load", built)
    return built


@contextmanager
def secondary_indexes_deferred(engine: Engine, table: str) -> Iterator[None]:
    """Within the block, ``table`` has no secondary indexes; they are built again on leaving it,
    however it is left."""
    drop_secondary_indexes(engine, table)
    try:
        yield
    finally:
        restore_deferred_indexes(engine)
