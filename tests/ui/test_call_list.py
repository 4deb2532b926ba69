"""The call list page: newest first, filters, full-text search, laziness, layout memory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QComboBox
from sqlalchemy import func, select

from app.context import AppContext
from app.services import calls, directory, reference
from app.storage.models import Call
from tests.helpers.qt_input import replace_text, type_text
from tests.helpers.qt_windows import activate, shown_windows
from ui.calls.detail import CallDetailDialog
from ui.calls.list_model import BLOCK_SIZE, COLUMN_INDEX

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENGINEERS = ("张工", "李工", "王工")
OUTCOMES = ("answered", "transferred", "ticket", "callback")
QUESTIONS = (
    "票据核销时提示库存不足，无法完成核销",
    "电子票据开具后无法打印，提示打印控件未安装",
    "工资审核退回后如何重新提交",
    "导出Excel报表时提示 timeout 错误",
    "国库支付申请提交后一直显示待审核",
    "登录时提示错误代码 12541，无法连接服务器",
    "银行代发文件格式不正确",
    "年度结转后指标余额不对",
    "票据领用申请找不到审批人",
    "个税申报数据与工资表不一致",
)


@dataclass(frozen=True)
class Seeded:
    key: int
    id: str
    site_id: str
    started_at: dt.datetime
    system_id: str | None
    module_id: str | None
    category_id: str | None
    engineer: str
    outcome: str
    org_id: str | None
    question: str


def seed_calls(ctx: AppContext, count: int = 30, one_transaction: bool = False) -> list[Seeded]:
    """``count`` varied calls through ``calls.record_call``; most at the first (current) site."""
    now = dt.datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    with ctx.db.session() as session:
        sites = reference.list_sites(session)
        systems = {s.id: reference.list_systems(session, s.id) for s in sites}
        modules = {
            sy.id: reference.list_modules(session, sy.id)
            for site_systems in systems.values()
            for sy in site_systems
        }
        categories = reference.list_categories(session)
    home, other = sites[0], sites[1]
    with ctx.uow() as uow:
        org_a = directory.save_organisation(
            uow, directory.OrganisationInput("常州市第一中学", site_id=home.id)
        ).id
    with ctx.uow() as uow:
        org_b = directory.save_organisation(
            uow, directory.OrganisationInput("常州市人民医院", site_id=home.id)
        ).id
    seeded: list[Seeded] = []
    with ctx.uow() as uow:
        commit = uow.commit
        if one_transaction:
            uow.commit = uow.session.flush  # type: ignore[method-assign]  # one commit for the lot
        for i in range(count):
            site = other if i % 6 == 5 else home
            site_systems = systems[site.id]
            system = site_systems[i % len(site_systems)]
            module = modules[system.id][i % 2]
            org_id = org_a if i % 4 == 0 and site is home else org_b if i % 4 == 1 and site is home else None
            outcome = OUTCOMES[i % len(OUTCOMES)]
            data = calls.CallInput(
                site_id=site.id,
                started_at=now - dt.timedelta(hours=9 * i, minutes=5),
                engineer=ENGINEERS[i % len(ENGINEERS)],
                caller_phone=f"1391234{i % 10000:04d}",
                caller_name=f"来电人{i}",
                org_id=org_id,
                unit_name="" if org_id else f"某某单位{i % 7}",
                system_id=system.id,
                module_id=module.id,
                category_id=categories[i % len(categories)].id,
                question=QUESTIONS[i % len(QUESTIONS)] + f"\n补充说明第 {i} 条",
                answer=f"已指导用户处理，第 {i} 次回复",
                outcome=outcome,
                transferred_to="王科长" if outcome == "transferred" else "",
                duration_s=30 + 7 * i,
            )
            call = calls.record_call(uow, data)
            seeded.append(
                Seeded(
                    call.key,
                    call.id,
                    site.id,
                    data.started_at,
                    system.id,
                    module.id,
                    data.category_id,
                    data.engineer,
                    outcome,
                    org_id,
                    data.question,
                )
            )
        commit()
    return seeded


@pytest.fixture
def seeded(ui_ctx: AppContext) -> list[Seeded]:
    return seed_calls(ui_ctx)


def page_of(window: Any) -> Any:
    return window.calls_page


def wait_idle(qtbot: Any, page: Any) -> None:
    qtbot.waitUntil(
        lambda: (
            not page.model.searching
            and not page.filters._search_timer.isActive()
            and page.model.searched_once
            and not page.filters.loading_engineers
        ),
        timeout=5000,
    )


def shown_keys(page: Any) -> list[int]:
    return [page.model.key_at(row) for row in range(page.model.rowCount())]


def newest_first(rows: list[Seeded]) -> list[int]:
    return sorted((r.key for r in rows), reverse=True)


def choose(qtbot: Any, page: Any, combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, f"{text!r} not among {[combo.itemText(i) for i in range(combo.count())]}"
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        combo.setCurrentIndex(index)
    wait_idle(qtbot, page)


def type_search(qtbot: Any, page: Any, text: str) -> None:
    replace_text(qtbot, page.filters.search_edit, text)
    wait_idle(qtbot, page)


def db_keys(ctx: AppContext, query: calls.CallQuery) -> list[int]:
    with ctx.db.session() as session:
        return list(calls.search_keys(session, query))


# --- showing --------------------------------------------------------------------------------------


def test_list_shows_the_current_sites_calls_newest_first(
    qtbot: Any, seeded: list[Seeded], main_window: Any
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    home = [s for s in seeded if s.site_id == main_window.site_id]
    assert shown_keys(page) == newest_first(home)
    assert page.count_label.text() == f"共 {len(home)} 条"
    time_col = COLUMN_INDEX["started_at"]
    newest = max(home, key=lambda s: s.started_at)
    assert page.model.index(0, time_col).data() == newest.started_at.astimezone(SHANGHAI).strftime(
        "%Y-%m-%d %H:%M"
    )
    times = [page.model.index(row, time_col).data() for row in range(5)]
    assert times == sorted(times, reverse=True)
    # the question column shows the first line only, the tooltip the whole question
    question = page.model.index(0, COLUMN_INDEX["question"])
    assert question.data() == newest.question.split("\n")[0] + " …"
    assert newest.question in question.data(Qt.ItemDataRole.ToolTipRole)


def test_outcome_and_duration_are_readable(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    transferred = next(s for s in seeded if s.outcome == "transferred" and s.site_id == main_window.site_id)
    row = page.model.row_of_key(transferred.key)
    assert page.model.index(row, COLUMN_INDEX["outcome"]).data() == "已转接 → 王科长"
    duration = page.model.index(row, COLUMN_INDEX["duration"]).data()
    assert len(duration) == 5 and duration[2] == ":"


def test_all_sites_shows_every_call(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    choose(qtbot, page, page.filters.site_combo, "全部站点")
    assert shown_keys(page) == newest_first(seeded)
    assert page.count_label.text() == "共 30 条"


def test_the_list_follows_the_windows_site(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        main_window.site_combo.setCurrentIndex(1)
    wait_idle(qtbot, page)
    other = main_window.site_id
    assert page.filters.site_combo.currentData() == other
    assert shown_keys(page) == newest_first([s for s in seeded if s.site_id == other])
    # with "all sites" chosen, changing the window's site leaves the list alone
    choose(qtbot, page, page.filters.site_combo, "全部站点")
    main_window.site_combo.setCurrentIndex(0)
    wait_idle(qtbot, page)
    assert shown_keys(page) == newest_first(seeded)


# --- filters --------------------------------------------------------------------------------------


def test_each_filter_narrows_to_exactly_the_matching_calls(
    qtbot: Any, seeded: list[Seeded], main_window: Any, ui_ctx: AppContext
) -> None:
    page = page_of(main_window)
    filters = page.filters
    wait_idle(qtbot, page)
    choose(qtbot, page, filters.site_combo, "全部站点")
    with ui_ctx.db.session() as session:
        categories = reference.list_categories(session)
        systems = reference.list_systems(session, main_window.site_id)
        modules = reference.list_modules(session, systems[1].id)

    choose(qtbot, page, filters.category_combo, categories[2].name)
    assert shown_keys(page) == newest_first([s for s in seeded if s.category_id == categories[2].id])
    choose(qtbot, page, filters.category_combo, "全部类别")

    choose(qtbot, page, filters.engineer_combo, "李工")
    assert shown_keys(page) == newest_first([s for s in seeded if s.engineer == "李工"])
    choose(qtbot, page, filters.engineer_combo, "全部工程师")

    choose(qtbot, page, filters.outcome_combo, "需回电")
    assert shown_keys(page) == newest_first([s for s in seeded if s.outcome == "callback"])
    choose(qtbot, page, filters.outcome_combo, "全部处理方式")

    choose(qtbot, page, filters.site_combo, "常州市财政局")
    choose(qtbot, page, filters.system_combo, systems[1].name)
    assert shown_keys(page) == newest_first([s for s in seeded if s.system_id == systems[1].id])
    # the module choice lists only this system's modules
    offered = [filters.module_combo.itemText(i) for i in range(1, filters.module_combo.count())]
    assert offered == [m.name for m in modules]
    choose(qtbot, page, filters.module_combo, modules[1].name)
    expected = [s for s in seeded if s.module_id == modules[1].id]
    assert expected and shown_keys(page) == newest_first(expected)


def test_period_filters(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    filters = page.filters
    wait_idle(qtbot, page)
    home = [s for s in seeded if s.site_id == main_window.site_id]
    today = dt.datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)

    choose(qtbot, page, filters.period_combo, "最近7天")
    week = [s for s in home if s.started_at >= today - dt.timedelta(days=6)]
    assert week and len(week) < len(home)
    assert shown_keys(page) == newest_first(week)

    choose(qtbot, page, filters.period_combo, "今天")
    assert shown_keys(page) == newest_first([s for s in home if s.started_at >= today])

    choose(qtbot, page, filters.period_combo, "自定义…")
    assert filters.date_from.isVisible() and filters.date_to.isVisible()
    first = (today - dt.timedelta(days=5)).date()
    last = (today - dt.timedelta(days=2)).date()
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        filters.date_from.setDate(QDate(first.year, first.month, first.day))
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        filters.date_to.setDate(QDate(last.year, last.month, last.day))
    wait_idle(qtbot, page)
    window = [s for s in home if today - dt.timedelta(days=5) <= s.started_at < today - dt.timedelta(days=1)]
    assert window and shown_keys(page) == newest_first(window)

    choose(qtbot, page, filters.period_combo, "全部")
    assert not filters.date_from.isVisible()
    assert shown_keys(page) == newest_first(home)


def test_unit_filter_with_completion(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    unit = page.filters.unit_edit
    unit.setFocus()
    type_text(qtbot, unit, "人民医院")
    assert "常州市人民医院" in page.filters.unit_completer.model().stringList()
    unit.setText("常州市人民医院")
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        qtbot.keyClick(unit, Qt.Key.Key_Return)
    wait_idle(qtbot, page)
    org_b = next(s.org_id for s in seeded if s.org_id and seeded.index(s) % 4 == 1)
    expected = [s for s in seeded if s.org_id == org_b]
    assert expected and shown_keys(page) == newest_first(expected)


def test_clear_filters_shows_everything_again(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    choose(qtbot, page, page.filters.engineer_combo, "王工")
    type_search(qtbot, page, "票据")
    assert page.model.rowCount() < 25
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        qtbot.mouseClick(page.filters.clear_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    assert page.filters.search_edit.text() == ""
    assert page.filters.engineer_combo.currentIndex() == 0
    assert shown_keys(page) == newest_first([s for s in seeded if s.site_id == main_window.site_id])


# --- search ---------------------------------------------------------------------------------------


def test_search_box_finds_chinese_english_and_digits(
    qtbot: Any, seeded: list[Seeded], main_window: Any, ui_ctx: AppContext
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    site = main_window.site_id
    for text, needle in (("核销", "核销"), ("excel", "Excel"), ("12541", "12541"), ("timeout", "timeout")):
        type_search(qtbot, page, text)
        expected = [s for s in seeded if s.site_id == site and needle in s.question]
        assert expected, text
        assert shown_keys(page) == newest_first(expected), text
        assert shown_keys(page) == db_keys(ui_ctx, calls.CallQuery(text=text, site_id=site))
    type_search(qtbot, page, "不存在的词语组合")
    assert page.model.rowCount() == 0
    assert page.stack.currentWidget() is page.empty_label
    assert page.empty_label.text() == "没有符合条件的来电记录。"


@pytest.mark.parametrize(
    "hostile", ['"', "*", "-", "AND", "(", "'; DROP TABLE calls; --", "核销 OR", 'NEAR("a"']
)
def test_hostile_search_input_is_harmless(
    qtbot: Any,
    seeded: list[Seeded],
    main_window: Any,
    ui_ctx: AppContext,
    dialog_recorder: Any,
    crash_reports: Any,
    hostile: str,
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    type_search(qtbot, page, hostile)
    assert dialog_recorder.warnings == []
    assert crash_reports.last_report is None
    assert shown_keys(page) == db_keys(ui_ctx, calls.CallQuery(text=hostile, site_id=main_window.site_id))
    with ui_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 30


def test_a_stale_search_result_is_dropped(
    qtbot: Any, seeded: list[Seeded], main_window: Any, ui_ctx: AppContext
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    first = calls.CallQuery(text="核销")
    second = calls.CallQuery(text="工资")
    finished: list[int] = []
    page.model.search_finished.connect(finished.append)
    page.model.search(first)
    page.model.search(second)
    qtbot.waitUntil(lambda: not page.model.searching, timeout=5000)
    assert finished == [len(db_keys(ui_ctx, second))]
    assert shown_keys(page) == db_keys(ui_ctx, second)


def test_searching_keeps_the_old_rows_and_the_selection(
    qtbot: Any, seeded: list[Seeded], main_window: Any
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    target = page.model.key_at(3)
    page.view.setCurrentIndex(page.model.index(3, 0))
    page.refresh()
    assert page.searching_label.isVisibleTo(page)
    assert page.model.rowCount() > 0  # the old rows stay while searching
    wait_idle(qtbot, page)
    assert not page.searching_label.isVisibleTo(page)
    assert page.model.key_at(page.view.currentIndex().row()) == target
    # a narrower search that still contains the selected call keeps it selected
    type_search(qtbot, page, page.model.index(3, COLUMN_INDEX["caller_name"]).data())
    assert page.model.key_at(page.view.currentIndex().row()) == target


# --- empty states ---------------------------------------------------------------------------------


def test_first_run_hint_when_there_are_no_calls(qtbot: Any, main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    assert page.model.rowCount() == 0
    assert page.stack.currentWidget() is page.empty_label
    assert "Ctrl+N" in page.empty_label.text()
    assert page.count_label.text() == "共 0 条"


# --- laziness -------------------------------------------------------------------------------------


def insert_many_calls(ctx: AppContext, count: int) -> None:
    try:
        from app.demo import generate_demo
    except ImportError:  # the demo generator is optional; the services are slower but just as good
        seed_calls(ctx, count, one_transaction=True)
    else:
        generate_demo(ctx, count, contacts=50)


def test_rows_are_fetched_only_when_shown(qtbot: Any, ui_ctx: AppContext, main_window: Any) -> None:
    insert_many_calls(ui_ctx, 3000)
    with ui_ctx.db.session() as session:
        total = session.scalar(select(func.count()).select_from(Call))
    assert total == 3000
    page = page_of(main_window)
    with qtbot.waitSignal(page.model.search_finished, timeout=10000):
        page.filters.site_combo.setCurrentIndex(page.filters.site_combo.findText("全部站点"))
    wait_idle(qtbot, page)
    assert page.model.rowCount() == 3000
    assert page.count_label.text() == "共 3,000 条"
    page.view.viewport().repaint()
    QApplication.processEvents()
    assert 0 < page.model.fetched_rows <= 2 * BLOCK_SIZE
    page.view.scrollToBottom()
    page.view.viewport().repaint()
    QApplication.processEvents()
    assert page.model.index(2999, 0).data()  # the last row is there when asked for
    assert page.model.fetched_rows <= 5 * BLOCK_SIZE


# --- opening and editing --------------------------------------------------------------------------


def test_enter_opens_the_call_and_an_edit_shows_as_edited(
    qtbot: Any, seeded: list[Seeded], main_window: Any
) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    page.view.setFocus()
    page.view.setCurrentIndex(page.model.index(1, 0))
    key = page.model.key_at(1)
    call = next(s for s in seeded if s.key == key)
    qtbot.keyClick(page.view, Qt.Key.Key_Return)
    dialog = shown_windows(CallDetailDialog)[0]
    activate(qtbot, dialog)
    assert dialog.question_view.toPlainText() == call.question
    edited_col = COLUMN_INDEX["revised"]
    assert page.model.index(1, edited_col).data() == ""

    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    dialog.answer_edit.selectAll()
    type_text(qtbot, dialog.answer_edit, "请重新安装打印控件")
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not dialog.editing, timeout=5000)
    qtbot.waitUntil(lambda: page.model.index(1, edited_col).data() == "已修改", timeout=5000)
    assert page.model.key_at(page.view.currentIndex().row()) == key  # still selected after the refresh
    dialog.close()


def test_double_click_opens_the_call(qtbot: Any, seeded: list[Seeded], main_window: Any) -> None:
    page = page_of(main_window)
    wait_idle(qtbot, page)
    rect = page.view.visualRect(page.model.index(0, 0))
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialogs = shown_windows(CallDetailDialog)
    assert len(dialogs) == 1
    assert dialogs[0].call_id == page.model.call_id_at(0)
    dialogs[0].close()


# --- memory ---------------------------------------------------------------------------------------


def test_columns_and_filters_are_remembered(
    qtbot: Any, seeded: list[Seeded], main_window: Any, ui_ctx: AppContext
) -> None:
    from ui.main_window import MainWindow

    page = page_of(main_window)
    wait_idle(qtbot, page)
    engineer_col = COLUMN_INDEX["engineer"]
    menu = page.column_menu()
    action = next(a for a in menu.actions() if a.text() == "工程师")
    assert action.isChecked()
    action.trigger()
    assert page.view.horizontalHeader().isSectionHidden(engineer_col)
    page.view.horizontalHeader().resizeSection(COLUMN_INDEX["unit"], 333)
    choose(qtbot, page, page.filters.engineer_combo, "张工")
    choose(qtbot, page, page.filters.period_combo, "最近7天")
    type_search(qtbot, page, "票据")
    expected = shown_keys(page)
    main_window.close()

    again = MainWindow(ui_ctx)
    qtbot.addWidget(again)
    again.show()
    page2 = page_of(again)
    wait_idle(qtbot, page2)
    header = page2.view.horizontalHeader()
    assert header.isSectionHidden(engineer_col)
    assert header.sectionSize(COLUMN_INDEX["unit"]) == 333
    assert page2.filters.engineer_combo.currentText() == "张工"
    assert page2.filters.period_combo.currentText() == "最近7天"
    assert page2.filters.search_edit.text() == "票据"
    assert shown_keys(page2) == expected
    again.close()
    again.taskman.wait_for_idle(10_000)


def test_first_page_shows_before_the_rest_is_appended(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, ui_ctx: AppContext, main_window: Any
) -> None:
    # A search shows its newest matches at once and appends the rest when the full list arrives,
    # without resetting the view (scroll position and selection stay).
    from ui.calls import list_model

    seeded = seed_calls(ui_ctx, count=30, one_transaction=True)
    monkeypatch.setattr(list_model, "FIRST_PAGE", 4)
    page = page_of(main_window)
    wait_idle(qtbot, page)
    seen: dict[str, int] = {}
    page.model.first_page_shown.connect(lambda: seen.setdefault("first", page.model.rowCount()))
    page.model.modelReset.connect(lambda: seen.__setitem__("resets", seen.get("resets", 0) + 1))
    with qtbot.waitSignal(page.model.search_finished, timeout=5000):
        page.refresh()
    home = [s for s in seeded if s.site_id == main_window.site_id]
    assert seen["first"] == 4
    assert seen["resets"] == 1  # the first page; the rest was inserted, not reset
    assert shown_keys(page) == newest_first(home)
    assert page.count_label.text() == f"共 {len(home)} 条"
