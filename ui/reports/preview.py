"""The print preview: the real pages of a printout, then print, save as PDF or export the figures.

A report is built once, as a PDF (``app.reports``); the preview shows that PDF's pages as pdfium
renders them (``pypdfium2``), so what is seen is what prints and what is saved, on every machine.
Pages are rendered on the reports lane as they scroll into view and only the nearest few are kept, so
a 300-page ledger costs no more memory than a short one. Printing renders each chosen page at the
printer's resolution (at most 300 dpi) and paints it on the ``QPrinter`` in the background, with
progress and Cancel: the printer dialog's page range and copies apply, and a PDF printer gives the
same pages.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPixmap, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.i18n import _
from app.reports.tables import Sheet
from ui.operations import Cancelled, Op, OpContext

log = logging.getLogger("hotline.ui.reports")

PREVIEW_DPI = 96
MAX_PRINT_DPI = 300
KEPT_PAGES = 12  # rendered pages kept in memory around the visible ones
PAGE_GAP = 14
FIT_WIDTH = 0.0  # the zoom choice that follows the window's width
ZOOMS = (FIT_WIDTH, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def _pdfium() -> Any:
    import pypdfium2

    return pypdfium2


# pdfium must not run on two threads at once: the reports lane renders and prints, the GUI thread reads
# page sizes when a preview opens. Every pdfium call holds this lock.
_PDFIUM = threading.Lock()


class PdfPages:
    """A PDF opened once for pdfium (opening costs about as much as rendering a page), its page sizes
    in points, and its pages rendered on demand (any thread). ``close`` when done; a page asked for
    after that raises ``Cancelled``, so work still queued for a closed preview ends quietly."""

    def __init__(self, pdf: bytes) -> None:
        self._pdf = pdf
        self._document: Any = None
        self._closed = False
        with _PDFIUM:
            document = self._open()
            self.sizes: list[tuple[float, float]] = [document[i].get_size() for i in range(len(document))]

    def _open(self) -> Any:
        if self._closed:
            raise Cancelled
        if self._document is None:
            self._document = _pdfium().PdfDocument(self._pdf)
        return self._document

    def render(self, index: int, dpi: float) -> QImage:
        """Page ``index`` (from 0) as an image at ``dpi`` (white paper)."""
        import pypdfium2.raw as pdfium_c

        with _PDFIUM:
            page = self._open()[index]
            try:
                bitmap = page.render(scale=dpi / 72, force_bitmap_format=pdfium_c.FPDFBitmap_BGRx)
                image = QImage(
                    bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGB32
                )
                return image.copy()  # own the pixels: the bitmap's memory goes with the page
            finally:
                page.close()

    def close(self) -> None:
        with _PDFIUM:
            self._closed = True
            if self._document is not None:
                self._document.close()
                self._document = None


def render_page(pdf: bytes, index: int, dpi: float) -> QImage:
    """Page ``index`` (from 0) of ``pdf`` as an image at ``dpi`` (one page, once)."""
    pages = PdfPages(pdf)
    try:
        return pages.render(index, dpi)
    finally:
        pages.close()


def print_pages(pdf: PdfPages, printer: QPrinter, pages: Sequence[int], op: OpContext | None = None) -> int:
    """Paint ``pages`` (indexes from 0) on ``printer``, one sheet each, fitted to its page (any thread;
    Qt allows painting on a QPrinter outside the GUI thread). Returns the number of pages printed."""
    dpi = min(printer.resolution(), MAX_PRINT_DPI)
    painter = QPainter()
    if not painter.begin(printer):
        raise UserFacingError(_("The printer could not be started. Check that it is ready and try again."))
    try:
        for number, index in enumerate(pages):
            if op is not None:
                op.check_cancelled()
                op.progress(number, len(pages), "")
            if number:
                printer.newPage()
            image = pdf.render(index, dpi)
            area = painter.viewport()
            size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QRect(area.x(), area.y(), size.width(), size.height()), image)
    finally:
        painter.end()
    return len(pages)


class _PageView(QLabel):
    def __init__(self, size: QSize, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFixedSize(size)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("QLabel { background: white; border: 1px solid #b8b8b8; }")


class PrintPreview(QDialog):
    """``pdf``: the printout; ``sheets``: its figures for 导出 Excel/CSV (none: those buttons hide);
    ``name``: the file name offered when saving (without suffix)."""

    def __init__(
        self,
        mw: Any,
        title: str,
        pdf: bytes,
        name: str,
        sheets: Sequence[Sheet] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent or mw)
        self.mw, self.pdf, self.name, self.sheets = mw, pdf, name, list(sheets)
        self.setObjectName("PrintPreview")
        self.setWindowTitle(_("Print preview — {title}").format(title=title))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.pages = PdfPages(pdf)  # open while the preview is: closed when it closes
        self.finished.connect(self.pages.close)
        self.sizes = self.pages.sizes
        self.zoom = 1.0
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._rendering: set[int] = set()
        self._build()
        self._lay_out_pages()
        self.resize(980, 900)

    # --- building ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.print_button = QPushButton(_("&Print…"), self)
        self.print_button.setObjectName("printButton")
        self.print_button.setToolTip(_("Print on a printer of this computer (Ctrl+P)"))
        self.print_button.clicked.connect(self.print_dialog)
        self.pdf_button = QPushButton(_("Save as &PDF…"), self)
        self.pdf_button.clicked.connect(self.save_pdf)
        self.xlsx_button = QPushButton(_("Export &Excel…"), self)
        self.xlsx_button.clicked.connect(lambda: self.export_sheets("xlsx"))
        self.csv_button = QPushButton(_("Export &CSV…"), self)
        self.csv_button.clicked.connect(lambda: self.export_sheets("csv"))
        for button in (self.xlsx_button, self.csv_button):
            button.setVisible(bool(self.sheets))
        self.zoom_combo = QComboBox(self)
        for zoom in ZOOMS:
            self.zoom_combo.addItem(_("Fit width") if zoom == FIT_WIDTH else f"{round(zoom * 100)}%", zoom)
        self.zoom_combo.setCurrentIndex(ZOOMS.index(FIT_WIDTH))
        self.zoom_combo.currentIndexChanged.connect(self._zoom_changed)
        self.pages_label = QLabel(_("{count} pages").format(count=len(self.sizes)), self)
        self.close_button = QPushButton(_("Close"), self)
        self.close_button.clicked.connect(self.close)
        bar = QHBoxLayout()
        for widget in (self.print_button, self.pdf_button, self.xlsx_button, self.csv_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.pages_label)
        bar.addWidget(QLabel(_("Zoom:"), self))
        bar.addWidget(self.zoom_combo)

        self.page_area = QScrollArea(self)
        self.page_area.setObjectName("previewPages")
        self.page_area.setWidgetResizable(True)
        self.page_area.setStyleSheet("QScrollArea { background: #e6e6e6; }")
        self.canvas = QWidget(self.page_area)
        self.canvas.setStyleSheet("background: #e6e6e6;")
        self.page_box = QVBoxLayout(self.canvas)
        self.page_box.setSpacing(PAGE_GAP)
        self.page_box.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.page_area.setWidget(self.canvas)

        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.page_area, 1)
        layout.addLayout(bottom)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(60)
        self._render_timer.timeout.connect(self._render_visible)
        self.page_area.verticalScrollBar().valueChanged.connect(lambda _v: self._render_timer.start())
        QShortcut(QKeySequence.StandardKey.Print, self, self.print_dialog)

    def _page_pixels(self, index: int) -> QSize:
        width, height = self.sizes[index]
        scale = PREVIEW_DPI / 72 * self.zoom
        return QSize(round(width * scale), round(height * scale))

    def _lay_out_pages(self) -> None:
        while self.page_box.count():
            item = self.page_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.views = [_PageView(self._page_pixels(i), self.canvas) for i in range(len(self.sizes))]
        for view in self.views:
            self.page_box.addWidget(view, 0, Qt.AlignmentFlag.AlignHCenter)
        self._images.clear()
        self._render_timer.start()

    def _zoom_changed(self, _index: int) -> None:
        self.zoom = self._chosen_zoom()
        self._lay_out_pages()

    def _chosen_zoom(self) -> float:
        chosen = float(self.zoom_combo.currentData())
        if chosen != FIT_WIDTH:
            return chosen
        widest = max((width for width, _height in self.sizes), default=595.0) * PREVIEW_DPI / 72
        room = (
            self.page_area.viewport().width()
            - 2 * PAGE_GAP
            - self.page_area.verticalScrollBar().sizeHint().width()
        )
        return max(0.25, min(room / widest, 3.0))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._refit)  # once the layout has given the page area its size

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self._refit)

    def _refit(self) -> None:
        if float(self.zoom_combo.currentData()) == FIT_WIDTH:
            zoom = self._chosen_zoom()
            if abs(zoom - self.zoom) > 0.01:
                self.zoom = zoom
                self._lay_out_pages()

    # --- rendering as pages come into view -----------------------------------------------------------

    def visible_pages(self) -> list[int]:
        top = self.page_area.verticalScrollBar().value()
        bottom = top + self.page_area.viewport().height()
        return [
            i for i, view in enumerate(self.views) if view.y() < bottom and view.y() + view.height() > top
        ]

    def _render_visible(self) -> None:
        visible = self.visible_pages() or [0]
        wanted = [i for i in range(max(visible[0] - 1, 0), min(visible[-1] + 2, len(self.views)))]
        todo = [i for i in wanted if i not in self._images and i not in self._rendering]
        if not todo:
            return
        pages, dpi, zoom = self.pages, PREVIEW_DPI * self.zoom * self.devicePixelRatioF(), self.zoom
        self._rendering.update(todo)

        def work(op: OpContext) -> list[tuple[int, QImage]]:
            rendered = []
            for index in todo:
                op.check_cancelled()
                rendered.append((index, pages.render(index, dpi)))
            return rendered

        def done(rendered: list[tuple[int, QImage]]) -> None:
            self._rendering.difference_update(todo)
            if zoom != self.zoom:
                self._render_timer.start()
                return
            for index, image in rendered:
                image.setDevicePixelRatio(self.devicePixelRatioF())
                self._images[index] = image
                self.views[index].setPixmap(_pixmap(image))
            self._forget_far_pages(wanted)
            self._render_timer.start()  # scrolled on meanwhile?

        def failed(error: BaseException) -> None:
            self._rendering.difference_update(todo)
            log.warning("preview pages could not be rendered: %s", error)

        Op(self, self.mw.taskman, work).on_reports_lane().success(done).failure(failed).run()

    def _forget_far_pages(self, near: list[int]) -> None:
        while len(self._images) > KEPT_PAGES:
            far = max(self._images, key=lambda i: min(abs(i - n) for n in near))
            if far in near:
                break
            del self._images[far]
            self.views[far].clear()

    # --- out -----------------------------------------------------------------------------------------

    def print_dialog(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.name)
        printer.setFromTo(1, len(self.sizes))
        dialog = QPrintDialog(printer, self)
        dialog.setMinMax(1, len(self.sizes))
        dialog.setWindowTitle(_("Print"))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def pages_chosen(self, printer: QPrinter) -> list[int]:
        """The pages (from 0) the printer dialog's range asks for; all pages without a range."""
        if printer.printRange() == QPrinter.PrintRange.PageRange and printer.fromPage() > 0:
            first, last = printer.fromPage(), min(printer.toPage() or len(self.sizes), len(self.sizes))
            return list(range(first - 1, last))
        if printer.printRange() == QPrinter.PrintRange.CurrentPage:
            return (self.visible_pages() or [0])[:1]
        return list(range(len(self.sizes)))

    def print_to(self, printer: QPrinter) -> Op[int]:
        chosen, pages = self.pages_chosen(printer), self.pages

        def work(op: OpContext) -> int:
            return print_pages(pages, printer, chosen, op)

        def done(count: int) -> None:
            self.mw.status_message(_("Sent {count} pages to the printer.").format(count=count))

        op = Op(self, self.mw.taskman, work).on_reports_lane().with_progress(_("Printing…")).success(done)
        op.run()
        return op

    def save_pdf(self) -> None:
        start = str(Path.home() / f"{self.name}.pdf")
        path, _filter = QFileDialog.getSaveFileName(self, _("Save as PDF"), start, _("PDF files (*.pdf)"))
        if not path:
            return
        target = Path(path if path.lower().endswith(".pdf") else path + ".pdf")
        pdf = self.pdf

        def work(_op: OpContext) -> Path:
            try:
                target.write_bytes(pdf)
            except OSError as exc:
                raise UserFacingError(
                    _("The PDF could not be saved: {error}").format(error=exc.strerror or exc)
                ) from exc
            return target

        Op(self, self.mw.taskman, work).on_reports_lane().success(
            lambda saved: self.mw.status_message(_("Saved {path}").format(path=saved))
        ).run()

    def export_sheets(self, kind: str) -> None:
        suffix = ".xlsx" if kind == "xlsx" else ".csv"
        label = _("Excel workbooks (*.xlsx)") if kind == "xlsx" else _("CSV files (*.csv)")
        start = str(Path.home() / f"{self.name}{suffix}")
        path, _filter = QFileDialog.getSaveFileName(self, _("Export the figures"), start, label)
        if not path:
            return
        target = Path(path if path.lower().endswith(suffix) else path + suffix)
        sheets = list(self.sheets)

        def work(_op: OpContext) -> Path:
            from app.reports.tables import write_csv, write_xlsx

            (write_xlsx if kind == "xlsx" else write_csv)(sheets, target)
            return target

        Op(self, self.mw.taskman, work).on_reports_lane().success(
            lambda saved: self.mw.status_message(_("Saved {path}").format(path=saved))
        ).run()


def _pixmap(image: QImage) -> QPixmap:
    return QPixmap.fromImage(image)
