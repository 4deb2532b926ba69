"""The traps of ../shared/design/sync.md against a real server: transactions that commit out of order,
and a fault at every step of push and pull — then resume: nothing lost, nothing duplicated."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.ids import format_hlc, uuid7
from app.services import calls
from app.storage.models import SYNCED_TABLES
from app.sync import apply as apply_module
from app.sync import engine as engine_module
from app.sync import local
from app.sync.engine import SyncEngine
from app.sync.protocol import PROTOCOL_VERSION, SyncError
from tests.helpers.pgserver import PgDatabase, PgServer
from tests.sync.desktops import Desktop, SyncWorld, make_world


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path) -> Iterator[SyncWorld]:
    made = make_world(pg_database, tmp_path)
    yield made
    made.close()


def contact_op(name: str, wall_ms: int = 1_764_000_000_000) -> dict[str, Any]:
    row_id = uuid7()
    return {
        "op_id": str(uuid.uuid4()), "table": "contacts", "row_id": row_id, "op": "insert",
        "fields": {"id": row_id, "name": name, "org_id": None, "title": "", "notes": "", "merged_into": None,
                   "deleted": False},
        "base_version": None, "hlc": format_hlc(wall_ms, 0, "writer"),
    }  # fmt: skip


def push(conn: psycopg.Connection[Any], *ops: dict[str, Any]) -> None:
    conn.execute("SELECT hotline.push(%s, %s, %s)", (PROTOCOL_VERSION, "writer", Jsonb(list(ops))))


def contact_names(desk: Desktop) -> set[str]:
    from sqlalchemy import text

    with desk.db.session() as session:
        return {str(n) for (n,) in session.execute(text("SELECT name FROM contacts"))}


# --- the cursor race ------------------------------------------------------------------------------


def test_transactions_that_commit_out_of_order_are_not_skipped(world: SyncWorld) -> None:
    reader = world.desktop("reader")
    reader.sync()
    first, second, idle = world.admin(), world.admin(), world.admin()
    try:
        first.autocommit = second.autocommit = idle.autocommit = False
        # a long-open transaction that holds an xid and writes nothing yet
        idle.execute("SELECT pg_current_xact_id()")
        # ``first`` takes the older xid, ``second`` the younger one — but ``second`` takes its
        # sequence number first and commits first: xid order and sequence order are inverted
        first.execute("SELECT pg_current_xact_id()")
        push(second, contact_op("乙·先提交"))
        push(first, contact_op("甲·后提交"))
        second.commit()
        reader.sync()
        assert not {"乙·先提交", "甲·后提交"} & contact_names(reader)  # held back, not skipped
        first.commit()
        reader.sync()
        assert not {"乙·先提交", "甲·后提交"} & contact_names(reader)  # still behind the open one
        push(idle, contact_op("丙·长事务"))
        idle.commit()
        reader.sync()
        assert {"乙·先提交", "甲·后提交", "丙·长事务"} <= contact_names(reader)
    finally:
        for conn in (first, second, idle):
            conn.close()
    # and a later desktop, starting from nothing, gets the same
    late = world.desktop("late")
    late.sync()
    assert contact_names(late) == contact_names(reader)


# --- a fault at every step ------------------------------------------------------------------------


class Fault(Exception):
    """A local failure injected into the engine (disk full, process killed)."""


def make_a_busy_desktop(world: SyncWorld) -> Desktop:
    a = world.desktop("a")
    for n in range(7):
        a.record_call(f"故障注入第{n}个来电 核销")
    contact = a.add_contact("吴会计")
    a.edit_contact(contact.id, title="会计")
    return a


def assert_converged(world: SyncWorld, a: Desktop) -> None:
    b = world.desktop("b")
    for _round in range(2):
        a.sync()
        b.sync()
    server_calls = world.server_rows("calls")
    assert len(server_calls) == 7
    with world.admin() as conn:
        (dupes,) = conn.execute(
            "SELECT count(*) FROM (SELECT client_op_id FROM hotline.applied_ops "
            "GROUP BY client_id, client_op_id HAVING count(*) > 1) d"
        ).fetchone() or (0,)
        assert dupes == 0
        (server_total,) = conn.execute("SELECT count(*) FROM hotline.rows").fetchone() or (0,)
    for desk in (a, b):
        assert desk.scalar("SELECT count(*) FROM calls") == 7
        assert desk.scalar("SELECT count(*) FROM outbox") == 0
        assert desk.scalar("SELECT count(*) FROM sync_parked") == 0
        with desk.db.session() as session:
            assert len(calls.search_keys(session, calls.CallQuery(text="故障注入"))) == 7
        total = sum(desk.scalar(f"SELECT count(*) FROM {table}") for table in SYNCED_TABLES)
        assert total == server_total
    contact = [c for c in world.server_rows("contacts").values() if c["name"] == "吴会计"]
    assert len(contact) == 1 and contact[0]["title"] == "会计"


def server_faults(monkeypatch: pytest.MonkeyPatch, at: int, kind: str, world: SyncWorld) -> None:
    """Make the ``at``-th server call of the engine fail: before it is sent, after the server
    answered (the answer is lost), or by the server killing the backend."""
    real = SyncEngine._guarded
    count = [0]

    def guarded(self: SyncEngine, work: Callable[[Any], Any]) -> Any:
        count[0] += 1
        if count[0] != at:
            return real(self, work)
        if kind == "before":

            def fail(_conn: Any) -> Any:
                raise psycopg.OperationalError("connection lost before sending")

            return real(self, fail)
        if kind == "after":

            def answered_then_lost(conn: Any) -> Any:
                work(conn)
                raise psycopg.OperationalError("connection lost after the server committed")

            return real(self, answered_then_lost)
        conn = self._connect()
        with world.admin() as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return real(self, work)

    monkeypatch.setattr(SyncEngine, "_guarded", guarded)


@pytest.mark.parametrize("kind", ["before", "after", "kill"])
@pytest.mark.parametrize("at", range(1, 12))
def test_a_server_fault_at_any_step_loses_and_doubles_nothing(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch, kind: str, at: int
) -> None:
    monkeypatch.setattr(engine_module, "PUSH_BATCH", 20)
    monkeypatch.setattr(engine_module, "PULL_BATCH", 20)
    a = make_a_busy_desktop(world)
    with monkeypatch.context() as faulty:
        server_faults(faulty, at, kind, world)
        try:
            a.sync()
        except SyncError as exc:
            assert exc.offline
    assert_converged(world, a)


def local_faults(monkeypatch: pytest.MonkeyPatch, target: str, at: int, when: str) -> None:
    """Make the ``at``-th local commit of pushed acknowledgements or pulled rows fail, before its
    commit (rolled back) or just after it (as if the process died there)."""
    module, name = (local, "acknowledge") if target == "ack" else (engine_module, "apply_batch")
    real = getattr(module, name)
    count = [0]

    def faulty(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        if count[0] != at:
            return real(*args, **kwargs)
        if when == "before":
            raise Fault(f"{name} failed before its commit")
        real(*args, **kwargs)
        raise Fault(f"{name} failed after its commit")

    if target == "ack":
        monkeypatch.setattr(engine_module.local, "acknowledge", faulty)
    else:
        monkeypatch.setattr(engine_module, "apply_batch", faulty)


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("target", ["ack", "apply"])
@pytest.mark.parametrize("at", [1, 2, 3])
def test_a_local_fault_at_any_step_loses_and_doubles_nothing(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch, target: str, when: str, at: int
) -> None:
    monkeypatch.setattr(engine_module, "PUSH_BATCH", 20)
    monkeypatch.setattr(engine_module, "PULL_BATCH", 20)
    a = make_a_busy_desktop(world)
    with monkeypatch.context() as faulty:
        local_faults(faulty, target, at, when)
        with contextlib.suppress(Fault):
            a.sync()
    assert_converged(world, a)


def test_a_pull_batch_that_fails_in_sqlite_leaves_the_cursor_where_it_was(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_a_busy_desktop(world)
    a.sync()
    b = world.desktop("b")

    def disk_full(*_args: Any, **_kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as faulty:
        faulty.setattr(apply_module, "_apply_calls", disk_full)
        with pytest.raises(sqlite3.OperationalError):
            b.sync()
    with b.db.session() as session:
        cursor = local.read_cursor(session)
    assert b.scalar("SELECT count(*) FROM calls") == 0
    b.sync()
    assert b.scalar("SELECT count(*) FROM calls") == 7
    assert cursor.xid >= 0


def test_the_server_stopped_mid_sync_and_restarted(
    world: SyncWorld, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PULL_BATCH", 10)
    monkeypatch.setattr(engine_module, "PUSH_BATCH", 10)
    a = make_a_busy_desktop(world)
    stopped = [False]

    def stop_the_server(done: int, _total: int, _label: str) -> None:
        if done >= 20 and not stopped[0]:
            stopped[0] = True
            pg_server.stop("fast")  # down mid-push (a clean stop: the test server runs without fsync)

    try:
        with pytest.raises(SyncError) as caught:
            a.engine.sync(stop_the_server)
        assert caught.value.offline
        with a.db.session() as session:
            assert local.sync_status(session).pending > 0
    finally:
        pg_server.start()
    assert_converged(world, a)
