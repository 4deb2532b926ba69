"""Errors the environment causes (app.errors) — provoked for real on SQLite files, never mocked.

Tests run as root in CI, where file permissions do not stop anything; read-only is therefore made
with SQLite's own read-only open mode (a ``file:...?mode=ro`` URI), which stops root too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select

from app import i18n
from app.context import AppContext, open_context
from app.errors import (
    StorageError,
    StorageProblem,
    UserFacingError,
    ValidationError,
    as_storage_error,
    classify_storage_error,
)
from app.services import calls
from app.storage import db as db_module
from app.storage.models import Call
from tests.helpers.factories import MakeInput, Record

ZH_MESSAGES = {
    StorageProblem.LOCKED: "数据库正忙（被其他程序锁定）。没有丢失任何数据，请稍后重试。",
    StorageProblem.READ_ONLY: (
        "数据库文件为只读，本次修改未能保存。已录入的内容仍然保留；请检查文件夹权限，或选择其他数据文件夹。"
    ),
    StorageProblem.DISK_FULL: (
        "磁盘空间已满，本次修改未能保存。已录入的内容仍然保留；请清理磁盘空间后重新保存。"
    ),
    StorageProblem.CORRUPT: (
        "数据库文件已损坏，将不再向其写入任何内容。请从备份文件夹恢复，或联系系统管理员。"
    ),
    StorageProblem.CANNOT_OPEN: "无法打开数据库文件。请检查数据文件夹是否存在且可写入。",
}


def saved_calls(data_dir: Path) -> list[str]:
    """Re-open the data folder the normal way and list the saved calls' questions."""
    context = open_context(str(data_dir))
    try:
        with context.db.session() as session:
            return list(session.scalars(select(Call.question).order_by(Call.key)))
    finally:
        context.close()


@pytest.fixture
def saved_before(ctx: AppContext, record: Record) -> list[str]:
    """A call saved before trouble starts; the context is closed so a test can re-open it its own way."""
    record(question="出问题之前保存的来电")
    ctx.close()
    return ["出问题之前保存的来电"]


def _with_extra_pragmas(monkeypatch: pytest.MonkeyPatch, *statements: str) -> None:
    original = db_module._set_pragmas

    def set_pragmas(dbapi_conn: sqlite3.Connection, record: Any) -> None:
        original(dbapi_conn, record)
        cursor = dbapi_conn.cursor()
        try:
            for statement in statements:
                if "{page_count}" in statement:
                    page_count = cursor.execute("PRAGMA page_count").fetchone()[0]
                    statement = statement.format(page_count=page_count)
                cursor.execute(statement)
        finally:
            cursor.close()

    monkeypatch.setattr(db_module, "_set_pragmas", set_pragmas)


def _record_fails(context: AppContext, make_input: MakeInput, **overrides: Any) -> StorageError:
    with pytest.raises(StorageError) as info, context.uow() as uow:
        calls.record_call(uow, make_input(**overrides))
    return info.value


# --- read-only ------------------------------------------------------------------------------------


@pytest.fixture
def read_only_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open databases through SQLite's read-only mode (a real sqlite URI; stops root as well)."""

    def make_read_only_engine(path: Path) -> Engine:
        engine = create_engine(
            f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true",
            connect_args={"check_same_thread": False, "timeout": 5},
        )
        event.listen(engine, "connect", db_module._set_pragmas)
        return engine

    monkeypatch.setattr(db_module, "make_engine", make_read_only_engine)


def test_read_only_database(
    data_dir: Path, saved_before: list[str], make_input: MakeInput, read_only_engines: None
) -> None:
    context = open_context(str(data_dir))  # reading still works
    try:
        with context.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 1
        i18n.set_language("zh_CN")
        error = _record_fails(context, make_input, question="只读时录入的来电")
    finally:
        context.close()
    assert error.problem is StorageProblem.READ_ONLY
    assert error.message == ZH_MESSAGES[StorageProblem.READ_ONLY]
    assert str(error) == error.message
    assert "readonly" in error.detail  # the technical detail is kept for the log
    assert isinstance(error.__cause__, Exception)
    assert isinstance(error, UserFacingError)
    assert saved_calls(data_dir) == saved_before


# --- locked ---------------------------------------------------------------------------------------


def test_locked_database(
    data_dir: Path, saved_before: list[str], make_input: MakeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_extra_pragmas(monkeypatch, "PRAGMA busy_timeout = 200")
    context = open_context(str(data_dir))
    other = sqlite3.connect(data_dir / "hotline.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        i18n.set_language("zh_CN")
        error = _record_fails(context, make_input, question="锁定时录入的来电")
        assert error.problem is StorageProblem.LOCKED
        assert error.message == ZH_MESSAGES[StorageProblem.LOCKED]
        other.execute("ROLLBACK")
        # once the other program lets go, the same input saves
        with context.uow() as uow:
            calls.record_call(uow, make_input(question="解锁后保存的来电"))
    finally:
        other.close()
        context.close()
    assert saved_calls(data_dir) == [*saved_before, "解锁后保存的来电"]


# --- damaged file ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)) * 64,
        b"This is not a database, it is a letter to the finance bureau.\n" * 100,
        b"SQLite format 3\x00" + b"\xff" * 4080,  # right magic, damaged header
    ],
    ids=["binary", "text", "bad-header"],
)
def test_garbage_at_the_database_path_is_reported_and_left_untouched(data_dir: Path, garbage: bytes) -> None:
    database = data_dir / "hotline.sqlite3"
    database.write_bytes(garbage)
    i18n.set_language("zh_CN")
    with pytest.raises(StorageError) as info:
        open_context(str(data_dir))
    assert info.value.problem is StorageProblem.CORRUPT
    assert info.value.message == ZH_MESSAGES[StorageProblem.CORRUPT]
    assert database.read_bytes() == garbage  # not overwritten, not "repaired", not replaced
    wal = data_dir / "hotline.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # and nothing was written beside it
    assert list((data_dir / "backups").iterdir()) == []


# --- disk full ------------------------------------------------------------------------------------


def test_disk_full(
    data_dir: Path, saved_before: list[str], make_input: MakeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the database may not grow by a single page: what a full disk looks like to SQLite
    _with_extra_pragmas(monkeypatch, "PRAGMA max_page_count = {page_count}")
    context = open_context(str(data_dir))
    try:
        i18n.set_language("zh_CN")
        error = _record_fails(context, make_input, answer="很长的解答。" * 50_000)
    finally:
        context.close()
    assert error.problem is StorageProblem.DISK_FULL
    assert error.message == ZH_MESSAGES[StorageProblem.DISK_FULL]
    assert saved_calls(data_dir) == saved_before


# --- cannot open ----------------------------------------------------------------------------------


def test_a_data_folder_that_is_a_file_cannot_be_opened(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be", encoding="utf-8")
    i18n.set_language("zh_CN")
    with pytest.raises(StorageError) as info:
        open_context(str(not_a_folder))
    assert info.value.problem is StorageProblem.CANNOT_OPEN
    assert info.value.message == ZH_MESSAGES[StorageProblem.CANNOT_OPEN]
    assert not_a_folder.read_text(encoding="utf-8") == "a file where the data folder should be"


def test_a_database_path_that_is_a_folder_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "hotline.sqlite3").mkdir()
    with pytest.raises(StorageError) as info:
        open_context(str(tmp_path))
    assert info.value.problem is StorageProblem.CANNOT_OPEN


# --- classification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "problem"),
    [
        (sqlite3.OperationalError("database is locked"), StorageProblem.LOCKED),
        (sqlite3.OperationalError("database table is locked"), StorageProblem.LOCKED),
        (sqlite3.OperationalError("attempt to write a readonly database"), StorageProblem.READ_ONLY),
        (sqlite3.OperationalError("database or disk is full"), StorageProblem.DISK_FULL),
        (sqlite3.DatabaseError("file is not a database"), StorageProblem.CORRUPT),
        (sqlite3.DatabaseError("database disk image is malformed"), StorageProblem.CORRUPT),
        (sqlite3.OperationalError("unable to open database file"), StorageProblem.CANNOT_OPEN),
        (sqlite3.OperationalError("disk I/O error"), StorageProblem.IO),
        (sqlite3.IntegrityError("UNIQUE constraint failed: calls.id"), None),  # our bug
        (sqlite3.OperationalError("no such table: calls"), None),  # our bug
        (ValueError("database is locked"), None),  # not a database error at all
        (RuntimeError("disk is full"), None),
    ],
)
def test_classify_storage_error(exception: BaseException, problem: StorageProblem | None) -> None:
    assert classify_storage_error(exception) is problem
    converted = as_storage_error(exception)
    if problem is None:
        assert converted is None
    else:
        assert converted is not None
        assert converted.problem is problem


def test_every_problem_has_a_message_in_both_languages() -> None:
    for problem in StorageProblem:
        i18n.set_language("en")
        english = StorageError(problem).message
        i18n.set_language("zh_CN")
        chinese = StorageError(problem).message
        assert english
        assert chinese
        assert chinese != english


def test_validation_error_carries_the_fields() -> None:
    i18n.set_language("zh_CN")
    error = ValidationError({"question": "请填写来电问题。", "category": "请选择问题分类。"})
    assert error.message == "请修改标出的内容。"
    assert error.fields == {"question": "请填写来电问题。", "category": "请选择问题分类。"}
    assert "请填写来电问题。" in error.detail


def test_validation_messages_follow_the_language(ctx: AppContext, make_input: MakeInput) -> None:
    i18n.set_language("zh_CN")
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, make_input(question=""))
    assert info.value.fields["question"] == "请填写来电问题。"
    i18n.set_language("en")
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, make_input(question=""))
    assert info.value.fields["question"] == "Describe the caller's question."
