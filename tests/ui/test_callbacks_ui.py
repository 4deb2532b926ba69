"""Call-backs in the window, at a fake clock: a missed weekend call in Changzhou counts down in the
due-soon panel and in the call's window, warns once when its time has passed, and "已回电" closes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import QApplication, QPushButton

from app.context import AppContext
from app.services import calls
from app.services.reference import list_categories, list_sites
from app.sla.wall_time import SHANGHAI
from tests.ui.test_tickets_page import FakeClock, load

SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)


def missed_call(ctx: AppContext, started: dt.datetime, outcome: str = "callback") -> str:
    with ctx.db.session() as session:
        site = list_sites(session)[0].id  # 常州: call back within 30 min on a non-working day
        category = list_categories(session)[0].id
    data = calls.CallInput(
        site_id=site, started_at=started, engineer="张工", caller_phone="0519-86661234",
        caller_name="李会计", category_id=category, question="周末开票失败", outcome=outcome,
    )  # fmt: skip
    with ctx.uow() as uow:
        return calls.record_call(uow, data).id


def detail_window(call_id: str) -> Any:
    from ui.calls.detail import CallDetailDialog

    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, CallDetailDialog) and w.isVisible()]
    assert found and found[-1].call_id == call_id
    return found[-1]


def test_a_missed_weekend_call_counts_down_warns_once_and_is_closed_by_calling_back(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    call_id = missed_call(ui_ctx, SATURDAY)
    missed_call(ui_ctx, SATURDAY + dt.timedelta(minutes=1), outcome="answered")  # nothing to call back
    clock = FakeClock(SATURDAY + dt.timedelta(minutes=12))
    load(qtbot, main_window, clock)
    shown: list[tuple[str, str]] = []
    main_window.notify = lambda title, text: shown.append((title, text))

    panel = main_window.due_soon
    assert panel.list.count() == 1
    assert panel.list.item(0).text() == "回电 李会计 0519-86661234\t剩余 00:18:00\n周末开票失败"
    assert "非工作日" in panel.list.item(0).toolTip()

    clock.now = SATURDAY + dt.timedelta(minutes=31)
    for _ in range(3):
        main_window.ticker.fire()
    assert "已超时 00:01:00" in panel.list.item(0).text()
    assert [text for _title, text in shown if "回电时限已过" in text] == [
        "回电 李会计 0519-86661234：回电时限已过。"
    ]  # once, however many ticks
    assert {title for title, _text in shown} == {"回电提醒"}

    panel._open(panel.list.item(0))  # a double click opens the call
    dialog = detail_window(call_id)
    assert dialog.callback_row.isVisible()
    assert dialog.callback_label.text() == "已超时 00:01:00"
    clock.now += dt.timedelta(seconds=30)
    main_window.ticker.fire()
    assert dialog.callback_label.text() == "已超时 00:01:30"

    button = dialog.findChild(QPushButton, "calledBackButton")
    assert button is not None and button.isVisible()
    button.click()
    qtbot.waitUntil(lambda: not dialog.callback_button.isVisible(), timeout=10_000)
    assert dialog.callback_label.text() == "已于 2026-12-05 10:31 回电 · 超时 00:01:30 完成"
    qtbot.waitUntil(lambda: panel.list.count() == 0, timeout=10_000)  # gone from the panel
    dialog.close()


def test_a_call_that_needs_no_call_back_shows_no_call_back_line(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    call_id = missed_call(ui_ctx, SATURDAY, outcome="answered")
    load(qtbot, main_window, FakeClock(SATURDAY + dt.timedelta(minutes=5)))
    main_window.open_call(call_id)
    dialog = detail_window(call_id)
    assert not dialog.callback_row.isVisible()
    dialog.close()


def test_a_long_overdue_call_back_shows_its_days_and_the_whole_countdown_in_a_narrow_panel(
    qtbot: Any, ui_ctx: AppContext, main_window: Any
) -> None:
    missed_call(ui_ctx, SATURDAY)
    clock = FakeClock(SATURDAY + dt.timedelta(days=340, minutes=30, seconds=5))
    load(qtbot, main_window, clock)
    panel = main_window.due_soon
    assert panel.list.item(0).text().split("\n")[0].endswith("\t已超时 340天 00:00:05")

    panel.list.setFixedWidth(240)  # narrower than the number and the countdown side by side
    qtbot.waitUntil(lambda: panel.list.viewport().width() < 240)
    panel.list.doItemsLayout()
    image = panel.list.viewport().grab().toImage()
    rect = panel.list.visualItemRect(panel.list.item(0)).intersected(panel.list.viewport().rect())
    line = rect.top() + rect.height() // 4  # the middle of the first of its two lines
    red = [
        x
        for x in range(rect.left(), rect.right())
        for y in range(line - 4, line + 5)
        if (c := image.pixelColor(x, y)).red() > 150 and c.green() < 110 and c.blue() < 110
    ]
    assert red and max(red) > rect.right() - 12  # the countdown's last digit reaches the right edge
    text_width = panel.list.fontMetrics().horizontalAdvance(panel.list.item(0).text().split("\n")[0])
    assert text_width > rect.width()  # it would not have fitted whole after the number
