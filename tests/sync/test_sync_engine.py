"""Sync between desktops through a real PostgreSQL server: convergence, field merge and conflicts,
tombstones, refused changes, the per-table check, versions and epochs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app import i18n
from app.services import calls
from app.storage.models import Call, OutboxOp
from app.sync import admin, local
from app.sync.protocol import Problem, SyncError
from tests.helpers.pgserver import PgDatabase
from tests.sync.desktops import Desktop, SyncWorld, make_world


@pytest.fixture(autouse=True)
def _chinese() -> None:
    i18n.set_language("zh_CN")  # messages are checked as the user reads them (restored after the test)


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path) -> Iterator[SyncWorld]:
    made = make_world(pg_database, tmp_path)
    yield made
    made.close()


def search(desk: Desktop, words: str) -> int:
    with desk.db.session() as session:
        return len(calls.search_keys(session, calls.CallQuery(text=words)))


def test_a_call_saved_on_one_desktop_is_found_on_another(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    call = a.record_call("电子票据开具后无法冲红")
    a.sync()
    report = b.sync()
    assert report.full and report.pulled > 0
    with b.db.session() as session:
        copy = calls.get_call(session, call.id)
    assert copy is not None and copy.question == "电子票据开具后无法冲红"
    assert copy.server_version is not None
    assert search(b, "冲红") == 1  # the full-text index knows it too
    # b's seeded reference rows were the same rows as a's (the same ids): nothing doubled
    assert len(world.server_rows("sites")) == 2
    assert b.scalar("SELECT count(*) FROM outbox") == 0


def test_nothing_to_do_is_one_quiet_round_trip(world: SyncWorld) -> None:
    a = world.desktop("a")
    a.sync()
    report = a.sync()
    assert (report.pushed, report.pulled, report.full) == (0, 0, False)
    assert a.engine.poll() is False


def test_edits_to_different_fields_merge(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    contact = a.add_contact("王出纳", notes="")
    a.sync()
    b.sync()
    a.edit_contact(contact.id, title="出纳")  # offline on a
    b.edit_contact(contact.id, notes="周五下午不在")  # offline on b
    a.sync()
    b.sync()
    a.sync()
    for desk in (a, b):
        merged = desk.contact(contact.id)
        assert merged is not None
        assert (merged.title, merged.notes) == ("出纳", "周五下午不在")
    with a.db.session() as session:
        assert local.open_conflicts(session) == []


def test_the_same_field_edited_twice_keeps_the_later_and_shows_the_other(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    contact = a.add_contact("赵会计")
    a.sync()
    b.sync()
    a.edit_contact(contact.id, notes="手机号已换")
    b.edit_contact(contact.id, notes="请联系财务科")  # later HLC: wins
    b.sync()
    a.sync()
    b.sync()
    for desk in (a, b):
        kept = desk.contact(contact.id)
        assert kept is not None and kept.notes == "请联系财务科"
        with desk.db.session() as session:
            conflicts = local.open_conflicts(session)
        assert [(c.field, c.kept_value, c.lost_value) for c in conflicts] == [
            ("notes", "请联系财务科", "手机号已换")
        ]
    # a person puts the lost words back on desktop a; b learns it at its next sync
    with a.uow() as uow:
        local.resolve_conflict(uow, conflicts[0].id, use_lost=True)
    a.sync()
    b.sync()
    for desk in (a, b):
        kept = desk.contact(contact.id)
        assert kept is not None and kept.notes == "手机号已换"
        with desk.db.session() as session:
            assert local.open_conflicts(session) == []


def test_a_delete_beats_a_concurrent_edit(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    contact = a.add_contact("钱科长")
    a.sync()
    b.sync()
    a.edit_contact(contact.id, deleted=True)
    b.edit_contact(contact.id, title="科长")
    b.sync()
    a.sync()
    b.sync()
    for desk in (a, b):
        gone = desk.contact(contact.id)
        assert gone is not None and gone.deleted and gone.title == "科长"


def test_a_local_edit_waiting_to_be_sent_is_not_overwritten_by_a_pull(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    contact = a.add_contact("孙主任")
    a.sync()
    b.sync()
    a.edit_contact(contact.id, title="主任")
    a.sync()
    b.edit_contact(contact.id, notes="新号码 13800001111")
    # b pulls a's change while its own edit waits in the outbox (push cut short by a refused server)
    with b.db.session() as session:
        assert local.sync_status(session).pending == 1
    b.engine.poll()
    mixed = b.contact(contact.id)
    assert mixed is not None and (mixed.title, mixed.notes) == ("主任", "新号码 13800001111")
    b.sync()
    a.sync()
    final = a.contact(contact.id)
    assert final is not None and (final.title, final.notes) == ("主任", "新号码 13800001111")


def test_an_edited_call_moves_in_the_search_index_on_the_other_desktop(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    call = a.record_call("工资统发系统登录失败")
    a.sync()
    b.sync()
    assert search(b, "工资") == 1
    with a.uow() as uow:
        data = calls.input_from_call(uow.session.get(Call, call.key))  # type: ignore[arg-type]
        data.question = "财政一体化系统年度结转"
        calls.edit_call(uow, call.id, data, editor="a")
    a.sync()
    b.sync()
    assert search(b, "工资") == 0
    assert search(b, "年度结转") == 1
    with b.db.session() as session:
        assert len(calls.call_revisions(session, call.id)) == 1  # the earlier version came along


def test_a_refused_change_is_parked_and_does_not_block_the_rest(world: SyncWorld) -> None:
    a = world.desktop("a")
    a.sync()
    contact = a.add_contact("周老师")
    # a change the server cannot accept (a column it does not know), queued before a good one
    with a.uow() as uow:
        uow.session.add(
            OutboxOp(client_op_id="01930000-0000-7000-8000-000000000001", table_name="contacts",
                     row_id=contact.id, op="update", fields=json.dumps({"shoe_size": 42}),
                     base_version=None, hlc=a.db.clock.now(), created_at=dt.datetime.now(dt.UTC)),
        )  # fmt: skip
        uow.commit()
    a.record_call("库存管理号段不连续")
    report = a.sync()
    assert report.rejected == 1
    assert len(world.server_rows("calls")) == 1
    with a.db.session() as session:
        parked = local.parked_ops(session)
        status = local.sync_status(session)
        log_text = "\n".join(entry.message for entry in local.sync_log(session))
    assert status.pending == 0 and status.parked == 1
    assert parked[0].reason == "服务器不认识联系人的字段“shoe_size”，服务器可能需要升级。"
    assert "拒绝" in log_text  # the log says it in Chinese
    # the supervisor's view on the server has it too
    with world.admin() as conn:
        assert conn.execute("SELECT count(*) FROM hotline.rejected_ops").fetchone() == (1,)
    # retried as it is, it is refused again and parked again
    with a.uow() as uow:
        assert local.retry_parked(uow, [parked[0].id]) == 1
    assert a.sync().rejected == 1
    with a.db.session() as session:
        assert local.sync_status(session).parked == 1
    # the server is upgraded to know the field; the supervisor, on another desktop, sees the refused
    # change and applies it again there; desktop a drops its parked copy at its next sync
    with world.admin() as conn:
        conn.execute(
            "UPDATE hotline.synced_tables SET columns = columns || 'shoe_size'::text WHERE name = 'contacts'"
        )
    supervisor = world.desktop("supervisor")
    (rejection,) = supervisor.engine.server_rejections()
    assert (rejection.client_name, rejection.table_name) == ("a", "contacts")
    assert rejection.fields == {"shoe_size": 42}
    assert supervisor.engine.resolve_server_rejection(rejection.id, retry=True, by="supervisor") == "applied"
    assert supervisor.engine.server_rejections() == []
    assert world.server_rows("contacts")[contact.id]["shoe_size"] == 42
    a.sync()
    with a.db.session() as session:
        assert local.sync_status(session).parked == 0


def test_a_refused_change_can_be_dismissed_by_the_supervisor_or_dropped_locally(world: SyncWorld) -> None:
    a, supervisor = world.desktop("a"), world.desktop("supervisor")
    a.sync()
    contact = a.add_contact("郑老师")
    for n in range(2):
        with a.uow() as uow:
            uow.session.add(
                OutboxOp(client_op_id=f"01930000-0000-7000-8000-00000000000{n}", table_name="contacts",
                         row_id=contact.id, op="update", fields=json.dumps({"no_such_field": n}),
                         base_version=None, hlc=a.db.clock.now(), created_at=dt.datetime.now(dt.UTC)),
            )  # fmt: skip
            uow.commit()
    assert a.sync().rejected == 2
    first, _second = sorted(supervisor.engine.server_rejections(), key=lambda r: r.id)
    assert supervisor.engine.resolve_server_rejection(first.id, retry=False, by="supervisor") == "dismissed"
    assert supervisor.engine.resolve_server_rejection(first.id, retry=False, by="supervisor") == "gone"
    a.sync()
    with a.db.session() as session:
        parked = local.parked_ops(session)
    assert len(parked) == 1
    with a.uow() as uow:
        assert local.discard_parked(uow, [parked[0].id]) == 1
    with a.db.session() as session:
        assert local.sync_status(session).parked == 0


@pytest.mark.allow_warnings  # the engine warns in the log when a table differs
def test_a_copy_that_differs_from_the_server_is_fetched_again(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    for n in range(3):
        a.record_call(f"第{n}个问题 核销")
    a.sync()
    b.sync()
    # b's copy is damaged behind the app's back: a call disappears
    with b.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM calls WHERE key = (SELECT min(key) FROM calls)"))
    a.record_call("再来一个")
    a.sync()
    report = b.sync()
    assert "calls" in report.resynced
    assert b.scalar("SELECT count(*) FROM calls") == 4
    assert b.sync().resynced == []


def test_a_server_without_the_schema_is_explained(pg_database: PgDatabase, tmp_path: Path) -> None:
    from app.storage.db import open_database
    from app.sync.config import ServerConfig
    from app.sync.engine import SyncEngine

    db = open_database(tmp_path / "x.sqlite3")
    engine = SyncEngine(db, ServerConfig.from_url(pg_database.url))
    with pytest.raises(SyncError) as caught:
        engine.sync()
    assert caught.value.problem is Problem.NO_SCHEMA
    assert "初始化" in caught.value.message
    engine.close()
    db.dispose()


def test_a_server_that_needs_a_newer_app_says_so_and_keeps_local_work(world: SyncWorld) -> None:
    a = world.desktop("a")
    a.sync()
    call = a.record_call("需要升级")
    with world.admin() as conn:
        conn.execute("UPDATE hotline.meta SET min_protocol = 2, max_protocol = 2")
    a.engine.close()  # a new session says hello again
    with pytest.raises(SyncError) as caught:
        a.sync()
    assert caught.value.problem is Problem.UPGRADE_APP
    assert "升级" in caught.value.message
    with a.db.session() as session:
        assert local.sync_status(session).pending > 0
        assert calls.get_call(session, call.id) is not None
        assert "升级" in local.sync_status(session).last_error
    with world.admin() as conn:
        conn.execute("UPDATE hotline.meta SET min_protocol = 1, max_protocol = 1")
    assert a.sync().pushed > 0


def test_wrong_password_and_closed_port_are_told_apart(world: SyncWorld) -> None:
    from dataclasses import replace

    a = world.desktop("a", replace(world.app_config, password="wrong-password"))
    with pytest.raises(SyncError) as caught:
        a.sync()
    assert caught.value.problem is Problem.AUTH
    from tests.helpers.pgserver import free_port

    b = world.desktop("b", replace(world.app_config, port=free_port()))
    with pytest.raises(SyncError) as caught:
        b.sync()
    assert caught.value.problem is Problem.UNREACHABLE and caught.value.offline
    assert "继续工作" in caught.value.message


def test_the_desktop_login_cannot_touch_tables(world: SyncWorld) -> None:
    import psycopg

    conn = psycopg.connect(**world.app_config.connect_kwargs(), autocommit=True)
    try:
        for statement in (
            "SELECT * FROM hotline.rows",
            "DELETE FROM hotline.rows",
            "DROP TABLE hotline.rows",
            "ALTER TABLE hotline.rows ADD COLUMN x int",
            "CREATE TABLE hotline.x (id int)",
            "SELECT hotline.apply_op('me', '{}'::jsonb)",
            "SELECT hotline.new_epoch()",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    finally:
        conn.close()


def test_a_restored_server_gets_back_what_it_lost(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    first = a.record_call("备份之前的来电")
    a.sync()
    b.sync()
    with world.admin() as conn:  # the backup: a copy of the rows as they are now
        conn.execute("CREATE TABLE public.backup AS SELECT * FROM hotline.rows")
    later = a.record_call("备份之后的来电")
    a.sync()
    b.sync()
    with world.admin() as conn:  # the server is restored from that backup, and marked so
        conn.execute("DELETE FROM hotline.rows")
        conn.execute("INSERT INTO hotline.rows SELECT * FROM public.backup")
    admin.mark_restored(world.admin_config)
    a.engine.close()
    b.engine.close()
    report = b.sync()
    assert report.full
    a.sync()
    b.sync()
    server_calls = world.server_rows("calls")
    assert {first.id, later.id} <= set(server_calls)
    for desk in (a, b):
        assert desk.scalar("SELECT count(*) FROM calls") == 2
        assert desk.scalar("SELECT count(*) FROM outbox") == 0
    with b.db.session() as session:
        assert local.open_conflicts(session) == []  # re-sending what the server lost is no conflict


def test_first_sync_can_be_cancelled_and_resumed(world: SyncWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.sync import engine as engine_module

    a = world.desktop("a")
    for n in range(30):
        a.record_call(f"问题{n}")
    a.sync()
    monkeypatch.setattr(engine_module, "PULL_BATCH", 10)
    b = world.desktop("b")
    fetched: list[int] = []

    def progress(done: int, total: int, label: str) -> None:
        if label == i18n._("Fetching changes…"):
            fetched.append(done)

    # 39 reference rows and 30 calls to fetch, ten at a time: the user cancels after 50
    report = b.engine.sync(progress, lambda: bool(fetched) and fetched[-1] >= 50)
    assert report.cancelled and 0 < b.scalar("SELECT count(*) FROM calls") < 30
    report = b.sync()
    assert not report.cancelled and not report.full  # resumed where it stopped, not started again
    assert b.scalar("SELECT count(*) FROM calls") == 30
    assert search(b, "问题") == 30


def test_a_call_answer_put_back_from_a_conflict_is_searchable_again(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    call = a.record_call("电子票据无法冲红")
    a.sync()
    b.sync()
    for desk, answer in ((a, "请先作废原票据"), (b, "联系博思客服")):
        with desk.uow() as uow:
            data = calls.input_from_call(calls.get_call(uow.session, call.id))  # type: ignore[arg-type]
            data.answer = answer
            calls.edit_call(uow, call.id, data, editor=desk.name)
    a.sync()
    b.sync()
    a.sync()
    assert search(a, "博思客服") == 1 and search(a, "作废原票据") == 0
    with a.db.session() as session:
        (conflict,) = [c for c in local.open_conflicts(session) if c.field == "answer"]
    assert conflict.lost_value == "请先作废原票据"
    with a.uow() as uow:
        local.resolve_conflict(uow, conflict.id, use_lost=True, editor="a")
    a.sync()
    b.sync()
    for desk in (a, b):
        assert search(desk, "作废原票据") == 1 and search(desk, "博思客服") == 0
        with desk.db.session() as session:
            assert not [c for c in local.open_conflicts(session) if c.field == "answer"]


@pytest.mark.allow_warnings  # the engine warns in the log when a table differs
def test_a_copy_that_cannot_be_mended_is_fetched_once_then_reported(world: SyncWorld) -> None:
    a = world.desktop("a")
    a.record_call("会被删除的来电")
    a.sync()
    # the server loses a row behind everyone's back: a's copy has one the server does not
    with world.admin() as conn:
        conn.execute("DELETE FROM hotline.rows WHERE table_name = 'calls'")
    a.record_call("之后的来电")
    assert a.sync().resynced == ["calls"]
    a.record_call("再之后的来电")
    report = a.sync()
    assert report.pushed == 1 and report.resynced == []  # checked again, but not fetched over and over
    with a.db.session() as session:
        messages = [entry.message for entry in local.sync_log(session)]
    assert any("不一致" in message for message in messages)


def test_local_only_rows_never_sent_do_not_make_the_check_fail(world: SyncWorld) -> None:
    a = world.desktop("a")
    a.sync()
    a.record_call("只在本机的演示数据")
    with a.db.engine.begin() as conn:  # as `hotline demo` writes it: no outbox entry
        conn.execute(text("DELETE FROM outbox"))
    a.record_call("真实来电")
    report = a.sync()
    assert report.pushed == 1 and report.resynced == []
    assert len(world.server_rows("calls")) == 1


def test_a_desktop_whose_edit_lost_gets_the_winning_value_even_if_it_fetched_the_row_before(
    world: SyncWorld,
) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    contact = a.add_contact("陈会计")
    a.sync()
    b.sync()
    a.edit_contact(contact.id, notes="较早的修改")  # earlier HLC: will lose
    b.edit_contact(contact.id, notes="较晚的修改")
    b.sync()
    a.engine.poll()  # a fetches the row while its own edit still waits: its value is kept for now
    mine = a.contact(contact.id)
    assert mine is not None and mine.notes == "较早的修改"
    a.sync()  # a's edit loses on the server
    for desk in (a, b):
        b.sync()
        final = desk.contact(contact.id)
        assert final is not None and final.notes == "较晚的修改"
    with a.db.session() as session:
        assert [c.lost_value for c in local.open_conflicts(session)] == ["较早的修改"]
