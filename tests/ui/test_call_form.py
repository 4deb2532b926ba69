"""The new-call form (来电登记): recognising the caller, saving with one keystroke, never losing text."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import select

from app.context import AppContext
from app.drafts import Draft
from app.errors import StorageError, StorageProblem
from app.ids import uuid7
from app.services import calls, directory, reference
from app.storage.models import Call, Contact, ContactPhone, Organisation
from tests.helpers.qt_input import pick, type_text
from tests.helpers.qt_windows import wait_for_tasks
from ui.calls.form import CallForm, parse_duration
from ui.calls.list_model import COLUMN_INDEX

CTRL = Qt.KeyboardModifier.ControlModifier


@dataclass(frozen=True)
class Ref:
    zhanjiang: str
    changzhou: str
    system: str  # Zhanjiang's 财政票据管理系统
    module: str  # its 库存管理
    consult: str  # 咨询
    fault: str  # 故障报修


@pytest.fixture
def ref(ui_ctx: AppContext) -> Ref:
    with ui_ctx.db.session() as session:
        sites = {s.code: s.id for s in reference.list_sites(session)}
        system = reference.list_systems(session, sites["zhanjiang"])[0]
        module = next(m for m in reference.list_modules(session, system.id) if m.name == "库存管理")
        categories = {c.name: c.id for c in reference.list_categories(session)}
    return Ref(
        sites["zhanjiang"],
        sites["changzhou"],
        system.id,
        module.id,
        categories["咨询"],
        categories["故障报修"],
    )


@pytest.fixture(autouse=True)
def close_leftover_forms(main_window: Any) -> Iterator[None]:
    """Forms a test built directly (not through Ctrl+N) are closed too, so no hook outlives its test."""
    yield
    main_window.taskman.wait_for_idle(10_000)
    for form in main_window.findChildren(CallForm):
        if not form.is_closed:
            form.done(QDialog.DialogCode.Rejected)


@pytest.fixture
def fast_drafts(ui_ctx: AppContext) -> None:
    ui_ctx.settings["draft_autosave_ms"] = 100


# --- helpers --------------------------------------------------------------------------------------


def select_site(main_window: Any, name: str) -> None:
    combo = main_window.site_combo
    combo.setCurrentIndex(combo.findText(name))
    assert main_window.site_combo.currentText() == name


def open_form_with_ctrl_n(qtbot: Any, main_window: Any) -> CallForm:
    qtbot.keyClick(main_window, Qt.Key.Key_N, CTRL)
    qtbot.waitUntil(lambda: main_window.call_form is not None and main_window.call_form.isVisible())
    form = main_window.call_form
    assert isinstance(form, CallForm)
    wait_active(qtbot, form)
    return form


def new_form(qtbot: Any, main_window: Any, draft: Draft | None = None) -> CallForm:
    form = CallForm(main_window, draft=draft)
    form.show()
    wait_active(qtbot, form)
    return form


def wait_active(qtbot: Any, form: CallForm) -> None:
    """The form comes up as the active window (activation is asynchronous), so its shortcuts work."""
    qtbot.waitUntil(lambda: QApplication.activeWindow() is form, timeout=5000)


def save_with_ctrl_s(qtbot: Any, form: CallForm) -> None:
    qtbot.keyClick(form.question_edit, Qt.Key.Key_S, CTRL)


def wait_saved(qtbot: Any, form: CallForm) -> None:
    qtbot.waitUntil(lambda: form.is_closed, timeout=5000)


def saved_calls(ctx: AppContext) -> list[Call]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Call).order_by(Call.key)))


def draft_on_disk(ctx: AppContext) -> dict[str, Any] | None:
    path = ctx.drafts.path
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def add_contact(ctx: AppContext, name: str, unit: str, site_id: str, *numbers: str) -> tuple[str, str]:
    with ctx.uow() as uow:
        org_id = directory.save_organisation(uow, directory.OrganisationInput(unit, site_id=site_id)).id
    with ctx.uow() as uow:
        contact = directory.save_contact(
            uow,
            directory.ContactInput(
                name=name,
                org_id=org_id,
                title="会计",
                phones=[directory.PhoneEntry(n, "办公室") for n in numbers],
            ),
            area_code="0759",
        )
        return contact.id, org_id


def record_earlier_call(ctx: AppContext, ref: Ref, contact_id: str, phone: str, question: str) -> str:
    with ctx.uow() as uow:
        return calls.record_call(
            uow,
            calls.CallInput(
                site_id=ref.zhanjiang,
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
                engineer="李工",
                caller_phone=phone,
                contact_id=contact_id,
                system_id=ref.system,
                module_id=ref.module,
                category_id=ref.consult,
                question=question,
                answer="已告知操作步骤",
            ),
        ).id


def list_shows_call(main_window: Any, call_id: str, question: str) -> bool:
    """The call list page (its Qt model) has a row for this call showing its question."""
    model = main_window.calls_page.model
    column = COLUMN_INDEX["question"]
    for row in range(model.rowCount()):
        if model.call_id_at(row) == call_id:
            return question in str(model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole))
    return False


# --- the flow -----------------------------------------------------------------------------


def test_known_caller_is_recognised_and_the_call_saved_with_ctrl_s(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref
) -> None:
    contact_id, org_id = add_contact(ui_ctx, "李红", "湛江市第一中学", ref.zhanjiang, "0759-2221234")
    record_earlier_call(ui_ctx, ref, contact_id, "0759-2221234", "库存管理里看不到上月的入库记录")
    select_site(main_window, "湛江市财政局")

    form = open_form_with_ctrl_n(qtbot, main_window)
    assert form.windowTitle() == "来电登记 — 湛江市财政局"
    assert form.focusWidget() is form.phone.edit
    type_text(qtbot, form.phone.edit, "2221234")
    assert form.phone.hint.text() == "0759-222 1234 · 广东省湛江市"

    panel = form.panel
    qtbot.waitUntil(lambda: "李红" in panel.contact_label.text(), timeout=5000)
    assert "湛江市第一中学" in panel.contact_label.text()
    assert panel.history_rows() == 1
    earlier = panel.history.topLevelItem(0)
    assert earlier.text(1) == "库存管理"  # the module; system / module is in the tooltip
    assert earlier.toolTip(1) == "财政票据管理系统 / 库存管理"
    assert earlier.text(2) == "库存管理里看不到上月的入库记录"
    assert earlier.text(3) == "当场解答"
    assert form.name_edit.text() == "李红"  # filled in because it was empty
    assert form.unit_combo.currentText() == "湛江市第一中学"

    type_text(qtbot, form.question_edit, "打印票据时提示模板不存在")
    pick(qtbot, form.category_combo, "故障报修")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)

    assert main_window.call_form is None
    [call] = [c for c in saved_calls(ui_ctx) if c.question == "打印票据时提示模板不存在"]
    assert call.contact_id == contact_id
    assert call.org_id == org_id
    assert call.site_id == ref.zhanjiang
    assert call.caller_phone == "2221234"
    assert call.caller_name == "李红"
    assert call.unit_name == "湛江市第一中学"
    assert call.system_id == ref.system  # the site's only system is chosen for the engineer
    assert call.category_id == ref.fault
    assert call.engineer == "张工"
    assert call.id == form.call_id
    assert draft_on_disk(ui_ctx) is None
    assert main_window.statusBar().currentMessage() == "来电记录已保存"
    qtbot.waitUntil(lambda: list_shows_call(main_window, call.id, "打印票据时提示模板不存在"), timeout=5000)


def test_history_double_click_opens_the_earlier_call(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact_id, _org = add_contact(ui_ctx, "李红", "湛江市第一中学", ref.zhanjiang, "0759-2221234")
    earlier_id = record_earlier_call(ui_ctx, ref, contact_id, "0759-2221234", "年度结转后指标余额不对")
    select_site(main_window, "湛江市财政局")
    opened: list[str] = []
    monkeypatch.setattr(main_window, "open_call", opened.append)
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "0759 222 1234")
    qtbot.waitUntil(lambda: form.panel.history_rows() == 1, timeout=5000)
    tree = form.panel.history
    rect = tree.visualItemRect(tree.topLevelItem(0))
    # a real double-click starts with a click (QTest's double-click alone has no press before it)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == [earlier_id]
    qtbot.keyClick(tree, Qt.Key.Key_Return)  # Enter on the row opens it too
    assert opened == [earlier_id, earlier_id]


def test_enter_moves_on_and_ctrl_enter_saves(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref
) -> None:
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "13912345678")
    assert form.phone.hint.text() == "139 1234 5678 · 手机 · 江苏省常州市"
    qtbot.keyClick(form.phone.edit, Qt.Key.Key_Return)
    assert form.focusWidget() is form.name_edit  # Enter does not save half a call
    assert saved_calls(ui_ctx) == []
    # Tab walks the form top to bottom, skipping what is disabled: the module (no system chosen yet)
    # and the transfer field (the call was not transferred)
    order = [form.unit_combo, form.system_combo, form.category_combo, form.question_edit]
    order += [form.answer_edit, form.outcome_buttons["answered"], form.duration_edit, form.save_button]
    for expected in order:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert form.focusWidget() is expected
    form.name_edit.setFocus()
    type_text(qtbot, form.name_edit, "周老师")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "工资审核退回后如何重新提交")
    qtbot.keyClick(form.question_edit, Qt.Key.Key_Return, CTRL)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert (call.caller_name, call.question, call.caller_key) == (
        "周老师",
        "工资审核退回后如何重新提交",
        "+8613912345678",
    )


# --- validation -----------------------------------------------------------------------------------


def test_missing_required_fields_are_flagged_inline_and_nothing_is_saved(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.answer_edit, "请先重启浏览器")
    form.outcome_buttons["transferred"].click()
    assert form.transferred_edit.isEnabled()
    save_with_ctrl_s(qtbot, form)

    qtbot.waitUntil(lambda: form.errors["question"].isVisible(), timeout=5000)
    wait_for_tasks(qtbot, main_window)
    assert form.errors["question"].text() == "请填写来电问题。"
    assert form.errors["category"].text() == "请选择问题分类。"
    assert form.errors["caller"].text() == "请填写来电号码或来电人姓名。"
    assert form.errors["transferred_to"].text() == "请填写转接对象。"
    assert not form.errors["answer"].isVisible()
    assert form.focusWidget() is form.phone.edit  # the first bad field
    assert form.isVisible() and not form.is_closed
    assert form.answer_edit.toPlainText() == "请先重启浏览器"
    assert saved_calls(ui_ctx) == []

    # correcting a field clears its message; saving then works
    type_text(qtbot, form.question_edit, "导出报表时提示超时")
    assert not form.errors["question"].isVisible()
    type_text(qtbot, form.name_edit, "陈主任")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.transferred_edit, "信息科王科长")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert (call.outcome, call.transferred_to, call.answer) == (
        "transferred",
        "信息科王科长",
        "请先重启浏览器",
    )


def test_a_duration_that_cannot_be_read_is_flagged(qtbot: Any, main_window: Any, ui_ctx: AppContext) -> None:
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.name_edit, "陈主任")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "问题")
    type_text(qtbot, form.duration_edit, "abc")
    save_with_ctrl_s(qtbot, form)
    assert form.errors["duration"].text() == "通话时长请按“分:秒”或分钟数填写。"
    assert form.focusWidget() is form.duration_edit
    form.duration_edit.clear()
    type_text(qtbot, form.duration_edit, "4:30")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    assert saved_calls(ui_ctx)[0].duration_s == 270


def test_parse_duration() -> None:
    assert parse_duration("") is None
    assert parse_duration("3:20") == 200
    assert parse_duration("1:02:03") == 3723
    assert parse_duration("５") == 300  # full-width digits from a Chinese input method
    assert parse_duration("2.5") == 150
    assert parse_duration("5分钟") == 300
    for bad in ("3:75", "abc", "1:2:3:4", "-5"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_unrecognised_number_is_flagged_but_saved_as_typed(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "0519-86x61234")
    assert form.phone.hint.text() == "号码格式无法识别，将按原样保存"
    assert "#c25e00" in form.phone.hint.styleSheet()  # orange, a warning
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "电子票据查验失败")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert call.caller_phone == "0519-86x61234"


# --- the caller -----------------------------------------------------------------------------------


def test_unknown_number_is_added_to_the_directory_and_the_call_linked(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref
) -> None:
    select_site(main_window, "湛江市财政局")
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "2225678")
    type_text(qtbot, form.name_edit, "王五")
    type_text(qtbot, form.unit_combo.lineEdit(), "湛江市新建单位")
    panel = form.panel
    qtbot.waitUntil(lambda: panel.add_button.isVisible(), timeout=5000)
    assert panel.status_label.text() == "通讯录中没有这个号码。"
    assert form.contact_id is None

    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    dialog = form.contact_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.name_edit.text() == "王五"
    assert dialog.unit_combo.currentText() == "湛江市新建单位"
    assert dialog.phone_edit(0).text() == "2225678"
    assert dialog.phone_hint(0).text() == "0759-222 5678 · 广东省湛江市"
    type_text(qtbot, dialog.title_edit, "出纳")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: form.contact_id is not None, timeout=5000)
    qtbot.waitUntil(lambda: "王五" in panel.contact_label.text(), timeout=5000)
    wait_active(qtbot, form)  # back in the form once the dialog is gone
    assert not panel.add_button.isVisible()
    contact_id = form.contact_id
    with ui_ctx.db.session() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None and contact.title == "出纳"
        org = session.get(Organisation, contact.org_id)
        assert org is not None and org.name == "湛江市新建单位" and org.site_id == ref.zhanjiang
        org_id = org.id
        [phone] = session.scalars(select(ContactPhone).where(ContactPhone.contact_id == contact_id)).all()
        assert phone.key == "+867592225678"

    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "新单位如何申领票据")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert (call.contact_id, call.org_id, call.unit_name) == (contact_id, org_id, "湛江市新建单位")


def test_several_contacts_with_one_number_let_the_engineer_pick(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref
) -> None:
    add_contact(ui_ctx, "刘一", "湛江市第二中学", ref.zhanjiang, "0759-3331234")
    second_id, second_org = add_contact(ui_ctx, "陈二", "湛江市第三中学", ref.zhanjiang, "0759-3331234")
    select_site(main_window, "湛江市财政局")
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "3331234")
    panel = form.panel
    qtbot.waitUntil(lambda: panel.choices.isVisible(), timeout=5000)
    assert panel.status_label.text() == "有 2 位联系人使用此号码，请选择来电人："
    assert form.contact_id is None and form.name_edit.text() == ""
    texts = [panel.choices.item(i).text() for i in range(panel.choices.count())]
    row = next(i for i, text in enumerate(texts) if text.startswith("陈二"))
    rect = panel.choices.visualItemRect(panel.choices.item(row))
    qtbot.mouseClick(panel.choices.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert form.contact_id == second_id
    assert form.name_edit.text() == "陈二"
    assert form.unit_combo.currentText() == "湛江市第三中学"
    assert "湛江市第三中学" in panel.contact_label.text()
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "票据核销")
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert (call.contact_id, call.org_id) == (second_id, second_org)


def test_changing_the_number_unlinks_the_earlier_caller(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref
) -> None:
    add_contact(ui_ctx, "李红", "湛江市第一中学", ref.zhanjiang, "0759-2221234")
    select_site(main_window, "湛江市财政局")
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "2221234")
    qtbot.waitUntil(lambda: form.contact_id is not None, timeout=5000)
    form.phone.edit.selectAll()
    type_text(qtbot, form.phone.edit, "2229999")
    assert form.contact_id is None
    qtbot.waitUntil(lambda: form.panel.add_button.isVisible(), timeout=5000)
    assert form.contact_id is None


# --- drafts ---------------------------------------------------------------------------------------


def test_draft_is_written_while_typing_and_restores_every_field(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, ref: Ref, fast_drafts: None
) -> None:
    select_site(main_window, "湛江市财政局")
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.phone.edit, "2221234")
    type_text(qtbot, form.name_edit, "赵六")
    type_text(qtbot, form.unit_combo.lineEdit(), "湛江市某单位")
    pick(qtbot, form.module_combo, "库存管理")
    pick(qtbot, form.category_combo, "故障报修")
    type_text(qtbot, form.question_edit, "库存数量与实际不符")
    type_text(qtbot, form.answer_edit, "已远程核对")
    form.outcome_buttons["transferred"].click()
    type_text(qtbot, form.transferred_edit, "王科长")
    type_text(qtbot, form.duration_edit, "3:20")
    qtbot.keyClick(form.question_edit, Qt.Key.Key_T, CTRL)  # stop the timer
    assert form.stop_timer_button.text() == "继续计时"

    qtbot.waitUntil(lambda: (draft_on_disk(ui_ctx) or {}).get("fields", {}).get("duration_text") == "3:20")
    on_disk = draft_on_disk(ui_ctx)
    assert on_disk is not None and on_disk["fields"]["question"] == "库存数量与实际不符"
    assert on_disk["call_id"] == form.call_id
    form.done(QDialog.DialogCode.Rejected)  # the app goes away (crash, power cut) with the draft on disk
    draft = ui_ctx.drafts.load()
    assert draft is not None

    restored = new_form(qtbot, main_window, draft=draft)
    assert restored.call_id == form.call_id
    assert restored.phone.text() == "2221234"
    assert restored.name_edit.text() == "赵六"
    assert restored.unit_combo.currentText() == "湛江市某单位"
    assert restored.system_combo.currentData() == ref.system
    assert restored.module_combo.currentText() == "库存管理"
    assert restored.category_combo.currentText() == "故障报修"
    assert restored.question_edit.toPlainText() == "库存数量与实际不符"
    assert restored.answer_edit.toPlainText() == "已远程核对"
    assert restored.outcome() == "transferred" and restored.transferred_edit.isEnabled()
    assert restored.transferred_edit.text() == "王科长"
    assert restored.duration_edit.text() == "3:20"
    assert restored.stop_timer_button.text() == "继续计时"

    save_with_ctrl_s(qtbot, restored)
    wait_saved(qtbot, restored)
    assert draft_on_disk(ui_ctx) is None
    [call] = saved_calls(ui_ctx)
    assert (call.id, call.duration_s, call.module_id) == (draft.call_id, 200, ref.module)

    # the same draft recovered twice cannot save the call twice
    again = new_form(qtbot, main_window, draft=draft)
    save_with_ctrl_s(qtbot, again)
    qtbot.waitUntil(lambda: again.general_error.isVisible(), timeout=5000)
    assert again.general_error.text() == "该来电记录已保存。"
    assert len(saved_calls(ui_ctx)) == 1


def test_storage_error_on_save_keeps_the_form_the_text_and_the_draft(
    qtbot: Any,
    main_window: Any,
    ui_ctx: AppContext,
    dialog_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageError(StorageProblem.DISK_FULL)

    real_record_call = calls.record_call
    monkeypatch.setattr(calls, "record_call", disk_full)
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.name_edit, "孙七")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "年度结转后指标余额不对")
    save_with_ctrl_s(qtbot, form)

    qtbot.waitUntil(lambda: bool(dialog_recorder.warnings), timeout=5000)
    assert dialog_recorder.warnings == [
        "磁盘空间已满，本次修改未能保存。已录入的内容仍然保留；请清理磁盘空间后重新保存。"
    ]
    assert form.isVisible() and not form.is_closed
    assert form.question_edit.toPlainText() == "年度结转后指标余额不对"
    assert form.save_button.isEnabled()
    on_disk = draft_on_disk(ui_ctx)
    assert on_disk is not None and on_disk["fields"]["question"] == "年度结转后指标余额不对"
    assert saved_calls(ui_ctx) == []

    monkeypatch.setattr(calls, "record_call", real_record_call)  # space was freed: save again
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    assert [c.question for c in saved_calls(ui_ctx)] == ["年度结转后指标余额不对"]
    assert draft_on_disk(ui_ctx) is None


@pytest.mark.allow_warnings  # the crash handler logs the bug it reports
def test_a_bug_during_save_writes_a_crash_report_and_keeps_the_draft(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, crash_reports: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(calls, "record_call", bug)
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.name_edit, "孙七")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "银行代发文件格式不正确")
    save_with_ctrl_s(qtbot, form)

    qtbot.waitUntil(lambda: crash_reports.last_report is not None, timeout=5000)
    assert crash_reports.last_report.exists()
    assert "a bug of ours" in crash_reports.last_report.read_text(encoding="utf-8")
    assert form.isVisible() and not form.is_closed
    assert form.question_edit.toPlainText() == "银行代发文件格式不正确"
    on_disk = draft_on_disk(ui_ctx)
    assert on_disk is not None and on_disk["fields"]["question"] == "银行代发文件格式不正确"


def test_esc_asks_before_discarding_and_keeps_the_draft_on_no(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, dialog_recorder: Any
) -> None:
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.question_edit, "没说完的问题")
    dialog_recorder.answer = False
    qtbot.keyClick(form.question_edit, Qt.Key.Key_Escape)
    assert dialog_recorder.questions == ["放弃这条来电登记吗？已录入的内容将会丢失。"]
    assert form.isVisible() and not form.is_closed
    on_disk = draft_on_disk(ui_ctx)
    assert on_disk is not None and on_disk["fields"]["question"] == "没说完的问题"

    dialog_recorder.answer = True
    qtbot.keyClick(form.question_edit, Qt.Key.Key_Escape)
    assert form.is_closed
    assert draft_on_disk(ui_ctx) is None
    assert saved_calls(ui_ctx) == []


def test_esc_on_an_empty_form_closes_without_asking(
    qtbot: Any, main_window: Any, dialog_recorder: Any
) -> None:
    form = open_form_with_ctrl_n(qtbot, main_window)
    qtbot.keyClick(form.phone.edit, Qt.Key.Key_Escape)
    assert form.is_closed and main_window.call_form is None
    assert dialog_recorder.questions == []


def test_ctrl_n_while_the_form_is_open_keeps_the_same_form(qtbot: Any, main_window: Any) -> None:
    form = open_form_with_ctrl_n(qtbot, main_window)
    type_text(qtbot, form.question_edit, "正在记录")
    qtbot.keyClick(main_window, Qt.Key.Key_N, CTRL)
    assert main_window.call_form is form
    assert form.question_edit.toPlainText() == "正在记录"


def test_a_pasted_one_megabyte_answer_is_saved(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, fast_drafts: None
) -> None:
    answer = ("处理步骤：清除缓存后重新登录。" * 70_000)[:350_000]  # ≈1 MB as UTF-8
    form = new_form(qtbot, main_window)
    type_text(qtbot, form.name_edit, "周老师")
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "长日志")
    QApplication.clipboard().setText(answer)
    form.answer_edit.setFocus()
    qtbot.keyClick(form.answer_edit, Qt.Key.Key_V, CTRL)
    assert len(form.answer_edit.toPlainText()) == len(answer)
    qtbot.waitUntil(
        lambda: len((draft_on_disk(ui_ctx) or {}).get("fields", {}).get("answer", "")) == len(answer)
    )
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert call.answer == answer


# --- the timer ------------------------------------------------------------------------------------


def test_timer_counts_from_the_drafts_start_and_fills_the_duration(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    draft = Draft(uuid7(), started, started, {"caller_name": "吴八"})
    form = new_form(qtbot, main_window, draft=draft)
    assert re.fullmatch(r"通话计时 00:03:\d\d", form.timer_label.text())
    qtbot.mouseClick(form.stop_timer_button, Qt.MouseButton.LeftButton)  # the call has ended
    assert form.stop_timer_button.text() == "继续计时"
    stopped_at = form.timer_label.text()
    pick(qtbot, form.category_combo, "咨询")
    type_text(qtbot, form.question_edit, "计时")
    assert form.timer_label.text() == stopped_at
    save_with_ctrl_s(qtbot, form)
    wait_saved(qtbot, form)
    [call] = saved_calls(ui_ctx)
    assert 180 <= call.duration_s < 240
    assert abs((call.started_at - started).total_seconds()) < 1
