"""The ticket list and the "due soon" panel, at a fake clock: live countdowns, most urgent first, and
a warning once per threshold."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.context import AppContext
from app.services import tickets
from app.services.reference import list_sites
from app.services.tickets import TicketInput
from app.sla.wall_time import SHANGHAI
from ui.tickets.list_model import COLUMN_INDEX


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 2, hour, minute, second, tzinfo=SHANGHAI)  # a Wednesday


def make_ticket(ctx: AppContext, title: str, reported: dt.datetime, **extra: Any) -> str:
    with ctx.db.session() as session:
        site = list_sites(session)[0].id  # 常州 (the window's site): respond 30 min, resolve 1 h
    with ctx.uow() as uow:
        ticket = tickets.create_ticket(
            uow, TicketInput(site_id=site, title=title, reported_at=reported, **extra), "张工", reported
        )
    return ticket.id


def load(qtbot: Any, mw: Any, clock: FakeClock) -> None:
    mw.ticker.stop()  # the test ticks
    mw.ticker.clock = clock
    board = mw.tickets_board
    board.reload()
    qtbot.waitUntil(lambda: board.loaded and not board._loading, timeout=10_000)


def cell(page: Any, row: int, column: str) -> str:
    return str(page.model.index(row, COLUMN_INDEX[column]).data())


def test_open_tickets_are_listed_most_urgent_first_and_count_down(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    make_ticket(ui_ctx, "工资系统无法登录", at(9, 50), assignee="李工")
    make_ticket(ui_ctx, "电子票据开具失败", at(9, 40), assignee="张工")
    clock = FakeClock(at(10, 0))
    load(qtbot, main_window, clock)
    main_window.show_page("tickets")
    page = main_window.tickets_page

    assert page.count_label.text() == "共 2 张未结工单"
    assert [cell(page, r, "title") for r in (0, 1)] == ["电子票据开具失败", "工资系统无法登录"]
    assert cell(page, 0, "number").startswith("GD-2026-")
    assert cell(page, 0, "status") == "新建"
    assert cell(page, 0, "response") == "剩余 00:10:00"
    assert cell(page, 1, "response") == "剩余 00:20:00"
    assert cell(page, 0, "resolution") == "剩余 00:40:00"

    clock.now = at(10, 12, 30)
    main_window.ticker.fire()
    assert cell(page, 0, "response") == "已超时 00:02:30"
    assert cell(page, 1, "response") == "剩余 00:07:30"

    page.mine_check.setChecked(True)  # the engineer on duty is 张工
    assert page.model.rowCount() == 1 and cell(page, 0, "title") == "电子票据开具失败"
    assert page.count_label.text() == "共 1 张未结工单"


def test_a_ticket_days_overdue_shows_its_days_whole_in_the_list(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    make_ticket(ui_ctx, "预算指标导入失败", at(9, 0) - dt.timedelta(days=12))
    clock = FakeClock(at(10, 0))
    load(qtbot, main_window, clock)
    main_window.show_page("tickets")
    page = main_window.tickets_page
    shown = cell(page, 0, "response")
    assert re.fullmatch(r"已超时 1[23]天 \d\d:\d\d:00", shown), shown  # days, not 300 hours
    metrics = page.view.fontMetrics()
    for column in ("response", "resolution"):
        assert page.view.columnWidth(COLUMN_INDEX[column]) > metrics.horizontalAdvance("已超时 99天 23:59:59")


def test_the_due_soon_panel_follows_the_clock_and_opens_nothing_when_empty(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    clock = FakeClock(at(10, 0))
    load(qtbot, main_window, clock)
    panel = main_window.due_soon
    assert panel.empty.isVisibleTo(panel) and panel.empty.text() == "没有未结工单。"

    make_ticket(ui_ctx, "财政一体化系统报错", at(9, 45))
    main_window.tickets_board.reload()
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=10_000)
    item = panel.list.item(0)
    assert item.text().endswith("\n财政一体化系统报错")
    assert "剩余 00:15:00" in item.text()
    clock.now = at(10, 16)
    main_window.ticker.fire()
    assert "已超时 00:01:00" in panel.list.item(0).text()


def test_a_warning_is_shown_once_when_a_threshold_is_reached(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    make_ticket(ui_ctx, "票据打印机脱机", at(9, 40))
    clock = FakeClock(at(9, 59, 59))
    load(qtbot, main_window, clock)
    shown: list[str] = []
    main_window.notify = lambda _title, text: shown.append(text)
    main_window.ticker.fire()
    assert shown == []
    clock.now = at(10, 0)  # 10 minutes of the 30 to respond are left
    for _ in range(3):
        main_window.ticker.fire()
    assert len(shown) == 1
    assert "票据打印机脱机" in shown[0] and "响应" in shown[0] and "剩余 00:10:00" in shown[0]

    # the window is opened again later: the same warning is not repeated
    load(qtbot, main_window, clock)
    main_window.ticker.fire()
    assert len(shown) == 1


def test_opening_a_ticket_that_is_already_open_brings_its_window_forward(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    ticket_id = make_ticket(ui_ctx, "国库支付申请无法提交", at(9, 40))
    main_window.open_ticket(ticket_id)
    main_window.open_ticket(ticket_id)
    windows = [w for w in main_window._ticket_windows if w.isVisible()]
    assert len(windows) == 1 and windows[0].ticket_id == ticket_id
    qtbot.waitUntil(lambda: not windows[0]._loading, timeout=10_000)
    windows[0].close()
