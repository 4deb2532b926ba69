"""报表 as the engineer uses it: pick a document and its period, see it built in the background and
open in the print preview with its real pages and figures."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from app.context import AppContext
from app.services import calls, reference
from tests.helpers.qt_input import pick
from tests.helpers.qt_windows import shown_windows
from ui.reports.preview import PrintPreview

SHANGHAI = ZoneInfo("Asia/Shanghai")


def record_calls(ctx: AppContext, count: int, day: dt.date, unit: str = "常州市第{n}中学") -> None:
    with ctx.db.session() as session:
        site = reference.list_sites(session)[0]
        category = reference.list_categories(session)[1]
    with ctx.uow() as uow:
        for n in range(count):
            calls.record_call(
                uow,
                calls.CallInput(
                    site_id=site.id,
                    started_at=dt.datetime.combine(day, dt.time(9, n % 60), SHANGHAI),
                    engineer="张工",
                    caller_phone=f"0519-8666{n:04d}",
                    unit_name=unit.format(n=n + 1),
                    category_id=category.id,
                    question=f"票据核销失败 第{n + 1}例",
                    answer="重启监听后重新核销。",
                ),
            )


def test_the_ledger_of_a_period_opens_in_the_print_preview(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    record_calls(ui_ctx, 3, dt.date(2026, 11, 20))
    record_calls(ui_ctx, 1, dt.date(2026, 10, 31), unit="十月的单位")  # outside the period
    main_window.show_page("reports")
    page = main_window.reports_page
    assert main_window.stack.currentWidget() is page
    page.choice_list.setCurrentRow(0)
    assert page.title_label.text() == "来电登记台账"
    page.date_from.setDate(dt.date(2026, 11, 1))
    page.date_to.setDate(dt.date(2026, 11, 30))
    pick(qtbot, page.outcome_combo, "全部")
    page.preview_button.click()
    qtbot.waitUntil(lambda: len(shown_windows(PrintPreview)) == 1, timeout=20_000)
    [preview] = shown_windows(PrintPreview)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(preview.pdf)).pages).replace(" ", "")
    assert "来电登记台账" in text and "常州市第3中学" in text and "常州市第1中学" in text
    assert "第1页/共1页" in text
    assert "十月的单位" not in text
    assert [s.name for s in preview.sheets] and len(preview.sheets[0].rows) == 3
    assert preview.windowTitle() == "打印预览 — 来电登记台账"
    preview.close()


def test_a_period_that_ends_before_it_starts_is_told_not_built(
    qtbot: Any, main_window: Any, dialog_recorder: Any
) -> None:
    main_window.show_page("reports")
    page = main_window.reports_page
    page.date_from.setDate(dt.date(2026, 11, 30))
    page.date_to.setDate(dt.date(2026, 11, 1))
    page.preview_button.click()
    qtbot.waitUntil(lambda: bool(dialog_recorder.warnings), timeout=10_000)
    assert dialog_recorder.warnings == ["结束日期早于开始日期。"]
    assert shown_windows(PrintPreview) == []
