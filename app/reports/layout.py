"""The shared A4 page of every printout: margins, paragraph styles, letterhead and page numbers.

A report builds a story (a list of reportlab flowables, made with ``report_styles()`` and
``CJKParagraph``) and hands it to ``build_pdf`` with a ``PageFurniture``::

    styles = report_styles()
    story = [CJKParagraph(escape_text(title), styles.title), ...]
    build_pdf(out, story, PageFurniture(letterhead="常州市财政局 运维服务", header_right=..., printed_at=...))

Every page gets the letterhead line at the top and "第 X 页 / 共 Y 页" with the print time at the
bottom. The total is known only after the last page, so ``_NumberedCanvas`` keeps each finished page
and draws the furniture on all of them when the document is saved.

Margins follow the Chinese official-document page (GB/T 9704: a 156 mm wide type area on A4, wider
margin on the binding side). Text wraps the Chinese way (``wordWrap="CJK"``, with the line-break
rules of ``linebreak``: a line may break between any two hanzi, but never starts with "，" or "”" and
never ends with "“" or "（"), and Latin words and long codes stay whole where they fit.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.paragraph import ParaLines, _handleBulletWidth, cjkU, makeCJKParaLine

from app.i18n import _
from app.reports.fonts import is_synthetic_bold, printable, report_fonts
from app.reports.linebreak import break_lines

PdfTarget = str | os.PathLike[str] | IO[bytes]

INK = colors.black
MUTED = colors.HexColor("#555555")  # footer, captions, placeholders
RULE = colors.HexColor("#333333")
SHADE = colors.HexColor("#f2f2f2")  # label cells, table heads, code boxes

LOGO_HEIGHT: float = 8 * mm

# Outline stroke of synthetic bold, as a share of the font size (see fonts.py).
_EMBOLDEN = 0.035


@dataclass(frozen=True, slots=True)
class Margins:
    """Page margins in points (use ``reportlab.lib.units.mm``)."""

    top: float = 30 * mm
    bottom: float = 25 * mm
    left: float = 28 * mm  # binding side
    right: float = 26 * mm


DEFAULT_MARGINS = Margins()
LANDSCAPE_MARGINS = Margins(top=25 * mm, bottom=20 * mm, left=20 * mm, right=20 * mm)


def page_size(*, landscape_page: bool = False) -> tuple[float, float]:
    """A4 (portrait, or landscape for wide ledgers) in points."""
    size: tuple[float, float] = landscape(A4) if landscape_page else A4
    return size


def frame_size(*, landscape_page: bool = False, margins: Margins | None = None) -> tuple[float, float]:
    """Width and height of the type area, in points: what a flowable may occupy."""
    width, height = page_size(landscape_page=landscape_page)
    m = margins or (LANDSCAPE_MARGINS if landscape_page else DEFAULT_MARGINS)
    return width - m.left - m.right, height - m.top - m.bottom


# --- styles ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportStyles:
    """The paragraph styles of every printout; all CJK-wrapping, in the bundled font."""

    title: ParagraphStyle  # centred document title
    heading1: ParagraphStyle  # a document's sections (现象, 原因 ...)
    heading2: ParagraphStyle
    heading3: ParagraphStyle
    heading4: ParagraphStyle
    body: ParagraphStyle  # running text, first line indented two characters
    body_flush: ParagraphStyle  # running text without the indent (list items, quotes)
    quote: ParagraphStyle
    meta_label: ParagraphStyle  # label cells of a key/value table
    meta_value: ParagraphStyle
    cell: ParagraphStyle  # data tables
    cell_head: ParagraphStyle
    code: ParagraphStyle  # monospaced, keeps spaces
    caption: ParagraphStyle  # under a figure
    note: ParagraphStyle  # small grey remarks, placeholders
    small: ParagraphStyle  # letterhead, footer


@functools.cache
def report_styles() -> ReportStyles:
    """The shared styles (made once; treat them as read-only)."""
    fonts = report_fonts()

    def style(name: str, size: float, leading: float, **extra: Any) -> ParagraphStyle:
        values: dict[str, Any] = {
            "fontName": fonts.regular,
            "fontSize": size,
            "leading": leading,
            "textColor": INK,
            "wordWrap": "CJK",
            "alignment": TA_LEFT,
            "allowWidows": 0,
            "allowOrphans": 0,
        }
        values.update(extra)
        return ParagraphStyle(f"hotline.{name}", **values)

    body_size = 10.5  # 五号
    heading = {"fontName": fonts.bold, "keepWithNext": 1}
    return ReportStyles(
        title=style("title", 18, 27, fontName=fonts.bold, alignment=TA_CENTER, spaceAfter=5 * mm),
        heading1=style("heading1", 14, 21, spaceBefore=5 * mm, spaceAfter=2 * mm, **heading),
        heading2=style("heading2", 12, 18, spaceBefore=3 * mm, spaceAfter=1.5 * mm, **heading),
        heading3=style("heading3", 11, 17, spaceBefore=2.5 * mm, spaceAfter=1 * mm, **heading),
        heading4=style("heading4", body_size, 16, spaceBefore=2 * mm, spaceAfter=1 * mm, **heading),
        body=style("body", body_size, 18, firstLineIndent=2 * body_size, spaceAfter=1.5),
        body_flush=style("body_flush", body_size, 18, spaceAfter=1.5),
        quote=style("quote", body_size, 18, textColor=MUTED, leftIndent=2 * body_size),
        meta_label=style("meta_label", 9, 13, alignment=TA_CENTER),
        meta_value=style("meta_value", 9, 13),
        cell=style("cell", 9, 13),
        cell_head=style("cell_head", 9, 13, fontName=fonts.bold),
        code=style("code", 8.5, 12, fontName=fonts.mono),
        caption=style("caption", 9, 13, alignment=TA_CENTER, textColor=MUTED, spaceBefore=1, spaceAfter=6),
        note=style("note", 9, 13, textColor=MUTED, spaceBefore=2, spaceAfter=4),
        small=style("small", 9, 11),
    )


# --- text -----------------------------------------------------------------------------------------


def escape_text(text: str) -> str:
    """Plain text as paragraph markup: nothing in it is taken for a tag; newlines break the line."""
    return escape(printable(text)).replace("\n", "<br/>")


class _EmboldeningText(PDFTextObject):  # type: ignore[misc]  # reportlab has no type hints
    """A text object that strokes the glyph outlines of the synthetic-bold font (see fonts.py)."""

    def setFont(self, psfontname: str, size: float, leading: float | None = None) -> None:
        super().setFont(psfontname, size, leading)
        self._embolden(psfontname)

    def _setFont(self, psfontname: str, size: float) -> None:
        super()._setFont(psfontname, size)
        self._embolden(psfontname)

    def setFillColor(self, aColor: Any, alpha: float | None = None) -> None:
        super().setFillColor(aColor, alpha)
        super().setStrokeColor(aColor, alpha)

    def getCode(self) -> str:
        # The render mode is graphics state and would outlive this text object.
        self.setTextRenderMode(0)
        code: str = super().getCode()
        return code

    def _embolden(self, font: str) -> None:
        self.setTextRenderMode(2 if is_synthetic_bold(font) else 0)  # 2: fill, then stroke


class CJKParagraph(Paragraph):  # type: ignore[misc]  # reportlab has no type hints
    """A paragraph that breaks lines by the Chinese rules and draws the synthetic bold face bold; use it
    for every paragraph of a report."""

    def breakLinesCJK(self, maxWidths: Any) -> Any:  # reportlab's hook (style.wordWrap == "CJK")
        max_widths = list(maxWidths) if isinstance(maxWidths, (list, tuple)) else [maxWidths]
        frags = self.frags
        if (
            not frags
            or self.style.endDots
            or (getattr(self, "_splitpara", 0) and hasattr(self, "blPara"))  # the rest of a split one
            or any(getattr(getattr(f, "cbDefn", None), "width", 0) for f in frags)  # inline images
            or not all(hasattr(f, "text") for f in frags)  # the lines of a split paragraph, already broken
        ):
            return super().breakLinesCJK(maxWidths)
        self.height = 0
        _handleBulletWidth(self.bulletText, self.style, max_widths)
        # one glyph per character, and an empty one for a run without text (a <br/>), as reportlab does
        glyphs = [
            glyph
            for f in frags
            for glyph in ([cjkU(c, f, "utf8") for c in f.text] if f.text else [cjkU("", f, "utf8")])
        ]
        forced = frozenset(i for i, g in enumerate(glyphs) if hasattr(g.frag, "lineBreak"))
        lines = break_lines(glyphs, [g.width for g in glyphs], max_widths, forced)

        def width_of(n: int) -> float:
            return float(max_widths[min(n, len(max_widths) - 1)])

        if len(frags) == 1 and not forced:  # one run of text: reportlab's plain line list
            f = frags[0]
            plain = [
                (width_of(n) - ln.width, [f.text[ln.start : ln.end].strip()]) for n, ln in enumerate(lines)
            ]
            return f.clone(kind=0, lines=plain, ascent=f.fontSize, descent=-0.2 * f.fontSize)
        calc_bounds = getattr(self, "autoLeading", getattr(self.style, "autoLeading", "")) not in ("", "off")
        return ParaLines(
            kind=1,
            lines=[
                makeCJKParaLine(
                    glyphs[line.start : line.end],
                    width_of(n),
                    line.width,
                    width_of(n) - line.width,
                    line.forced,
                    calc_bounds,
                )
                for n, line in enumerate(lines)
            ],
        )

    def beginText(self, x: float, y: float) -> _EmboldeningText:  # reportlab's hook
        canvas = self.canv
        canvas.setLineWidth(self.style.fontSize * _EMBOLDEN)
        canvas.setLineJoin(1)  # round: no spikes at sharp corners of the outline
        return _EmboldeningText(canvas, x, y)


def grid_style(*commands: tuple[Any, ...]) -> TableStyle:
    """The ruled table of every printout (thin grid, cells centred vertically), plus ``commands``.

    Shade label cells or a header row with ``("BACKGROUND", start, stop, SHADE)``; put
    ``CJKParagraph`` cells in, plain strings do not wrap.
    """
    font = report_fonts().regular
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),  # for plain-string cells: never a non-embedded font
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("GRID", (0, 0), (-1, -1), 0.5, RULE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            *commands,
        ]
    )


# --- pages ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letterhead:
    """A site's printed identity, set per site: the line heading every page (常州市财政局 运维服务),
    an optional logo (PNG or JPEG bytes) drawn left of it, and the labels of the signature block that
    ends a form (经办人, 审核人 …; empty: the document's own)."""

    text: str
    logo: bytes | None = None
    signatures: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageFurniture:
    """What every page carries besides the content; all texts already translated.

    ``letterhead`` (the site, e.g. 常州市财政局 运维服务) heads the page on the left above a rule,
    after ``logo`` if given, ``header_right`` (the kind of document) on the right; the footer shows
    when it was printed and "第 X 页 / 共 Y 页".
    """

    letterhead: str
    printed_at: str
    header_right: str = ""
    logo: bytes | None = None

    @classmethod
    def of(cls, letterhead: Letterhead, printed_at: str, header_right: str = "") -> PageFurniture:
        return cls(letterhead.text, printed_at, header_right, letterhead.logo)

    def draw(self, canvas: Any, page: int, pages: int, margins: Margins) -> None:
        """Draw the header and footer of page ``page`` of ``pages`` on ``canvas``."""
        font = report_fonts().regular
        page_width, page_height = canvas._pagesize
        left, right = margins.left, page_width - margins.right
        gap = 6 * mm
        canvas.saveState()
        canvas.setFillColor(INK)
        canvas.setFont(font, 9)
        header_y = page_height - margins.top + 6 * mm
        kind = _fit(printable(self.header_right), font, 9, (right - left) / 2)
        letterhead_room = right - left - (stringWidth(kind, font, 9) + gap if kind else 0)
        text_left = left + self._draw_logo(canvas, left, header_y - 1 * mm)
        letterhead_room -= text_left - left
        canvas.drawString(text_left, header_y, _fit(printable(self.letterhead), font, 9, letterhead_room))
        canvas.drawRightString(right, header_y, kind)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(left, header_y - 2.2 * mm, right, header_y - 2.2 * mm)

        footer_y = margins.bottom - 10 * mm
        numbers = _("Page {page} of {pages}").format(page=page, pages=pages)
        centre = (left + right) / 2
        canvas.drawCentredString(centre, footer_y, numbers)
        if self.printed_at:
            canvas.setFillColor(MUTED)
            canvas.setFont(font, 8)
            room = right - (centre + stringWidth(numbers, font, 9) / 2 + gap)
            printed = _("Printed {time}").format(time=printable(self.printed_at))
            canvas.drawRightString(right, footer_y, _fit(printed, font, 8, room))
        canvas.restoreState()

    def _draw_logo(self, canvas: Any, left: float, bottom: float) -> float:
        """The logo, 8 mm high, its foot on ``bottom``; the width it took (with a gap), 0 without
        one. A logo that is no picture is left out (the page still prints)."""
        if not self.logo:
            return 0.0
        try:
            reader = ImageReader(io.BytesIO(self.logo))
            width, height = reader.getSize()
        except Exception:  # reportlab/PIL raise anything for a broken picture
            return 0.0
        if not width or not height:
            return 0.0
        drawn_height = LOGO_HEIGHT
        drawn_width: float = min(float(width) * drawn_height / float(height), 40 * mm)
        canvas.drawImage(
            reader, left, bottom, drawn_width, drawn_height, mask="auto", preserveAspectRatio=True
        )
        return drawn_width + 2 * float(mm)


def signature_block(labels: tuple[str, ...], width: float) -> Flowable:
    """The lines a form ends with, "经办人：________" side by side (two or three a row), each label with a
    ruled line to sign on; a label naming a date ("日期", "Date") gets "年  月  日" on its line. Kept
    together on one page."""
    styles = report_styles()
    per_row = 3 if len(labels) % 3 == 0 or len(labels) > 4 else 2
    slot = width / per_row
    gap = 6 * mm  # between one signature's line and the next label
    font, size = styles.body_flush.fontName, styles.body_flush.fontSize
    # every label column as wide as the widest label, so the lines of all rows start in one column
    label_width = (
        min(max(stringWidth(label + "：", font, size) for label in labels) + 1, slot / 2) if labels else 0
    )
    line_width = min(slot - label_width - gap, 45 * mm)  # a name's length, not the whole landscape slot
    gap = slot - label_width - line_width
    # labels set right, against their line; the date's 年 月 日 at the end of its line
    right = ParagraphStyle("hotline.signature", parent=styles.body_flush, alignment=TA_RIGHT)
    rows: list[list[object]] = []
    for start in range(0, len(labels), per_row):
        row: list[object] = []
        for label in labels[start : start + per_row]:
            on_line = _DATE_BLANKS if _is_date_label(label) else ""
            row += [
                CJKParagraph(escape_text(label) + "：", right),
                CJKParagraph(on_line, right) if on_line else "",
                "",
            ]
        rows.append(row + [""] * (3 * per_row - len(row)))
    table = Table(rows, colWidths=[label_width, line_width, gap] * per_row, rowHeights=[14 * mm] * len(rows))
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for r in range(len(rows)):
        for c in range(len(labels[r * per_row : (r + 1) * per_row])):
            commands.append(("LINEBELOW", (3 * c + 1, r), (3 * c + 1, r), 0.6, INK))
    table.setStyle(TableStyle(commands))
    return KeepTogether([Spacer(1, 8 * mm), table])


_DATE_BLANKS = "年&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;月&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;日"


def _is_date_label(label: str) -> bool:
    return label.strip().endswith(("日期", "时间")) or label.strip().lower() == "date"


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` (one line) cut with an ellipsis so that it fits ``width``."""
    text = " ".join(text.split())
    if stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        if stringWidth(text[:middle] + "…", font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
    """Keeps every page until the end, then draws the furniture knowing the page count."""

    def __init__(self, *args: Any, furniture: PageFurniture, margins: Margins, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._margins = margins
        self._finished_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._finished_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        pages = len(self._finished_pages)
        for number, state in enumerate(self._finished_pages, start=1):
            self.__dict__.update(state)
            self._furniture.draw(self, number, pages, self._margins)
            super().showPage()
        super().save()


def build_pdf(
    out: PdfTarget,
    story: list[Flowable],
    furniture: PageFurniture,
    *,
    title: str = "",
    author: str = "",
    subject: str = "",
    landscape_page: bool = False,
    margins: Margins | None = None,
) -> int:
    """Lay ``story`` out on A4 pages with ``furniture`` and write the PDF to ``out``; returns the page count.

    ``out`` is a path or a binary file opened for writing. Errors writing it (``OSError``) are the
    caller's to report.
    """
    m = margins or (LANDSCAPE_MARGINS if landscape_page else DEFAULT_MARGINS)
    size = page_size(landscape_page=landscape_page)
    width, height = frame_size(landscape_page=landscape_page, margins=m)
    target = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    doc = BaseDocTemplate(
        target,
        pagesize=size,
        leftMargin=m.left,
        rightMargin=m.right,
        topMargin=m.top,
        bottomMargin=m.bottom,
        title=printable(title),
        author=printable(author),
        subject=printable(subject),
        creator="Hotline Console",
        initialFontName=report_fonts().regular,
    )
    frame = Frame(
        m.left, m.bottom, width, height, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=functools.partial(_NumberedCanvas, furniture=furniture, margins=m))
    pages: int = doc.page
    return pages
