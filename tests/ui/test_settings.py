"""Settings (设置) and the first-run dialog, driven as a user would, over the real SQLite of ``ui_ctx``."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QTreeWidgetItem
from sqlalchemy import select

from app import i18n
from app.context import AppContext
from app.services import reference
from app.settings import Settings
from app.storage.models import OutboxOp, Site
from tests.helpers.qt_input import click_button, pick, replace_text, type_text
from tests.helpers.qt_windows import wait_for_tasks
from ui.settings.dialog import FirstRunDialog, SettingsDialog
from ui.settings.reference_editor import ReferenceEditor

# --- helpers ----------------------------------------------------------------------------------------


def site_id(ctx: AppContext, name: str) -> str:
    with ctx.db.session() as session:
        return next(s.id for s in reference.list_sites(session, include_inactive=True) if s.name == name)


def saved_settings(ctx: AppContext) -> Settings:
    """What is on disk, read afresh."""
    return Settings(ctx.paths.settings_file)


@pytest.fixture
def settings_dialog(qtbot: Any, main_window: Any) -> SettingsDialog:
    dialog = SettingsDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


@pytest.fixture
def editor(qtbot: Any, settings_dialog: SettingsDialog) -> ReferenceEditor:
    settings_dialog.page_list.setCurrentRow(1)
    assert settings_dialog.stack.currentWidget() is settings_dialog.reference_page
    return settings_dialog.reference_page


def select_tree(qtbot: Any, editor: ReferenceEditor, kind: str, name: str) -> QTreeWidgetItem:
    item = editor.find_tree_item_by_name(kind, name)
    assert item is not None, f"{kind} {name!r} not in the tree"
    parent = item.parent()
    while parent is not None:
        parent.setExpanded(True)
        parent = parent.parent()
    editor.tree.scrollToItem(item)
    rect = editor.tree.visualItemRect(item)
    qtbot.mouseClick(editor.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert editor.tree.currentItem() is item
    return item


def submit_item_dialog(qtbot: Any, main_window: Any, editor: ReferenceEditor) -> None:
    dialog = editor.item_dialog
    assert dialog is not None
    click_button(qtbot, dialog, "保存")
    wait_for_tasks(qtbot, main_window)


# --- general page -----------------------------------------------------------------------------------


def test_engineer_name_change_shows_in_status_bar_and_is_used_for_calls(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext
) -> None:
    page = settings_dialog.general_page
    assert page.engineer_edit.text() == "张工"
    replace_text(qtbot, page.engineer_edit, "李 工")
    click_button(qtbot, settings_dialog, "确定")

    assert not settings_dialog.isVisible()
    assert main_window.engineer_label.text() == "值班工程师：李 工"
    assert ui_ctx.engineer == "李 工"  # the next recorded call takes its engineer from here
    assert saved_settings(ui_ctx)["engineer_name"] == "李 工"


def test_empty_engineer_name_is_refused_inline(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext
) -> None:
    page = settings_dialog.general_page
    settings_dialog.page_list.setCurrentRow(1)
    replace_text(qtbot, page.engineer_edit, "   ")
    click_button(qtbot, settings_dialog, "确定")

    assert settings_dialog.isVisible()
    assert settings_dialog.stack.currentWidget() is page  # brought back to the page with the problem
    assert page.engineer_error.isVisible()
    assert page.engineer_error.text() == "请填写您的姓名：每条来电记录都会记下值班工程师。"
    assert ui_ctx.engineer == "张工"
    assert main_window.engineer_label.text() == "值班工程师：张工"


def test_site_change_moves_the_window_to_that_site(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext
) -> None:
    zhanjiang = site_id(ui_ctx, "湛江市财政局")
    assert main_window.site_id != zhanjiang
    changed: list[str] = []
    main_window.site_changed.connect(changed.append)
    pick(qtbot, settings_dialog.general_page.site_combo, "湛江市财政局")
    click_button(qtbot, settings_dialog, "确定")

    assert main_window.site_id == zhanjiang
    assert main_window.site_combo.currentText() == "湛江市财政局"
    assert changed == [zhanjiang]
    assert main_window.site_label.text() == "站点：湛江市财政局"
    assert saved_settings(ui_ctx)["site_id"] == zhanjiang


def test_language_switch_is_saved_with_a_restart_notice(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext, dialog_recorder: Any
) -> None:
    page = settings_dialog.general_page
    assert [page.language_combo.itemText(i) for i in range(page.language_combo.count())] == [
        "简体中文",
        "English",
    ]
    assert any("重新启动" in label.text() for label in page.findChildren(QLabel))
    pick(qtbot, page.language_combo, "English")
    click_button(qtbot, settings_dialog, "确定")

    assert dialog_recorder.infos == ["界面语言将在下次启动热线工作台时切换为English。"]
    assert saved_settings(ui_ctx)["language"] == "en"
    assert i18n.current_language() == "zh_CN"  # takes effect after a restart


def test_advanced_timings_are_saved_within_range(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext
) -> None:
    page = settings_dialog.general_page
    assert (page.lookup_spin.value(), page.autosave_spin.value()) == (250, 800)  # the declared defaults
    replace_text(qtbot, page.lookup_spin.lineEdit(), "400")
    replace_text(qtbot, page.autosave_spin.lineEdit(), "1500")
    click_button(qtbot, settings_dialog, "确定")
    on_disk = saved_settings(ui_ctx)
    assert (on_disk["caller_lookup_delay_ms"], on_disk["draft_autosave_ms"]) == (400, 1500)


def test_a_settings_file_that_cannot_be_written_keeps_the_dialog_open(
    qtbot: Any,
    main_window: Any,
    settings_dialog: SettingsDialog,
    ui_ctx: AppContext,
    dialog_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse() -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(ui_ctx.settings, "save", refuse)
    replace_text(qtbot, settings_dialog.general_page.engineer_edit, "王工")
    click_button(qtbot, settings_dialog, "确定")

    assert settings_dialog.isVisible()
    assert settings_dialog.general_page.engineer_edit.text() == "王工"  # what was typed is kept
    assert len(dialog_recorder.warnings) == 1
    assert dialog_recorder.warnings[0].startswith("设置未能保存：Permission denied")
    assert ui_ctx.engineer == "张工"
    assert main_window.engineer_label.text() == "值班工程师：张工"


def test_cancel_changes_nothing(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext
) -> None:
    replace_text(qtbot, settings_dialog.general_page.engineer_edit, "王工")
    QTest.keyClick(settings_dialog, Qt.Key.Key_Escape)
    assert not settings_dialog.isVisible()
    assert ui_ctx.engineer == "张工"


# --- reference data ---------------------------------------------------------------------------------


def test_add_a_module_under_a_system(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    select_tree(qtbot, editor, "system", "财政票据管理系统")
    click_button(qtbot, editor, "添加模块(&M)…")
    dialog = editor.item_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == "为 财政票据管理系统 添加模块"
    type_text(qtbot, dialog.name_edit, "电子票据对接")
    submit_item_dialog(qtbot, main_window, editor)

    assert editor.item_dialog is None  # closed
    with ui_ctx.db.session() as session:
        system = next(
            s
            for s in reference.list_systems(session, site_id(ui_ctx, "湛江市财政局"))
            if s.name == "财政票据管理系统"
        )
        assert "电子票据对接" in [m.name for m in reference.list_modules(session, system.id)]
    added = editor.find_tree_item_by_name("module", "电子票据对接")
    assert added is not None
    parent = added.parent()
    assert parent is not None and parent.text(0) == "财政票据管理系统"
    assert editor.tree.currentItem() is added


def test_empty_name_is_refused_inline(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    click_button(qtbot, editor, "添加类别(&C)…")
    dialog = editor.item_dialog
    assert dialog is not None
    click_button(qtbot, dialog, "保存")
    assert dialog.isVisible()
    assert dialog.name_error.text() == "请填写名称。"
    with ui_ctx.db.session() as session:
        assert len(reference.list_categories(session, include_inactive=True)) == 5


def test_retire_and_restore_a_category(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    item = editor.find_category_item("投诉")
    assert item is not None
    rect = editor.categories.visualItemRect(item)
    qtbot.mouseClick(editor.categories.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    click_button(qtbot, editor, "停用(&E)")
    wait_for_tasks(qtbot, main_window)

    with ui_ctx.db.session() as session:
        assert "投诉" not in [c.name for c in reference.list_categories(session)]
        assert "投诉" in [c.name for c in reference.list_categories(session, include_inactive=True)]
    retired = editor.find_category_item("投诉")
    assert retired is not None and retired.text() == "投诉（已停用）"
    active = editor.find_category_item("咨询")
    assert active is not None and retired.foreground().color() != active.foreground().color()

    click_button(qtbot, editor, "启用(&E)")  # the same button now brings it back
    wait_for_tasks(qtbot, main_window)
    with ui_ctx.db.session() as session:
        assert "投诉" in [c.name for c in reference.list_categories(session)]
    restored = editor.find_category_item("投诉")
    assert restored is not None and restored.text() == "投诉"


def test_retire_a_module_greys_it_in_the_tree(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    select_tree(qtbot, editor, "module", "核销销毁")
    click_button(qtbot, editor, "停用(&T)")
    wait_for_tasks(qtbot, main_window)
    item = editor.find_tree_item_by_name("module", "核销销毁")
    assert item is not None and item.text(0) == "核销销毁（已停用）"
    with ui_ctx.db.session() as session:
        names = [m.name for m in reference.list_modules(session, None)]
    assert "核销销毁" not in names


def test_bad_area_code_is_refused_and_nothing_is_saved(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    zhanjiang = site_id(ui_ctx, "湛江市财政局")
    select_tree(qtbot, editor, "site", "湛江市财政局")
    click_button(qtbot, editor, "重命名(&R)…")
    dialog = editor.item_dialog
    assert dialog is not None and dialog.area_edit is not None
    assert dialog.area_edit.text() == "0759"
    for bad in ("759", "07591", "0759a", ""):
        replace_text(qtbot, dialog.area_edit, bad)
        click_button(qtbot, dialog, "保存")
        assert dialog.isVisible()
        assert dialog.area_error.isVisible()
        assert dialog.area_error.text() == "区号应为 0 开头、共 3 到 4 位数字，例如 0519。"
    wait_for_tasks(qtbot, main_window)
    with ui_ctx.db.session() as session:
        site = session.get(Site, zhanjiang)
        assert site is not None and site.area_code == "0759"

    replace_text(qtbot, dialog.area_edit, "0668")
    submit_item_dialog(qtbot, main_window, editor)
    assert editor.item_dialog is None  # closed
    with ui_ctx.db.session() as session:
        site = session.get(Site, zhanjiang)
        assert site is not None and site.area_code == "0668"
    item = editor.find_tree_item_by_name("site", "湛江市财政局")
    assert item is not None and item.text(1) == "0668"


def test_renaming_a_site_updates_the_window_site_picker(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, settings_dialog: SettingsDialog
) -> None:
    select_tree(qtbot, editor, "site", "常州市财政局")
    click_button(qtbot, editor, "重命名(&R)…")
    dialog = editor.item_dialog
    assert dialog is not None
    replace_text(qtbot, dialog.name_edit, "常州市财政局（本部）")
    submit_item_dialog(qtbot, main_window, editor)
    names = [main_window.site_combo.itemText(i) for i in range(main_window.site_combo.count())]
    assert "常州市财政局（本部）" in names
    general = settings_dialog.general_page.site_combo
    assert "常州市财政局（本部）" in [general.itemText(i) for i in range(general.count())]


def test_add_a_site_with_its_area_code(
    qtbot: Any, main_window: Any, editor: ReferenceEditor, ui_ctx: AppContext
) -> None:
    click_button(qtbot, editor, "添加站点…")
    dialog = editor.item_dialog
    assert dialog is not None and dialog.area_edit is not None
    type_text(qtbot, dialog.name_edit, "茂名市财政局")
    type_text(qtbot, dialog.area_edit, "0668")
    submit_item_dialog(qtbot, main_window, editor)
    with ui_ctx.db.session() as session:
        assert [(s.name, s.area_code) for s in reference.list_sites(session) if s.name == "茂名市财政局"] == [
            ("茂名市财政局", "0668")
        ]
    assert main_window.site_combo.findText("茂名市财政局") >= 0


# --- first run --------------------------------------------------------------------------------------


@pytest.fixture
def first_run(qtbot: Any, main_window: Any, ui_ctx: AppContext) -> FirstRunDialog:
    ui_ctx.settings["engineer_name"] = ""
    ui_ctx.settings.save()
    dialog = FirstRunDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_first_run_refuses_an_empty_name(
    qtbot: Any, main_window: Any, first_run: FirstRunDialog, ui_ctx: AppContext
) -> None:
    assert [first_run.site_combo.itemText(i) for i in range(first_run.site_combo.count())] == [
        "常州市财政局",
        "湛江市财政局",
    ]
    click_button(qtbot, first_run, "开始使用(&S)")
    assert first_run.isVisible()
    assert first_run.result() != FirstRunDialog.DialogCode.Accepted
    assert first_run.name_error.isVisible()
    assert first_run.name_error.text() == "请填写您的姓名：每条来电记录都会记下值班工程师。"
    assert saved_settings(ui_ctx)["engineer_name"] == ""


def test_first_run_saves_name_and_site(
    qtbot: Any, main_window: Any, first_run: FirstRunDialog, ui_ctx: AppContext
) -> None:
    zhanjiang = site_id(ui_ctx, "湛江市财政局")
    type_text(qtbot, first_run.name_edit, "陈工")
    pick(qtbot, first_run.site_combo, "湛江市财政局")
    QTest.keyClick(first_run.name_edit, Qt.Key.Key_Return)

    assert first_run.result() == FirstRunDialog.DialogCode.Accepted
    on_disk = saved_settings(ui_ctx)
    assert (on_disk["engineer_name"], on_disk["site_id"]) == ("陈工", zhanjiang)
    assert main_window.site_id == zhanjiang
    assert main_window.engineer_label.text() == "值班工程师：陈工"


# --- printing page ----------------------------------------------------------------------------------


def test_a_sites_letterhead_logo_and_signature_lines_are_kept_for_its_printouts(
    qtbot: Any, settings_dialog: SettingsDialog, ui_ctx: AppContext, main_window: Any
) -> None:
    from app.reports.letterhead import letterhead_for
    from tests.helpers.kb_files import png

    page = settings_dialog.printing_page
    settings_dialog.show_page(page)
    assert page.text_edit.placeholderText() == "常州市财政局 运维服务"  # the default, until typed
    replace_text(qtbot, page.text_edit, "常州市财政局 财政信息化运维服务")
    replace_text(qtbot, page.signatures_edit, "经办人、 复核人，日期")
    page.set_logo(b"not a picture")
    assert page.logo_error.text() == "徽标必须是 PNG 或 JPEG 图片。"
    page.set_logo(png())
    assert page.logo_error.text() == "" and page.remove_logo_button.isEnabled()
    pick(qtbot, page.site_combo, "湛江市财政局")  # another site: its own, untouched values
    assert page.text_edit.text() == "" and page.signatures_edit.text() == ""
    replace_text(qtbot, page.signatures_edit, "、".join(f"签字{n}" for n in range(7)))
    settings_dialog.accept()
    assert page.signatures_error.text() == "签字栏最多 6 项。"  # told, nothing saved yet
    assert settings_dialog.isVisible()
    replace_text(qtbot, page.signatures_edit, "")
    settings_dialog.accept()
    assert not settings_dialog.isVisible()
    wait_for_tasks(qtbot, main_window)  # saved in the background

    changzhou = letterhead_for(ui_ctx, site_id(ui_ctx, "常州市财政局"))
    assert changzhou.text == "常州市财政局 财政信息化运维服务"
    assert changzhou.signatures == ("经办人", "复核人", "日期")
    assert changzhou.logo == png()
    zhanjiang = letterhead_for(ui_ctx, site_id(ui_ctx, "湛江市财政局"))
    assert (zhanjiang.text, zhanjiang.signatures, zhanjiang.logo) == ("湛江市财政局 运维服务", (), None)
    with ui_ctx.db.session() as session:  # one synced row, waiting for the shared server
        queued = session.scalars(select(OutboxOp).where(OutboxOp.table_name == "site_letterheads")).all()
    assert len(queued) == 1


def test_an_engineer_reads_the_letterheads_but_cannot_change_them(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    from app.reports import letterhead as letterheads
    from app.sync import local

    with ui_ctx.uow() as uow:
        letterheads.save_settings(
            uow, site_id(ui_ctx, "常州市财政局"), letterheads.LetterheadSettings("主管定的抬头")
        )
        local.write_meta(uow.session, local.SUPERVISOR, "0")  # then the server said: not a supervisor
        uow.commit()
    dialog = SettingsDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.printing_page
    dialog.show_page(page)
    assert page.role_note.isVisible() and page.role_note.text().startswith("只有主管可以修改打印抬头")
    assert page.text_edit.text() == "主管定的抬头"  # there to read
    assert not page.text_edit.isEnabled() and not page.signatures_edit.isEnabled()
    assert not page.logo_button.isEnabled() and not page.remove_logo_button.isEnabled()
    dialog.accept()
    wait_for_tasks(qtbot, main_window)
    assert letterheads.load_settings(ui_ctx, site_id(ui_ctx, "常州市财政局")).text == "主管定的抬头"
