"""The ticket window (工单): made from a call, its actions and deadlines at a fixed clock, refusals said
in Chinese with nothing typed lost, and a deadline by agreement set by hand.

Set ``TICKET_SHOTS=/tmp/shots`` to save screenshots of the windows as the tests go (with the bundled
Chinese font), to look at them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from sqlalchemy import select

from app.context import AppContext
from app.errors import StorageError, StorageProblem
from app.ids import format_hlc, uuid7
from app.services import calls, reference, tickets
from app.services.tickets import TicketInput
from app.sla.policy import TargetKind
from app.sla.wall_time import SHANGHAI
from app.storage.models import Ticket, TicketEventRow
from tests.helpers.qt_input import click_button, pick, replace_text, type_text
from tests.helpers.qt_windows import activate, shown_windows, wait_for_tasks
from ui.calls.detail import CallDetailDialog
from ui.changes import OpChanges
from ui.tickets.dialog import TicketDialog
from ui.tickets.fields import set_wall_time, wall_time
from ui.tickets.prompts import ActionPrompt

CTRL = Qt.KeyboardModifier.ControlModifier
REPORTED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)  # a Monday, 09:30


class FakeClock:
    """What ``mw.ticker`` calls for "now": moved by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **amount: float) -> None:
        self.now += dt.timedelta(**amount)


@dataclass(frozen=True)
class Ref:
    changzhou: str
    zhanjiang: str
    system: str  # Changzhou's first system
    system_name: str
    module: str
    module_name: str
    consult: str  # 咨询


@pytest.fixture
def ref(ui_ctx: AppContext) -> Ref:
    with ui_ctx.db.session() as session:
        sites = {s.code: s.id for s in reference.list_sites(session)}
        system = reference.list_systems(session, sites["changzhou"])[0]
        module = reference.list_modules(session, system.id)[0]
        categories = {c.name: c.id for c in reference.list_categories(session)}
    return Ref(
        sites["changzhou"],
        sites["zhanjiang"],
        system.id,
        system.name,
        module.id,
        module.name,
        categories["咨询"],
    )


@pytest.fixture
def clock(main_window: Any) -> FakeClock:
    fake = FakeClock(REPORTED + dt.timedelta(minutes=5))
    main_window.ticker.clock = fake
    return fake


@pytest.fixture(autouse=True)
def _screenshot_font(qapp: Any) -> None:
    """Screenshots should look like the app: with its bundled Chinese font, set before any window."""
    if os.environ.get("TICKET_SHOTS") and not getattr(qapp, "_ticket_shots_font", False):
        from ui.fonts import install_cjk_font

        install_cjk_font(qapp)
        qapp._ticket_shots_font = True


@pytest.fixture(autouse=True)
def close_leftover_windows(main_window: Any) -> Iterator[None]:
    yield
    main_window.taskman.wait_for_idle(10_000)
    for dialog in main_window.findChildren(TicketDialog):
        if not dialog.is_closed:
            dialog.done(QDialog.DialogCode.Rejected)
    for detail in main_window.findChildren(CallDetailDialog):
        detail.done(QDialog.DialogCode.Rejected)


# --- helpers --------------------------------------------------------------------------------------


def shot(widget: QWidget, name: str) -> None:
    """Save a screenshot when TICKET_SHOTS names a folder."""
    folder = os.environ.get("TICKET_SHOTS")
    if not folder:
        return
    QApplication.processEvents()
    Path(folder).mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(Path(folder) / f"ticket_{name}.png"))


def settle(qtbot: Any, main_window: Any) -> None:
    wait_for_tasks(qtbot, main_window)


def open_ticket(
    qtbot: Any, main_window: Any, ticket_id: str | None, from_call: str | None = None
) -> TicketDialog:
    before = set(shown_windows(TicketDialog, parent=main_window))
    main_window.open_ticket(ticket_id, from_call=from_call)
    return shown_dialog(qtbot, main_window, before)


def shown_dialog(qtbot: Any, main_window: Any, before: set[TicketDialog]) -> TicketDialog:
    qtbot.waitUntil(lambda: len(set(shown_windows(TicketDialog, parent=main_window)) - before) == 1)
    (dialog,) = set(shown_windows(TicketDialog, parent=main_window)) - before
    settle(qtbot, main_window)
    assert dialog.loaded is not None
    activate(qtbot, dialog)
    return dialog


def new_ticket(ctx: AppContext, ref: Ref, site: str | None = None, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "site_id": site or ref.changzhou,
        "title": "电子票据无法打印",
        "caller_name": "王会计",
        "unit_name": "常州市第一中学",
        "reported_at": REPORTED,
        "assignee": "张工",
    }
    values.update(overrides)
    with ctx.uow() as uow:
        return tickets.create_ticket(
            uow, TicketInput(**values), "张工", REPORTED + dt.timedelta(minutes=5)
        ).id


def prompt_of(qtbot: Any, dialog: TicketDialog) -> ActionPrompt:
    qtbot.waitUntil(lambda: dialog.prompt is not None and dialog.prompt.isVisible())
    assert dialog.prompt is not None
    return dialog.prompt


def submit(qtbot: Any, main_window: Any, prompt: ActionPrompt) -> None:
    qtbot.mouseClick(prompt.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, main_window)


def status(dialog: TicketDialog) -> str:
    return dialog.status_label.text()


def countdown_text(dialog: TicketDialog, target: TargetKind) -> str:
    return dialog.target_rows[target].countdown.text()


def visible_actions(dialog: TicketDialog) -> set[str]:
    return {key for key, button in dialog.action_buttons.items() if button.isVisible()}


# --- a ticket from a call -------------------------------------------------------------------------


def test_a_ticket_made_from_a_recorded_call_is_prefilled_linked_and_listed(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    with ui_ctx.uow() as uow:
        call = calls.record_call(
            uow,
            calls.CallInput(
                site_id=ref.changzhou,
                started_at=REPORTED,
                engineer="张工",
                caller_phone="0519-86661234",
                caller_name="王会计",
                unit_name="常州市第一中学",
                system_id=ref.system,
                module_id=ref.module,
                category_id=ref.consult,
                question="电子票据开具后无法打印\n打印预览空白，换了打印机也一样。",
                answer="已远程查看，需进一步处理",
            ),
        )
    main_window.open_call(call.id)
    detail = shown_windows(CallDetailDialog, parent=main_window)[0]
    activate(qtbot, detail)
    shot(detail, "call_detail")
    before = set(shown_windows(TicketDialog, parent=main_window))
    click_button(qtbot, detail, "转工单(&T)")
    dialog = shown_dialog(qtbot, main_window, before)
    fields = dialog.fields

    assert dialog.ticket_id is None
    assert fields.title_edit.text() == "电子票据开具后无法打印"
    assert fields.description_edit.toPlainText() == "电子票据开具后无法打印\n打印预览空白，换了打印机也一样。"
    assert fields.unit_edit.text() == "常州市第一中学"
    assert fields.caller_name_edit.text() == "王会计"
    assert fields.caller_phone_edit.text() == "0519-86661234"
    assert fields.system_combo.currentText() == ref.system_name
    assert fields.module_combo.currentText() == ref.module_name
    assert fields.category_combo.currentText() == "咨询"
    assert fields.assignee_edit.text() == "张工"
    assert fields.severity_combo.currentText() == "一般"
    assert fields.handling_buttons["remote"].isChecked()
    assert wall_time(fields.reported_edit) == REPORTED  # when the call came in, not now
    assert "来自来电" in dialog.facts_label.text()
    shot(dialog, "new_from_call")

    pick(qtbot, fields.severity_combo, "重大")
    qtbot.keyClick(fields.title_edit, Qt.Key.Key_S, CTRL)
    settle(qtbot, main_window)

    assert dialog.ticket_id is not None
    assert dialog.number_label.text().startswith("GD-")
    assert status(dialog) == "新建"
    assert "严重程度：重大" in dialog.facts_label.text()
    assert dialog.windowTitle() == f"工单 {dialog.number_label.text()} — 电子票据开具后无法打印"
    assert countdown_text(dialog, TargetKind.RESPONSE) == "剩余 00:25:00"
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "剩余 01:55:00"  # major: 2 h
    assert "创建工单" in dialog.timeline_view.toPlainText()
    assert dialog.calls_label.isVisible()
    with ui_ctx.db.session() as session:
        linked = tickets.tickets_of_call(session, call.id)
        assert [t.id for t in linked] == [dialog.ticket_id]
        assert linked[0].org_id is None and linked[0].caller_phone == "0519-86661234"
    qtbot.waitUntil(lambda: main_window.tickets_board.summary(dialog.ticket_id) is not None)
    summary = main_window.tickets_board.summary(dialog.ticket_id)
    assert summary.number == dialog.number_label.text()
    shot(dialog, "created")


def test_ctrl_t_on_the_call_list_opens_a_ticket_for_the_selected_call(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    with ui_ctx.uow() as uow:
        calls.record_call(
            uow,
            calls.CallInput(
                site_id=ref.changzhou,
                started_at=REPORTED,
                engineer="张工",
                caller_name="李出纳",
                unit_name="常州市第二中学",
                category_id=ref.consult,
                question="非税收入缴款书查询不到",
            ),
        )
    page = main_window.calls_page
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.view.setFocus()
    page.view.setCurrentIndex(page.model.index(0, 0))
    before = set(shown_windows(TicketDialog, parent=main_window))
    qtbot.keyClick(page.view, Qt.Key.Key_T, CTRL)
    dialog = shown_dialog(qtbot, main_window, before)
    assert dialog.fields.title_edit.text() == "非税收入缴款书查询不到"
    assert dialog.fields.caller_name_edit.text() == "李出纳"


# --- actions --------------------------------------------------------------------------------------


def test_respond_meets_the_response_deadline(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    dialog = open_ticket(qtbot, main_window, new_ticket(ui_ctx, ref))
    assert status(dialog) == "新建"
    assert countdown_text(dialog, TargetKind.RESPONSE) == "剩余 00:25:00"
    assert "关闭工单" not in [b.text() for b in dialog.action_buttons.values() if b.isVisible()]
    assert visible_actions(dialog) == {"respond", "resolve", "severity", "note"}
    explanation = dialog.target_rows[TargetKind.RESPONSE].explanation
    assert explanation.text() and explanation.wordWrap()
    clock.advance(minutes=1)
    main_window.ticker.fire()
    assert countdown_text(dialog, TargetKind.RESPONSE) == "剩余 00:24:00"
    shot(dialog, "new_status")

    click_button(qtbot, dialog, "响应")
    settle(qtbot, main_window)

    assert status(dialog) == "已响应"
    assert countdown_text(dialog, TargetKind.RESPONSE) == "按时完成"
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "剩余 00:54:00"
    assert "响应工单" in dialog.timeline_view.toPlainText()
    assert "respond" not in visible_actions(dialog)
    assert {"start_work", "pause", "require_on_site", "arrive_on_site"} <= visible_actions(dialog)


def test_on_hold_with_a_reason_stops_the_resolution_clock_until_resumed(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    ticket_id = new_ticket(ui_ctx, ref)
    with ui_ctx.uow() as uow:
        tickets.respond(uow, ticket_id, "张工", clock.now)
    clock.advance(minutes=5)  # 09:40
    dialog = open_ticket(qtbot, main_window, ticket_id)
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "剩余 00:50:00"

    click_button(qtbot, dialog, "挂起…")
    prompt = prompt_of(qtbot, dialog)
    submit(qtbot, main_window, prompt)  # no reason: refused, the prompt stays
    assert prompt.isVisible()
    assert prompt.error.text() == "请说明工单在等待什么（用户或第三方）。"
    assert status(dialog) == "已响应"
    reason = prompt.findChild(QWidget, "promptText")
    type_text(qtbot, reason, "等待用户发送报错截图")
    shot(prompt, "pause_prompt")
    submit(qtbot, main_window, prompt)

    assert dialog.prompt is None  # closed once saved
    assert status(dialog) == "挂起"
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "挂起中"
    assert "挂起：等待用户发送报错截图" in dialog.timeline_view.toPlainText()
    assert visible_actions(dialog) >= {"resume"}
    assert "pause" not in visible_actions(dialog)
    shot(dialog, "paused")
    if os.environ.get("TICKET_SHOTS"):
        dialog.resize(620, 720)  # beside the list on a small screen: the explanations wrap
        shot(dialog, "paused_narrow")

    clock.advance(minutes=10)  # 09:50: the 10 minutes on hold move the deadline
    click_button(qtbot, dialog, "恢复")
    settle(qtbot, main_window)
    assert status(dialog) == "已响应"
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "剩余 00:50:00"


def test_an_action_refused_by_the_service_says_why_and_keeps_the_window(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    ticket_id = new_ticket(ui_ctx, ref)
    dialog = open_ticket(qtbot, main_window, ticket_id)
    assert "respond" in visible_actions(dialog)
    # another desktop responds meanwhile; this window has not heard of it yet
    with ui_ctx.uow() as uow:
        tickets.respond(uow, ticket_id, "李工", clock.now)

    click_button(qtbot, dialog, "响应")
    settle(qtbot, main_window)

    assert dialog.isVisible()
    assert dialog.action_error.isVisible()
    assert dialog.action_error.text() == "该工单已响应过。"
    assert status(dialog) == "已响应"  # reloaded: as it is now
    assert "respond" not in visible_actions(dialog)
    shot(dialog, "refused")
    if os.environ.get("TICKET_SHOTS"):
        dialog.resize(560, 720)  # the action buttons wrap
        shot(dialog, "refused_narrow")

    # refused inside a prompt: what was typed stays
    with ui_ctx.uow() as uow:
        tickets.resolve(uow, ticket_id, "李工", clock.now)
    click_button(qtbot, dialog, "挂起…")
    prompt = prompt_of(qtbot, dialog)
    type_text(qtbot, prompt.findChild(QWidget, "promptText"), "等待第三方厂商")
    submit(qtbot, main_window, prompt)
    assert prompt.isVisible()
    assert prompt.error.text() == "该工单已解决，请先重新打开。"
    assert prompt.findChild(QWidget, "promptText").toPlainText() == "等待第三方厂商"
    prompt.reject()
    assert status(dialog) == "已解决"
    assert {"close", "reopen", "note"} <= visible_actions(dialog)


def test_close_and_reopen_with_a_reason(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    dialog = open_ticket(qtbot, main_window, new_ticket(ui_ctx, ref))
    click_button(qtbot, dialog, "已解决…")
    prompt = prompt_of(qtbot, dialog)
    type_text(qtbot, prompt.findChild(QWidget, "promptText"), "更新打印控件后正常")
    submit(qtbot, main_window, prompt)
    assert status(dialog) == "已解决"
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "按时完成"
    assert "标记为已解决：更新打印控件后正常" in dialog.timeline_view.toPlainText()

    click_button(qtbot, dialog, "关闭工单")
    settle(qtbot, main_window)
    assert status(dialog) == "已关闭"
    assert visible_actions(dialog) == {"reopen", "note"}

    click_button(qtbot, dialog, "重新打开…")
    prompt = prompt_of(qtbot, dialog)
    type_text(qtbot, prompt.findChild(QWidget, "promptText"), "升级后问题再次出现")
    submit(qtbot, main_window, prompt)
    assert status(dialog) == "处理中"
    assert "重新打开：升级后问题再次出现" in dialog.timeline_view.toPlainText()


def test_change_severity_and_add_a_note(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    dialog = open_ticket(qtbot, main_window, new_ticket(ui_ctx, ref))
    click_button(qtbot, dialog, "更改严重程度…")
    prompt = prompt_of(qtbot, dialog)
    combo = prompt.findChild(QWidget, "promptSeverity")
    assert combo.currentText() == "一般"
    submit(qtbot, main_window, prompt)  # unchanged: the service says so
    assert prompt.error.text() == "严重程度已经是“一般”。"
    pick(qtbot, combo, "重大")
    submit(qtbot, main_window, prompt)
    assert dialog.prompt is None  # closed once saved
    assert "严重程度：重大" in dialog.facts_label.text()
    assert countdown_text(dialog, TargetKind.RESOLUTION) == "剩余 01:55:00"

    click_button(qtbot, dialog, "添加备注…")
    prompt = prompt_of(qtbot, dialog)
    type_text(qtbot, prompt.findChild(QWidget, "promptNote"), "已约用户下午远程")
    submit(qtbot, main_window, prompt)
    assert "备注：已约用户下午远程" in dialog.timeline_view.toPlainText()
    assert status(dialog) == "新建"


def test_an_event_that_no_longer_fits_after_a_merge_is_highlighted(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    ticket_id = new_ticket(ui_ctx, ref)
    with ui_ctx.uow() as uow:
        tickets.respond(uow, ticket_id, "张工", clock.now)
        tickets.add_note(uow, ticket_id, "已远程查看，怀疑是打印控件版本过旧。" * 8, "张工", clock.now)
        tickets.resolve(uow, ticket_id, "张工", clock.now, summary="更新打印控件后正常")
    with ui_ctx.db.session() as session:
        last_hlc = session.scalars(select(TicketEventRow.hlc).order_by(TicketEventRow.hlc.desc())).first()
    assert last_hlc is not None
    wall = int(last_hlc.split("-")[0]) + 1
    with ui_ctx.uow() as uow:  # as a pull writes it: another desktop put it on hold meanwhile
        uow.session.info["applying_remote"] = True
        uow.session.add(
            TicketEventRow(
                id=uuid7(), ticket_id=ticket_id, kind="paused", at=clock.now, data='{"reason": "等待用户"}',
                author="李工", recorded_at=clock.now, origin="otherdesk",
                hlc=format_hlc(wall, 0, "otherdesk"),
            )
        )  # fmt: skip
        uow.commit()
        tickets.recompute(uow.session, [ticket_id], clock.now)
        uow.commit()

    dialog = open_ticket(qtbot, main_window, ticket_id)
    assert status(dialog) == "已解决"
    assert "有 1 项变更在合并后未生效" in dialog.warning_label.text()
    history = dialog.timeline_view.toPlainText()
    assert "挂起：等待用户" in history
    assert "两台电脑的修改合并后，此操作已不适用；请核查。" in history
    assert dialog.tabs.tabText(dialog.tabs.indexOf(dialog.timeline_view)) == "处理记录（5）"
    dialog.tabs.setCurrentWidget(dialog.timeline_view)
    shot(dialog, "timeline")

    # "已核对，取消标记": the entry's link sets the mark aside; the check is in the history too
    assert "已核对，取消标记" in history
    with ui_ctx.db.session() as session:
        flagged_id = session.scalars(select(TicketEventRow.id).where(TicketEventRow.kind == "paused")).one()
    assert f"dismiss:{flagged_id}" in dialog.timeline_view.toHtml()
    dialog.timeline_view.anchorClicked.emit(QUrl(f"dismiss:{flagged_id}"))
    qtbot.waitUntil(lambda: not dialog.warning_label.isVisible(), timeout=10_000)
    history = dialog.timeline_view.toPlainText()
    assert "两台电脑的修改合并后" not in history
    assert "张工" in history and "已核对一条合并后未生效的记录，并取消其标记" in history


@pytest.mark.allow_warnings  # the crash handler logs the bug it reports
def test_a_bug_in_an_action_goes_to_the_crash_handler_not_the_window(
    qtbot: Any,
    main_window: Any,
    ui_ctx: AppContext,
    ref: Ref,
    clock: FakeClock,
    crash_reports: Any,
    dialog_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def bug(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug of ours")

    dialog = open_ticket(qtbot, main_window, new_ticket(ui_ctx, ref))
    monkeypatch.setattr(tickets, "respond", bug)
    click_button(qtbot, dialog, "响应")
    qtbot.waitUntil(lambda: crash_reports.last_report is not None, timeout=5000)
    assert "a bug of ours" in crash_reports.last_report.read_text(encoding="utf-8")
    assert dialog.isVisible() and not dialog.action_error.isVisible()
    assert dialog_recorder.warnings == []
    assert dialog.action_buttons["respond"].isEnabled()


# --- the form -------------------------------------------------------------------------------------


def test_a_missing_subject_is_shown_at_the_field_and_nothing_is_saved(
    qtbot: Any,
    main_window: Any,
    ui_ctx: AppContext,
    ref: Ref,
    clock: FakeClock,
    dialog_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_ticket(qtbot, main_window, None)
    fields = dialog.fields
    assert fields.title_edit.text() == ""
    assert wall_time(fields.reported_edit) == clock.now  # reported now, by the window's clock
    assert fields.assignee_edit.text() == "张工"
    type_text(qtbot, fields.description_edit, "打印预览空白")
    qtbot.keyClick(fields.description_edit, Qt.Key.Key_S, CTRL)
    settle(qtbot, main_window)

    assert fields.error_text("title") == "请填写工单标题。"
    assert fields.title_edit.hasFocus()
    assert dialog.isVisible() and dialog.ticket_id is None
    assert fields.description_edit.toPlainText() == "打印预览空白"
    with ui_ctx.db.session() as session:
        assert session.scalars(select(Ticket)).first() is None
    shot(dialog, "missing_title")

    type_text(qtbot, fields.title_edit, "打印预览空白")
    assert fields.error_text("title") == ""
    locked = StorageError(StorageProblem.LOCKED)
    create = tickets.create_ticket
    monkeypatch.setattr(tickets, "create_ticket", lambda *_args, **_kwargs: (_ for _ in ()).throw(locked))
    click_button(qtbot, dialog, "创建工单")
    settle(qtbot, main_window)
    assert dialog_recorder.warnings == [locked.message]  # the environment's problem, in plain words
    assert fields.title_edit.text() == "打印预览空白" and dialog.ticket_id is None
    monkeypatch.setattr(tickets, "create_ticket", create)
    set_wall_time(fields.reported_edit, clock.now + dt.timedelta(hours=2))  # in the future: refused
    click_button(qtbot, dialog, "创建工单")
    settle(qtbot, main_window)
    assert fields.error_text("reported_at") == "时间不能晚于当前时间。"
    assert dialog.ticket_id is None


def test_editing_the_details_saves_only_what_was_changed(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    ticket_id = new_ticket(ui_ctx, ref)
    dialog = open_ticket(qtbot, main_window, ticket_id)
    fields = dialog.fields
    assert not fields.rows["severity"].box.isVisibleTo(dialog)  # an action changes it
    replace_text(qtbot, fields.caller_name_edit, "王主任")
    replace_text(qtbot, fields.assignee_edit, "李工")
    # meanwhile another desktop changes the subject
    with ui_ctx.uow() as uow:
        data = tickets.input_from_ticket(uow.session.get(Ticket, ticket_id))
        data.title = "电子票据打印空白"
        tickets.edit_ticket(uow, ticket_id, data, "李工", clock.now)
    main_window.taskman.operation_did_execute.emit(OpChanges(tickets=True))  # as a sync would
    settle(qtbot, main_window)
    assert fields.caller_name_edit.text() == "王主任"  # typed text is kept
    assert dialog.changed_elsewhere.isVisible()

    qtbot.keyClick(fields.caller_name_edit, Qt.Key.Key_S, CTRL)
    settle(qtbot, main_window)

    with ui_ctx.db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.title, ticket.caller_name, ticket.assignee) == ("电子票据打印空白", "王主任", "李工")
    assert fields.title_edit.text() == "电子票据打印空白"
    assert not fields.is_dirty()
    assert not dialog.changed_elsewhere.isVisible()
    history = dialog.timeline_view.toPlainText()
    assert "修改了：来电人" in history and "指派给李工" in history
    assert "处理人：李工" in dialog.facts_label.text()


def test_the_window_follows_changes_made_elsewhere(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    ticket_id = new_ticket(ui_ctx, ref)
    dialog = open_ticket(qtbot, main_window, ticket_id)
    with ui_ctx.uow() as uow:
        tickets.respond(uow, ticket_id, "李工", clock.now)
    main_window.taskman.operation_did_execute.emit(OpChanges(tickets=True))
    settle(qtbot, main_window)
    assert status(dialog) == "已响应"
    assert countdown_text(dialog, TargetKind.RESPONSE) == "按时完成"


def test_closing_with_unsaved_input_asks_first(
    qtbot: Any, main_window: Any, dialog_recorder: Any, ref: Ref, clock: FakeClock
) -> None:
    dialog = open_ticket(qtbot, main_window, None)
    type_text(qtbot, dialog.fields.title_edit, "无法登录")
    dialog_recorder.answer = False
    qtbot.keyClick(dialog.fields.title_edit, Qt.Key.Key_Escape)
    assert dialog_recorder.questions == ["放弃这张新工单？已填写的内容将丢失。"]
    assert dialog.isVisible()
    dialog_recorder.answer = True
    click_button(qtbot, dialog, "取消")
    assert dialog.is_closed


# --- deadlines ------------------------------------------------------------------------------------


def test_a_deadline_by_agreement_on_a_public_holiday_can_be_set_by_hand(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    clock.now = dt.datetime(2026, 10, 2, 9, 0, tzinfo=SHANGHAI)  # National Day holiday
    main_window.site_combo.setCurrentIndex(main_window.site_combo.findData(ref.zhanjiang))
    dialog = open_ticket(qtbot, main_window, None)
    assert "湛江" in dialog.windowTitle()
    type_text(qtbot, dialog.fields.title_edit, "国庆期间无法开票")
    click_button(qtbot, dialog, "创建工单")
    settle(qtbot, main_window)

    assert status(dialog) == "新建"
    assert countdown_text(dialog, TargetKind.RESPONSE) == "按约定"
    assert countdown_text(dialog, TargetKind.ON_SITE) == "未开始"
    assert not dialog.target_rows[TargetKind.RESOLUTION].countdown.isVisible()  # Zhanjiang: none
    assert "deadline" in visible_actions(dialog)
    shot(dialog, "by_agreement")

    click_button(qtbot, dialog, "设定期限…")
    prompt = prompt_of(qtbot, dialog)
    due = prompt.findChild(QWidget, "promptDue")
    assert wall_time(due) == clock.now + dt.timedelta(hours=1)
    set_wall_time(due, dt.datetime(2026, 10, 2, 12, 0, tzinfo=SHANGHAI))
    shot(prompt, "deadline_prompt")
    submit(qtbot, main_window, prompt)

    assert dialog.prompt is None  # closed once saved
    assert countdown_text(dialog, TargetKind.RESPONSE) == "剩余 03:00:00"
    assert "手工约定" in dialog.timeline_view.toPlainText()
    clock.advance(minutes=30)
    main_window.ticker.fire()
    assert countdown_text(dialog, TargetKind.RESPONSE) == "剩余 02:30:00"
    shot(dialog, "deadline_set")


def test_deadlines_on_an_unconfirmed_calendar_year_are_flagged(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, clock: FakeClock
) -> None:
    reported = dt.datetime(2031, 3, 3, 10, 0, tzinfo=SHANGHAI)
    clock.now = reported + dt.timedelta(minutes=5)
    with ui_ctx.uow() as uow:
        ticket_id = tickets.create_ticket(
            uow,
            TicketInput(site_id=ref.zhanjiang, title="无法登录", reported_at=reported),
            "张工",
            clock.now,
        ).id
    dialog = open_ticket(qtbot, main_window, ticket_id)
    assert dialog.warning_label.isVisible()
    assert "2031 年的节假日安排尚未确认" in dialog.warning_label.text()
    shot(dialog, "unconfirmed")
