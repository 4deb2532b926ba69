"""Settings → 服务时限规则 and 工作日历, driven as a supervisor would, over the real SQLite of ``ui_ctx``.

Screenshots of both pages are written when SLA_SHOTS names a folder
(``SLA_SHOTS=/tmp/shots pytest tests/ui/test_sla_settings.py``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QTableWidget, QWidget
from shiboken6 import isValid

from app.context import AppContext
from app.services import reference, sla_config, tickets
from app.services.sla_config import YearStatus
from app.services.tickets import TicketInput
from app.sla.calendar import DayKind
from app.sla.deadlines import DeadlineMode
from app.sla.policy import Policy, TargetKind
from app.sla.wall_time import SHANGHAI
from tests.helpers.qt_input import click_button, pick, replace_text, type_text
from tests.helpers.qt_windows import activate, wait_for_tasks
from ui.changes import OpChanges
from ui.settings.calendar_page import CalendarPage
from ui.settings.dialog import SettingsDialog
from ui.settings.sla_page import PolicyPage

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)  # a Wednesday, inside working hours
SAVE = "保存规则(&S)"
RESTORE = "恢复合同默认…"


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


# --- helpers ----------------------------------------------------------------------------------------


def site_id(ctx: AppContext, name: str) -> str:
    with ctx.db.session() as session:
        return next(s.id for s in reference.list_sites(session) if s.name == name)


def site_policy(ctx: AppContext, site: str) -> Policy:
    with ctx.db.session() as session:
        policy_id = sla_config.site_policy_id(session, site_id(ctx, site))
        assert policy_id is not None
        return sla_config.load_policies(session)[policy_id]


def resolution_minutes(ctx: AppContext, rule_name: str) -> int | None:
    rule = next(r for r in site_policy(ctx, "常州市财政局").rules if r.name == rule_name)
    target = rule.target(TargetKind.RESOLUTION)
    assert target is not None
    return target.minutes


def make_ticket(ctx: AppContext, site: str, reported: dt.datetime, severity: str = "general") -> str:
    with ctx.uow() as uow:
        ticket = tickets.create_ticket(
            uow,
            TicketInput(
                site_id=site_id(ctx, site),
                title="财政一体化系统报错",
                severity=severity,
                reported_at=reported,
            ),
            "张工",
            reported,
        )
    return ticket.id


def target_of(ctx: AppContext, ticket_id: str, kind: TargetKind) -> Any:
    with ctx.db.session() as session:
        view = tickets.get_ticket(session, ticket_id)
    assert view is not None and view.deadlines is not None
    return view.deadlines.target(kind)


def click_row(qtbot: Any, table: QTableWidget, row: int) -> None:
    item = table.item(row, 1)
    assert item is not None
    table.scrollToItem(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())
    assert table.currentRow() == row


def column_texts(table: QTableWidget, column: int) -> list[str]:
    return [table.item(row, column).text() for row in range(table.rowCount())]  # type: ignore[union-attr]


def edit_cell(qtbot: Any, table: QTableWidget, row: int, column: int, text: str) -> None:
    """Click a cell, press F2, replace its text and press Return, as a user edits a table."""
    item = table.item(row, column)
    assert item is not None
    rect = table.visualItemRect(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    type_text(qtbot, editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not isValid(editor))  # closed editors are deleted by the event loop


def shot(widget: QWidget, name: str) -> None:
    """Save a screenshot when SLA_SHOTS names a folder."""
    folder = os.environ.get("SLA_SHOTS")
    if not folder:
        return
    QApplication.processEvents()
    Path(folder).mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(Path(folder) / f"sla_{name}.png"))


@pytest.fixture(autouse=True)
def _screenshot_font(qapp: Any) -> None:
    """Screenshots should look like the app: with its bundled Chinese font, set before any window."""
    if os.environ.get("SLA_SHOTS") and not getattr(qapp, "_sla_shots_font", False):
        from ui.fonts import install_cjk_font

        install_cjk_font(qapp)
        qapp._sla_shots_font = True


@pytest.fixture
def clock(main_window: Any) -> FakeClock:
    fake = FakeClock(NOW)
    main_window.ticker.clock = fake
    return fake


@pytest.fixture
def settings_dialog(qtbot: Any, main_window: Any, clock: FakeClock) -> SettingsDialog:
    dialog = SettingsDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    activate(qtbot, dialog)  # table editors hand focus back only inside an active window
    wait_for_tasks(qtbot, main_window)
    return dialog


@pytest.fixture
def policy_page(qtbot: Any, settings_dialog: SettingsDialog) -> PolicyPage:
    settings_dialog.page_list.setCurrentRow(3)
    assert settings_dialog.page_list.item(3).text() == "服务时限规则"
    page = settings_dialog.policy_page
    assert settings_dialog.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.data is not None, timeout=5000)
    return page


@pytest.fixture
def calendar_page(qtbot: Any, settings_dialog: SettingsDialog) -> CalendarPage:
    settings_dialog.page_list.setCurrentRow(4)
    assert settings_dialog.page_list.item(4).text() == "工作日历"
    page = settings_dialog.calendar_page
    assert settings_dialog.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.view is not None, timeout=5000)
    return page


def select_rule(qtbot: Any, page: PolicyPage, name: str) -> None:
    row = page.rule_row_of(name)
    assert row >= 0, f"rule {name!r} not in {column_texts(page.rules_table, 1)}"
    click_row(qtbot, page.rules_table, row)
    assert page.rule_name_edit.text() == name


def preview(page: PolicyPage) -> str:
    """The selected rule in words, as its row of the table says it."""
    item = page.rules_table.item(page.rules_table.currentRow(), 2)
    assert item is not None
    return item.text()


def save_policy(qtbot: Any, main_window: Any, page: PolicyPage) -> None:
    click_button(qtbot, page, SAVE)
    wait_for_tasks(qtbot, main_window)


# --- the policy editor ------------------------------------------------------------------------------


def test_a_changed_resolution_time_is_saved_and_moves_open_deadlines(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    reported = NOW - dt.timedelta(minutes=10)
    ticket = make_ticket(ui_ctx, "常州市财政局", reported)
    assert target_of(ui_ctx, ticket, TargetKind.RESOLUTION).due == reported + dt.timedelta(minutes=60)
    announced: list[OpChanges] = []
    main_window.taskman.operation_did_execute.connect(announced.append)

    page = policy_page
    assert page.site_combo.currentText() == "常州市财政局"
    assert page.name_edit.text() == "常州市财政局运维服务"
    assert column_texts(page.rules_table, 1) == ["重大故障", "一般故障"]
    assert column_texts(page.rules_table, 2) == [
        "严重程度：重大 → 30分钟内响应，2小时内解决",
        "严重程度：一般 → 30分钟内响应，1小时内解决",
    ]
    select_rule(qtbot, page, "一般故障")
    minutes = page.target_rows[TargetKind.RESOLUTION].minutes
    assert minutes.value() == 60
    replace_text(qtbot, minutes.lineEdit(), "90")
    assert preview(page) == "严重程度：一般 → 30分钟内响应，1小时30分钟内解决"  # said as it is typed
    assert resolution_minutes(ui_ctx, "一般故障") == 60  # nothing saved while typing
    save_policy(qtbot, main_window, page)

    assert resolution_minutes(ui_ctx, "一般故障") == 90
    assert resolution_minutes(ui_ctx, "重大故障") == 120
    assert target_of(ui_ctx, ticket, TargetKind.RESOLUTION).due == reported + dt.timedelta(minutes=90)
    assert OpChanges(tickets=True) in announced
    assert page.status_label.text() == "已保存。未结工单的截止时间已按新规则重新计算。"
    assert page.target_rows[TargetKind.RESOLUTION].minutes.value() == 90  # read back after the save
    assert page.rule_name_edit.text() == "一般故障"  # the same rule stays selected
    assert not page.save_button.isEnabled()


def test_zhanjiang_rules_read_in_words(qtbot: Any, policy_page: PolicyPage) -> None:
    page = policy_page
    pick(qtbot, page.site_combo, "湛江市财政局")
    assert page.name_edit.text() == "湛江市财政局运维服务"
    assert column_texts(page.rules_table, 2) == [
        "法定节假日报修 → 响应时间按约定，确定需上门后8小时内到达现场",
        "工作时间内报修 → 1小时内响应，确定需上门后8小时内到达现场",
        "工作时间外报修 → 3小时内响应，确定需上门后8小时内到达现场",
    ]
    select_rule(qtbot, page, "法定节假日报修")
    response = page.target_rows[TargetKind.RESPONSE]
    assert response.agreement.isChecked() and not response.minutes.isEnabled()
    assert not page.target_rows[TargetKind.RESOLUTION].enabled.isChecked()
    assert page.hours_edit.text() == "08:00-18:00"
    assert not page.callback_check.isChecked()


def test_zero_minutes_is_refused_with_the_models_problem_and_nothing_is_saved(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    page = policy_page
    select_rule(qtbot, page, "一般故障")
    replace_text(qtbot, page.target_rows[TargetKind.RESOLUTION].minutes.lineEdit(), "0")
    save_policy(qtbot, main_window, page)

    assert page.problems_label.isVisible()
    assert page.problems_label.text() == (
        "规则尚不能保存：\n• 第 2 条规则的第 2 项时限：“minutes”必须是 1 到 527040 之间的整数。"
    )
    assert page.tabs.tabText(0) == "规则（有问题）"
    assert page.tabs.tabText(1) == "工作时间、严重程度与预警"
    assert page.rules_table.item(1, 1).background().color().name() == "#fbe3e2"  # type: ignore[union-attr]
    assert page.rules_table.item(0, 1).background().style() == Qt.BrushStyle.NoBrush  # type: ignore[union-attr]
    assert page.target_rows[TargetKind.RESOLUTION].minutes.value() == 0  # what was typed stays
    assert resolution_minutes(ui_ctx, "一般故障") == 60

    # fixing it clears the problem at once
    replace_text(qtbot, page.target_rows[TargetKind.RESOLUTION].minutes.lineEdit(), "45")
    assert not page.problems_label.isVisible()
    assert page.tabs.tabText(0) == "规则"
    save_policy(qtbot, main_window, page)
    assert resolution_minutes(ui_ctx, "一般故障") == 45


def test_an_empty_severity_name_is_refused_and_nothing_is_saved(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    page = policy_page
    page.tabs.setCurrentIndex(1)
    assert column_texts(page.severity_table, 0) == ["general", "major"]
    assert column_texts(page.severity_table, 1) == ["一般", "重大"]
    edit_cell(qtbot, page.severity_table, 0, 1, "")
    page.tabs.setCurrentIndex(0)
    assert page.rules_table.item(1, 2).text().startswith("严重程度：general → ")  # type: ignore[union-attr]
    save_policy(qtbot, main_window, page)

    assert page.problems_label.text().splitlines() == [
        "规则尚不能保存：",
        "• 第 1 个严重程度：“name”必须是非空文本。",
        "• 第 2 条规则：严重程度“general”不在本规则的严重程度列表中。",  # the model's follow-on problem
    ]
    assert page.tabs.currentIndex() == 1  # shown where the problem is
    assert page.tabs.tabText(1) == "工作时间、严重程度与预警（有问题）"
    assert page.severity_table.item(0, 1).text() == ""  # type: ignore[union-attr]
    assert site_policy(ui_ctx, "常州市财政局").severity_name("general") == "一般"

    edit_cell(qtbot, page.severity_table, 0, 1, "普通")
    save_policy(qtbot, main_window, page)
    assert not page.problems_label.isVisible()
    assert site_policy(ui_ctx, "常州市财政局").severity_name("general") == "普通"


def test_bad_working_hours_are_refused(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    page = policy_page
    page.tabs.setCurrentIndex(1)
    replace_text(qtbot, page.hours_edit, "08:00-12:00, 13:30-25:00")
    save_policy(qtbot, main_window, page)
    assert "工作时间：“13:30-25:00”不是有效的时段" in page.problems_label.text()
    assert page.hours_edit.text() == "08:00-12:00, 13:30-25:00"

    replace_text(qtbot, page.hours_edit, "08:00-12:00, 13:30-18:00")
    save_policy(qtbot, main_window, page)
    assert site_policy(ui_ctx, "常州市财政局").working_hours.texts() == ["08:00-12:00", "13:30-18:00"]


def test_a_new_rule_moved_to_the_top_wins(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    page = policy_page
    select_rule(qtbot, page, "一般故障")
    click_button(qtbot, page, "添加规则(&A)")
    assert column_texts(page.rules_table, 1) == ["重大故障", "一般故障", "新规则"]
    replace_text(qtbot, page.rule_name_edit, "投诉")
    page.category_checks["投诉"].click()
    replace_text(qtbot, page.target_rows[TargetKind.RESPONSE].minutes.lineEdit(), "15")
    assert preview(page) == "问题分类：投诉 → 15分钟内响应"
    click_button(qtbot, page, "上移(&U)")
    click_button(qtbot, page, "上移(&U)")
    assert column_texts(page.rules_table, 1) == ["投诉", "重大故障", "一般故障"]
    assert not page.up_button.isEnabled()
    save_policy(qtbot, main_window, page)

    policy = site_policy(ui_ctx, "常州市财政局")
    assert [r.name for r in policy.rules] == ["投诉", "重大故障", "一般故障"]
    assert policy.rules[0].categories == frozenset({"投诉"})

    select_rule(qtbot, page, "投诉")
    click_button(qtbot, page, "删除(&M)")
    save_policy(qtbot, main_window, page)
    assert [r.name for r in site_policy(ui_ctx, "常州市财政局").rules] == ["重大故障", "一般故障"]


def test_restore_contract_defaults_after_a_confirmation(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage, dialog_recorder: Any
) -> None:
    page = policy_page
    select_rule(qtbot, page, "一般故障")
    replace_text(qtbot, page.target_rows[TargetKind.RESOLUTION].minutes.lineEdit(), "90")
    save_policy(qtbot, main_window, page)
    assert resolution_minutes(ui_ctx, "一般故障") == 90

    dialog_recorder.answer = False
    click_button(qtbot, page, RESTORE)
    wait_for_tasks(qtbot, main_window)
    assert dialog_recorder.questions == [
        "将 常州市财政局 的服务时限恢复为合同默认值？对其规则所做的所有修改都将被替换，"
        "该站点未结工单的截止时间将重新计算。"
    ]
    assert resolution_minutes(ui_ctx, "一般故障") == 90

    dialog_recorder.answer = True
    click_button(qtbot, page, RESTORE)
    wait_for_tasks(qtbot, main_window)
    assert resolution_minutes(ui_ctx, "一般故障") == 60
    assert page.status_label.text() == "已恢复为合同默认的服务时限。"
    assert page.target_rows[TargetKind.RESOLUTION].minutes.value() == 60


def test_switching_site_with_unsaved_changes_asks_first(
    qtbot: Any, main_window: Any, policy_page: PolicyPage, dialog_recorder: Any
) -> None:
    page = policy_page
    replace_text(qtbot, page.name_edit, "常州运维")
    assert page.is_dirty() and page.save_button.isEnabled()
    dialog_recorder.answer = False
    page.site_combo.setFocus()
    qtbot.keyClick(page.site_combo, Qt.Key.Key_Down)
    assert dialog_recorder.questions == ["放弃对 常州市财政局 服务时限规则的修改？"]
    assert page.site_combo.currentText() == "常州市财政局"
    assert page.name_edit.text() == "常州运维"  # kept

    dialog_recorder.answer = True
    pick(qtbot, page.site_combo, "湛江市财政局")
    assert page.name_edit.text() == "湛江市财政局运维服务"
    assert not page.is_dirty()


def test_a_site_without_a_policy_gets_one_when_saved(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, settings_dialog: SettingsDialog
) -> None:
    with ui_ctx.uow() as uow:
        maoming = reference.add_site(uow, "茂名市财政局", "0668").id
    page = settings_dialog.policy_page
    page.load(maoming)
    wait_for_tasks(qtbot, main_window)
    settings_dialog.page_list.setCurrentRow(3)
    assert page.site_combo.currentText() == "茂名市财政局"
    assert page.state_note.isVisible()
    assert page.state_note.text().startswith("该站点还没有服务时限规则")
    assert page.name_edit.text() == "茂名市财政局运维服务"
    assert column_texts(page.rules_table, 2) == ["所有报修 → 1小时内响应"]
    assert not page.restore_button.isEnabled()  # no contract ships for it
    save_policy(qtbot, main_window, page)

    with ui_ctx.db.session() as session:
        assert sla_config.site_policy_id(session, maoming) is not None
    assert not page.state_note.isVisible()
    assert page.status_label.text() == "已保存。未结工单的截止时间已按新规则重新计算。"


def test_a_retired_policy_says_so_and_can_be_used_again(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, policy_page: PolicyPage
) -> None:
    zhanjiang = site_id(ui_ctx, "湛江市财政局")
    with ui_ctx.db.session() as session:
        policy_id = sla_config.site_policy_id(session, zhanjiang)
    assert policy_id is not None
    with ui_ctx.uow() as uow:
        sla_config.set_policy_active(uow, policy_id, False)
    page = policy_page
    page.load(zhanjiang)
    wait_for_tasks(qtbot, main_window)
    assert page.state_note.text() == "此规则已停用：该站点的新工单不会使用它。"
    click_button(qtbot, page, "重新启用")
    wait_for_tasks(qtbot, main_window)
    with ui_ctx.db.session() as session:
        assert sla_config.site_policy_id(session, zhanjiang) == policy_id
    assert not page.state_note.isVisible()


def test_ok_saves_a_pending_edit_and_refuses_a_bad_one(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, settings_dialog: SettingsDialog, policy_page: PolicyPage
) -> None:
    page = policy_page
    select_rule(qtbot, page, "重大故障")
    replace_text(qtbot, page.target_rows[TargetKind.RESOLUTION].minutes.lineEdit(), "0")
    settings_dialog.page_list.setCurrentRow(0)
    click_button(qtbot, settings_dialog, "确定")
    assert settings_dialog.isVisible()
    assert settings_dialog.stack.currentWidget() is page  # brought back to the problem
    assert "第 1 条规则的第 2 项时限" in page.problems_label.text()

    replace_text(qtbot, page.target_rows[TargetKind.RESOLUTION].minutes.lineEdit(), "150")
    click_button(qtbot, settings_dialog, "确定")
    assert not settings_dialog.isVisible()
    wait_for_tasks(qtbot, main_window)
    assert resolution_minutes(ui_ctx, "重大故障") == 150


# --- the working-day calendar -----------------------------------------------------------------------


def special_rows(page: CalendarPage) -> list[tuple[str, ...]]:
    table = page.days_table
    return [
        tuple(table.item(row, column).text() for column in range(table.columnCount()))  # type: ignore[union-attr]
        for row in range(table.rowCount())
    ]


def day_kind(ctx: AppContext, day: dt.date) -> DayKind:
    with ctx.db.session() as session:
        return sla_config.build_calendar(session).day_kind(day)


def test_a_weekday_marked_as_holiday_makes_zhanjiang_response_by_agreement(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, calendar_page: CalendarPage
) -> None:
    ticket = make_ticket(ui_ctx, "湛江市财政局", NOW)
    assert target_of(ui_ctx, ticket, TargetKind.RESPONSE).due == NOW + dt.timedelta(hours=1)
    page = calendar_page
    assert page.year_spin.value() == 2026
    assert page.status_label.text() == "已发布（随程序附带）"
    assert not page.confirm_button.isEnabled()  # nothing to confirm
    assert ("2026-10-01 周四", "法定节假日", "国庆节", "随程序附带") in special_rows(page)
    assert page.selected_day() == NOW.date()  # today
    assert page.day_label.text() == "2026-12-02（周三）：工作日"

    pick(qtbot, page.kind_combo, "节假日（放假，可填名称）")
    type_text(qtbot, page.name_edit, "市政府临时休假")
    click_button(qtbot, page, "设定(&S)")
    wait_for_tasks(qtbot, main_window)

    assert ("2026-12-02 周三", "法定节假日", "市政府临时休假", "主管设置") in special_rows(page)
    assert page.result_label.text() == "已保存：2026-12-02 为节假日（市政府临时休假）。"
    assert day_kind(ui_ctx, NOW.date()) is DayKind.HOLIDAY
    response = target_of(ui_ctx, ticket, TargetKind.RESPONSE)
    assert response.mode is DeadlineMode.BY_AGREEMENT and response.due is None

    click_button(qtbot, page, "清除设置(&L)")
    wait_for_tasks(qtbot, main_window)
    assert not any(row[0] == "2026-12-02 周三" for row in special_rows(page))
    assert day_kind(ui_ctx, NOW.date()) is DayKind.WORKDAY
    assert target_of(ui_ctx, ticket, TargetKind.RESPONSE).due == NOW + dt.timedelta(hours=1)


def test_picking_a_listed_day_shows_it_in_the_month_grid(qtbot: Any, calendar_page: CalendarPage) -> None:
    page = calendar_page
    row = next(r for r, cells in enumerate(special_rows(page)) if cells[0] == "2026-02-17 周二")
    click_row(qtbot, page.days_table, row)
    assert page.selected_day() == dt.date(2026, 2, 17)
    assert page.day_label.text() == "2026-02-17（周二）：法定节假日 —— 春节（随程序附带）"
    assert page.kind_combo.currentText() == "工作日（周末即为调休上班）"  # what would change the day
    assert not page.clear_button.isEnabled()  # nothing was set for it


def test_a_saturday_can_be_made_a_working_day(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, calendar_page: CalendarPage
) -> None:
    page = calendar_page
    saturday = dt.date(2026, 12, 5)
    page.select_day(saturday)
    assert page.kind_combo.currentText() == "工作日（周末即为调休上班）"  # what would change the day
    assert not page.name_edit.isEnabled()
    click_button(qtbot, page, "设定(&S)")
    wait_for_tasks(qtbot, main_window)
    assert ("2026-12-05 周六", "调休上班日", "", "主管设置") in special_rows(page)
    assert day_kind(ui_ctx, saturday) is DayKind.ADJUSTED_WORKDAY


def test_an_unconfirmed_year_says_so_and_confirming_keeps_the_listed_dates(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, calendar_page: CalendarPage, dialog_recorder: Any
) -> None:
    page = calendar_page
    replace_text(qtbot, page.year_spin.lineEdit(), "2027")
    wait_for_tasks(qtbot, main_window)
    qtbot.waitUntil(lambda: page.view is not None and page.view.year == 2027, timeout=5000)
    assert page.status_label.text() == "未确认"
    assert "#c9302c" in page.status_label.styleSheet()
    assert "截止时间可能不准确" in page.status_note.text()
    assert ("2027-10-01 周五", "法定节假日", "国庆节", "程序估算（未确认）") in special_rows(page)
    estimated = len(special_rows(page))

    click_button(qtbot, page, "确认本年度(&C)…")
    wait_for_tasks(qtbot, main_window)
    assert dialog_recorder.questions[0].startswith("确认 2027 年的列表与国务院通知一致？")
    assert f"列表中有 {estimated} 个日期为程序估算" in dialog_recorder.questions[0]
    assert page.status_label.text() == "主管已确认"
    assert page.result_label.text() == "2027 年已确认。"
    with ui_ctx.db.session() as session:
        assert sla_config.year_status(session, 2027) is YearStatus.CONFIRMED
    assert day_kind(ui_ctx, dt.date(2027, 10, 1)) is DayKind.HOLIDAY  # the estimate was kept
    assert ("2027-10-01 周五", "法定节假日", "国庆节", "主管设置") in special_rows(page)

    click_button(qtbot, page, "撤销确认(&C)…")
    wait_for_tasks(qtbot, main_window)
    assert page.status_label.text() == "未确认"


def choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *_a, **_k: (str(path), "")))


def test_a_bad_notice_lists_its_lines_and_imports_nothing_then_a_good_one_imports(
    qtbot: Any,
    main_window: Any,
    ui_ctx: AppContext,
    calendar_page: CalendarPage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = calendar_page
    replace_text(qtbot, page.year_spin.lineEdit(), "2027")
    qtbot.waitUntil(lambda: page.view is not None and page.view.year == 2027, timeout=5000)

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "日期,类型,名称\n2027-10-01,休,国庆节\n2027-10-32,休,国庆节\n2027-10-08,班\n", encoding="utf-8"
    )
    choose_file(monkeypatch, bad)
    click_button(qtbot, page, "导入国务院通知(&I)…")
    wait_for_tasks(qtbot, main_window)
    assert page.result_label.isVisible()
    assert page.result_label.text() == (
        "无法导入该节假日通知，未做任何修改。\n"
        "• 第 3 行：“2027-10-32”不是日期，请按 2027-10-01 的格式填写。\n"
        "• 第 4 行：2027-10-08 是周五，本来就是工作日；只有周六或周日才能设为调休上班。"
    )
    with ui_ctx.db.session() as session:
        assert sla_config.calendar_days(session, 2027) == []
        assert sla_config.year_status(session, 2027) is YearStatus.UNCONFIRMED
    assert page.status_label.text() == "未确认"

    good = tmp_path / "国务院通知2027.csv"
    lines = ["日期,类型,名称", "2027-10-01,休,国庆节", "2027-10-02,休,国庆节", "2027-10-09,班,国庆节"]
    good.write_bytes("\r\n".join(lines).encode("gbk"))  # as Excel saves it on a Chinese desktop
    choose_file(monkeypatch, good)
    click_button(qtbot, page, "导入国务院通知(&I)…")
    wait_for_tasks(qtbot, main_window)
    assert page.result_label.text() == "已从 国务院通知2027.csv 导入 3 个日期，2027 年已确认。"
    assert page.status_label.text() == "主管已确认"
    assert ("2027-10-09 周六", "调休上班日", "", "主管设置") in special_rows(page)
    assert day_kind(ui_ctx, dt.date(2027, 10, 9)) is DayKind.ADJUSTED_WORKDAY
    assert day_kind(ui_ctx, dt.date(2027, 5, 3)) is DayKind.WORKDAY  # the estimate no longer counts


def test_an_unreadable_notice_file_is_said_plainly(
    qtbot: Any, main_window: Any, calendar_page: CalendarPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    choose_file(monkeypatch, tmp_path / "missing.csv")
    click_button(qtbot, calendar_page, "导入国务院通知(&I)…")
    wait_for_tasks(qtbot, main_window)
    assert calendar_page.result_label.text() == "无法读取文件 missing.csv：No such file or directory"


# --- screenshots ------------------------------------------------------------------------------------


def test_screenshots_of_both_pages(
    qtbot: Any,
    main_window: Any,
    settings_dialog: SettingsDialog,
    policy_page: PolicyPage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings_dialog.resize(860, 560)
    select_rule(qtbot, policy_page, "一般故障")
    shot(settings_dialog, "policy_changzhou")
    pick(qtbot, policy_page.site_combo, "湛江市财政局")
    select_rule(qtbot, policy_page, "工作时间内报修")
    shot(settings_dialog, "policy_zhanjiang")
    replace_text(qtbot, policy_page.target_rows[TargetKind.RESPONSE].minutes.lineEdit(), "0")
    save_policy(qtbot, main_window, policy_page)
    shot(settings_dialog, "policy_problem")
    policy_page.tabs.setCurrentIndex(1)
    shot(settings_dialog, "policy_general")
    click_button(qtbot, policy_page, "放弃修改(&D)")

    settings_dialog.page_list.setCurrentRow(4)
    page = settings_dialog.calendar_page
    qtbot.waitUntil(lambda: page.view is not None, timeout=5000)
    page.select_day(dt.date(2026, 10, 1))
    shot(settings_dialog, "calendar_2026")
    replace_text(qtbot, page.year_spin.lineEdit(), "2027")
    qtbot.waitUntil(lambda: page.view is not None and page.view.year == 2027, timeout=5000)
    shot(settings_dialog, "calendar_2027")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(f"2027-13-{day:02d},休,国庆节" for day in range(1, 21)), encoding="utf-8")
    choose_file(monkeypatch, bad)
    click_button(qtbot, page, "导入国务院通知(&I)…")
    wait_for_tasks(qtbot, main_window)
    shot(settings_dialog, "calendar_import_problems")


@pytest.fixture
def engineer_desktop(ui_ctx: AppContext) -> None:
    """The shared server said this desktop's login is not a supervisor's (as ``hello`` does)."""
    from app.sync import local

    with ui_ctx.uow() as uow:
        local.write_meta(uow.session, local.SUPERVISOR, "0")
        uow.commit()


def test_an_engineer_reads_the_rules_and_the_calendar_but_cannot_change_them(
    qtbot: Any, engineer_desktop: None, policy_page: PolicyPage, settings_dialog: SettingsDialog
) -> None:
    assert policy_page.role_note.isVisible()
    assert policy_page.role_note.text().startswith("只有主管可以修改服务时限规则和工作日历")
    assert policy_page.rules_table.rowCount() > 0  # the rules are there to read
    assert not policy_page.save_button.isEnabled() and not policy_page.restore_button.isEnabled()
    assert not policy_page.rule_name_edit.isEnabled() and not policy_page.add_rule_button.isEnabled()
    select_rule(qtbot, policy_page, "一般故障")  # another rule can still be picked and read
    assert policy_page.rule_name_edit.text() == "一般故障"
    assert not policy_page.rule_name_edit.isEnabled()
    shot(settings_dialog, "policy_read_only")

    settings_dialog.page_list.setCurrentRow(4)
    calendar = settings_dialog.calendar_page
    qtbot.waitUntil(lambda: calendar.view is not None, timeout=5000)
    assert calendar.role_note.isVisible()
    assert not calendar.set_button.isEnabled() and not calendar.import_button.isEnabled()
    assert not calendar.kind_combo.isEnabled()
    assert calendar.year_spin.isEnabled()  # other years can still be looked at
