"""A large first sync reads the server's tables whole (``app.sync.snapshot``) — against a real
PostgreSQL: every value arrives as the server holds it, nothing changed meanwhile is missed, and a
snapshot cut short resumes where it stopped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import i18n
from app.services import calls, directory, reference, tickets
from app.services.tickets import TicketInput
from app.storage.db import Database
from app.sync import engine as engine_module
from app.sync import snapshot
from app.sync.protocol import TABLES
from tests.helpers.pgserver import PgDatabase
from tests.sync.desktops import Desktop, SyncWorld, make_world
from tests.sync.helpers_sync import local_state, server_state, state_differences, synced_columns


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncWorld]:
    monkeypatch.setattr(engine_module, "BULK_FIRST_SYNC_ROWS", 1)  # every first sync reads a snapshot
    monkeypatch.setattr(snapshot, "PAGE_ROWS", 7)
    made = make_world(pg_database, tmp_path)
    yield made
    made.close()


def differences(world: SyncWorld, db: Database) -> list[str]:
    with world.admin() as conn:
        columns = synced_columns(conn)
        server = server_state(conn, columns)
    return state_differences(server, local_state(db, columns), TABLES)


def snapshot_pages(desk: Desktop) -> list[tuple[str, str]]:
    """Spy on the snapshot pages a desktop asks for: (table, after row id) of each."""
    asked: list[tuple[str, str]] = []
    original = desk.engine._server_call

    def spy(conn: Any, sql: str, params: tuple[Any, ...], binary: bool = False) -> list[Any]:
        if "snapshot_page" in sql:
            asked.append((str(params[2]), str(params[4])))
        return original(conn, sql, params, binary)

    desk.engine._server_call = spy  # type: ignore[method-assign]
    return asked


def edit_question(desk: Desktop, call_id: str, question: str) -> None:
    with desk.uow() as uow:
        data = calls.input_from_call(calls.get_call(uow.session, call_id))  # type: ignore[arg-type]
        data.question = question
        calls.edit_call(uow, call_id, data, editor=desk.name)


@pytest.fixture
def source(world: SyncWorld) -> Desktop:
    """A desktop with calls (one transferred, with a duration and a contact), contacts with numbers (one
    deleted) and a ticket with its history, all on the server."""
    a = world.desktop("a")
    contact = a.add_contact("王会计", notes="经常来电")
    doomed = a.add_contact("记错的联系人")
    with a.uow() as uow:
        directory.delete_contact(uow, doomed.id)
    for n in range(20):
        a.record_call(f"非税收入缴款第{n}号问题")
    last = a.record_call("电子票据 ORA-12541 报错")
    with a.uow() as uow:
        data = calls.input_from_call(calls.get_call(uow.session, last.id))  # type: ignore[arg-type]
        data.outcome = "transferred"
        data.transferred_to = "软件厂商"
        data.duration_s = 367
        data.contact_id = contact.id
        calls.edit_call(uow, last.id, data, editor="a")
    reported = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    with a.db.session() as session:
        site = reference.list_sites(session)[0].id
    with a.uow() as uow:
        made = tickets.create_ticket(
            uow, TicketInput(site_id=site, title="票据打印机无法连接", reported_at=reported), "a", reported
        )
    with a.uow() as uow:
        tickets.respond(uow, made.id, "a", reported + dt.timedelta(minutes=5))
    a.sync()
    a.sync()
    assert differences(world, a.db) == []
    with world.admin() as conn:  # the size a new desktop is told comes from the server's statistics
        conn.execute("ANALYZE hotline.rows")
    return a


def test_a_new_desktop_reads_the_tables_whole_and_holds_what_the_server_holds(
    world: SyncWorld, source: Desktop
) -> None:
    b = world.desktop("b")
    asked = snapshot_pages(b)
    labels: list[str] = []
    report = b.engine.sync(lambda done, total, label: labels.append(label))
    assert report.full and not report.cancelled
    assert {table for table, _after in asked} >= {"calls", "contacts", "contact_phones", "tickets"}
    assert i18n._("Fetching all data…") in labels
    assert differences(world, b.db) == []  # every value of every row, as the server holds it
    assert b.scalar("SELECT count(*) FROM contacts WHERE deleted") == 1
    assert b.scalar("SELECT duration_s FROM calls WHERE outcome = 'transferred'") == 367
    # the ticket's derived state (deadlines) was worked out as its rows arrived
    assert b.scalar("SELECT count(*) FROM ticket_state") == 1
    assert b.scalar("SELECT status FROM ticket_state") == source.scalar("SELECT status FROM ticket_state")
    with b.db.session() as session:
        assert snapshot.read_progress(session) is None  # finished: nothing left to resume
    # the pull cursor starts where the snapshot began: the next sync is an idle poll
    assert b.sync().pulled == 0


def test_changes_made_while_the_snapshot_is_read_are_pulled_after_it(
    world: SyncWorld, source: Desktop
) -> None:
    b = world.desktop("b")
    edited_midway: list[str] = []

    def progress(done: int, total: int, label: str) -> None:
        if (
            label == i18n._("Fetching all data…")
            and not edited_midway
            and b.scalar("SELECT count(*) FROM calls")
        ):
            # halfway through the calls: one already read is edited, a new one is made
            first = str(b.scalar("SELECT id FROM calls ORDER BY id LIMIT 1"))
            edit_question(source, first, "改过的问题：单位编码不存在")
            edited_midway.append(source.record_call("读取期间新来的电话").id)
            source.sync()

    b.engine.sync(progress)
    assert edited_midway
    assert differences(world, b.db) == []
    assert b.scalar("SELECT count(*) FROM calls WHERE question = '改过的问题：单位编码不存在'") == 1


def test_a_transaction_open_when_the_snapshot_began_is_not_skipped(world: SyncWorld, source: Desktop) -> None:
    """The cursor race of the design notes, for a snapshot: a change by a transaction that began
    before the snapshot and commits after the pages were read still reaches the desktop."""
    call_id = str(source.scalar("SELECT id FROM calls ORDER BY id LIMIT 1"))
    slow = world.database.connect()  # not autocommit: the transaction stays open
    try:
        slow.execute("SELECT pg_current_xact_id()")  # it has its transaction id before the snapshot
        b = world.desktop("b")
        b.sync()  # the snapshot starts at (or before) the slow transaction and reads every table
        slow.execute(
            "UPDATE hotline.rows SET data = jsonb_set(data, '{question}', '\"迟到的修改\"'), "
            "version = nextval('hotline.change_seq'), xid = pg_current_xact_id() "
            "WHERE table_name = 'calls' AND row_id = %s",
            (call_id,),
        )
        slow.commit()
    finally:
        slow.close()
    b.sync()
    assert b.scalar("SELECT question FROM calls WHERE id = :id", id=call_id) == "迟到的修改"
    assert differences(world, b.db) == []


def test_a_snapshot_cut_short_resumes_at_the_last_page_it_stored(world: SyncWorld, source: Desktop) -> None:
    b = world.desktop("b")
    asked = snapshot_pages(b)
    calls_seen: list[int] = []

    def progress(done: int, total: int, label: str) -> None:
        calls_seen.append(int(b.scalar("SELECT count(*) FROM calls")))

    report = b.engine.sync(progress, lambda: bool(calls_seen) and calls_seen[-1] >= 14)
    assert report.cancelled
    with b.db.session() as session:
        stopped = snapshot.read_progress(session)
    assert stopped is not None and stopped.table == "calls" and stopped.after
    stored = b.scalar("SELECT count(*) FROM calls")
    assert 0 < stored < 22
    assert b.engine.poll() is True  # a poll leaves an unfinished first sync to sync()

    asked.clear()
    b.engine.close()  # the resumed snapshot runs on a new connection
    report = b.sync()
    assert not report.cancelled and not report.full
    assert asked[0] == ("calls", stopped.after)  # nothing read before the cut is asked for again
    assert report.pulled < 30
    assert differences(world, b.db) == []


def test_a_snapshot_cut_short_starts_over_when_the_server_was_restored(
    world: SyncWorld, source: Desktop
) -> None:
    b = world.desktop("b")
    pages: list[int] = []
    b.engine.sync(lambda *_args: pages.append(1), lambda: len(pages) >= 3)
    with world.admin() as conn:
        conn.execute("SELECT hotline.new_epoch()")
    asked = snapshot_pages(b)
    report = b.sync()
    assert report.full and not report.cancelled
    # the server refused the page asked at the old place; the snapshot started over, anew
    assert asked[0] != ("sites", "") and asked[1] == ("sites", "")
    assert differences(world, b.db) == []


def test_rows_the_desktop_already_holds_are_merged_not_inserted_twice(
    world: SyncWorld, source: Desktop
) -> None:
    b = world.desktop("b")
    mine = b.record_call("首次同步前记录的来电")  # sent before the snapshot, and read back in it
    report = b.sync()
    assert report.pushed >= 1 and not report.cancelled
    assert b.scalar("SELECT count(*) FROM calls WHERE id = :id", id=mine.id) == 1
    assert differences(world, b.db) == []
    assert world.desktop("c").sync().pulled > 0  # and a third desktop sees the same


def test_the_page_query_answers_every_column_as_text_and_refuses_a_huge_page(world: SyncWorld) -> None:
    import psycopg

    with psycopg.connect(**world.app_config.connect_kwargs()) as conn:
        epoch = conn.execute("SELECT hotline.hello(1, 'x', 'x') ->> 'epoch'").fetchone()[0]  # type: ignore[index]
        plan = snapshot.plan("sites")
        with pytest.raises(psycopg.Error, match="page size"):
            conn.execute(plan.sql, (1, epoch, "sites", list(plan.columns), "", 10**6))
