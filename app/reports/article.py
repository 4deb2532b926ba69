"""One knowledge-base article (运维知识库) as a filed A4 document.

The page: the site's letterhead, the title centred, a thin-ruled table of the article's facts (two
label/value pairs a row), then each section that has text under its heading (现象, 原因, 解决办法 ...),
and "第 X 页 / 共 Y 页" with the print time at the foot. The caller gathers and translates everything;
this module only lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table

from app.i18n import _
from app.reports.layout import (
    SHADE,
    CJKParagraph,
    PageFurniture,
    PdfTarget,
    ReportStyles,
    build_pdf,
    escape_text,
    frame_size,
    grid_style,
    report_styles,
)
from app.reports.markdown import markdown_to_flowables

META_LABEL_WIDTH = 20 * mm


@dataclass(frozen=True)
class ArticleDocument:
    """What an article printout shows; every text already in the reader's language.

    ``meta``: label/value pairs (类型, 系统, 模块, 标签, 状态, 版本, 作者, 更新时间 ...), in order.
    ``sections``: heading and Markdown body; sections with an empty body are left out.
    ``images``: the bytes of the pictures the bodies reference as ``kbimg:<id>``.
    """

    title: str
    meta: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    images: Mapping[str, bytes] = field(default_factory=dict)
    letterhead: str = ""
    printed_at: str = ""
    logo: bytes | None = None  # the site's logo beside the letterhead (PNG or JPEG)


def render_article(doc: ArticleDocument, out: PdfTarget) -> int:
    """Write ``doc`` as an A4 PDF to ``out`` (a path or a binary file); returns the number of pages.

    Any text renders (see ``app.reports.markdown``); ``OSError`` from writing ``out`` is the caller's.
    """
    styles = report_styles()
    width, height = frame_size()
    story: list[Flowable] = [CJKParagraph(escape_text(doc.title.strip()), styles.title)]
    if doc.meta:
        story.append(_meta_table(doc.meta, width, styles))
    for heading, body in doc.sections:
        if not body.strip():
            continue
        story.append(CJKParagraph(escape_text(heading), styles.heading1))
        story.extend(
            markdown_to_flowables(body, width=width, height=height, images=doc.images, top_heading=2)
        )
    furniture = PageFurniture(
        letterhead=doc.letterhead,
        printed_at=doc.printed_at,
        header_right=_("Operations knowledge base"),
        logo=doc.logo,
    )
    return build_pdf(out, story, furniture, title=doc.title, subject=_("Operations knowledge base"))


def _meta_table(meta: list[tuple[str, str]], width: float, styles: ReportStyles) -> Flowable:
    value_width = (width - 2 * META_LABEL_WIDTH) / 2
    rows: list[list[object]] = []
    spans: list[tuple[str, tuple[int, int], tuple[int, int]]] = []
    for start in range(0, len(meta), 2):
        pairs = meta[start : start + 2]
        row: list[object] = []
        for label, value in pairs:
            row.append(CJKParagraph(escape_text(label), styles.meta_label))
            row.append(CJKParagraph(escape_text(value), styles.meta_value))
        if len(pairs) == 1:  # an odd pair out: its value runs to the right edge
            row.extend(["", ""])
            spans.append(("SPAN", (1, len(rows)), (3, len(rows))))
        rows.append(row)
    table = Table(
        rows,
        colWidths=[META_LABEL_WIDTH, value_width, META_LABEL_WIDTH, value_width],
        hAlign="CENTER",
        splitInRow=1,
        spaceAfter=3 * mm,
    )
    table.setStyle(
        grid_style(
            ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ("BACKGROUND", (2, 0), (2, -1), SHADE),
            *spans,
        )
    )
    return table
