"""Opening the local database (app.storage.db): pragmas, creation, backups, node identity."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import func, select, text

from app.context import AppContext
from app.storage.db import (
    HEAD_REVISION,
    backup_database,
    current_revision,
    get_meta,
    open_database,
    set_meta,
)
from app.storage.models import Call, Site
from tests.helpers.factories import Record


def test_every_pooled_connection_has_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    db = open_database(tmp_path / "hotline.sqlite3", tmp_path / "backups")
    try:
        with ExitStack() as stack:
            # hold several connections at once so the pool has to open new ones
            connections = [stack.enter_context(db.engine.connect()) for _ in range(6)]
            raw_ids = {id(c.connection.dbapi_connection) for c in connections}
            assert len(raw_ids) == 6
            for conn in connections:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        with db.session() as session:  # sessions use the same pool
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.dispose()


def test_foreign_keys_are_really_enforced(tmp_path: Path) -> None:
    db = open_database(tmp_path / "hotline.sqlite3")
    try:
        with db.engine.connect() as conn:
            try:
                conn.execute(
                    text(
                        "INSERT INTO systems (id, site_id, name, sort_order, active, origin, hlc, deleted)"
                        " VALUES ('s', 'no-such-site', 'x', 0, 1, '', '', 0)"
                    )
                )
            except Exception as exc:
                assert "FOREIGN KEY" in str(exc)
            else:
                raise AssertionError("a row pointing at a missing site was accepted")
    finally:
        db.dispose()


def test_a_new_database_is_created_at_head(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "hotline.sqlite3"
    db = open_database(path, tmp_path / "backups")
    try:
        assert path.exists()
        assert current_revision(db.engine) == HEAD_REVISION
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 0
    finally:
        db.dispose()
    assert not any((tmp_path / "backups").glob("*")), "a brand-new database needs no backup"


def test_opening_a_current_database_makes_no_backup(ctx: AppContext, record: Record) -> None:
    record()
    ctx.close()
    backups = ctx.paths.backups
    assert list(backups.iterdir()) == []
    db = open_database(ctx.paths.database, backups)
    try:
        assert current_revision(db.engine) == HEAD_REVISION
    finally:
        db.dispose()
    assert list(backups.iterdir()) == []


def test_backup_database_is_a_complete_readable_copy(ctx: AppContext, record: Record) -> None:
    saved = record(question="备份前保存的来电")
    # the call may still sit in the WAL file: the backup must include it anyway
    target = backup_database(ctx.paths.database, ctx.paths.backups, "before-migration-from-0000")
    assert target.parent == ctx.paths.backups
    assert target.exists()
    assert "before-migration-from-0000" in target.name

    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT question FROM calls WHERE id = ?", (saved.id,)).fetchone() == (
            "备份前保存的来电",
        )
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
        assert copy.execute("SELECT count(*) FROM sites").fetchone() == (2,)
    finally:
        copy.close()

    # the original is untouched and still usable
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def test_backup_folder_is_created_when_missing(tmp_path: Path) -> None:
    db = open_database(tmp_path / "hotline.sqlite3")
    db.dispose()
    target = backup_database(tmp_path / "hotline.sqlite3", tmp_path / "new" / "backups", "manual")
    assert target.exists()


def test_node_id_is_stable_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "hotline.sqlite3"
    first = open_database(path)
    node_id = first.node_id
    first.dispose()
    second = open_database(path)
    try:
        assert second.node_id == node_id
        assert second.clock.node == node_id
        assert len(node_id) == 12
    finally:
        second.dispose()


def test_two_databases_get_different_node_ids(tmp_path: Path) -> None:
    a = open_database(tmp_path / "a.sqlite3")
    b = open_database(tmp_path / "b.sqlite3")
    try:
        assert a.node_id != b.node_id
    finally:
        a.dispose()
        b.dispose()


def test_rows_are_stamped_with_the_node_id(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        origins = set(session.scalars(select(Site.origin)))
    assert origins == {ctx.db.node_id}


def test_meta_values_round_trip(tmp_path: Path) -> None:
    db = open_database(tmp_path / "hotline.sqlite3")
    try:
        with db.session() as session, session.begin():
            assert get_meta(session, "tokenizer_version") is None
            set_meta(session, "tokenizer_version", "1")
        with db.session() as session, session.begin():
            set_meta(session, "tokenizer_version", "2")
        with db.session() as session:
            assert get_meta(session, "tokenizer_version") == "2"
    finally:
        db.dispose()
