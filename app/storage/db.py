"""Opening the local SQLite database: pragmas, migrations (with a backup first), node identity.

Built once at start-up by ``open_database``; nothing here runs at import time.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.errors import StorageError, StorageProblem, as_storage_error
from app.ids import HybridLogicalClock, uuid7
from app.storage.bulk import restore_deferred_indexes
from app.storage.models import LocalMeta
from app.storage.outbox import install_outbox_recorder

log = logging.getLogger("hotline.storage")

# The newest migration; a test checks it equals Alembic's head. Comparing against it at start-up
# spares importing Alembic (≈0.2 s) when the database is already current.
HEAD_REVISION = "0010"
# Every revision this version of the app knows, oldest first (a test checks it against Alembic). A
# database at a revision not listed here was written by a newer app: we must not touch it.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
)


def _set_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on the platter before we tell the user "saved" — a power cut loses nothing.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -32000")  # 32 MB page cache
        cursor.execute("PRAGMA temp_store = MEMORY")
    finally:
        cursor.close()


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 5},
        pool_size=4,
        max_overflow=4,
    )
    event.listen(engine, "connect", _set_pragmas)
    return engine


@dataclass
class Database:
    path: Path
    engine: Engine
    node_id: str
    clock: HybridLogicalClock
    session_factory: sessionmaker[Session] = field(repr=False)

    def session(self) -> Session:
        return self.session_factory()

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        has_table = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'")
        ).first()
        if not has_table:
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None


def backup_database(path: Path, backup_dir: Path, reason: str) -> Path:
    """A consistent copy of the database (SQLite's online backup, safe with WAL)."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # unique even for two in one second
    target = backup_dir / f"{path.stem}-{stamp}-{reason}.sqlite3"
    src = sqlite3.connect(path)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    log.info("database backed up to %s", target)
    return target


def run_migrations(engine: Engine) -> None:
    from alembic import command  # imported only when a migration is due
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def open_database(path: Path, backup_dir: Path | None = None) -> Database:
    """Open (creating or upgrading as needed) the database at ``path``.

    Environment problems (read-only folder, damaged file, full disk) raise ``StorageError``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(StorageProblem.CANNOT_OPEN, str(exc)) from exc
    existed = path.exists() and path.stat().st_size > 0
    engine = make_engine(path)
    try:
        revision = current_revision(engine)
        if revision is not None and revision not in KNOWN_REVISIONS:
            raise StorageError(StorageProblem.NEWER_SCHEMA, f"database revision {revision}")
        if revision != HEAD_REVISION:
            if existed and revision is not None and backup_dir is not None:
                backup_database(path, backup_dir, f"before-migration-from-{revision}")
            log.info("migrating database %s from %s to %s", path, revision, HEAD_REVISION)
            run_migrations(engine)
        restore_deferred_indexes(engine)  # a bulk load (large first sync) cut short by a crash
        node_id = _ensure_node_id(engine)
    except StorageError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        storage_error = as_storage_error(exc)
        if storage_error is not None:
            raise storage_error from exc
        raise
    factory = sessionmaker(engine, expire_on_commit=False)
    clock = HybridLogicalClock(node_id)
    install_outbox_recorder(factory, node_id, clock)
    return Database(path, engine, node_id, clock, factory)


def _ensure_node_id(engine: Engine) -> str:
    with Session(engine) as session, session.begin():
        meta = session.scalar(select(LocalMeta).where(LocalMeta.key == "node_id"))
        if meta is not None:
            return meta.value
        node_id = uuid7().replace("-", "")[-12:]  # short: it is repeated in every HLC stamp
        session.add(LocalMeta(key="node_id", value=node_id))
        return node_id


def get_meta(session: Session, key: str) -> str | None:
    meta = session.get(LocalMeta, key)
    return meta.value if meta else None


def set_meta(session: Session, key: str, value: str) -> None:
    meta = session.get(LocalMeta, key)
    if meta is None:
        session.add(LocalMeta(key=key, value=value))
    else:
        meta.value = value
