"""来电登记台账, the call ledger: every call of a period at one site, filtered like the call list, as a
landscape A4 table to print and file, and the same rows as .xlsx / CSV.

Three steps, each usable on its own (the window runs the first two in a background operation)::

    data = ledger_rows(session, LedgerFilter(date(2026, 11, 1), date(2026, 11, 30), site_id))
    pages = render_ledger(data, "台账.pdf", letterhead, printed_at="2026-12-01 09:30")
    write_xlsx(ledger_sheets(data), Path("台账.xlsx"))      # or write_csv (app.reports.tables)

**Data.** ``ledger_rows`` finds the calls the way the call list does (``calls.search_keys`` on the
``CallQuery`` of the filter: the period is a key range, site/system/module/category/outcome are
full-text facets, the text is a full-text search) and reads them through
``call_import.iter_ledger_entries`` (names resolved, 2,000 calls a query, oldest first), so memory
holds the key array, one chunk of rows and the formatted ledger itself, never a million ORM objects.
Days are Asia/Shanghai days, both ends included.

**Layout.** The page is the shared one of ``app.reports.layout`` (letterhead, "第 X 页 / 共 Y 页",
print time); title and subtitle are ordinary paragraphs. The totals line and the signature block
are drawn by the table's last piece under its last rows, so they never stand alone on a page (when
they do not fit, the last two rows go over with them). The table is not a platypus ``Table`` of
``Paragraph`` cells: measured on this 2-core machine, that costs about 3.8 ms a row (10,000 calls:
some 38 s, most of it in paragraph wrapping and the table's repeated size calculations) against the
5 s target. ``_LedgerTable`` is a flowable of its own:

- every cell is wrapped once, up front, by ``_Measure.wrap`` — the Chinese way, as ``wordWrap="CJK"``
  does: a line may break between any two hanzi, never before closing punctuation (，。）》…) nor
  after opening punctuation (（《“), and a Latin word, number or code (ORA-12541, 0519-86661234) stays
  whole unless it is longer than the line. Character widths are cached, and so are repeated cell
  texts (units, systems, names);
- long texts are cut to a few lines with "…" (问题摘要 three lines; 处理情况 the outcome and two
  lines of the answer), so no row is taller than three lines and a row is never split over pages;
- the row heights' running sums make ``wrap`` and ``split`` O(1) and O(log n): platypus asks the
  table for its height and splits it once a page, each piece repeating the header row;
- each page's rows are drawn straight onto the canvas: one text object for the cell texts, one
  ``lines`` call for the rules, the header shaded and (synthetic) bold.

About 0.35 ms a row, data included (10,000 calls in about 3.5 s, see ``benchmarks/report_ledger.py``);
most of it is reportlab encoding the text for the embedded font subsets and compressing the pages.

**Cancelling.** ``progress(done, total)`` and ``cancelled()`` are optional callables, as in the other
long jobs (``kb_index.rebuild``, ``call_index.index_backlog``): in the window's background operation
``progress=ctx.progress, cancelled=lambda: ctx.cancelled``. ``cancelled()`` is asked every
``CHECK_EVERY`` rows while reading and laying out and before each page is drawn; when it says so, the
function raises ``LedgerCancelled`` and nothing is written (reportlab writes the PDF only when the
last page is done). The background work turns it into ``ui.operations.Cancelled``
(``except LedgerCancelled: raise Cancelled from None``) so that no error and no result is shown.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import _
from app.reports.fonts import is_synthetic_bold, printable, report_fonts
from app.reports.layout import (
    INK,
    RULE,
    SHADE,
    CJKParagraph,
    Letterhead,
    PageFurniture,
    PdfTarget,
    build_pdf,
    escape_text,
    frame_size,
    report_styles,
    signature_block,
)
from app.reports.linebreak import CANNOT_END, CANNOT_START
from app.reports.tables import Sheet
from app.services import calls
from app.services.call_import import LedgerEntry, iter_ledger_entries
from app.storage.models import OUTCOME_LABELS, Category, Module, Outcome, Site, System

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CHECK_EVERY = 250  # rows between progress reports and cancellation checks

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


class LedgerCancelled(Exception):
    """``cancelled()`` said so: the ledger was abandoned and nothing was written."""


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """Which calls the ledger lists: ``date_from`` to ``date_to`` (Asia/Shanghai days, both included)
    at one site, optionally only one system, module, category or outcome (an ``Outcome`` value), and
    words as the call list's search box takes them."""

    date_from: dt.date
    date_to: dt.date
    site_id: str
    system_id: str | None = None
    module_id: str | None = None
    category_id: str | None = None
    outcome: str | None = None
    text: str = ""

    def query(self) -> calls.CallQuery:
        """The call list's query for the same calls."""
        return calls.CallQuery(
            text=self.text,
            site_id=self.site_id,
            date_from=dt.datetime.combine(self.date_from, dt.time(), LOCAL_TZ),
            date_to=dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), LOCAL_TZ),
            system_id=self.system_id or None,
            module_id=self.module_id or None,
            category_id=self.category_id or None,
            outcome=self.outcome or None,
        )


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One call as the ledger gives it: full texts, names resolved, labels translated."""

    number: int  # 序号, from 1 in call-time order
    started_at: dt.datetime  # in Asia/Shanghai
    time: str  # "2026-11-03 11:16"
    caller_name: str
    caller_phone: str
    unit: str
    system: str
    module: str
    category: str
    question: str
    outcome: str  # the outcome's label (当场解答, 已转接 …)
    transferred_to: str
    answer: str
    duration_s: int
    duration: str  # "3分27秒"
    engineer: str


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    calls: int
    duration_s: int
    average_s: int  # rounded to whole seconds; 0 without calls
    by_outcome: tuple[tuple[str, int], ...]  # (outcome label, calls), every outcome, in the app's order

    def line(self) -> str:
        """The totals as the sentence under the table."""
        outcomes = _(", ").join(
            _("{outcome} {count}").format(outcome=label, count=count) for label, count in self.by_outcome
        )
        return _("Total: {calls} calls, {duration} in all, {average} on average; {outcomes}.").format(
            calls=self.calls,
            duration=format_duration(self.duration_s),
            average=format_duration(self.average_s),
            outcomes=outcomes,
        )


@dataclass(frozen=True)
class LedgerData:
    """What the ledger shows, every text already in the reader's language."""

    title: str  # 来电登记台账
    subtitle: str  # period, site and filter
    site_name: str
    filter: LedgerFilter
    rows: list[LedgerRow]
    totals: LedgerTotals


def format_duration(seconds: int) -> str:
    """A call's length as people say it: 45秒, 3分27秒, 1小时5分."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=secs)
    return _("{seconds} s").format(seconds=secs)


def format_date(day: dt.date) -> str:
    return _("{year}-{month:02d}-{day:02d}").format(year=day.year, month=day.month, day=day.day)


def _subtitle(session: Session, flt: LedgerFilter, site_name: str) -> str:
    if flt.date_from == flt.date_to:
        period = format_date(flt.date_from)
    else:
        period = _("{start} to {end}").format(start=format_date(flt.date_from), end=format_date(flt.date_to))
    parts = [(_("Period"), period), (_("Service site"), site_name)]
    for label, model, ident in (
        (_("System"), System, flt.system_id),
        (_("Module"), Module, flt.module_id),
        (_("Category"), Category, flt.category_id),
    ):
        if ident:
            name = session.scalar(select(model.name).where(model.id == ident))
            parts.append((label, name or "?"))
    if flt.outcome:
        parts.append((_("Handling"), _outcome_label(flt.outcome)))
    if flt.text.strip():
        parts.append((_("Words"), " ".join(flt.text.split())))
    return "\u3000".join(_("{label}: {value}").format(label=label, value=value) for label, value in parts)


def _outcome_label(value: str) -> str:
    try:
        return _(OUTCOME_LABELS[Outcome(value)])
    except ValueError:
        return value


def ledger_rows(
    session: Session,
    filter: LedgerFilter,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> LedgerData:
    """The ledger's rows and totals for ``filter``, in call-time order.

    ``progress(done, total)`` follows every ``CHECK_EVERY`` rows; ``cancelled()`` is asked as often
    and raises ``LedgerCancelled`` when true. An unknown site or a period that ends before it starts
    is a ``ValidationError``.
    """
    if filter.date_to < filter.date_from:
        raise ValidationError({"period": _("The period ends before it starts.")})
    site = session.get(Site, filter.site_id)
    if site is None:
        raise ValidationError({"site": _("Choose the service site.")})
    _check(cancelled)
    query = filter.query()
    total = calls.count_calls(session, query)
    labels = {o.value: _(OUTCOME_LABELS[o]) for o in Outcome}
    counts = dict.fromkeys(labels.values(), 0)
    rows: list[LedgerRow] = []
    duration = 0
    for number, entry in enumerate(iter_ledger_entries(session, query), start=1):
        if number % CHECK_EVERY == 0:
            _check(cancelled)
            if progress is not None:
                progress(number, max(total, number))
        row = _ledger_row(number, entry, labels)
        rows.append(row)
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
        duration += row.duration_s
    if progress is not None:
        progress(len(rows), len(rows))
    totals = LedgerTotals(
        calls=len(rows),
        duration_s=duration,
        average_s=round(duration / len(rows)) if rows else 0,
        by_outcome=tuple(counts.items()),
    )
    return LedgerData(
        title=_("Call ledger"),
        subtitle=_subtitle(session, filter, site.name),
        site_name=site.name,
        filter=filter,
        rows=rows,
        totals=totals,
    )


def _ledger_row(number: int, entry: LedgerEntry, labels: dict[str, str]) -> LedgerRow:
    assert entry.started_at is not None  # saved calls always have their time
    moment = entry.started_at.astimezone(LOCAL_TZ)
    return LedgerRow(
        number=number,
        started_at=moment,
        time=f"{moment:%Y-%m-%d %H:%M}",
        caller_name=entry.caller_name,
        caller_phone=entry.caller_phone,
        unit=entry.unit_name,
        system=entry.system,
        module=entry.module,
        category=entry.category,
        question=entry.question,
        outcome=labels.get(entry.outcome, entry.outcome),
        transferred_to=entry.transferred_to,
        answer=entry.answer,
        duration_s=entry.duration_s,
        duration=format_duration(entry.duration_s),
        engineer=entry.engineer,
    )


def _check(cancelled: CancelledFn | None) -> None:
    if cancelled is not None and cancelled():
        raise LedgerCancelled


# --- spreadsheet ----------------------------------------------------------------------------------


def ledger_sheets(data: LedgerData) -> list[Sheet]:
    """The ledger as tables for ``write_xlsx`` / ``write_csv``: every call with its full texts (times
    as Asia/Shanghai datetimes, durations in seconds), then the totals. The column names are the
    call-ledger import's own (docs/import-format.md)."""
    headers = [
        _("No."),
        _("Call time"),
        _("Caller"),
        _("Caller number"),
        _("Unit"),
        _("System"),
        _("Module"),
        _("Category"),
        _("Question description"),
        _("Handling"),
        _("Transferred to whom"),
        _("Answer"),
        _("Duration (seconds)"),
        _("Engineer on duty"),
    ]
    rows: list[list[Any]] = [
        [
            r.number, r.started_at, r.caller_name, r.caller_phone, r.unit, r.system, r.module,
            r.category, r.question, r.outcome, r.transferred_to, r.answer, r.duration_s, r.engineer,
        ]
        for r in data.rows
    ]  # fmt: skip
    totals = data.totals
    summary: list[list[Any]] = [
        [_("Period and filter"), data.subtitle],
        [_("Number of calls"), totals.calls],
        [_("Total duration (seconds)"), totals.duration_s],
        [_("Average duration (seconds)"), totals.average_s],
        *([label, count] for label, count in totals.by_outcome),
    ]
    return [
        Sheet(data.title, headers, rows),
        Sheet(_("Totals"), [_("Item"), _("Value")], summary),
    ]


# --- the printed table ----------------------------------------------------------------------------

FONT_SIZE = 8.5
LEADING = 11.0
PAD_X = 3.0
PAD_TOP = 3.0
PAD_BOTTOM = 3.5
HEADER_HEIGHT: float = 7 * mm
MAX_LINES = 3  # no row is taller
KEEP_WITH_CLOSING = 2  # rows that go over to the next page with the totals and signatures
_UNBOUNDED = 1e6

# Relative widths of the columns (their sum is the type area's width): 序号, 来电时间, 来电人/电话,
# 单位, 系统/模块, 问题摘要, 处理情况, 时长, 值班人.
_COLUMN_SHARES = (11, 19, 25, 36, 36, 51, 47, 17, 15)
_CENTRED = frozenset({0, 1, 7, 8})

# A Latin word, number or code is one token; anything else (a hanzi, a punctuation mark) is its own.
_TOKEN = re.compile(r"[!-~]+|\s+|.", re.S)
_NO_LINE_START = CANNOT_START  # the rules of every printout's paragraphs (linebreak.py)
_NO_LINE_END = CANNOT_END
_ELLIPSIS = "…"
_RAW_LIMIT = 1200  # characters of a text looked at for a cell of a few lines
_MEMO_LIMIT = 20_000


def _one_line(text: str) -> str:
    """``text`` on one line, with what the font cannot draw replaced (see ``fonts.printable``)."""
    flat = " ".join(text[:_RAW_LIMIT].split())
    covered = report_fonts().covered
    if flat.isprintable() and covered.issuperset(map(ord, flat)):
        return flat
    return printable(flat)


class _Measure:
    """Widths of texts in the table's font, and wrapping into cell lines."""

    def __init__(self, font: str, size: float) -> None:
        self.font = font
        self.size = size
        self._widths: dict[str, float] = {}
        self._memo: dict[tuple[str, float, int], tuple[str, ...]] = {}

    def width(self, text: str) -> float:
        widths = self._widths
        total = 0.0
        for char in text:
            value = widths.get(char)
            if value is None:
                value = widths[char] = float(stringWidth(char, self.font, self.size))
            total += value
        return total

    def wrap(self, text: str, width: float, max_lines: int) -> tuple[str, ...]:
        """``text`` (one line, see ``_one_line``) as at most ``max_lines`` lines of ``width``; the
        last one ends with "…" when the text goes on."""
        if not text:
            return ()
        key = (text, width, max_lines)
        cached = self._memo.get(key)
        if cached is None:
            if len(self._memo) > _MEMO_LIMIT:
                self._memo.clear()
            cached = self._memo[key] = self._wrap(text, width, max_lines)
        return cached

    def _wrap(self, text: str, width: float, max_lines: int) -> tuple[str, ...]:
        if self.width(text) <= width:
            return (text,)
        measure = self.width
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        tokens = _TOKEN.findall(text)
        cut = False
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if token.isspace():
                if line:
                    line.append(" ")
                    used += measure(" ")
                continue
            size = measure(token)
            if used + size <= width:
                line.append(token)
                used += size
                continue
            if size > width and len(token) > 1:  # longer than a line: break it anywhere
                tokens[index:index] = list(token)
                continue
            carried = self._carry(line, token, width)
            while line and line[-1] == " ":
                line.pop()
            if line:
                if len(lines) == max_lines - 1:
                    lines.append("".join(line))
                    cut = True
                    break
                lines.append("".join(line))
            line = [*carried, token]
            used = measure("".join(line))
        else:
            if line:
                lines.append("".join(line).rstrip())
        if cut:
            lines[-1] = self._with_ellipsis(lines[-1], width)
        return tuple(lines)

    def _carry(self, line: list[str], token: str, width: float) -> list[str]:
        """What moves from the end of the full ``line`` to the next, with ``token``: the character
        before closing punctuation (which may not start a line), opening punctuation (which may not
        end one)."""
        carried: list[str] = []
        if token in _NO_LINE_START and len(line) > 1 and line[-1] != " ":
            carried.append(line.pop())
        while len(line) > 1 and line[-1] in _NO_LINE_END:
            carried.insert(0, line.pop())
        if carried and self.width("".join(carried) + token) > width:  # would not fit either: keep
            line.extend(carried)
            return []
        return carried

    def _with_ellipsis(self, line: str, width: float) -> str:
        room = width - self.width(_ELLIPSIS)
        while line and self.width(line) > room:
            line = line[:-1]
        return line.rstrip(" ，、；：,;:") + _ELLIPSIS

    def fit(self, text: str, width: float) -> tuple[str, ...]:
        """``text`` on one line, cut with "…" if it is too long."""
        return self.wrap(text, width, 1)


@dataclass
class _Rows:
    """The table laid out: each row's cells as lines, the column widths, running heights."""

    widths: list[float]
    cells: list[tuple[tuple[str, ...], ...]]
    line_counts: list[int]
    tops: list[float]  # tops[i]: the rows before row i, in points (len = rows + 1)
    header: tuple[str, ...]
    measure: _Measure
    progress: ProgressFn | None
    cancelled: CancelledFn | None
    drawn: int = 0

    def height(self, start: int, end: int) -> float:
        return HEADER_HEIGHT + self.tops[end] - self.tops[start]


def _row_height(lines: int) -> float:
    return max(lines, 1) * LEADING + PAD_TOP + PAD_BOTTOM


def _lay_out(
    data: LedgerData, width: float, progress: ProgressFn | None, cancelled: CancelledFn | None
) -> _Rows:
    share = width / sum(_COLUMN_SHARES)
    widths = [share * part for part in _COLUMN_SHARES]
    inner = [w - 2 * PAD_X for w in widths]
    measure = _Measure(report_fonts().regular, FONT_SIZE)
    total = len(data.rows)
    cells: list[tuple[tuple[str, ...], ...]] = []
    counts: list[int] = []
    for index, row in enumerate(data.rows):
        if index % CHECK_EVERY == 0:
            _check(cancelled)
            if progress is not None:
                progress(index, 2 * total)
        row_cells = _cells(row, measure, inner)
        cells.append(row_cells)
        counts.append(max(len(lines) for lines in row_cells))
    tops = [0.0, *accumulate(_row_height(count) for count in counts)]
    header = (
        _("No."), _("Call time"), _("Caller / number"), _("Unit"), _("System / module"),
        _("Question (summary)"), _("Handling (outcome and answer)"), _("Duration"), _("On duty"),
    )  # fmt: skip
    return _Rows(widths, cells, counts, tops, header, measure, progress, cancelled)


def _cells(row: LedgerRow, measure: _Measure, inner: list[float]) -> tuple[tuple[str, ...], ...]:
    date, _space, clock = row.time.partition(" ")
    handling = row.outcome
    if row.transferred_to.strip():
        handling = _("{outcome}: {whom}").format(outcome=row.outcome, whom=row.transferred_to)
    return (
        (str(row.number),),
        (date, clock),
        measure.fit(_one_line(row.caller_name), inner[2])
        + measure.wrap(_one_line(row.caller_phone), inner[2], 2),
        measure.wrap(_one_line(row.unit), inner[3], MAX_LINES),
        measure.wrap(_one_line(row.system), inner[4], 2) + measure.fit(_one_line(row.module), inner[4]),
        measure.wrap(_one_line(row.question), inner[5], MAX_LINES),
        measure.fit(_one_line(handling), inner[6]) + measure.wrap(_one_line(row.answer), inner[6], 2),
        measure.fit(row.duration, inner[7]),
        measure.wrap(_one_line(row.engineer), inner[8], 2),
    )


class _LedgerTable(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """Rows ``start`` to ``end`` of the laid-out table under a header row; splits between rows.

    The piece that ends the table also carries ``closing`` (the totals line, the signature block),
    drawn under its last row, so that they are never left alone on a page: when they do not fit,
    the last ``KEEP_WITH_CLOSING`` rows go over with them.
    """

    def __init__(self, rows: _Rows, start: int, end: int, closing: _Closing | None) -> None:
        super().__init__()
        self.rows = rows
        self.start = start
        self.end = end
        self.closing = closing
        self.width = sum(rows.widths)
        self.height = rows.height(start, end) + (closing.height if closing is not None else 0.0)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        tops = self.rows.tops
        room = available_height - HEADER_HEIGHT + tops[self.start]
        last = bisect.bisect_right(tops, room, self.start, self.end + 1) - 1
        if self.closing is not None:  # a few rows go over with the totals, never the totals alone
            last = min(last, self.end - min(KEEP_WITH_CLOSING, self.end - self.start))
        if last <= self.start:
            return []  # not even one row fits here: on to the next page
        return [
            _LedgerTable(self.rows, self.start, last, None),
            _LedgerTable(self.rows, last, self.end, self.closing),
        ]

    def draw(self) -> None:
        rows = self.rows
        _check(rows.cancelled)
        canvas = self.canv
        fonts = report_fonts()
        widths = rows.widths
        edges = [0.0, *accumulate(widths)]
        top = self.height
        canvas.saveState()
        canvas.setFillColor(SHADE)
        canvas.rect(0, top - HEADER_HEIGHT, self.width, HEADER_HEIGHT, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setStrokeColor(INK)
        # the header: bold (the regular face with a stroked outline where there is no bold face)
        canvas.setLineWidth(FONT_SIZE * 0.035)
        text = canvas.beginText()
        text.setFont(fonts.bold, FONT_SIZE, LEADING)
        if is_synthetic_bold(fonts.bold):
            text.setTextRenderMode(2)
        baseline = top - HEADER_HEIGHT / 2 - 0.38 * FONT_SIZE
        for column, label in enumerate(rows.header):
            label_width = stringWidth(label, fonts.bold, FONT_SIZE)
            text.setTextOrigin(edges[column] + (widths[column] - label_width) / 2, baseline)
            text.textOut(label)
        text.setTextRenderMode(0)
        canvas.drawText(text)
        # the cells, each centred vertically in its row
        text = canvas.beginText()
        text.setFont(fonts.regular, FONT_SIZE, LEADING)
        rules: list[tuple[float, float, float, float]] = [(0, top, self.width, top)]
        y = top - HEADER_HEIGHT
        rules.append((0, y, self.width, y))
        measure = rows.measure.width
        for index in range(self.start, self.end):
            height = _row_height(rows.line_counts[index])
            middle = y - height / 2 + (PAD_BOTTOM - PAD_TOP) / 2
            for column, lines in enumerate(rows.cells[index]):
                if not lines:
                    continue
                first = middle + (len(lines) - 1) * LEADING / 2 - 0.38 * FONT_SIZE
                if column in _CENTRED:
                    for number, line in enumerate(lines):
                        x = edges[column] + (widths[column] - measure(line)) / 2
                        text.setTextOrigin(x, first - number * LEADING)
                        text.textOut(line)
                else:  # one position a cell, then line by line at the text object's leading
                    text.setTextOrigin(edges[column] + PAD_X, first)
                    for line in lines:
                        text.textLine(line)
            y -= height
            rules.append((0, y, self.width, y))
        canvas.drawText(text)
        rules.extend((x, top, x, y) for x in edges)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.lines(rules)
        canvas.restoreState()
        if self.closing is not None:
            self.closing.draw_on(canvas, y)
        rows.drawn += self.end - self.start
        if rows.progress is not None:
            total = len(rows.cells)
            rows.progress(total + rows.drawn, 2 * total)


class _Closing:
    """What follows the table's last row (the totals line, the signature block), measured once."""

    def __init__(self, flowables: list[Flowable], width: float) -> None:
        self.width = width
        self.parts: list[tuple[Flowable, float, float]] = []  # flowable, space above it, its height
        scratch = Canvas(io.BytesIO())
        for flowable in flowables:
            if isinstance(flowable, KeepTogether):  # the signature block: its parts, kept together here
                flowable.wrapOn(scratch, width, _UNBOUNDED)
                inner = flowable.split(width, _UNBOUNDED)
            else:
                inner = [flowable]
            for part in inner:
                _w, height = part.wrapOn(scratch, width, _UNBOUNDED)
                self.parts.append((part, part.getSpaceBefore(), height))
        self.height = sum(space + height for _part, space, height in self.parts)

    def draw_on(self, canvas: Canvas, top: float) -> None:
        y = top
        for part, space, height in self.parts:
            y -= space + height
            part.wrapOn(canvas, self.width, _UNBOUNDED)
            part.drawOn(canvas, 0, y)


def render_ledger(
    data: LedgerData,
    out: PdfTarget,
    letterhead: Letterhead,
    printed_at: str,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> int:
    """Write the ledger as a landscape A4 PDF to ``out`` (a path or a binary file); the page count.

    The title and subtitle, the table (its header row on every page), the totals line and the
    signature block (the site's labels, else 制表人, 审核人, 日期). ``progress(done, total)`` counts
    the rows laid out, then the rows drawn (``total`` is twice the rows); ``cancelled()`` raises
    ``LedgerCancelled`` (see the module docstring). ``OSError`` from writing ``out`` is the caller's.
    """
    styles = report_styles()
    width, _height = frame_size(landscape_page=True)
    subtitle_style = ParagraphStyle(
        "hotline.ledger.subtitle",
        parent=styles.body_flush,
        fontSize=10,
        leading=14,
        alignment=TA_CENTER,
        spaceAfter=4 * mm,
    )
    totals_style = ParagraphStyle("hotline.ledger.totals", parent=styles.body_flush, spaceBefore=3 * mm)
    laid_out = _lay_out(data, width, progress, cancelled)
    closing: list[Flowable] = []
    if not data.rows:
        closing.append(CJKParagraph(escape_text(_("No calls match.")), totals_style))
    closing.append(CJKParagraph(escape_text(data.totals.line()), totals_style))
    labels = letterhead.signatures or (_("Prepared by"), _("Reviewed by"), _("Date"))
    closing.append(signature_block(labels, width))
    story: list[Flowable] = [
        CJKParagraph(escape_text(data.title), styles.title),
        CJKParagraph(escape_text(data.subtitle), subtitle_style),
        _LedgerTable(laid_out, 0, len(data.rows), _Closing(closing, width)),
    ]
    furniture = PageFurniture.of(letterhead, printed_at, header_right=data.title)
    return build_pdf(out, story, furniture, title=data.title, subject=data.subtitle, landscape_page=True)
