"""服务月报 / 年度服务总结报告: the service report of a month, a year or any range of days.

Two steps, each usable on its own (the window runs both in a background operation)::

    stats = summary_stats(session, site_id, SummaryPeriod.month(2026, 3), progress, cancelled)
    pages = render_summary(stats, "服务月报.pdf", letterhead, printed_at="2026-04-01 09:30")
    write_xlsx(summary_sheets(stats), Path("服务月报.xlsx"))      # or write_csv (app.reports.tables)

The A4 portrait report (the shared page of ``app.reports.layout``): the title with the period and
site and a table of what was counted how; 一、总体情况 (a sentence of the main figures and the
totals table); 二、来电趋势 (a bar chart per day or per month, the previous period as a dashed line;
for a year also the months as a table); 三、问题分类 (a pie chart beside the table); 四、系统、模块与
单位 (the largest 15 and "others"); 五、服务时限达标情况; 六、回电与现场服务; 七、常见问题; 八、知识库
使用; the signature block (the site's labels, else 编制人, 审核人, 日期). A section without data
says so in a sentence ("本期无来电。") instead of an empty table.

Charts are ``reportlab.graphics`` drawings built from lines, rectangles, wedges and strings in the
bundled CJK font: vector graphics, sharp at any zoom and on any printer, no picture embedded. Their
labels are measured and thinned out (every n-th day) or shortened with "…" so that none overlaps.
Chart helpers (``trend_chart``, ``bar_chart``, ``pie_chart``) and the ruled table (``data_table``)
are shared with ``app.reports.faults``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String, Wedge
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table

from app.i18n import _
from app.reports.fonts import printable, report_fonts
from app.reports.layout import (
    RULE,
    SHADE,
    CJKParagraph,
    Letterhead,
    PageFurniture,
    PdfTarget,
    ReportStyles,
    build_pdf,
    escape_text,
    frame_size,
    grid_style,
    report_styles,
    signature_block,
)
from app.reports.stats import OTHERS_KEY, Breakdown, Count, SummaryPeriod, SummaryStats, TrendPoint
from app.reports.tables import Sheet
from app.sla.formatting import format_amount
from app.sla.wall_time import SHANGHAI
from app.storage.models import Outcome

HEADING_ROOM = 40 * mm  # a heading with less room than this below it starts the next page
TOP_ROWS = 15  # rows of the system, module and unit tables before "others"
VISITS_SHOWN = 30  # on-site visits listed in the PDF (the export has all)

PALETTE: tuple[colors.Color, ...] = tuple(
    colors.HexColor(value)
    for value in ("#3b6ea5", "#e08e2b", "#5b9a4b", "#b5473c", "#7a5ea8", "#2f9c9a", "#c9b037", "#8c8c8c")
)
CURRENT = PALETTE[0]
PREVIOUS = colors.HexColor("#c0504d")
GRID = colors.HexColor("#d9d9d9")
CHART_FONT_SIZE = 7.5


# --- numbers in words -----------------------------------------------------------------------------


def number(value: int | float) -> str:
    """1234 → "1,234"."""
    return f"{round(value):,}"


def percent(share: float | None) -> str:
    """0.123 → "12.3%"; None → "—"."""
    return "—" if share is None else f"{share * 100:.1f}%"


def count_share(count: int, total: int) -> str:
    """A count with its share of ``total``: "1,000 (81.0%)"; without a total just the count."""
    if not total:
        return number(count)
    return _("{count} ({share})").format(count=number(count), share=percent(count / total if total else None))


def duration_text(seconds: float) -> str:
    """A talk time: "4 min 32 s" / "4分钟32秒"."""
    return format_amount(dt.timedelta(seconds=round(seconds)))


def hours_text(seconds: float) -> str:
    """A total talk time in hours: "96.5 h" / "96.5 小时"."""
    return _("{hours} h").format(hours=f"{seconds / 3600:,.1f}")


def change_text(change: float | None) -> str:
    """+12.2% / −3.0% / "—"."""
    if change is None:
        return "—"
    return f"{change * 100:+.1f}%".replace("-", "−")


# --- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a ``data_table``: heading, width in points, numbers right-aligned; ``wrap``
    False for short values that always fit (numbers, codes, times): set as plain text, which lays
    out several times faster than a paragraph."""

    heading: str
    width: float
    numeric: bool = False
    wrap: bool = True


def data_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    shade_last: bool = False,
    small: bool = False,
    table_class: type[Table] = Table,
) -> Table:
    """A compact ruled table: a shaded header row repeated on every page, text cells wrapping the
    Chinese way, numbers right-aligned; ``shade_last`` marks a totals row, ``small`` sets it in 8 pt
    (wide record lists). A row is never split over two pages."""
    cell, head_style, number_style = _cell_styles(small)
    head = [CJKParagraph(escape_text(c.heading), head_style) for c in columns]
    body: list[list[object]] = []
    for row in rows:
        cells: list[object] = []
        for column, value in zip(columns, row, strict=False):
            if not column.wrap:
                cells.append(printable(str(value)))
                continue
            style = number_style if column.numeric else cell
            cells.append(CJKParagraph(escape_text(str(value)), style))
        body.append(cells)
    table = table_class(
        [head, *body],
        colWidths=[c.width for c in columns],
        repeatRows=1,
        hAlign="LEFT",
        spaceAfter=2 * mm,
    )
    commands: list[tuple[object, ...]] = [("BACKGROUND", (0, 0), (-1, 0), SHADE)]
    if small:
        commands += [("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    for index, column in enumerate(columns):
        if not column.wrap:
            commands.append(("FONTSIZE", (index, 1), (index, -1), 8 if small else 9))
            if column.numeric:
                commands.append(("ALIGN", (index, 1), (index, -1), "RIGHT"))
    if shade_last and body:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), SHADE))
    table.setStyle(grid_style(*commands))
    return table


@functools.cache
def _cell_styles(small: bool) -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    """Text, header and number cells (9 pt, or 8 pt when ``small``)."""
    styles = report_styles()
    size = {"fontSize": 8, "leading": 10.5} if small else {}
    suffix = ".small" if small else ""
    cell = ParagraphStyle(f"hotline.summary.cell{suffix}", parent=styles.cell, **size)
    head = ParagraphStyle(f"hotline.summary.head{suffix}", parent=styles.cell_head, **size)
    number_style = ParagraphStyle(f"hotline.summary.number{suffix}", parent=cell, alignment=TA_RIGHT)
    return cell, head, number_style


def note(text: str) -> Flowable:
    return CJKParagraph(escape_text(text), report_styles().note)


# --- charts ---------------------------------------------------------------------------------------


def _font() -> str:
    return report_fonts().regular


def _fit(text: str, width: float, size: float = CHART_FONT_SIZE) -> str:
    """``text`` shortened with "…" to fit ``width`` points."""
    text = " ".join(printable(text).split())
    font = _font()
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _nice_step(maximum: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) for about ``ticks`` gridlines up to ``maximum``."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(max(1, factor * power))
    return float(10 * power)


def _label(
    x: float,
    y: float,
    text: str,
    anchor: str = "middle",
    size: float = CHART_FONT_SIZE,
    color: colors.Color = colors.black,
) -> String:
    return String(x, y, printable(text), fontName=_font(), fontSize=size, textAnchor=anchor, fillColor=color)


def _legend(
    drawing: Drawing, right: float, top: float, entries: Sequence[tuple[str, colors.Color, bool]]
) -> None:
    """Legend entries right-aligned at the top: a square (or a dashed line) and the text."""
    x = right
    for text, color, dashed in reversed(entries):
        width = stringWidth(printable(text), _font(), CHART_FONT_SIZE)
        x -= width
        drawing.add(_label(x, top - 7, text, anchor="start"))
        if dashed:
            drawing.add(
                Line(
                    x - 16,
                    top - 4.5,
                    x - 3,
                    top - 4.5,
                    strokeColor=color,
                    strokeWidth=1.2,
                    strokeDashArray=[3, 2],
                )
            )
            x -= 22
        else:
            drawing.add(Rect(x - 11, top - 8, 8, 7, fillColor=color, strokeColor=None))
            x -= 18


def trend_chart(
    points: Sequence[TrendPoint], width: float, height: float, current: str, previous: str
) -> Drawing:
    """Calls per bucket as bars, the previous period's as a dashed line with dots (when given)."""
    drawing = Drawing(width, height)
    font = _font()
    values = [p.calls for p in points]
    before = [p.previous for p in points]
    has_previous = any(v is not None for v in before)
    top_value = max([*values, *[v for v in before if v is not None], 1])
    step = _nice_step(top_value)
    top = step * math.ceil(top_value / step)
    axis_labels = [number(step * i) for i in range(round(top / step) + 1)]
    left = max(stringWidth(text, font, CHART_FONT_SIZE) for text in axis_labels) + 6
    bottom, top_margin, right_margin = 16.0, 16.0, 4.0
    plot_w = width - left - right_margin
    plot_h = height - bottom - top_margin
    for index, text in enumerate(axis_labels):
        y = bottom + plot_h * (step * index) / top
        drawing.add(
            Line(
                left,
                y,
                left + plot_w,
                y,
                strokeColor=GRID if index else RULE,
                strokeWidth=0.4 if index else 0.6,
            )
        )
        drawing.add(_label(left - 3, y - 2.5, text, anchor="end"))
    slot = plot_w / max(len(points), 1)
    bar = slot * 0.62
    widest = max((stringWidth(printable(p.label), font, CHART_FONT_SIZE) for p in points), default=0)
    every = max(1, math.ceil((widest + 4) / slot))
    show_values = len(points) <= 12
    for index, point in enumerate(points):
        x = left + slot * index + (slot - bar) / 2
        h = plot_h * point.calls / top
        if h > 0:
            drawing.add(Rect(x, bottom, bar, h, fillColor=CURRENT, strokeColor=None))
        if show_values and point.calls:
            drawing.add(_label(x + bar / 2, bottom + h + 2, number(point.calls), size=6.5))
        if index % every == 0:
            drawing.add(_label(left + slot * (index + 0.5), bottom - 10, point.label))
    if has_previous:
        coordinates: list[float] = []
        for index, value in enumerate(before):
            if value is None:
                continue
            x = left + slot * (index + 0.5)
            y = bottom + plot_h * value / top
            coordinates += [x, y]
            drawing.add(Circle(x, y, 1.6, fillColor=PREVIOUS, strokeColor=None))
        if len(coordinates) >= 4:
            drawing.add(PolyLine(coordinates, strokeColor=PREVIOUS, strokeWidth=1.1, strokeDashArray=[3, 2]))
    entries = [(current, CURRENT, False)]
    if has_previous:
        entries.append((previous, PREVIOUS, True))
    _legend(drawing, width - right_margin, height, entries)
    return drawing


def bar_chart(items: Sequence[tuple[str, int]], width: float, *, row_height: float = 14.0) -> Drawing:
    """Horizontal bars, largest first as given: the label left (shortened to fit), the count at the
    bar's end."""
    font = _font()
    label_w = min(
        width * 0.38,
        max((stringWidth(printable(t), font, CHART_FONT_SIZE) for t, _n in items), default=0) + 4,
    )
    value_w = max((stringWidth(number(n), font, CHART_FONT_SIZE) for _t, n in items), default=0) + 6
    height = row_height * len(items) + 4
    drawing = Drawing(width, height)
    top_value = max((n for _t, n in items), default=0) or 1
    plot_w = width - label_w - value_w
    drawing.add(Line(label_w, 0, label_w, height, strokeColor=RULE, strokeWidth=0.6))
    for index, (text, count) in enumerate(items):
        y = height - row_height * (index + 1)
        drawing.add(_label(label_w - 4, y + row_height / 2 - 2.5, _fit(text, label_w - 6), anchor="end"))
        w = plot_w * count / top_value
        if w > 0:
            drawing.add(Rect(label_w, y + 2.5, w, row_height - 5, fillColor=CURRENT, strokeColor=None))
        drawing.add(_label(label_w + w + 3, y + row_height / 2 - 2.5, number(count), anchor="start"))
    return drawing


def pie_chart(items: Sequence[tuple[str, int]], width: float, height: float) -> Drawing:
    """Shares as a pie with a legend beside it (name, count, share); no labels on the slices, so
    small slices never collide. More than eight slices: the rest is one grey slice."""
    total = sum(n for _t, n in items)
    shown = list(items)
    if len(shown) > len(PALETTE):
        rest = sum(n for _t, n in shown[len(PALETTE) - 1 :])
        shown = [*shown[: len(PALETTE) - 1], (_("Others"), rest)]
    drawing = Drawing(width, height)
    radius = min(height / 2 - 4, width * 0.22)
    cx, cy = radius + 4, height / 2
    angle = 90.0
    for index, (_text, count) in enumerate(shown):
        if not count or not total:
            continue
        sweep = 360.0 * count / total
        color = PALETTE[index % len(PALETTE)]
        if sweep >= 359.99:
            drawing.add(Circle(cx, cy, radius, fillColor=color, strokeColor=colors.white, strokeWidth=0.8))
        else:
            drawing.add(
                Wedge(
                    cx,
                    cy,
                    radius,
                    angle - sweep,
                    angle,
                    fillColor=color,
                    strokeColor=colors.white,
                    strokeWidth=0.8,
                )
            )
        angle -= sweep
    legend_x = cx + radius + 12
    line = 12.0
    y = cy + line * len(shown) / 2 - 8
    room = width - legend_x - 14
    for index, (text, count) in enumerate(shown):
        drawing.add(Rect(legend_x, y, 8, 7, fillColor=PALETTE[index % len(PALETTE)], strokeColor=None))
        share = percent(count / total if total else None)
        drawing.add(
            _label(legend_x + 12, y + 0.5, _fit(f"{text}  {number(count)}  {share}", room), anchor="start")
        )
        y -= line
    return drawing


def captioned(drawing: Drawing, caption: str) -> Flowable:
    styles = report_styles()
    drawing.hAlign = "CENTER"
    return KeepTogether([drawing, CJKParagraph(escape_text(caption), styles.caption)])


# --- the report -----------------------------------------------------------------------------------


def report_title(title_kind: str) -> str:
    if title_kind == "year":
        return _("Annual service summary report")
    if title_kind == "month":
        return _("Monthly service report")
    return _("Service report")


def _title_kind(stats: SummaryStats, title_kind: str | None) -> str:
    if title_kind in ("month", "year", "range"):
        return title_kind
    if title_kind is not None:
        raise ValueError(f"unknown title kind {title_kind!r}")
    return stats.period.kind


def _made_at(stats: SummaryStats) -> str:
    return f"{stats.made_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def heading_block(
    title: str, period: SummaryPeriod, site_name: str, meta: Sequence[tuple[str, str]], width: float
) -> list[Flowable]:
    """The title, a line with the period and the site, and a table of label/value pairs."""
    styles = report_styles()
    sub = ParagraphStyle(
        "hotline.summary.subtitle",
        parent=styles.body_flush,
        fontSize=12,
        leading=18,
        alignment=TA_CENTER,
        spaceAfter=4 * mm,
    )
    table = _pairs_table(meta, width, 22 * mm)
    return [
        Spacer(1, 4 * mm),
        CJKParagraph(escape_text(title), styles.title),
        CJKParagraph(escape_text(_("{period} · {site}").format(period=period.label(), site=site_name)), sub),
        table,
    ]


def _period_text(period: SummaryPeriod) -> str:
    return _("{first} to {last}").format(first=period.first.isoformat(), last=period.last.isoformat())


def render_summary(
    stats: SummaryStats,
    out: PdfTarget,
    letterhead: Letterhead,
    printed_at: str,
    title_kind: str | None = None,
) -> int:
    """Write the service report as an A4 PDF to ``out`` (a path or a binary file); the page count.

    ``title_kind`` "month" (服务月报), "year" (年度服务总结报告) or "range" (服务报告); None: the
    period's kind. ``OSError`` from writing ``out`` is the caller's.
    """
    styles = report_styles()
    width, _height = frame_size()
    kind = _title_kind(stats, title_kind)
    title = report_title(kind)
    meta = [
        (_("Period"), _period_text(stats.period)),
        (_("Service site"), stats.site_name),
        (_("Counted"), _("Calls by their start, tickets by their report time (Beijing time)")),
        (_("Compiled"), _made_at(stats)),
    ]
    story: list[Flowable] = heading_block(title, stats.period, stats.site_name, meta, width)
    story += _overview(stats, styles, width)
    story += _trend_section(stats, styles, width)
    story += _category_section(stats, styles, width)
    story += _breakdown_sections(stats, styles, width)
    story += _compliance_section(stats, styles, width)
    story += _callback_section(stats, styles, width)
    story += _problem_section(stats, styles, width)
    story += _article_section(stats, styles, width)
    labels = letterhead.signatures or (_("Compiled by"), _("Reviewed by"), _("Date"))
    story.append(signature_block(labels, width))
    furniture = PageFurniture.of(letterhead, printed_at, header_right=title)
    subject = _("{period} · {site}").format(period=stats.period.label(), site=stats.site_name)
    return build_pdf(out, story, furniture, title=f"{title} {stats.period.label()}", subject=subject)


def heading(text: str, level: int = 1) -> list[Flowable]:
    """A section heading that starts a new page when less than a few table rows fit below it.

    The shared heading styles keep with the next flowable, which moves a heading and its whole
    table to the next page when the table is longer than the room left, leaving half a page
    blank; here the table splits (its header row repeated) and only the heading looks ahead."""
    styles = report_styles()
    base = styles.heading1 if level == 1 else styles.heading2
    style = ParagraphStyle(f"{base.name}.split", parent=base, keepWithNext=0)
    return [CondPageBreak(HEADING_ROOM), CJKParagraph(escape_text(text), style)]


def _h1(text: str) -> list[Flowable]:
    return heading(text, 1)


def _h2(text: str) -> list[Flowable]:
    return heading(text, 2)


def _overview_sentence(stats: SummaryStats) -> str:
    if not stats.calls:
        text = _("No calls in this period.")
    else:
        text = _("{calls} calls were taken, {duration} of talk in all, {average} on average.").format(
            calls=number(stats.calls),
            duration=hours_text(stats.duration_s),
            average=duration_text(stats.average_duration_s),
        )
        answered = stats.outcome_count(Outcome.ANSWERED)
        text += _(
            "{answered} were answered on the call ({share}), {transferred} transferred, "
            "{tickets} needed a ticket and {callbacks} a call back."
        ).format(
            answered=number(answered),
            share=percent(answered / stats.calls),
            transferred=number(stats.transferred),
            tickets=number(stats.outcome_count(Outcome.TICKET)),
            callbacks=number(stats.callbacks.due),
        )
    if stats.previous_calls is not None:
        text += _("Previous period: {calls} calls ({change}).").format(
            calls=number(stats.previous_calls), change=change_text(stats.change)
        )
    tickets = stats.tickets
    text += _("{opened} tickets were reported, {resolved} of them resolved; {visits} on-site visits.").format(
        opened=number(tickets.opened), resolved=number(tickets.resolved), visits=number(tickets.visits)
    )
    return text


def _overview(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    calls = stats.calls
    callbacks = stats.callbacks
    pairs: list[tuple[str, str]] = [
        (_("Calls in all"), number(calls)),
        (
            _("Previous period"),
            f"{number(stats.previous_calls)} ({change_text(stats.change)})"
            if stats.previous_calls is not None
            else "—",
        ),
        (_("Total talk time"), hours_text(stats.duration_s)),
        (_("Average talk time"), duration_text(stats.average_duration_s) if calls else "—"),
    ]
    pairs += [(outcome.label, count_share(outcome.count, calls)) for outcome in stats.outcomes]
    pairs += [
        (_("Called back"), f"{number(callbacks.done)} / {number(callbacks.due)}"),
        (_("Called back within {minutes} min").format(minutes=callbacks.minutes), number(callbacks.within)),
        (_("Tickets reported"), number(stats.tickets.opened)),
        (_("Tickets resolved"), number(stats.tickets.resolved)),
        (_("On-site visits"), number(stats.tickets.visits)),
        (_("Units that called"), number(len(stats.units.rows))),
    ]
    table = _pairs_table(pairs, width, 30 * mm)
    return [
        *_h1(_("1. Overview")),
        CJKParagraph(escape_text(_overview_sentence(stats)), styles.body),
        Spacer(1, 2 * mm),
        table,
    ]


def _pairs_table(pairs: Sequence[tuple[str, str]], width: float, label_width: float) -> Table:
    """Label/value pairs two a row, labels shaded: the heading's facts and the overview's figures."""
    styles = report_styles()
    value_width = (width - 2 * label_width) / 2
    rows: list[list[object]] = []
    for start in range(0, len(pairs), 2):
        row: list[object] = []
        for label, value in pairs[start : start + 2]:
            row += [
                CJKParagraph(escape_text(label), styles.meta_label),
                CJKParagraph(escape_text(value), styles.meta_value),
            ]
        rows.append(row + [""] * (4 - len(row)))
    widths = [label_width, value_width, label_width, value_width]
    table = Table(rows, colWidths=widths, hAlign="CENTER", spaceAfter=2 * mm)
    table.setStyle(grid_style(("BACKGROUND", (0, 0), (0, -1), SHADE), ("BACKGROUND", (2, 0), (2, -1), SHADE)))
    return table


def _trend_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("2. Calls over time"))]
    if not stats.calls and not stats.previous_calls:
        return [*out, note(_("No calls in this period."))]
    period = stats.period
    per = _("per month") if period.monthly else _("per day")
    current = _("This period")
    previous = _("Previous period") if period.kind != "year" else _("Previous year")
    chart = trend_chart(stats.trend, width, 62 * mm, current, previous)
    out.append(captioned(chart, _("Calls {per}, {period}").format(per=per, period=period.label())))
    if period.monthly:
        rows = [
            [
                p.label,
                number(p.calls),
                "—" if p.previous is None else number(p.previous),
                change_text((p.calls - p.previous) / p.previous if p.previous else None),
            ]
            for p in stats.trend
        ]
        rows.append(
            [
                _("Total"),
                number(stats.calls),
                "—" if stats.previous_calls is None else number(stats.previous_calls),
                change_text(stats.change),
            ]
        )
        columns = [
            Column(_("Month"), 30 * mm),
            Column(_("Number of calls"), 28 * mm, True),
            Column(previous, 28 * mm, True),
            Column(_("Change from before"), 24 * mm, True),
        ]
        out.append(data_table(columns, rows, shade_last=True))
    return out


def _share_rows(breakdown: Breakdown, rows: Sequence[Count], with_parent: bool = False) -> list[list[object]]:
    found: list[list[object]] = []
    for index, row in enumerate(rows, start=1):
        cells: list[object] = ["" if row.key == OTHERS_KEY else index, row.label]
        if with_parent:
            cells.append(row.parent)
        cells += [number(row.count), percent(breakdown.share(row.count))]
        found.append(cells)
    return found


def _category_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("3. Calls by category"))]
    if not stats.calls:
        return [*out, note(_("No calls in this period."))]
    rows = stats.categories.rows
    table = data_table(
        [
            Column(_("No."), 10 * mm),
            Column(_("Category"), 28 * mm),
            Column(_("Number of calls"), 20 * mm, True),
            Column(_("Share"), 16 * mm, True),
        ],
        _share_rows(stats.categories, rows),
    )
    pie = pie_chart([(c.label, c.count) for c in rows], width - 78 * mm, 42 * mm)
    side = Table([[table, pie]], colWidths=[76 * mm, width - 76 * mm], hAlign="LEFT")
    side.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )
    return [*out, side]


def _breakdown_sections(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("4. Systems, modules and units"))]
    if not stats.calls:
        return [*out, note(_("No calls in this period."))]
    number_w, count_w, share_w = 10 * mm, 20 * mm, 16 * mm
    name_w = width - number_w - count_w - share_w
    out += _h2(_("By system"))
    out.append(
        data_table(
            [
                Column(_("No."), number_w),
                Column(_("System"), name_w),
                Column(_("Number of calls"), count_w, True),
                Column(_("Share"), share_w, True),
            ],
            _share_rows(stats.systems, stats.systems.top(TOP_ROWS)),
        )
    )
    out += _h2(_("By module"))
    out.append(
        data_table(
            [
                Column(_("No."), number_w),
                Column(_("Module"), name_w * 0.45),
                Column(_("System"), name_w * 0.55),
                Column(_("Number of calls"), count_w, True),
                Column(_("Share"), share_w, True),
            ],
            _share_rows(stats.modules, stats.modules.top(TOP_ROWS), with_parent=True),
        )
    )
    out += _h2(_("By unit"))
    out.append(
        data_table(
            [
                Column(_("No."), number_w),
                Column(_("Unit"), name_w),
                Column(_("Number of calls"), count_w, True),
                Column(_("Share"), share_w, True),
            ],
            _share_rows(stats.units, stats.units.top(TOP_ROWS)),
        )
    )
    if len(stats.units.rows) > TOP_ROWS + 1:
        out.append(
            note(
                _("{units} units called in all; the exported spreadsheet lists every one.").format(
                    units=number(len(stats.units.rows))
                )
            )
        )
    return out


def _compliance_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("5. Service deadlines"))]
    if not stats.tickets.opened:
        return [*out, note(_("No tickets were reported in this period."))]
    columns = [
        Column(_("Time limit"), 30 * mm),
        Column(_("Met"), 18 * mm, True),
        Column(_("Breached"), 18 * mm, True),
        Column(_("Running"), 18 * mm, True),
        Column(_("By agreement"), 20 * mm, True),
        Column(_("Not started"), 20 * mm, True),
        Column(_("Met rate"), width - 124 * mm, True),
    ]
    rows = [
        [
            c.label,
            number(c.met),
            number(c.breached),
            number(c.running),
            number(c.by_agreement),
            number(c.not_started),
            percent(c.rate),
        ]
        for c in stats.compliance
        if c.judged or c.running or c.by_agreement or c.not_started  # a target no policy sets: left out
    ]
    return [
        *out,
        CJKParagraph(
            escape_text(
                _(
                    "Of the {tickets} tickets reported in this period; a deadline still open after its "
                    "due time counts as breached; the met rate is met / (met + breached)."
                ).format(tickets=number(stats.tickets.opened))
            ),
            styles.body,
        ),
        Spacer(1, 1.5 * mm),
        data_table(columns, rows),
    ]


def _callback_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    callbacks = stats.callbacks
    out: list[Flowable] = [*_h1(_("6. Call-backs and on-site service")), *_h2(_("Call-backs"))]
    if callbacks.due:
        columns = [
            Column(_("Needed a call back"), 30 * mm, True),
            Column(_("Called back"), 26 * mm, True),
            Column(_("Within {minutes} min").format(minutes=callbacks.minutes), 30 * mm, True),
            Column(_("Not yet called back"), 30 * mm, True),
            Column(_("On time"), 26 * mm, True),
        ]
        row = [
            number(callbacks.due),
            number(callbacks.done),
            number(callbacks.within),
            number(callbacks.open),
            percent(callbacks.within / callbacks.due),
        ]
        out.append(data_table(columns, [row]))
        out.append(
            note(
                _(
                    "On time: called back within {minutes} minutes of the call, of all calls that "
                    "needed a call back."
                ).format(minutes=callbacks.minutes)
            )
        )
    else:
        out.append(note(_("No call needed a call back in this period.")))
    out += _h2(_("On-site visits"))
    if not stats.visits:
        out.append(note(_("No on-site visits in this period.")))
        return out
    shown = stats.visits[:VISITS_SHOWN]
    with_result = any(v.result for v in shown)  # a policy without an on-site time: no such column
    result_w = 22 * mm if with_result else 0
    columns = [
        Column(_("No."), 10 * mm),
        Column(_("Ticket number"), 29 * mm),
        Column(_("Arrived"), 24 * mm),
        Column(_("Unit"), 32 * mm),
        Column(_("Subject"), width - 95 * mm - result_w),
        *([Column(_("On-site deadline"), result_w)] if with_result else []),
    ]
    rows = [
        [
            n,
            v.number,
            f"{v.arrived_at:%m-%d %H:%M}",
            v.unit,
            v.title,
            *([v.result or "—"] if with_result else []),
        ]
        for n, v in enumerate(shown, start=1)
    ]
    out.append(data_table(columns, rows))
    if len(stats.visits) > VISITS_SHOWN:
        out.append(
            note(
                _("The first {shown} of {count} visits; the exported spreadsheet lists every one.").format(
                    shown=VISITS_SHOWN, count=len(stats.visits)
                )
            )
        )
    return out


def _problem_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("7. Most frequent problems"))]
    if not stats.problems:
        return [*out, note(_("No calls in this period."))]
    columns = [
        Column(_("No."), 10 * mm),
        Column(_("System / module"), 36 * mm),
        Column(_("Category"), 16 * mm),
        Column(_("Number of calls"), 16 * mm, True),
        Column(_("Share"), 14 * mm, True),
        Column(_("Answered on the call"), 16 * mm, True),
        Column(_("Typical question"), width - 108 * mm),
    ]
    rows = [
        [
            n,
            p.label,
            p.category,
            number(p.count),
            percent(p.count / stats.calls if stats.calls else None),
            percent(p.answered / p.count if p.count else None),
            p.example,
        ]
        for n, p in enumerate(stats.problems, start=1)
    ]
    return [
        *out,
        CJKParagraph(
            escape_text(
                _("Calls grouped by system, module and category; the typical question is the latest call's.")
            ),
            styles.body,
        ),
        Spacer(1, 1.5 * mm),
        data_table(columns, rows),
    ]


def _article_section(stats: SummaryStats, styles: ReportStyles, width: float) -> list[Flowable]:
    out: list[Flowable] = [*_h1(_("8. Knowledge base use"))]
    if not stats.articles:
        return [*out, note(_("No knowledge-base article was used in this period."))]
    columns = [
        Column(_("No."), 10 * mm),
        Column(_("Article"), width - 76 * mm),
        Column(_("Used in calls"), 22 * mm, True),
        Column(_("Linked to tickets"), 22 * mm, True),
        Column(_("Total"), 22 * mm, True),
    ]
    rows = [
        [n, a.title, number(a.calls), number(a.tickets), number(a.total)]
        for n, a in enumerate(stats.articles, start=1)
    ]
    return [*out, data_table(columns, rows)]


# --- spreadsheets ---------------------------------------------------------------------------------


def _breakdown_sheet(name: str, heading: str, breakdown: Breakdown, parent: str | None = None) -> Sheet:
    headers = [heading, *([parent] if parent else []), _("Number of calls"), _("Share (%)")]
    rows = [
        [c.label, *([c.parent] if parent else []), c.count, round(breakdown.share(c.count) * 100, 1)]
        for c in breakdown.rows
    ]
    return Sheet(name, headers, rows)


def summary_sheets(stats: SummaryStats) -> list[Sheet]:
    """The report's figures as tables (every unit and module, not only the largest)."""
    callbacks = stats.callbacks
    overview = Sheet(
        _("Overview"),
        [_("Figure"), _("Value")],
        [
            [_("Period"), _period_text(stats.period)],
            [_("Service site"), stats.site_name],
            [_("Calls in all"), stats.calls],
            [_("Previous period"), stats.previous_calls],
            [_("Total talk time (s)"), stats.duration_s],
            [_("Average talk time (s)"), round(stats.average_duration_s, 1)],
            *[[c.label, c.count] for c in stats.outcomes],
            [_("Needed a call back"), callbacks.due],
            [_("Called back"), callbacks.done],
            [_("Within {minutes} min").format(minutes=callbacks.minutes), callbacks.within],
            [_("Tickets reported"), stats.tickets.opened],
            [_("Tickets resolved"), stats.tickets.resolved],
            [_("Tickets handled on site"), stats.tickets.on_site],
            [_("On-site visits"), stats.tickets.visits],
        ],
    )
    bucket = _("Month") if stats.period.monthly else _("Date")
    trend = Sheet(
        _("Trend"),
        [bucket, _("Number of calls"), _("Previous period")],
        [[p.start if not stats.period.monthly else p.label, p.calls, p.previous] for p in stats.trend],
    )
    compliance = Sheet(
        _("Service deadlines"),
        [
            _("Time limit"),
            _("Met"),
            _("Breached"),
            _("Running"),
            _("By agreement"),
            _("Not started"),
            _("Met rate (%)"),
        ],
        [
            [
                c.label,
                c.met,
                c.breached,
                c.running,
                c.by_agreement,
                c.not_started,
                None if c.rate is None else round(c.rate * 100, 1),
            ]
            for c in stats.compliance
        ],
    )
    problems = Sheet(
        _("Most frequent problems"),
        [
            _("System"),
            _("Module"),
            _("Category"),
            _("Number of calls"),
            _("Answered on the call"),
            _("Typical question"),
        ],
        [[p.system, p.module, p.category, p.count, p.answered, p.example] for p in stats.problems],
    )
    articles = Sheet(
        _("Knowledge base use"),
        [_("Article"), _("Used in calls"), _("Linked to tickets"), _("Total")],
        [[a.title, a.calls, a.tickets, a.total] for a in stats.articles],
    )
    visits = Sheet(
        _("On-site visits"),
        [_("Ticket number"), _("Arrived"), _("Unit"), _("Subject"), _("On-site deadline")],
        [[v.number, v.arrived_at, v.unit, v.title, v.result] for v in stats.visits],
    )
    return [
        overview,
        trend,
        _breakdown_sheet(_("By category"), _("Category"), stats.categories),
        _breakdown_sheet(_("By system"), _("System"), stats.systems),
        _breakdown_sheet(_("By module"), _("Module"), stats.modules, _("System")),
        _breakdown_sheet(_("By unit"), _("Unit"), stats.units),
        compliance,
        problems,
        articles,
        visits,
    ]
