"""Service-level configuration (app.services.sla_config): each site's policies, seeded from the
contracts and edited by a supervisor, and the working-day calendar with its dates and confirmed years."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app import i18n
from app.context import AppContext, open_context
from app.services import reference, sla_config, tickets
from app.services.sla_config import NoticeImportError, YearStatus
from app.services.tickets import TicketInput
from app.sla.calendar import DayKind, OverrideKind
from app.sla.contracts import changzhou_policy, zhanjiang_policy
from app.sla.deadlines import DeadlineMode
from app.sla.policy import Counting, Policy, PolicyError, Rule, Target, TargetKind
from app.storage.models import CalendarDay, CalendarYear, OutboxOp, SlaPolicy, TicketState
from tests.helpers.factories import CST, Refs

NOW = dt.datetime(2026, 3, 2, 9, 35, tzinfo=CST)


def policies_of(ctx: AppContext, refs: Refs, site: str) -> list[sla_config.PolicyEntry]:
    with ctx.db.session() as session:
        return sla_config.list_policies(session, refs.sites[site])


def new_ticket(ctx: AppContext, refs: Refs, site: str, reported: dt.datetime) -> str:
    with ctx.uow() as uow:
        data = TicketInput(site_id=refs.sites[site], title="无法登录", reported_at=reported)
        return tickets.create_ticket(uow, data, "张工", reported).id


def target(ctx: AppContext, ticket_id: str, kind: TargetKind) -> Any:
    with ctx.db.session() as session:
        shown = tickets.get_ticket(session, ticket_id)
    assert shown is not None and shown.deadlines is not None
    return shown.deadlines.target(kind)


def calendar_kind(ctx: AppContext, day: dt.date) -> DayKind:
    with ctx.db.session() as session:
        return sla_config.build_calendar(session).day_kind(day)


def resolve_general_faults_in(ctx: AppContext, refs: Refs, resolution: Target) -> Policy:
    """Changzhou's policy saved with another resolution target for general faults; the policy saved."""
    [entry] = policies_of(ctx, refs, "changzhou")
    assert entry.policy is not None
    first, general = entry.policy.rules
    rule = Rule(general.name, (general.targets[0], resolution), general.severities)
    edited = Policy(entry.policy.site, entry.policy.name, (first, rule), severities=entry.policy.severities)
    with ctx.uow() as uow:
        sla_config.save_policy(uow, entry.id, edited, NOW)
    return edited


# --- policies -------------------------------------------------------------------------------------


def test_each_site_starts_with_its_contracts_policy(ctx: AppContext, refs: Refs) -> None:
    [changzhou] = policies_of(ctx, refs, "changzhou")
    [zhanjiang] = policies_of(ctx, refs, "zhanjiang")
    assert (changzhou.name, changzhou.is_default, changzhou.active) == ("常州市财政局运维服务", True, True)
    assert changzhou.policy == changzhou_policy()
    assert zhanjiang.policy == zhanjiang_policy()
    assert changzhou.id == sla_config.default_policy_id(refs.sites["changzhou"])


def test_two_desktops_seed_the_same_policy_rows_older_than_any_edit(tmp_path: Path) -> None:
    first, second = open_context(str(tmp_path / "a")), open_context(str(tmp_path / "b"))
    try:
        rows = []
        for ctx in (first, second):
            with ctx.db.session() as session:
                rows.append(sorted((p.id, p.body) for p in session.scalars(select(SlaPolicy))))
                ops = session.scalars(select(OutboxOp).where(OutboxOp.table_name == "sla_policies")).all()
            # queued as restores stamped at the clock's zero: a supervisor's edit always wins the merge
            assert {op.op for op in ops} == {"restore"}
            assert all(op.hlc.startswith("0000000000000-000000-") for op in ops)
        assert rows[0] == rows[1] and len(rows[0]) == 2
    finally:
        first.close()
        second.close()


def test_a_database_from_before_tickets_gets_the_policies(ctx: AppContext, refs: Refs) -> None:
    with ctx.uow() as uow:
        uow.session.execute(text("DELETE FROM sla_policies"))
        uow.session.execute(text("DELETE FROM outbox WHERE table_name = 'sla_policies'"))
        uow.commit()
    with ctx.uow() as uow:
        assert reference.seed_reference_data(uow) is True
    with ctx.uow() as uow:
        assert reference.seed_reference_data(uow) is False
    assert len(policies_of(ctx, refs, "changzhou")) == 1


def test_an_edited_policy_moves_the_deadlines_of_open_tickets(ctx: AppContext, refs: Refs) -> None:
    reported = dt.datetime(2026, 3, 2, 9, 30, tzinfo=CST)
    ticket_id = new_ticket(ctx, refs, "changzhou", reported)
    edited = resolve_general_faults_in(ctx, refs, Target(TargetKind.RESOLUTION, 90, pausable=True))
    assert target(ctx, ticket_id, TargetKind.RESOLUTION).due == reported + dt.timedelta(minutes=90)
    with ctx.db.session() as session:
        assert session.get(TicketState, ticket_id).next_due_at == reported + dt.timedelta(minutes=30)  # type: ignore[union-attr]
    assert policies_of(ctx, refs, "changzhou")[0].policy == edited


def test_a_policy_that_cannot_be_used_is_refused_and_nothing_changes(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    [entry] = policies_of(ctx, refs, "changzhou")
    broken = json.loads(changzhou_policy().to_json())
    broken["rules"][0]["targets"][0]["minutes"] = 0
    broken["severities"] = []
    with ctx.uow() as uow, pytest.raises(PolicyError) as raised:
        sla_config.save_policy(uow, entry.id, json.dumps(broken), NOW)
    assert raised.value.message == "该服务时限规则无法使用。"
    assert any("至少需要一个严重程度" in problem for problem in raised.value.problems), raised.value.problems
    assert policies_of(ctx, refs, "changzhou")[0].policy == changzhou_policy()


def test_new_tickets_get_the_sites_default_policy_or_its_oldest_active_one(
    ctx: AppContext, refs: Refs
) -> None:
    site = refs.sites["changzhou"]
    default = sla_config.default_policy_id(site)
    with ctx.uow() as uow:
        extra = sla_config.add_policy(uow, site, changzhou_policy().to_json()).id
    with ctx.db.session() as session:
        assert sla_config.site_policy_id(session, site) == default
    with ctx.uow() as uow:
        sla_config.set_policy_active(uow, default, False)
    with ctx.db.session() as session:
        assert sla_config.site_policy_id(session, site) == extra
        assert [e.active for e in sla_config.list_policies(session, site)] == [True, False]


# --- the calendar ---------------------------------------------------------------------------------


def test_a_date_can_be_set_and_given_back_to_the_library(ctx: AppContext) -> None:
    saturday = dt.date(2026, 3, 7)
    assert calendar_kind(ctx, saturday) is DayKind.WEEKEND
    with ctx.uow() as uow:
        sla_config.set_calendar_day(uow, saturday, OverrideKind.WORKDAY, "忽略的名称", NOW)
    assert calendar_kind(ctx, saturday) is DayKind.ADJUSTED_WORKDAY
    with ctx.db.session() as session:
        assert sla_config.calendar_days(session, 2026) == [
            sla_config.CalendarDayEntry(saturday, OverrideKind.WORKDAY, "")
        ]
    with ctx.uow() as uow:
        sla_config.clear_calendar_day(uow, saturday, NOW)
    assert calendar_kind(ctx, saturday) is DayKind.WEEKEND
    with ctx.uow() as uow:  # set again: the same row comes back
        sla_config.set_calendar_day(uow, saturday, "holiday", "  厂庆  日 ", NOW)
    with ctx.db.session() as session:
        rows = session.scalars(select(CalendarDay)).all()
        assert [(r.id, r.kind, r.name, r.deleted) for r in rows] == [
            (sla_config.calendar_day_id(saturday), "holiday", "厂庆 日", False)
        ]
        assert sla_config.build_calendar(session).holiday_name(saturday) == "厂庆 日"


def test_a_kind_that_does_not_exist_is_refused(ctx: AppContext) -> None:
    i18n.set_language("zh_CN")
    from app.errors import ValidationError

    with ctx.uow() as uow, pytest.raises(ValidationError) as raised:
        sla_config.set_calendar_day(uow, dt.date(2026, 3, 7), "half_day", "", NOW)
    assert raised.value.fields == {"kind": "请选择该日期是工作日、休息日还是节假日。"}


def test_a_year_without_official_data_shows_as_not_confirmed(ctx: AppContext) -> None:
    i18n.set_language("zh_CN")
    with ctx.db.session() as session:
        assert sla_config.year_status(session, 2026) is YearStatus.PUBLISHED
        assert sla_config.year_status(session, 2099) is YearStatus.UNCONFIRMED
    assert YearStatus.UNCONFIRMED.label() == "未确认：官方安排尚未发布"
    with ctx.uow() as uow:
        sla_config.set_year_confirmed(uow, 2099, True, "主管手工录入", NOW)
    with ctx.db.session() as session:
        assert sla_config.year_status(session, 2099) is YearStatus.CONFIRMED
        assert sla_config.build_calendar(session).is_confirmed(2099)


NOTICE_2030 = """date,kind,name
2030-10-01,休,国庆节
2030-10-02,休,国庆节
2030-09-29,班,国庆节
"""


def test_a_notice_is_imported_whole_and_confirms_its_year(ctx: AppContext) -> None:
    stray = dt.date(2030, 5, 6)  # entered earlier by hand; the notice does not list it
    other_year = dt.date(2029, 5, 7)
    with ctx.uow() as uow:
        sla_config.set_calendar_day(uow, stray, OverrideKind.REST_DAY, "", NOW)
        sla_config.set_calendar_day(uow, other_year, OverrideKind.REST_DAY, "", NOW)
    with ctx.uow() as uow:
        count = sla_config.import_notice(uow, 2030, NOTICE_2030, "国办发明电〔2029〕7号", NOW)
    assert count == 3
    with ctx.db.session() as session:
        assert [(e.day.isoformat(), e.kind) for e in sla_config.calendar_days(session, 2030)] == [
            ("2030-09-29", OverrideKind.WORKDAY), ("2030-10-01", OverrideKind.HOLIDAY),
            ("2030-10-02", OverrideKind.HOLIDAY),
        ]  # fmt: skip
        assert [e.day for e in sla_config.calendar_days(session, 2029)] == [other_year]
        assert sla_config.year_status(session, 2030) is YearStatus.CONFIRMED
        year = session.get(CalendarYear, sla_config.calendar_year_id(2030))
        assert year is not None and year.source == "国办发明电〔2029〕7号"
    assert calendar_kind(ctx, dt.date(2030, 9, 29)) is DayKind.ADJUSTED_WORKDAY
    assert calendar_kind(ctx, stray) is DayKind.WORKDAY


def test_a_notice_with_a_mistake_changes_nothing(ctx: AppContext) -> None:
    i18n.set_language("zh_CN")

    def counts() -> tuple[int, int, int]:
        with ctx.db.session() as session:
            return (
                int(session.scalar(select(func.count()).select_from(CalendarDay)) or 0),
                int(session.scalar(select(func.count()).select_from(CalendarYear)) or 0),
                int(session.scalar(select(func.count()).select_from(OutboxOp)) or 0),
            )

    before = counts()
    bad = NOTICE_2030 + "2030-10-09,班,国庆节\n2030-13-01,休,\n"
    with ctx.uow() as uow, pytest.raises(NoticeImportError) as raised:
        sla_config.import_notice(uow, 2030, bad, "通知", NOW)
    assert raised.value.message == "无法导入该节假日通知，未做任何修改。"
    assert [p[:4] for p in raised.value.problems] == ["第 5 ", "第 6 "]
    assert counts() == before
    with ctx.db.session() as session:
        assert sla_config.year_status(session, 2030) is YearStatus.UNCONFIRMED


def test_a_date_made_a_holiday_turns_a_zhanjiang_response_into_by_agreement(
    ctx: AppContext, refs: Refs
) -> None:
    wednesday = dt.datetime(2026, 3, 4, 10, 0, tzinfo=CST)
    ticket_id = new_ticket(ctx, refs, "zhanjiang", wednesday)
    assert target(ctx, ticket_id, TargetKind.RESPONSE).due == wednesday + dt.timedelta(hours=1)
    with ctx.uow() as uow:
        sla_config.set_calendar_day(uow, wednesday.date(), OverrideKind.HOLIDAY, "临时放假", NOW)
    assert target(ctx, ticket_id, TargetKind.RESPONSE).mode is DeadlineMode.BY_AGREEMENT
    with ctx.db.session() as session:
        assert session.get(TicketState, ticket_id).next_due_at is None  # type: ignore[union-attr]


def ticket_states(ctx: AppContext) -> dict[str, tuple[Any, ...]]:
    with ctx.db.session() as session:
        return {
            s.ticket_id: (s.status, s.phase, s.next_due_at, s.outcomes, s.calendar_from, s.calendar_to)
            for s in session.scalars(select(TicketState))
        }


def test_a_date_edit_recomputes_the_tickets_it_concerns_and_gives_what_recomputing_all_gives(
    ctx: AppContext, refs: Refs
) -> None:
    """Changzhou's resolution counted in working time (edited policy), so its deadlines span days; a
    date edit recomputes only the tickets whose deadlines asked the calendar about a date near it, and
    the result is the same as recomputing every open ticket."""
    resolve_general_faults_in(
        ctx, refs, Target(TargetKind.RESOLUTION, 24 * 60, Counting.BUSINESS, pausable=True)
    )
    reports = [
        ("changzhou", dt.datetime(2026, 3, 4, 10, 0, tzinfo=CST)),  # 24 h of 08–18: to Fri 14:00
        ("changzhou", dt.datetime(2026, 6, 10, 10, 0, tzinfo=CST)),
        ("zhanjiang", dt.datetime(2026, 3, 5, 20, 0, tzinfo=CST)),  # evening: the report day is asked
        ("zhanjiang", dt.datetime(2026, 8, 12, 9, 0, tzinfo=CST)),
    ]
    ids = [new_ticket(ctx, refs, site, reported) for site, reported in reports]
    states = ticket_states(ctx)
    assert states[ids[0]][4:] == ("2026-03-04", "2026-03-06")
    assert states[ids[2]][4:] == ("2026-03-05", "2026-03-05")

    edits = [
        (dt.date(2026, 3, 5), OverrideKind.HOLIDAY, {ids[0], ids[2]}),  # inside both spans
        (dt.date(2026, 3, 7), OverrideKind.WORKDAY, {ids[0], ids[2]}),  # a Saturday worked, nearby
        (dt.date(2026, 5, 1), OverrideKind.REST_DAY, set()),  # more than 16 days from every span
        (dt.date(2026, 6, 11), OverrideKind.HOLIDAY, {ids[1]}),
    ]
    for day, kind, moved in edits:
        before = ticket_states(ctx)
        with ctx.uow() as uow:
            sla_config.set_calendar_day(uow, day, kind, "测试", NOW)
        after = ticket_states(ctx)
        assert {i for i in ids if after[i] != before[i]} <= moved, day
        with ctx.uow() as uow:  # what recomputing every open ticket gives
            tickets.recompute_all_open(uow.session, NOW)
            uow.commit()
        assert ticket_states(ctx) == after, day
    # the Wednesday–Friday ticket lost Thursday and got Saturday: due Saturday 14:00
    assert target(ctx, ids[0], TargetKind.RESOLUTION).due == dt.datetime(2026, 3, 7, 14, 0, tzinfo=CST)


def test_a_date_edit_leaves_tickets_that_never_asked_the_calendar_unwritten(
    ctx: AppContext, refs: Refs
) -> None:
    ticket_id = new_ticket(ctx, refs, "changzhou", dt.datetime(2026, 3, 4, 10, 0, tzinfo=CST))  # clock time
    with ctx.db.session() as session:
        state = session.get(TicketState, ticket_id)
        assert state is not None and state.calendar_from is None
        written = state.updated_at
    with ctx.uow() as uow:
        sla_config.set_calendar_day(
            uow, dt.date(2026, 3, 4), OverrideKind.HOLIDAY, "临时放假", NOW + dt.timedelta(hours=1)
        )
    with ctx.db.session() as session:
        assert session.get(TicketState, ticket_id).updated_at == written  # type: ignore[union-attr]
