"""The print preview as the engineer uses it: the real pages shown, printed through QPrinter (here a
PDF printer, as the print dialog gives it) with the chosen page range, saved and exported."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QFileDialog

from app.reports.article import ArticleDocument, render_article
from app.reports.tables import Sheet
from ui.operations import Cancelled
from ui.reports.preview import PdfPages, PrintPreview, render_page


def three_page_pdf() -> bytes:
    steps = "\n".join(f"{n}. 第{n}步：在【单位信息维护】中核对开票点编码并保存。" for n in range(1, 100))
    out = io.BytesIO()
    pages = render_article(ArticleDocument(title="开票点维护", sections=[("解决办法", steps)]), out)
    assert pages == 3
    return out.getvalue()


def dark_share(pdf_page_image: Any) -> float:
    image = pdf_page_image.convertToFormat(pdf_page_image.Format.Format_Grayscale8)
    dark = 0
    for y in range(0, image.height(), 4):
        line = image.constScanLine(y).tobytes()[: image.width()]
        dark += sum(1 for value in line[::4] if value < 160)
    return dark / ((image.height() // 4) * (image.width() // 4))


@pytest.fixture
def preview(qtbot: Any, main_window: Any) -> PrintPreview:
    sheets = [Sheet("来电登记台账", ["单位", "来电数"], [["常州市第一中学", 3]])]
    dialog = PrintPreview(main_window, "开票点维护", three_page_pdf(), "开票点维护", sheets)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_preview_shows_the_real_pages(qtbot: Any, preview: PrintPreview) -> None:
    assert len(preview.views) == 3
    assert preview.pages_label.text() == "共 3 页"
    qtbot.waitUntil(lambda: preview.views[0].pixmap() is not None and not preview.views[0].pixmap().isNull())
    assert 0.002 < dark_share(preview.views[0].pixmap().toImage()) < 0.5  # ink, not a blank sheet
    preview.zoom_combo.setCurrentIndex(preview.zoom_combo.findData(1.5))
    qtbot.waitUntil(lambda: preview.views[0].pixmap() is not None and not preview.views[0].pixmap().isNull())
    assert preview.views[0].width() == round(595.27 * 96 / 72 * 1.5)  # A4, at the zoom
    preview.zoom_combo.setCurrentIndex(preview.zoom_combo.findText("适合宽度"))
    preview.resize(700, 800)
    qtbot.waitUntil(lambda: preview.views[0].width() < preview.page_area.viewport().width())


def test_printing_a_page_range_goes_through_qprinter(
    qtbot: Any, preview: PrintPreview, tmp_path: Path
) -> None:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setPrintRange(QPrinter.PrintRange.PageRange)
    printer.setFromTo(2, 3)
    preview.print_to(printer)
    qtbot.waitUntil(
        lambda: (tmp_path / "printed.pdf").exists() and preview.mw.taskman.running == 0, timeout=20_000
    )
    printed = (tmp_path / "printed.pdf").read_bytes()
    assert len(PdfReader(io.BytesIO(printed)).pages) == 2
    assert 0.002 < dark_share(render_page(printed, 0, 40)) < 0.5
    assert preview.mw.statusBar().currentMessage() == "已将 2 页发送到打印机。"


def test_save_as_pdf_and_export_the_figures(
    qtbot: Any, preview: PrintPreview, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(tmp_path / "保存"), ""))
    preview.save_pdf()
    qtbot.waitUntil(lambda: (tmp_path / "保存.pdf").exists(), timeout=10_000)
    assert (tmp_path / "保存.pdf").read_bytes() == preview.pdf
    preview.xlsx_button.click()
    qtbot.waitUntil(lambda: (tmp_path / "保存.xlsx").exists(), timeout=10_000)
    assert load_workbook(tmp_path / "保存.xlsx").sheetnames == ["来电登记台账"]


def test_closing_the_preview_closes_its_pdf_and_pages_still_queued_end_quietly(
    qtbot: Any, main_window: Any
) -> None:
    preview = PrintPreview(main_window, "开票点维护", three_page_pdf(), "开票点维护")  # deleted on close
    preview.show()
    qtbot.waitUntil(lambda: preview.views[0].pixmap() is not None and not preview.views[0].pixmap().isNull())
    pages = preview.pages
    preview.zoom_combo.setCurrentIndex(preview.zoom_combo.findData(2.0))  # renders queued again
    preview.close()
    with pytest.raises(Cancelled):  # what a render queued before the close meets on the reports lane
        pages.render(1, 40)
    main_window.taskman.wait_for_idle(10_000)
    qtbot.wait(50)  # pytest-qt fails the test on any error reaching the event loop


def test_pages_of_one_open_pdf_render_as_often_as_asked() -> None:
    pages = PdfPages(three_page_pdf())
    try:
        assert len(pages.sizes) == 3 and round(pages.sizes[0][0], 1) == 595.3  # A4 portrait
        first = [dark_share(pages.render(index, 40)) for index in range(3)]
        again = [dark_share(pages.render(index, 40)) for index in range(3)]
        assert first == again and all(0.001 < share < 0.5 for share in first)
    finally:
        pages.close()
