"""Tickets through a real PostgreSQL server: station numbers and provisional numbers, one ticket changed
on two desktops offline, policies and calendar dates edited on one desktop and seen on another, and
the server schema revision (s0002) that brings them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from app import i18n
from app.errors import UserFacingError
from app.services import reference, sla_config, ticket_numbers, tickets
from app.services.tickets import TicketInput
from app.sla.calendar import DayKind, OverrideKind
from app.sla.countdown import countdown
from app.sla.deadlines import DeadlineMode
from app.sla.policy import Policy, Rule, Target, TargetKind
from app.storage.models import SYNCED_TABLES, Base, OutboxOp, SlaPolicy, TicketState
from app.storage.outbox import _recorded
from app.sync import admin, local
from app.sync.config import ServerConfig
from app.sync.protocol import SERVER_SCHEMA_HEAD, TABLES, Problem, SyncError
from tests.helpers.factories import CST
from tests.helpers.pgserver import PgDatabase
from tests.sync.desktops import APP_PASSWORD, Desktop, SyncWorld, engineer_and_supervisor, make_world

REPORTED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=CST)  # a Monday morning, Beijing time


def at(hours: int, minutes: int) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hours, minutes, tzinfo=CST)


@pytest.fixture(autouse=True)
def _chinese() -> None:
    i18n.set_language("zh_CN")  # what the engineer reads (restored after the test)


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path) -> Iterator[SyncWorld]:
    made = make_world(pg_database, tmp_path, supervisor=True)  # the tests change policies and dates
    yield made
    made.close()


def site_id(desk: Desktop, code: str = "changzhou") -> str:
    with desk.db.session() as session:
        return next(s.id for s in reference.list_sites(session) if s.code == code)


def new_ticket(
    desk: Desktop, site: str = "changzhou", reported: dt.datetime = REPORTED, title: str = "电子票据无法打印"
) -> tickets.Ticket:
    data = TicketInput(site_id=site_id(desk, site), title=title, caller_name="王会计", reported_at=reported)
    with desk.uow() as uow:
        return tickets.create_ticket(uow, data, desk.name, reported + dt.timedelta(minutes=5))


def shown(desk: Desktop, ticket_id: str) -> tickets.TicketView:
    with desk.db.session() as session:
        found = tickets.get_ticket(session, ticket_id)
    assert found is not None
    return found


def derived(desk: Desktop, ticket_id: str) -> tuple[Any, ...]:
    """The derived state as a list shows it and a report reads it."""
    with desk.db.session() as session:
        row = session.get(TicketState, ticket_id)
    assert row is not None
    return (row.status, row.severity, row.phase, row.policy_id, row.next_due_at, row.outcomes, row.flagged)


def numbers(desk: Desktop) -> list[str]:
    with desk.db.session() as session:
        return sorted(session.scalars(select(tickets.Ticket.number)))


# --- numbers --------------------------------------------------------------------------------------


def test_each_desktop_gets_its_own_station_once(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    a.sync()
    b.sync()
    a.engine.close()  # a new session says hello again: the same station
    a.sync()
    with a.db.session() as session_a, b.db.session() as session_b:
        assert (ticket_numbers.station(session_a), ticket_numbers.station(session_b)) == (1, 2)
    with world.admin() as conn:
        rows = conn.execute("SELECT client_id, station FROM hotline.stations ORDER BY station").fetchall()
    assert rows == [(a.db.node_id, 1), (b.db.node_id, 2)]


def test_provisional_numbers_are_made_final_before_they_are_first_sent(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    first, second = new_ticket(a), new_ticket(a, title="无法登录")
    other = new_ticket(b)
    assert [first.number, second.number, other.number] == [
        "GD-2026-临0001",
        "GD-2026-临0002",
        "GD-2026-临0001",
    ]

    a.sync()
    b.sync()
    a.sync()

    assert numbers(a) == numbers(b) == ["GD-2026-010001", "GD-2026-010002", "GD-2026-020001"]
    on_server = sorted(row["number"] for row in world.server_rows("tickets").values())
    assert on_server == ["GD-2026-010001", "GD-2026-010002", "GD-2026-020001"]  # never a provisional one
    with a.db.session() as session:
        log = [entry.message for entry in local.sync_log(session)]
        assert a.scalar("SELECT count(*) FROM outbox") == 0
    renumbered = "GD-2026-临0001 → GD-2026-010001, GD-2026-临0002 → GD-2026-010002"
    assert f"首次同步前创建的工单已获得正式编号：{renumbered}。" in log
    assert shown(b, first.id).ticket.number == "GD-2026-010001"
    assert new_ticket(a).number == "GD-2026-010003"


def test_two_desktops_numbering_offline_never_clash(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    a.sync()
    b.sync()
    for n in range(3):  # both offline now
        new_ticket(a, title=f"甲{n}")
        new_ticket(b, title=f"乙{n}")
    a.sync()
    b.sync()
    a.sync()
    expected = [f"GD-2026-0{station}000{n}" for station in (1, 2) for n in (1, 2, 3)]
    assert numbers(a) == numbers(b) == expected


# --- one ticket changed on two desktops -----------------------------------------------------------


def test_one_ticket_changed_on_two_desktops_offline_converges(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    ticket = new_ticket(a)  # Changzhou, general fault, reported 09:30
    with a.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 40))
    a.sync()
    b.sync()
    assert shown(b, ticket.id).status_label == "已响应"

    # offline: on a, Zhang puts it on hold and resumes; on b, Li raises the severity and adds a note
    with a.uow() as uow:
        tickets.pause(uow, ticket.id, "等待用户提供截图", "张工", at(9, 50))
        tickets.resume(uow, ticket.id, "张工", at(10, 20))
    with b.uow() as uow:
        tickets.change_severity(uow, ticket.id, "major", "李工", at(9, 55))
        tickets.add_note(uow, ticket.id, "影响全市开票，升为重大故障", "李工", at(10, 0))
    assert shown(a, ticket.id).severity_name == "一般"
    assert shown(b, ticket.id).status_label == "已响应"

    a.sync()
    b.sync()
    a.sync()

    on_a, on_b = shown(a, ticket.id), shown(b, ticket.id)
    history = [(e.id, e.author, e.text, e.flagged) for e in on_a.timeline]
    assert history == [(e.id, e.author, e.text, e.flagged) for e in on_b.timeline]
    assert [(author, words) for _id, author, words, _flag in history] == [
        ("a", "创建工单（严重程度：一般，服务规则：“常州市财政局运维服务”）"),
        ("张工", "响应工单"),
        ("张工", "挂起：等待用户提供截图"),
        ("张工", "恢复处理"),
        ("李工", "严重程度改为重大"),
        ("李工", "备注：影响全市开票，升为重大故障"),
    ]
    assert derived(a, ticket.id) == derived(b, ticket.id)
    for view in (on_a, on_b):
        assert (view.status_label, view.severity_name) == ("已响应", "重大")
        assert view.deadlines is not None
        resolution = view.deadlines.target(TargetKind.RESOLUTION)
        assert resolution is not None
        # a major fault has 2 h from 09:30; the 30 min on hold (made on a) still count
        assert resolution.due == at(12, 0)
        assert countdown(resolution, at(11, 0)).text() == "剩余 01:00:00"
    with a.db.session() as session:
        assert local.open_conflicts(session) == []  # events never conflict


def test_a_change_that_no_longer_fits_after_the_merge_is_flagged_on_both_desktops(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    ticket = new_ticket(a)
    with a.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 40))
    a.sync()
    b.sync()
    with a.uow() as uow:
        tickets.resolve(uow, ticket.id, "张工", at(10, 0))
    with b.uow() as uow:  # b has not seen the resolution yet
        tickets.pause(uow, ticket.id, "等待第三方", "李工", at(10, 5))
    a.sync()
    b.sync()
    a.sync()
    for desk in (a, b):
        view = shown(desk, ticket.id)
        assert view.status_label == "已解决"
        assert [(e.text, e.flagged) for e in view.timeline[-2:]] == [
            ("标记为已解决", False),
            ("挂起：等待第三方", True),
        ]
        with desk.db.session() as session:
            assert tickets.list_open_tickets(session) == []
    assert derived(a, ticket.id) == derived(b, ticket.id)

    # someone checks it on b and sets the mark aside; both desktops then show it unmarked
    flagged_id = shown(b, ticket.id).timeline[-1].id
    with b.uow() as uow:
        tickets.dismiss_flag(uow, ticket.id, flagged_id, "李工", at(10, 30))
    b.sync()
    a.sync()
    for desk in (a, b):
        view = shown(desk, ticket.id)
        assert view.flagged == 0 and view.status_label == "已解决"
        assert [(e.text, e.flagged) for e in view.timeline[-2:]] == [
            ("挂起：等待第三方", False),
            ("已核对一条合并后未生效的记录，并取消其标记", False),
        ]
    assert derived(a, ticket.id) == derived(b, ticket.id)
    with a.uow() as uow, pytest.raises(tickets.TicketActionError, match="已不再标记为未生效"):
        tickets.dismiss_flag(uow, ticket.id, flagged_id, "张工", at(10, 40))  # already set aside


# --- policies and the calendar --------------------------------------------------------------------


def test_a_policy_edited_on_one_desktop_moves_deadlines_on_the_other(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    ticket = new_ticket(a)
    a.sync()
    b.sync()
    assert len(world.server_rows("sla_policies")) == 2  # both desktops seeded the same two rows

    policy_id = sla_config.default_policy_id(site_id(b))
    with b.db.session() as session:
        current = Policy.from_json(session.get(SlaPolicy, policy_id).body)  # type: ignore[union-attr]
    general = current.rules[1]
    longer = Rule(
        general.name,
        (general.targets[0], Target(TargetKind.RESOLUTION, 90, pausable=True)),
        general.severities,
    )
    edited = Policy(current.site, current.name, (current.rules[0], longer), severities=current.severities)
    with b.uow() as uow:
        sla_config.save_policy(uow, policy_id, edited, at(9, 40))
    b.sync()
    a.sync()

    view = shown(a, ticket.id)
    assert view.deadlines is not None
    assert view.deadlines.target(TargetKind.RESOLUTION).due == at(11, 0)  # type: ignore[union-attr]
    outcomes = json.loads(derived(a, ticket.id)[5])
    assert {o["target"]: o["due"] for o in outcomes}["resolution"] == at(11, 0).astimezone(dt.UTC).isoformat()

    # a desktop that joins later seeds the defaults too: they never win over the supervisor's edit
    c = world.desktop("c")
    c.sync()
    c.sync()
    body = world.server_rows("sla_policies")[policy_id]["body"]
    assert Policy.from_json(body) == edited
    with c.db.session() as session:
        assert Policy.from_json(session.get(SlaPolicy, policy_id).body) == edited  # type: ignore[union-attr]
        assert local.open_conflicts(session) == []


def test_one_calendar_date_edited_on_two_desktops_merges_into_one(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    wednesday = dt.datetime(2026, 3, 4, 10, 0, tzinfo=CST)
    ticket = new_ticket(a, site="zhanjiang", reported=wednesday)  # inside working hours: 1 h to respond
    a.sync()
    b.sync()

    saturday = dt.date(2026, 3, 7)
    with a.uow() as uow:
        sla_config.set_calendar_day(uow, saturday, OverrideKind.WORKDAY, "", at(9, 0))
    with b.uow() as uow:  # offline, the same date, a moment later
        sla_config.set_calendar_day(uow, saturday, OverrideKind.HOLIDAY, "厂庆日", at(9, 1))
        sla_config.set_calendar_day(uow, wednesday.date(), OverrideKind.HOLIDAY, "临时放假", at(9, 2))
    a.sync()
    b.sync()
    a.sync()

    assert len(world.server_rows("calendar_days")) == 2  # one row per date, not one per desktop
    for desk in (a, b):
        with desk.db.session() as session:
            calendar = sla_config.build_calendar(session)
            conflicts = local.open_conflicts(session)
        assert calendar.day_kind(saturday) is DayKind.HOLIDAY  # the later edit stands
        assert calendar.holiday_name(saturday) == "厂庆日"
        # the value it replaced is kept for a person to look at
        assert ("日历日期 厂庆日", "类型", "holiday", "workday") in {
            (c.row_label, c.field_label, c.kept_value, c.lost_value) for c in conflicts
        }
        # the Zhanjiang ticket reported that Wednesday: a holiday now, so its response is by agreement
        deadlines = shown(desk, ticket.id).deadlines
        assert deadlines is not None
        assert deadlines.target(TargetKind.RESPONSE).mode is DeadlineMode.BY_AGREEMENT  # type: ignore[union-attr]
    assert derived(a, ticket.id) == derived(b, ticket.id)


# --- the server's schema --------------------------------------------------------------------------


def server_columns(world: SyncWorld) -> dict[str, tuple[str, list[str]]]:
    with world.admin() as conn:
        return {name: (kind, list(columns)) for name, kind, columns in conn.execute(
            "SELECT name, kind, columns FROM hotline.synced_tables")}  # fmt: skip


def test_the_server_knows_every_column_desktops_write(world: SyncWorld) -> None:
    declared = server_columns(world)
    assert set(declared) == set(SYNCED_TABLES)
    for name in SYNCED_TABLES:
        mapper = next(m for m in Base.registry.mappers if m.local_table is Base.metadata.tables[name])
        written = {attr.key for attr in mapper.column_attrs if _recorded(attr)}
        kind, columns = declared[name]
        assert set(columns) == written, name
        assert kind == TABLES[name].value, name


def _server_migrations(config: ServerConfig, action: str, revision: str) -> None:
    engine = admin._engine(config)
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(Path(admin.__file__).parent / "server_migrations"))
    try:
        with engine.begin() as conn:
            alembic_config.attributes["connection"] = conn
            getattr(command, action)(alembic_config, revision)
    finally:
        engine.dispose()


def test_a_server_still_at_s0001_is_to_be_upgraded_and_local_tickets_wait(
    pg_database: PgDatabase, tmp_path: Path
) -> None:
    admin_config = ServerConfig.from_url(pg_database.url)
    _server_migrations(admin_config, "upgrade", "s0001")
    login = f"desk_{pg_database.name}"[:60]
    admin.create_app_user(admin_config, login, APP_PASSWORD)
    app_config = ServerConfig(
        host=admin_config.host, port=admin_config.port, database=admin_config.database, user=login,
        sslmode="disable", password=APP_PASSWORD,
    )  # fmt: skip
    world = SyncWorld(pg_database, tmp_path, admin_config, app_config)
    try:
        a = world.desktop("a")
        ticket = new_ticket(a)
        with pytest.raises(SyncError) as caught:
            a.sync()
        assert caught.value.problem is Problem.OLD_SCHEMA
        assert caught.value.message == (
            "共享服务器的数据库版本低于本软件，需要管理员升级（设置 → 共享服务器）。您的修改保存在本机。"
        )
        assert shown(a, ticket.id).ticket.number == "GD-2026-临0001"  # kept, still to be sent
        with a.db.session() as session:
            assert session.scalar(select(OutboxOp).where(OutboxOp.row_id == ticket.id)) is not None

        assert admin.init_or_upgrade(admin_config) == SERVER_SCHEMA_HEAD
        a.engine.close()
        a.sync()
        assert [row["number"] for row in world.server_rows("tickets").values()] == ["GD-2026-010001"]
    finally:
        world.close()


def test_the_server_schema_goes_down_to_s0001_and_up_again(pg_database: PgDatabase, tmp_path: Path) -> None:
    world = make_world(pg_database, tmp_path)
    try:
        a = world.desktop("a")
        new_ticket(a)
        a.sync()
        _server_migrations(world.admin_config, "downgrade", "s0001")
        declared = server_columns(world)
        assert "tickets" not in declared and "calls" in declared
        with world.admin() as conn:
            (answer,) = conn.execute("SELECT hotline.hello(1, 'x', 'x')").fetchone() or (None,)
            assert answer is not None and "station" not in answer and answer["schema"] == "s0001"
        _server_migrations(world.admin_config, "upgrade", "head")
        assert set(server_columns(world)) == set(SYNCED_TABLES)
    finally:
        world.close()


# --- call-backs -----------------------------------------------------------------------------------


def test_a_call_back_recorded_on_one_desktop_closes_the_task_on_the_other(world: SyncWorld) -> None:
    from app.services import callbacks, calls

    a, b = world.desktop("a"), world.desktop("b")
    saturday = dt.datetime(2026, 12, 5, 10, 0, tzinfo=CST)
    missed = a.record_call("周末开票失败")
    with a.uow() as uow:
        data = calls.input_from_call(calls.get_call(uow.session, missed.id))  # type: ignore[arg-type]
        data.started_at, data.outcome = saturday, "callback"
        calls.edit_call(uow, missed.id, data, editor="a")
    a.sync()
    b.sync()
    with b.db.session() as session:
        [task] = callbacks.open_callbacks(session)
    assert task.call_id == missed.id and task.due == saturday + dt.timedelta(minutes=30)
    with b.uow() as uow:
        callbacks.mark_called_back(
            uow, missed.id, saturday + dt.timedelta(minutes=20), saturday + dt.timedelta(hours=1)
        )
    b.sync()
    a.sync()
    with a.db.session() as session:
        assert callbacks.open_callbacks(session) == []
        done = callbacks.callback_of(session, missed.id)
    assert done is not None and done.called_back_at == saturday + dt.timedelta(minutes=20)


# --- who may change the contract rules --------------------------------------------------------------


def test_only_a_supervisor_login_may_change_policies_and_the_calendar(
    pg_database: PgDatabase, tmp_path: Path
) -> None:
    """An engineer's desktop reads the rules and the calendar but may not change them: the app says so
    before saving, and the server refuses such a change even if one reaches it (parked, for a
    supervisor to see). The contracts' default policies every desktop seeds are accepted from anyone."""
    world, engineer, boss = engineer_and_supervisor(pg_database, tmp_path)
    try:
        saturday = dt.date(2026, 3, 7)
        with engineer.uow() as uow:  # before any sync this desktop works alone: its engineer decides
            sla_config.set_calendar_day(uow, saturday, OverrideKind.WORKDAY, "", at(9, 0))
        report = engineer.sync()
        assert report.rejected == 1  # the server refused the date, and took the seeded policies
        assert len(world.server_rows("sla_policies")) == 2 and world.server_rows("calendar_days") == {}
        with engineer.db.session() as session:
            [parked] = local.parked_ops(session)
            assert parked.table_name == "calendar_days"
            assert parked.reason == "只有主管可以修改服务时限规则、工作日历和打印抬头。"
            assert local.may_change_service_rules(session) is False
        with engineer.uow() as uow, pytest.raises(UserFacingError, match="只有主管可以修改"):
            sla_config.set_calendar_day(uow, saturday, OverrideKind.HOLIDAY, "厂庆日", at(9, 5))

        boss.sync()
        with boss.db.session() as session:
            assert local.may_change_service_rules(session) is True
        with boss.uow() as uow:
            sla_config.set_calendar_day(uow, saturday, OverrideKind.HOLIDAY, "厂庆日", at(9, 10))
        assert boss.sync().rejected == 0
        engineer.sync()
        with engineer.db.session() as session:
            assert sla_config.build_calendar(session).holiday_name(saturday) == "厂庆日"  # it reads them
    finally:
        world.close()
