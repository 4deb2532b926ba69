"""The directory page (通讯录) driven as a user would, over the real SQLite of ``ui_ctx``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton, QTableView

from app.context import AppContext
from app.phone import parse_phone
from app.services import calls, directory, reference
from app.storage.models import Contact, Organisation, OrgKind
from tests.helpers.qt_input import click_button, type_text
from ui.directory.page import DirectoryPage


@dataclass
class Seed:
    school: str
    hospital: str
    treasury: str
    wang: str
    li: str
    chen: str
    liu: str


def _org(ctx: AppContext, name: str, kind: OrgKind) -> str:
    with ctx.uow() as uow:
        return directory.save_organisation(uow, directory.OrganisationInput(name, kind.value)).id


def _contact(ctx: AppContext, name: str, org_id: str | None, *phones: str, title: str = "") -> str:
    entries = [directory.PhoneEntry(p, "办公") for p in phones]
    data = directory.ContactInput(name, org_id, title=title, phones=entries)
    with ctx.uow() as uow:
        return directory.save_contact(uow, data, area_code="0759").id


def _site_id(ctx: AppContext, name: str = "湛江市财政局") -> str:
    with ctx.db.session() as session:
        return next(s.id for s in reference.list_sites(session) if s.name == name)


def _record_call(
    ctx: AppContext, question: str, contact_id: str | None = None, phone: str = "", days_ago: int = 0
) -> str:
    site_id = _site_id(ctx)
    with ctx.db.session() as session:
        system = reference.list_systems(session, site_id)[0]
        module = reference.list_modules(session, system.id)[0]
        category = reference.list_categories(session)[0]
    data = calls.CallInput(
        site_id=site_id,
        started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago, minutes=5),
        engineer="张工",
        caller_phone=phone,
        caller_name="来电人",
        contact_id=contact_id,
        system_id=system.id,
        module_id=module.id,
        category_id=category.id,
        question=question,
    )
    with ctx.uow() as uow:
        return calls.record_call(uow, data).id


@pytest.fixture
def seed(ui_ctx: AppContext) -> Seed:
    school = _org(ui_ctx, "湛江市第一中学", OrgKind.BILL_UNIT)
    hospital = _org(ui_ctx, "湛江市人民医院", OrgKind.BUDGET_UNIT)
    treasury = _org(ui_ctx, "财政局国库科", OrgKind.BUREAU_DEPT)
    return Seed(
        school,
        hospital,
        treasury,
        wang=_contact(ui_ctx, "王芳", school, "0759-2281234", title="会计"),
        li=_contact(ui_ctx, "李明", school, "13912345678"),
        chen=_contact(ui_ctx, "陈静", hospital, "0759-3345678"),
        liu=_contact(ui_ctx, "刘洋", treasury, "6601"),
    )


# --- helpers ----------------------------------------------------------------------------------------


def settle(qtbot: Any, mw: Any) -> None:
    """Wait until the typing delay has passed and every background search has reported."""
    page: DirectoryPage = mw.directory_page

    def idle() -> bool:
        return (
            not page._search_timer.isActive()
            and not page._reload_timer.isActive()
            and mw.taskman.running == 0
        )

    qtbot.waitUntil(idle, timeout=5000)


def column(view: QTableView, col: int = 0) -> list[str]:
    model = view.model()
    return [model.index(row, col).data() for row in range(model.rowCount())]


def click_row(qtbot: Any, view: QTableView, row: int, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def row_of(view: QTableView, text: str, col: int = 0) -> int:
    return column(view, col).index(text)


def search(qtbot: Any, mw: Any, text: str) -> None:
    page = mw.directory_page
    page.search_edit.clear()
    type_text(qtbot, page.search_edit, text)
    settle(qtbot, mw)


@pytest.fixture
def page(main_window: Any, seed: Seed, qtbot: Any) -> DirectoryPage:
    main_window.show_page("directory")
    settle(qtbot, main_window)
    directory_page: DirectoryPage = main_window.directory_page
    return directory_page


# --- searching --------------------------------------------------------------------------------------


def test_lists_every_unit_and_contact_when_opened(page: DirectoryPage) -> None:
    assert sorted(column(page.units_view)) == ["湛江市人民医院", "湛江市第一中学", "财政局国库科"]
    assert sorted(column(page.contacts_view)) == ["刘洋", "李明", "王芳", "陈静"]
    assert "4" in page.contacts_count.text()
    assert column(page.units_view, 1)[row_of(page.units_view, "财政局国库科")] == "财政局科室"


def test_search_by_name_unit_or_phone_digits(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    search(qtbot, main_window, "王芳")
    assert column(page.contacts_view) == ["王芳"]
    assert column(page.contacts_view, 3) == ["0759-2281234"]

    search(qtbot, main_window, "人民医院")
    assert column(page.contacts_view) == ["陈静"]
    assert column(page.units_view) == ["湛江市人民医院"]

    search(qtbot, main_window, "2281234")
    assert column(page.contacts_view) == ["王芳"]

    search(qtbot, main_window, "3912345")
    assert column(page.contacts_view) == ["李明"]

    search(qtbot, main_window, "第一中学")
    assert sorted(column(page.contacts_view)) == ["李明", "王芳"]

    search(qtbot, main_window, "没有这个人")
    assert column(page.contacts_view) == []
    assert column(page.units_view) == []


def test_percent_and_underscore_are_literal(
    qtbot: Any, main_window: Any, page: DirectoryPage, ui_ctx: AppContext
) -> None:
    _contact(ui_ctx, "张_三", None)
    _contact(ui_ctx, "百分%之百", None)
    _org(ui_ctx, "测试_单位", OrgKind.OTHER)
    search(qtbot, main_window, "_")
    assert column(page.contacts_view) == ["张_三"]
    assert column(page.units_view) == ["测试_单位"]
    search(qtbot, main_window, "%")
    assert column(page.contacts_view) == ["百分%之百"]
    assert column(page.units_view) == []


def test_selecting_a_unit_lists_its_contacts(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    click_row(qtbot, page.units_view, row_of(page.units_view, "湛江市第一中学"))
    settle(qtbot, main_window)
    assert sorted(column(page.contacts_view)) == ["李明", "王芳"]
    assert "湛江市第一中学" in page.contacts_title.text()

    type_text(qtbot, page.search_edit, "刘")  # typing searches everything again
    settle(qtbot, main_window)
    assert column(page.contacts_view) == ["刘洋"]


def test_kind_filter(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    page.kind_combo.setCurrentIndex(page.kind_combo.findText("财政局科室"))
    settle(qtbot, main_window)
    assert column(page.units_view) == ["财政局国库科"]
    page.kind_combo.setCurrentIndex(0)
    settle(qtbot, main_window)
    assert len(column(page.units_view)) == 3


# --- units --------------------------------------------------------------------------------------------


def test_create_a_unit(qtbot: Any, main_window: Any, page: DirectoryPage, ui_ctx: AppContext) -> None:
    click_button(qtbot, page, "新建单位(&U)")
    dialog = page.org_dialog
    assert dialog is not None and dialog.isVisible()
    click_button(qtbot, dialog, "保存")  # empty name: refused next to the field
    assert dialog.isVisible()
    assert dialog.name_error.isVisible() and dialog.name_error.text() == "请填写单位名称。"

    type_text(qtbot, dialog.name_edit, "湛江市财政局行政政法科")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findText("财政局科室"))
    dialog.site_combo.setCurrentIndex(dialog.site_combo.findText("全部站点"))
    click_button(qtbot, dialog, "保存")
    qtbot.waitUntil(lambda: page.org_dialog is None)
    settle(qtbot, main_window)

    assert column(page.units_view) == ["湛江市财政局行政政法科"]
    assert [u.name for u in page.selected_units()] == ["湛江市财政局行政政法科"]
    with ui_ctx.db.session() as session:
        org = session.get(Organisation, page.selected_units()[0].id)
        assert org is not None
        assert (org.kind, org.site_id) == (OrgKind.BUREAU_DEPT.value, None)


def test_edit_a_unit(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext
) -> None:
    click_row(qtbot, page.units_view, row_of(page.units_view, "财政局国库科"))
    settle(qtbot, main_window)
    click_button(qtbot, page, "编辑单位")
    dialog = page.org_dialog
    assert dialog is not None and dialog.name_edit.text() == "财政局国库科"
    dialog.name_edit.clear()
    type_text(qtbot, dialog.name_edit, "湛江市财政局国库科")
    click_button(qtbot, dialog, "保存")
    qtbot.waitUntil(lambda: page.org_dialog is None)
    settle(qtbot, main_window)
    assert "湛江市财政局国库科" in column(page.units_view)
    assert column(page.contacts_view) == ["刘洋"]  # still the selected unit's contacts
    assert column(page.contacts_view, 2) == ["湛江市财政局国库科"]


def test_merge_units_moves_their_contacts(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext
) -> None:
    dup = _org(ui_ctx, "湛江一中", OrgKind.BILL_UNIT)
    _contact(ui_ctx, "赵强", dup, "13600001111")
    search(qtbot, main_window, "中")
    assert sorted(column(page.units_view)) == ["湛江一中", "湛江市第一中学"]
    click_row(qtbot, page.units_view, 0)
    click_row(qtbot, page.units_view, 1, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, main_window)
    click_button(qtbot, page, "合并单位…")
    dialog = page.merge_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.radios[[c.id for c in dialog.candidates].index(seed.school)].click()
    click_button(qtbot, dialog, "合并")
    settle(qtbot, main_window)

    assert column(page.units_view) == ["湛江市第一中学"]
    with ui_ctx.db.session() as session:
        assert sorted(c.name for c in directory.search_contacts(session, org_id=seed.school)) == [
            "李明",
            "王芳",
            "赵强",
        ]
        merged = session.get(Organisation, dup)
        assert merged is not None and merged.deleted and merged.merged_into == seed.school


# --- contacts -----------------------------------------------------------------------------------------


def test_create_a_contact_for_the_selected_unit(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext
) -> None:
    click_row(qtbot, page.units_view, row_of(page.units_view, "湛江市人民医院"))
    settle(qtbot, main_window)
    click_button(qtbot, page, "新建联系人(&C)")
    dialog = page.contact_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.unit_combo.currentText() == "湛江市人民医院"
    type_text(qtbot, dialog.name_edit, "黄磊")
    type_text(qtbot, dialog.phone_edit(0), "0759-3100200")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.contact_dialog is None)
    settle(qtbot, main_window)

    assert sorted(column(page.contacts_view)) == ["陈静", "黄磊"]
    assert [c.name for c in page.selected_contacts()] == ["黄磊"]
    with ui_ctx.db.session() as session:
        found = directory.lookup_by_phone(session, parse_phone("0759-3100200", "0759").key)
    assert [(c.name, c.org_id) for c in found] == [("黄磊", seed.hospital)]


def test_a_new_contact_outside_the_search_is_shown(
    qtbot: Any, main_window: Any, page: DirectoryPage, ui_ctx: AppContext
) -> None:
    search(qtbot, main_window, "王芳")
    click_button(qtbot, page, "新建联系人(&C)")
    dialog = page.contact_dialog
    type_text(qtbot, dialog.name_edit, "周杰")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.contact_dialog is None)
    settle(qtbot, main_window)
    assert page.search_edit.text() == "周杰"
    assert column(page.contacts_view) == ["周杰"]


def test_edit_a_contact(qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed) -> None:
    click_row(qtbot, page.contacts_view, row_of(page.contacts_view, "李明"))
    settle(qtbot, main_window)
    page.contacts_view.setFocus()
    QTest.keyClick(page.contacts_view, Qt.Key.Key_F2)
    dialog = page.contact_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.name_edit.text() == "李明"
    type_text(qtbot, dialog.title_edit, "信息管理员")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.contact_dialog is None)
    settle(qtbot, main_window)
    assert column(page.contacts_view, 1)[row_of(page.contacts_view, "李明")] == "信息管理员"
    assert [c.name for c in page.selected_contacts()] == ["李明"]


def test_delete_asks_and_tombstones(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext, dialog_recorder: Any
) -> None:
    click_row(qtbot, page.contacts_view, row_of(page.contacts_view, "刘洋"))
    settle(qtbot, main_window)

    dialog_recorder.answer = False
    click_button(qtbot, page, "删除联系人(&D)")
    settle(qtbot, main_window)
    assert dialog_recorder.questions == ["确定删除联系人“刘洋”吗？已登记的来电记录不受影响。"]
    assert "刘洋" in column(page.contacts_view)

    dialog_recorder.answer = True
    page.contacts_view.setFocus()
    QTest.keyClick(page.contacts_view, Qt.Key.Key_Delete)
    settle(qtbot, main_window)
    assert len(dialog_recorder.questions) == 2
    assert "刘洋" not in column(page.contacts_view)
    with ui_ctx.db.session() as session:
        contact = session.get(Contact, seed.liu)
        assert contact is not None and contact.deleted  # a tombstone, not a removed row
        assert directory.lookup_by_phone(session, parse_phone("6601", "0759").key) == []


def test_merge_two_contacts_keeps_both_numbers_and_all_calls(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext
) -> None:
    duplicate = _contact(ui_ctx, "王芳", seed.hospital, "13800138000")
    old_call = _record_call(ui_ctx, "电子票据无法冲红", contact_id=duplicate, phone="13800138000", days_ago=3)
    new_call = _record_call(ui_ctx, "票据领用审核不通过", contact_id=seed.wang, phone="0759-2281234")
    search(qtbot, main_window, "王芳")
    assert column(page.contacts_view) == ["王芳", "王芳"]
    click_row(qtbot, page.contacts_view, 0)
    click_row(qtbot, page.contacts_view, 1, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, main_window)
    click_button(qtbot, page, "合并联系人(&M)…")
    dialog = page.merge_dialog
    assert dialog is not None and dialog.isVisible()
    assert "13800138000" in [label.text() for label in dialog.findChildren(QLabel)]
    dialog.choose(seed.wang)
    assert dialog.survivor_id == seed.wang and dialog.duplicate_ids == [duplicate]
    click_button(qtbot, dialog, "合并")
    settle(qtbot, main_window)

    assert column(page.contacts_view) == ["王芳"]
    assert sorted(column(page.contacts_view, 3)[0].split("、")) == ["0759-2281234", "13800138000"]
    assert [c.id for c in page.selected_contacts()] == [seed.wang]
    with ui_ctx.db.session() as session:
        owners = directory.lookup_by_phone(session, parse_phone("13800138000", "0759").key)
    assert [c.id for c in owners] == [seed.wang]
    # The survivor's history (shown for the selected contact) includes the duplicate's call, newest first.
    assert [r.id for r in page.history_model.rows()] == [new_call, old_call]
    assert column(page.history_view, 3) == ["票据领用审核不通过", "电子票据无法冲红"]
    assert "王芳" in page.history_title.text() and "2" in page.history_title.text()


def test_history_is_newest_first_and_opens_a_call(
    qtbot: Any, main_window: Any, page: DirectoryPage, seed: Seed, ui_ctx: AppContext, monkeypatch: Any
) -> None:
    older = _record_call(ui_ctx, "工资银行代发失败", contact_id=seed.chen, days_ago=10)
    newer = _record_call(ui_ctx, "个税申报数据不一致", phone="0759-3345678", days_ago=1)
    opened: list[str] = []
    monkeypatch.setattr(main_window, "open_call", opened.append)
    click_row(qtbot, page.contacts_view, row_of(page.contacts_view, "陈静"))
    settle(qtbot, main_window)
    assert column(page.history_view, 3) == ["个税申报数据不一致", "工资银行代发失败"]
    assert column(page.history_view, 4) == ["当场解答", "当场解答"]
    rect = page.history_view.visualRect(page.history_view.model().index(1, 0))
    qtbot.mouseClick(page.history_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.history_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == [older]
    page.history_view.setFocus()
    page.history_view.setCurrentIndex(page.history_view.model().index(0, 0))
    QTest.keyClick(page.history_view, Qt.Key.Key_Return)
    assert opened == [older, newer]


def test_new_call_button_opens_the_call_form(
    qtbot: Any, main_window: Any, page: DirectoryPage, monkeypatch: Any
) -> None:
    opened: list[Any] = []
    monkeypatch.setattr(main_window, "open_new_call", lambda draft=None: opened.append(draft))
    click_row(qtbot, page.contacts_view, 0)
    settle(qtbot, main_window)
    click_button(qtbot, page, "为此联系人登记来电(&R)")
    assert opened == [None]


def test_layout_is_remembered(qtbot: Any, main_window: Any, page: DirectoryPage, tmp_path: Any) -> None:
    qsettings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    page.contacts_view.setColumnWidth(0, 177)
    page.splitter.setSizes([300, 900])
    page.save_state(qsettings)
    state = page.splitter.saveState()

    again = DirectoryPage(main_window)
    qtbot.addWidget(again)
    assert again.contacts_view.columnWidth(0) != 177
    again.restore_state(qsettings)
    assert again.contacts_view.columnWidth(0) == 177
    assert again.splitter.saveState() == state


def test_buttons_follow_the_selection(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    buttons = {b.text(): b for b in page.findChildren(QPushButton)}
    page.contacts_view.clearSelection()
    assert not buttons["编辑联系人(&E)"].isEnabled()
    assert not buttons["删除联系人(&D)"].isEnabled()
    assert not buttons["合并联系人(&M)…"].isEnabled()
    click_row(qtbot, page.contacts_view, 0)
    click_row(qtbot, page.contacts_view, 1, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, main_window)
    assert buttons["合并联系人(&M)…"].isEnabled()
    assert buttons["删除联系人(&D)"].isEnabled()
    assert not buttons["编辑联系人(&E)"].isEnabled()
    assert page.history_title.text() == "选择一位联系人，即可查看其全部来电记录。"


def test_focus_search_selects_the_text(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    type_text(qtbot, page.search_edit, "王")
    page.contacts_view.setFocus()
    page.focus_search()
    assert page.search_edit.hasFocus()
    assert page.search_edit.selectedText() == "王"


def test_down_arrow_moves_from_search_to_the_list(qtbot: Any, main_window: Any, page: DirectoryPage) -> None:
    search(qtbot, main_window, "第一中学")
    page.search_edit.setFocus()
    QTest.keyClick(page.search_edit, Qt.Key.Key_Down)
    assert page.contacts_view.hasFocus()
    assert len(page.selected_contacts()) == 1
    settle(qtbot, main_window)
    assert page.history_title.text().startswith(page.selected_contacts()[0].name)


def test_directory_is_built_on_first_visit_and_keeps_its_layout(
    qtbot: Any, ui_ctx: Any, dialog_recorder: Any, crash_reports: Any
) -> None:
    from ui.main_window import MainWindow

    def open_window() -> MainWindow:
        window = MainWindow(ui_ctx)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    mw = open_window()
    assert mw._directory_page is None  # start-up builds the call list only
    mw.nav.setCurrentRow(1)  # the user clicks 通讯录
    page = mw.stack.currentWidget()
    assert page is mw.directory_page and page.isVisible()
    assert mw.nav.currentRow() == mw.stack.currentIndex() == 1
    settle(qtbot, mw)
    total = sum(page.splitter.sizes())
    default_width = page.splitter.sizes()[0]
    page.splitter.setSizes([total // 5, total - total // 5])  # the unit list narrowed (to its minimum)
    narrowed = page.splitter.sizes()[0]
    assert default_width - narrowed > 100
    mw.close()

    again = open_window()
    again.show_page("directory")
    # the unit list is as wide as it was left, in pixels, whatever the window's size on reopening
    assert again.directory_page.splitter.sizes()[0] == pytest.approx(narrowed, abs=8)
    again.close()
