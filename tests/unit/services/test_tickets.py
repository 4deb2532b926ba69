"""Tickets (app.services.tickets): made from a call or on their own, numbered, changed by events,
their status flow checked in plain Chinese, and their deadlines derived with a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from app import i18n
from app.context import AppContext
from app.errors import ValidationError
from app.ids import format_hlc, uuid7
from app.services import sla_config, ticket_numbers, tickets
from app.services.tickets import TargetResult, TicketActionError, TicketInput, TicketStatus
from app.sla.countdown import countdown
from app.sla.deadlines import DeadlineMode
from app.sla.policy import TargetKind
from app.storage.models import LocalMeta, OutboxOp, Ticket, TicketCall, TicketEventRow, TicketState
from tests.helpers.factories import BASE_TIME, CST, Record, Refs

REPORTED = BASE_TIME  # Monday 2026-03-02 09:30, Beijing time


def at(hours: int, minutes: int, day: int = 2) -> dt.datetime:
    """A moment on March ``day``, 2026, Beijing time."""
    return dt.datetime(2026, 3, day, hours, minutes, tzinfo=CST)


def new_ticket(ctx: AppContext, refs: Refs, site: str = "changzhou", **overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "site_id": refs.sites[site],
        "title": "电子票据无法打印",
        "caller_name": "王会计",
        "unit_name": "常州市第一中学",
        "reported_at": REPORTED,
    }
    values.update(overrides)
    now = values.pop("now", at(9, 35))
    with ctx.uow() as uow:
        return tickets.create_ticket(uow, TicketInput(**values), "张工", now)


def view(ctx: AppContext, ticket_id: str) -> tickets.TicketView:
    with ctx.db.session() as session:
        found = tickets.get_ticket(session, ticket_id)
    assert found is not None
    return found


def state(ctx: AppContext, ticket_id: str) -> TicketState:
    with ctx.db.session() as session:
        row = session.get(TicketState, ticket_id)
    assert row is not None
    return row


def due(ctx: AppContext, ticket_id: str, target: TargetKind) -> dt.datetime | None:
    deadlines = view(ctx, ticket_id).deadlines
    assert deadlines is not None
    found = deadlines.target(target)
    assert found is not None
    return found.due


def refused(action: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TicketActionError) as raised:
        action(*args, **kwargs)
    return raised.value.message


# --- creating -------------------------------------------------------------------------------------


def test_a_ticket_made_from_a_call_is_prefilled_and_linked(
    ctx: AppContext, record: Record, refs: Refs
) -> None:
    i18n.set_language("zh_CN")
    call = record(question="电子票据开具后无法打印\n打印机型号：得实 DS-1930")
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 45))
    assert ticket.number == "GD-2026-临0001"  # this desktop has never reached the server
    assert ticket.title == "电子票据开具后无法打印"
    assert ticket.description == call.question
    assert (ticket.unit_name, ticket.caller_name, ticket.caller_phone) == (
        "常州市第一中学", "王会计", "0519-86661234",
    )  # fmt: skip
    assert (ticket.system_id, ticket.module_id, ticket.category_id) == (
        call.system_id, call.module_id, call.category_id,
    )  # fmt: skip
    assert ticket.call_id == call.id

    shown = view(ctx, ticket.id)
    assert shown.call_ids == [call.id]
    assert shown.status_label == "新建"
    assert shown.reported_at == call.started_at  # the clock runs from the call, not from the form
    assert [entry.text for entry in shown.timeline] == [
        "创建工单（严重程度：一般，服务规则：“常州市财政局运维服务”）"
    ]
    assert due(ctx, ticket.id, TargetKind.RESPONSE) == at(10, 0)  # 30 min after the call
    assert due(ctx, ticket.id, TargetKind.RESOLUTION) == at(10, 30)  # general fault: 1 h
    with ctx.db.session() as session:
        assert [t.id for t in tickets.tickets_of_call(session, call.id)] == [ticket.id]
        links = session.scalars(select(TicketCall)).all()
    assert [(link.ticket_id, link.call_id) for link in links] == [(ticket.id, call.id)]


def test_a_ticket_on_its_own_is_reported_when_it_is_made(ctx: AppContext, refs: Refs) -> None:
    ticket = new_ticket(ctx, refs, reported_at=None, now=at(14, 0))
    assert view(ctx, ticket.id).reported_at == at(14, 0)
    assert due(ctx, ticket.id, TargetKind.RESPONSE) == at(14, 30)
    assert state(ctx, ticket.id).next_due_at == at(14, 30)


def test_a_ticket_needs_a_subject_and_a_severity_of_its_policy(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    with ctx.uow() as uow, pytest.raises(ValidationError) as raised:
        tickets.create_ticket(
            uow,
            TicketInput(site_id=refs.sites["changzhou"], title="  ", severity="urgent"),
            "张工",
            at(9, 35),
        )
    assert raised.value.fields == {
        "title": "请填写工单标题。",
        "severity": "请选择本站点服务规则中的严重程度。",
    }
    with ctx.db.session() as session:
        assert session.scalars(select(Ticket)).all() == []


# --- numbers --------------------------------------------------------------------------------------


def test_number_forms() -> None:
    assert ticket_numbers.format_number(2026, 3, 123) == "GD-2026-030123"
    assert ticket_numbers.format_number(2026, 3, 10000) == "GD-2026-0310000"  # grows, never wraps
    assert ticket_numbers.format_number(2026, 123, 7) == "GD-2026-123-0007"  # no two-digit station gives this
    assert ticket_numbers.provisional_number(2026, 1) == "GD-2026-临0001"


def test_provisional_numbers_become_final_when_the_desktop_gets_its_station(
    ctx: AppContext, refs: Refs
) -> None:
    first = new_ticket(ctx, refs)
    second = new_ticket(ctx, refs)
    assert [first.number, second.number] == ["GD-2026-临0001", "GD-2026-临0002"]

    renumbered = ticket_numbers.take_station(ctx.db, 3)

    assert renumbered == [("GD-2026-临0001", "GD-2026-030001"), ("GD-2026-临0002", "GD-2026-030002")]
    with ctx.db.session() as session:
        numbers = sorted(session.scalars(select(Ticket.number)))
        ops = session.scalars(select(OutboxOp).where(OutboxOp.table_name == "tickets")).all()
    assert numbers == ["GD-2026-030001", "GD-2026-030002"]
    # the tickets have not left this desktop: their waiting inserts carry the final number, and no
    # update of the number is queued
    assert sorted((op.op, json.loads(op.fields)["number"]) for op in ops) == [
        ("insert", "GD-2026-030001"), ("insert", "GD-2026-030002"),
    ]  # fmt: skip
    assert new_ticket(ctx, refs).number == "GD-2026-030003"
    assert ticket_numbers.take_station(ctx.db, 3) == []  # nothing left to do


def test_numbers_count_per_year_in_beijing_time(ctx: AppContext, refs: Refs) -> None:
    ticket_numbers.take_station(ctx.db, 7)
    assert new_ticket(ctx, refs).number == "GD-2026-070001"
    # 2026-12-31 16:30 UTC is already 2027 in Beijing
    new_year = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert new_ticket(ctx, refs, reported_at=None, now=new_year).number == "GD-2027-070001"
    assert new_ticket(ctx, refs).number == "GD-2026-070002"


def test_a_lost_counter_never_repeats_a_number(ctx: AppContext, refs: Refs) -> None:
    ticket_numbers.take_station(ctx.db, 2)
    for _ in range(3):
        new_ticket(ctx, refs)
    with ctx.uow() as uow:
        uow.session.execute(delete(LocalMeta).where(LocalMeta.key.like("tickets.seq.%")))
        uow.commit()
    assert new_ticket(ctx, refs).number == "GD-2026-020004"


# --- the status flow ------------------------------------------------------------------------------


def test_the_status_flow_and_its_refusals_in_chinese(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    ticket = new_ticket(ctx, refs, site="zhanjiang")
    tid = ticket.id

    def status() -> str:
        return view(ctx, tid).status_label

    with ctx.uow() as uow:
        assert refused(tickets.pause, uow, tid, "等待用户", "张工", at(9, 40)) == "请先响应该工单。"
        assert (
            refused(tickets.close, uow, tid, "张工", at(9, 40))
            == "只有已解决的工单才能关闭，请先将其标记为已解决。"
        )
        assert refused(tickets.resume, uow, tid, "张工", at(9, 40)) == "该工单未挂起。"
    assert status() == "新建"
    with ctx.uow() as uow:
        tickets.respond(uow, tid, "张工", at(9, 40))
    assert status() == "已响应"
    with ctx.uow() as uow:
        assert refused(tickets.respond, uow, tid, "张工", at(9, 41)) == "该工单已响应过。"
        tickets.start_work(uow, tid, "张工", at(9, 45))
    assert status() == "处理中"
    with ctx.uow() as uow:
        tickets.require_on_site(uow, tid, "张工", at(10, 0))
    assert status() == "待现场"
    with ctx.uow() as uow:
        tickets.arrive_on_site(uow, tid, "李工", at(11, 0))
    assert status() == "现场处理"
    with ctx.uow() as uow:
        assert (
            refused(tickets.pause, uow, tid, "  ", "李工", at(11, 5))
            == "请说明工单在等待什么（用户或第三方）。"
        )
        tickets.pause(uow, tid, "等待第三方厂商", "李工", at(11, 10))
    assert status() == "挂起"
    with ctx.uow() as uow:
        assert refused(tickets.start_work, uow, tid, "李工", at(11, 20)) == "该工单已挂起，请先恢复处理。"
        assert refused(tickets.pause, uow, tid, "再等", "李工", at(11, 20)) == "该工单已挂起。"
        tickets.resume(uow, tid, "李工", at(11, 30))
    assert status() == "现场处理"  # back to where it was before the hold
    with ctx.uow() as uow:
        tickets.resolve(uow, tid, "李工", at(12, 0), summary="更换打印控件")
    assert status() == "已解决"
    with ctx.uow() as uow:
        assert refused(tickets.pause, uow, tid, "等待", "李工", at(12, 5)) == "该工单已解决，请先重新打开。"
        tickets.close(uow, tid, "张工", at(12, 30))
    assert status() == "已关闭"
    with ctx.uow() as uow:
        assert (
            refused(tickets.change_severity, uow, tid, "major", "张工", at(12, 40))
            == "该工单已关闭，请先重新打开。"
        )
        assert refused(tickets.reopen, uow, tid, " ", "张工", at(12, 40)) == "请说明重新打开工单的原因。"
        tickets.reopen(uow, tid, "用户反馈仍无法打印", "张工", at(13, 0))
    assert status() == "处理中"
    with ctx.uow() as uow:
        assert (
            refused(tickets.reopen, uow, tid, "再开", "张工", at(13, 5))
            == "只有已解决或已关闭的工单才能重新打开。"
        )

    assert [e.text for e in view(ctx, tid).timeline] == [
        "创建工单（严重程度：一般，服务规则：“湛江市财政局运维服务”）",
        "响应工单",
        "开始处理",
        "确定需上门",
        "到达现场",
        "挂起：等待第三方厂商",
        "恢复处理",
        "标记为已解决：更换打印控件",
        "关闭工单",
        "重新打开：用户反馈仍无法打印",
    ]
    with ctx.db.session() as session:
        assert session.get(Ticket, tid).handling == "on_site"  # type: ignore[union-attr]


def test_stated_times_are_checked(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    ticket = new_ticket(ctx, refs)
    with ctx.uow() as uow:
        assert (
            refused(tickets.respond, uow, ticket.id, "张工", at(9, 40), at=at(9, 0))
            == "时间不能早于报告时间。"
        )
        assert (
            refused(tickets.respond, uow, ticket.id, "张工", at(9, 40), at=at(10, 0))
            == "时间不能晚于当前时间。"
        )
        tickets.respond(uow, ticket.id, "张工", at(9, 50), at=at(9, 45))
        tickets.start_work(uow, ticket.id, "张工", at(9, 55))
        message = refused(tickets.pause, uow, ticket.id, "等待用户", "张工", at(10, 0), at=at(9, 50))
    assert message == "时间不能早于工单的上一次变更（3月2日 周一 09:55）。"


# --- deadlines with a fixed clock -----------------------------------------------------------------


def test_deadlines_follow_respond_pause_resume_and_a_severity_change(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    ticket = new_ticket(ctx, refs)  # Changzhou, general fault, reported 09:30
    tid = ticket.id
    assert state(ctx, tid).next_due_at == at(10, 0)  # the response is due first

    with ctx.uow() as uow:
        tickets.respond(uow, tid, "张工", at(9, 40))
    assert state(ctx, tid).next_due_at == at(10, 30)  # response met; resolution due 1 h after the report
    with ctx.uow() as uow:
        tickets.pause(uow, tid, "等待用户提供截图", "张工", at(9, 50))
    paused = state(ctx, tid)
    assert (paused.status, paused.phase, paused.next_due_at) == ("paused", "paused", None)
    with ctx.db.session() as session:
        [listed] = tickets.list_open_tickets(session)
    assert listed.deadlines is not None
    resolution = listed.deadlines.target(TargetKind.RESOLUTION)
    assert resolution is not None
    assert countdown(resolution, at(10, 10)).text() == "挂起中"

    with ctx.uow() as uow:
        tickets.resume(uow, tid, "张工", at(10, 20))
    assert due(ctx, tid, TargetKind.RESOLUTION) == at(11, 0)  # 30 min on hold move it by 30 min
    with ctx.uow() as uow:
        tickets.change_severity(uow, tid, "major", "张工", at(10, 30))
    # a major fault has 2 h; the 30 min on hold still count
    assert due(ctx, tid, TargetKind.RESOLUTION) == at(12, 0)
    assert state(ctx, tid).next_due_at == at(12, 0)
    assert state(ctx, tid).severity == "major"
    shown = view(ctx, tid)
    assert shown.severity_name == "重大"
    assert shown.timeline[-1].text == "严重程度改为重大"
    with ctx.db.session() as session:
        [listed] = tickets.list_open_tickets(session)
    assert listed.severity_name == "重大"
    assert listed.status is TicketStatus.RESPONDED
    resolution = listed.deadlines.target(TargetKind.RESOLUTION) if listed.deadlines else None
    assert resolution is not None
    assert countdown(resolution, at(10, 35)).text() == "剩余 01:25:00"

    with ctx.uow() as uow:
        tickets.resolve(uow, tid, "张工", at(11, 30))
    with ctx.db.session() as session:
        outcomes = {o.target: o for o in tickets.ticket_outcomes(session, tid, at(11, 30))}
        assert tickets.list_open_tickets(session) == []
    assert outcomes[TargetKind.RESPONSE].text() == "达标，提前20分钟"
    assert outcomes[TargetKind.RESOLUTION].text() == "达标，提前30分钟"
    assert state(ctx, tid).is_open is False


def test_zhanjiang_holiday_reports_are_by_agreement_until_a_deadline_is_set_by_hand(
    ctx: AppContext, refs: Refs
) -> None:
    i18n.set_language("zh_CN")
    national_day = dt.datetime(2026, 10, 1, 10, 0, tzinfo=CST)
    ticket = new_ticket(ctx, refs, site="zhanjiang", reported_at=national_day, now=national_day)
    deadlines = view(ctx, ticket.id).deadlines
    assert deadlines is not None
    response = deadlines.target(TargetKind.RESPONSE)
    assert response is not None and response.mode is DeadlineMode.BY_AGREEMENT
    assert countdown(response, national_day).text() == "按约定"
    assert state(ctx, ticket.id).next_due_at is None

    agreed = dt.datetime(2026, 10, 2, 9, 0, tzinfo=CST)
    with ctx.uow() as uow:
        tickets.set_deadline(uow, ticket.id, TargetKind.RESPONSE, agreed, "张工", national_day)
    assert due(ctx, ticket.id, TargetKind.RESPONSE) == agreed
    assert state(ctx, ticket.id).next_due_at == agreed
    assert view(ctx, ticket.id).timeline[-1].text == "手工约定首次响应截止时间为10月2日 周五 09:00"

    changzhou = new_ticket(ctx, refs)
    with ctx.uow() as uow:
        message = refused(
            tickets.set_deadline, uow, changzhou.id, TargetKind.RESPONSE, agreed, "张工", at(9, 40)
        )
    assert message == "首次响应截止时间由服务规则决定，只有“按约定”的截止时间才能手工设定。"


def test_the_on_site_clock_starts_when_a_visit_is_decided(ctx: AppContext, refs: Refs) -> None:
    ticket = new_ticket(ctx, refs, site="zhanjiang")
    with ctx.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 40))
        tickets.start_work(uow, ticket.id, "张工", at(9, 45))
        tickets.require_on_site(uow, ticket.id, "张工", at(10, 0))
    assert due(ctx, ticket.id, TargetKind.ON_SITE) == at(18, 0)  # 8 h after the decision
    with ctx.uow() as uow:
        tickets.arrive_on_site(uow, ticket.id, "李工", at(15, 0))
    with ctx.db.session() as session:
        outcomes = {o.target: o for o in tickets.ticket_outcomes(session, ticket.id, at(15, 0))}
    assert outcomes[TargetKind.ON_SITE].result is TargetResult.MET
    assert outcomes[TargetKind.ON_SITE].margin == dt.timedelta(hours=3)


def test_notes_assignments_edits_and_linked_calls_are_in_the_history(
    ctx: AppContext, refs: Refs, record: Record
) -> None:
    i18n.set_language("zh_CN")
    ticket = new_ticket(ctx, refs)
    again = record(question="还是无法打印", caller_name="王会计", started_at=at(10, 5))
    with ctx.uow() as uow:
        tickets.add_note(uow, ticket.id, "已远程查看，怀疑是驱动问题", "张工", at(9, 50))
        tickets.assign(uow, ticket.id, "李工", "张工", at(9, 55))
        assert refused(tickets.assign, uow, ticket.id, "李工", "张工", at(9, 56)) == "该工单已指派给李工。"
        tickets.link_call(uow, ticket.id, again.id, "李工", at(10, 10))
        assert (
            refused(tickets.link_call, uow, ticket.id, again.id, "李工", at(10, 11))
            == "该来电已关联到此工单。"
        )
        edit = tickets.input_from_ticket(uow.session.get(Ticket, ticket.id))  # type: ignore[arg-type]
        edit.title = "电子票据无法打印（驱动）"
        edit.category_id = refs.categories["故障报修"]
        tickets.edit_ticket(uow, ticket.id, edit, "李工", at(10, 15))
    shown = view(ctx, ticket.id)
    assert [(e.author, e.text) for e in shown.timeline[1:]] == [
        ("张工", "备注：已远程查看，怀疑是驱动问题"),
        ("张工", "指派给李工"),
        ("李工", "关联来电：3月2日 周一 10:05 王会计"),
        ("李工", "修改了：类别，标题"),
        ("李工", "问题分类改为故障报修"),
    ]
    assert shown.ticket.assignee == "李工"
    assert shown.ticket.title == "电子票据无法打印（驱动）"
    assert shown.call_ids == [again.id]
    assert not any(e.flagged for e in shown.timeline)


def test_an_event_that_no_longer_fits_after_a_merge_is_kept_and_flagged(ctx: AppContext, refs: Refs) -> None:
    """As a pull would write it: another desktop paused the ticket after this one resolved it."""
    i18n.set_language("zh_CN")
    ticket = new_ticket(ctx, refs)
    with ctx.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 40))
        tickets.resolve(uow, ticket.id, "张工", at(9, 50))
    with ctx.db.session() as session:
        last_hlc = session.scalars(select(TicketEventRow.hlc).order_by(TicketEventRow.hlc.desc())).first()
    assert last_hlc is not None
    wall = int(last_hlc.split("-")[0]) + 1
    with ctx.uow() as uow:
        uow.session.info["applying_remote"] = True
        uow.session.add(
            TicketEventRow(
                id=uuid7(), ticket_id=ticket.id, kind="paused", at=at(9, 55), data='{"reason": "等待用户"}',
                author="李工", recorded_at=at(9, 55), origin="otherdesk",
                hlc=format_hlc(wall, 0, "otherdesk"),
            )
        )  # fmt: skip
        uow.commit()
        tickets.recompute(uow.session, [ticket.id], at(10, 0))
        uow.commit()
    shown = view(ctx, ticket.id)
    assert shown.status_label == "已解决"
    assert [(e.text, e.flagged) for e in shown.timeline[-2:]] == [
        ("标记为已解决", False),
        ("挂起：等待用户", True),
    ]
    assert shown.timeline[-1].flag_text == "两台电脑的修改合并后，此操作已不适用；请核查。"
    assert json.loads(state(ctx, ticket.id).flagged) == [shown.timeline[-1].id]


# --- lists and reports ----------------------------------------------------------------------------


def test_open_tickets_are_listed_most_urgent_first(ctx: AppContext, refs: Refs) -> None:
    later = new_ticket(ctx, refs, title="晚报修", reported_at=at(9, 50), now=at(9, 55))
    sooner = new_ticket(ctx, refs, title="早报修", reported_at=at(9, 30), now=at(9, 56))
    national_day = dt.datetime(2026, 10, 1, 10, 0, tzinfo=CST)
    on_agreement = new_ticket(
        ctx, refs, site="zhanjiang", title="国庆报修", reported_at=national_day, now=national_day
    )
    done = new_ticket(ctx, refs, title="已解决")
    with ctx.uow() as uow:
        tickets.resolve(uow, done.id, "张工", at(9, 59))
    with ctx.db.session() as session:
        listed = tickets.list_open_tickets(session)
        changzhou = tickets.list_open_tickets(session, site_id=refs.sites["changzhou"])
    assert [t.id for t in listed] == [sooner.id, later.id, on_agreement.id]
    assert [t.id for t in changzhou] == [sooner.id, later.id]
    assert listed[0].next_due_at == at(10, 0)


def test_the_outcome_report_says_met_or_breached_and_by_how_much(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    slow = new_ticket(ctx, refs, title="响应慢")
    fast = new_ticket(ctx, refs, title="已处理")
    with ctx.uow() as uow:
        tickets.respond(uow, slow.id, "张工", at(10, 10))  # 10 min late
        tickets.respond(uow, fast.id, "张工", at(9, 40))
        tickets.resolve(uow, fast.id, "张工", at(10, 0))
    with ctx.db.session() as session:
        report = tickets.outcome_report(session, at(10, 45), site_id=refs.sites["changzhou"])
    texts = {(o.number, o.target): o.text() for o in report}
    assert texts == {
        (slow.number, TargetKind.RESPONSE): "超时10分钟",
        (slow.number, TargetKind.RESOLUTION): "超时15分钟",  # still open 15 min after its due time
        (fast.number, TargetKind.RESPONSE): "达标，提前20分钟",
        (fast.number, TargetKind.RESOLUTION): "达标，提前30分钟",
    }
    with ctx.db.session() as session:
        assert tickets.outcome_report(session, at(10, 45), created_to=at(9, 0)) == []


def test_a_countdown_warning_is_remembered_once(ctx: AppContext, refs: Refs) -> None:
    ticket = new_ticket(ctx, refs)
    with ctx.db.session() as session:
        assert not tickets.alert_shown(session, ticket.id, TargetKind.RESPONSE, "minutes:10")
    for _ in range(2):
        with ctx.uow() as uow:
            tickets.mark_alert_shown(uow, ticket.id, TargetKind.RESPONSE, "minutes:10", at(9, 50))
    with ctx.db.session() as session:
        assert tickets.alert_shown(session, ticket.id, TargetKind.RESPONSE, "minutes:10")
        assert session.execute(text("SELECT count(*) FROM ticket_alerts")).scalar() == 1


def test_the_derived_state_is_written_in_the_same_transaction_as_the_event(
    ctx: AppContext, refs: Refs
) -> None:
    ticket = new_ticket(ctx, refs)
    with ctx.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 40))
    with ctx.db.session() as session:
        ops = session.scalars(select(OutboxOp.table_name).order_by(OutboxOp.op_id)).all()
    assert "ticket_state" not in ops  # local only, never synced
    assert ops[-1] == "ticket_events"
    assert state(ctx, ticket.id).status == "responded"


def test_a_site_without_a_policy_cannot_take_tickets(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    with ctx.uow() as uow:
        for entry in sla_config.list_policies(uow.session, refs.sites["changzhou"]):
            sla_config.set_policy_active(uow, entry.id, False)
    with ctx.uow() as uow, pytest.raises(ValidationError) as raised:
        tickets.create_ticket(
            uow, TicketInput(site_id=refs.sites["changzhou"], title="无法登录"), "张工", at(9, 35)
        )
    assert raised.value.fields == {"policy": "该站点没有可用的服务规则，主管可在设置中设定。"}
