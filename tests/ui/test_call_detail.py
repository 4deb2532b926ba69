"""The call detail dialog: the call in full, its history, and editing that keeps the old version."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from app.errors import StorageError, StorageProblem
from app.services import calls, reference
from tests.helpers.qt_input import replace_text, type_text
from tests.helpers.qt_windows import activate, shown_windows
from ui.calls.detail import CallDetailDialog
from ui.calls.list_model import COLUMN_INDEX

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_QUESTION = (
    "用票单位反映票据核销时提示“库存不足”。\n" + "核对库存明细后发现领用记录重复。" * 60 + "\n最后一行"
)
OLD_ANSWER = "请先在库存管理中冲销重复的领用记录，再重新核销。"


@pytest.fixture
def call_id(ui_ctx: AppContext) -> str:
    with ui_ctx.db.session() as session:
        site = reference.list_sites(session)[0]
        system = reference.list_systems(session, site.id)[1]
        module = reference.list_modules(session, system.id)[2]
        category = reference.list_categories(session)[1]
    with ui_ctx.uow() as uow:
        call = calls.record_call(
            uow,
            calls.CallInput(
                site_id=site.id,
                started_at=dt.datetime(2026, 11, 20, 9, 41, tzinfo=SHANGHAI),
                engineer="张工",
                caller_phone="0519-86661234",
                caller_name="王会计",
                unit_name="常州市第一中学",
                system_id=system.id,
                module_id=module.id,
                category_id=category.id,
                question=LONG_QUESTION,
                answer=OLD_ANSWER,
                duration_s=332,
            ),
        )
    return call.id


def open_detail(qtbot: Any, main_window: Any, call_id: str) -> CallDetailDialog:
    main_window.open_call(call_id)
    dialog = shown_windows(CallDetailDialog, parent=main_window)[0]
    activate(qtbot, dialog)
    return dialog


def save(qtbot: Any, dialog: CallDetailDialog) -> None:
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not dialog._saving, timeout=5000)


def revisions(ui_ctx: AppContext, call_id: str) -> list[dict[str, Any]]:
    with ui_ctx.db.session() as session:
        return [snapshot for _rev, snapshot in calls.call_revisions(session, call_id)]


def test_shows_the_call_in_full(qtbot: Any, call_id: str, main_window: Any) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    assert dialog.question_view.toPlainText() == LONG_QUESTION  # all of it, not the list's 500 characters
    assert dialog.answer_view.toPlainText() == OLD_ANSWER
    assert dialog.question_view.isReadOnly()
    values = {name: label.text() for name, label in dialog.value_labels.items()}
    assert values["started_at"] == "2026-11-20 09:41"
    assert values["caller_phone"] == "0519-86661234"
    assert values["caller_name"] == "王会计"
    assert values["unit"] == "常州市第一中学"
    assert values["site"] == "常州市财政局"
    assert values["system"] == "财政电子票据"
    assert values["module"] == "票据查验"
    assert values["category"] == "故障报修"
    assert values["outcome"] == "当场解答"
    assert values["duration"] == "05:32"
    assert values["engineer"] == "张工"
    assert values["revision"] == "第 1 版"
    assert (
        dialog.value_labels["caller_name"].textInteractionFlags()
        & Qt.TextInteractionFlag.TextSelectableByMouse
    )
    assert dialog.tabs.tabText(1) == "修改记录"
    assert "没有修改过" in dialog.history_view.toPlainText()
    assert "王会计" in dialog.windowTitle()


def test_editing_the_answer_keeps_the_old_version(
    qtbot: Any, call_id: str, main_window: Any, ui_ctx: AppContext
) -> None:
    page = main_window.calls_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not page.model.searching, timeout=5000)
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    assert dialog.editing
    assert dialog.question_edit.toPlainText() == LONG_QUESTION
    replace_text(qtbot, dialog.answer_edit, "请重新安装票据打印控件后再试。")
    save(qtbot, dialog)
    assert not dialog.editing
    assert dialog.answer_view.toPlainText() == "请重新安装票据打印控件后再试。"
    assert dialog.value_labels["revision"].text() == "第 2 版 · 已修改"
    assert dialog.tabs.tabText(1) == "修改记录（1）"
    history = dialog.history_view.toPlainText()
    assert OLD_ANSWER in history
    assert "请重新安装票据打印控件后再试。" in history
    assert "张工 修改（第 1 版 → 第 2 版）" in history
    assert (
        "答复" in history and "问题" not in history.replace("问题描述", "").split("答复")[0].split("）")[-1]
    )
    # the database kept the old answer, and the list marks the call as edited
    kept = revisions(ui_ctx, call_id)
    assert [r["answer"] for r in kept] == [OLD_ANSWER]
    qtbot.waitUntil(lambda: page.model.index(0, COLUMN_INDEX["revised"]).data() == "已修改", timeout=5000)
    dialog.close()


def test_changing_system_and_module_is_listed_readably(
    qtbot: Any, call_id: str, main_window: Any, ui_ctx: AppContext
) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    dialog.system_combo.setCurrentIndex(dialog.system_combo.findText("工资统发系统"))
    modules = [dialog.module_combo.itemText(i) for i in range(dialog.module_combo.count())]
    assert modules == ["（无）", "工资编制", "工资审核", "银行代发", "个税申报", "人员信息"]
    dialog.module_combo.setCurrentIndex(dialog.module_combo.findText("银行代发"))
    save(qtbot, dialog)
    assert not dialog.editing
    history = dialog.history_view.toPlainText()
    assert "财政电子票据" in history and "工资统发系统" in history
    assert "票据查验" in history and "银行代发" in history
    assert dialog.value_labels["system"].text() == "工资统发系统"


def test_a_missing_question_is_shown_next_to_the_field(
    qtbot: Any, call_id: str, main_window: Any, ui_ctx: AppContext, dialog_recorder: Any
) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    replace_text(qtbot, dialog.answer_edit, "新的答复")
    dialog.question_edit.setFocus()
    dialog.question_edit.selectAll()
    qtbot.keyClick(dialog.question_edit, Qt.Key.Key_Delete)
    save(qtbot, dialog)
    assert dialog.editing  # still editing, nothing lost
    error = dialog._error_labels["question"]
    assert error.isVisibleTo(dialog) and error.text() == "请填写来电问题。"
    assert "#d93025" in dialog.question_edit.styleSheet()
    assert dialog.answer_edit.toPlainText() == "新的答复"
    assert dialog_recorder.warnings == []
    assert revisions(ui_ctx, call_id) == []
    # fixing it clears the message and saves
    type_text(qtbot, dialog.question_edit, "打印时提示控件未安装")
    save(qtbot, dialog)
    assert not dialog.editing
    assert [r["question"] for r in revisions(ui_ctx, call_id)] == [LONG_QUESTION]


def test_transferred_needs_a_name(qtbot: Any, call_id: str, main_window: Any, ui_ctx: AppContext) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    assert not dialog.transferred_edit.isEnabled()
    dialog.outcome_combo.setCurrentIndex(dialog.outcome_combo.findText("已转接"))
    assert dialog.transferred_edit.isEnabled()
    save(qtbot, dialog)
    assert dialog.editing
    assert dialog._error_labels["transferred_to"].text() == "请填写转接对象。"
    assert "#d93025" in dialog.transferred_edit.styleSheet()
    replace_text(qtbot, dialog.transferred_edit, "票据科李科长")
    save(qtbot, dialog)
    assert not dialog.editing
    assert dialog.value_labels["outcome"].text() == "已转接 → 票据科李科长"


def test_a_storage_error_warns_and_keeps_the_text(
    qtbot: Any,
    call_id: str,
    main_window: Any,
    ui_ctx: AppContext,
    dialog_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def locked(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageError(StorageProblem.LOCKED)

    monkeypatch.setattr(calls, "edit_call", locked)
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    replace_text(qtbot, dialog.answer_edit, "这段答复不能丢")
    save(qtbot, dialog)
    assert dialog_recorder.warnings == [StorageError(StorageProblem.LOCKED).message]
    assert dialog.editing
    assert dialog.answer_edit.toPlainText() == "这段答复不能丢"
    assert dialog.save_button.isEnabled()


def test_saving_without_changes_makes_no_new_version(
    qtbot: Any, call_id: str, main_window: Any, ui_ctx: AppContext
) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.editing
    assert revisions(ui_ctx, call_id) == []


def test_escape_asks_before_dropping_edits(
    qtbot: Any, call_id: str, main_window: Any, dialog_recorder: Any
) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    replace_text(qtbot, dialog.answer_edit, "还没保存")
    dialog_recorder.answer = False
    qtbot.keyClick(dialog.answer_edit, Qt.Key.Key_Escape)
    assert dialog_recorder.questions == ["对这通来电的修改尚未保存，确定要关闭吗？"]
    assert dialog.isVisible() and dialog.answer_edit.toPlainText() == "还没保存"
    dialog_recorder.answer = True
    qtbot.keyClick(dialog.answer_edit, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_escape_closes_at_once_without_edits(
    qtbot: Any, call_id: str, main_window: Any, dialog_recorder: Any
) -> None:
    dialog = open_detail(qtbot, main_window, call_id)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert dialog_recorder.questions == []


def test_a_call_that_does_not_exist(qtbot: Any, main_window: Any) -> None:
    dialog = open_detail(qtbot, main_window, "no-such-call")
    assert dialog.title_label.text() == "该来电记录已不存在。"
    assert not dialog.edit_button.isEnabled()
    dialog.close()
