"""故障记录分析: the fault records of a period, counted by system/module and by cause, then listed.

The Changzhou contract asks for fault records to be collected and analysed. Two steps::

    stats = fault_stats(session, site_id, SummaryPeriod.year(2026), progress, cancelled)
    pages = render_faults(stats, "故障记录分析.pdf", letterhead, printed_at="2027-01-05 09:30")
    write_xlsx(fault_sheets(stats), Path("故障记录分析.xlsx"))

A4 landscape (the records table is wide): the title with the period and site; 一、概况 (a sentence:
fault calls, tickets, resolved, average time to resolve, resolution deadlines breached); 二、按系统
和模块 (a table and a bar chart of the tickets); 三、按故障原因 (a table and a bar chart of the ten
most frequent causes; how causes are found and grouped: ``app.reports.stats``); 四、故障记录明细 (every
record: number, report time, unit, system/module, severity, symptom, cause, resolution, time to
resolve, status); the signature block.

The records table is one table, its header row repeated on every page; each time platypus splits it
at a page end, ``cancelled()`` is asked and ``progress(done, total)`` told the records laid out, so
a year of thousands of records can be abandoned while it is laid out (``ReportCancelled``; reportlab
writes nothing until the last page is done).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table

from app.i18n import _
from app.reports.layout import (
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
from app.reports.stats import (
    CancelledFn,
    FaultRecord,
    FaultStats,
    ProgressFn,
    ReportCancelled,
    SummaryPeriod,
)
from app.reports.summary import (
    Column,
    bar_chart,
    captioned,
    data_table,
    heading,
    heading_block,
    note,
    number,
    percent,
)
from app.reports.tables import Sheet
from app.services.tickets import TargetResult
from app.sla.formatting import format_amount
from app.sla.wall_time import SHANGHAI

CHART_ROWS = 10  # bars of a chart
CAUSES_SHOWN = 30  # causes in the PDF's table (the export has all)
TEXT_LIMIT = 60  # characters of a symptom, cause or resolution in the PDF's records table


class _Watch:
    """Asks ``cancelled()`` and reports the records laid out, once a page of the records table."""

    def __init__(self, total: int, progress: ProgressFn | None, cancelled: CancelledFn | None) -> None:
        self.total = total
        self._progress, self._cancelled = progress, cancelled

    def page(self, rows_left: int) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ReportCancelled
        if self._progress is not None:
            self._progress(self.total - rows_left, self.total)


class _WatchedTable(Table):  # type: ignore[misc]  # reportlab has no type hints
    """A table that tells its ``_Watch`` each time platypus splits it at a page end (the pieces are
    tables of this class too, made by reportlab with ``self.__class__``)."""

    watch: _Watch | None = None

    def split(self, availWidth: float, availHeight: float) -> list[Any]:
        if self.watch is not None:
            self.watch.page(len(self._cellvalues) - self.repeatRows)
        pieces: list[Any] = super().split(availWidth, availHeight)
        for piece in pieces:
            if isinstance(piece, _WatchedTable):
                piece.watch = self.watch
        return pieces


def _period_text(period: SummaryPeriod) -> str:
    return _("{first} to {last}").format(first=period.first.isoformat(), last=period.last.isoformat())


def _module_label(system: str, module: str) -> str:
    return " / ".join(part for part in (system, module) if part)


def _average(records: Sequence[FaultRecord]) -> str:
    durations = [r.duration for r in records if r.duration is not None]
    if not durations:
        return "—"
    seconds = sum(d.total_seconds() for d in durations) / len(durations)
    return minutes_text(dt.timedelta(seconds=seconds))


def _overview(stats: FaultStats) -> str:
    breached = sum(1 for r in stats.records if r.resolution_result is TargetResult.BREACHED)
    categories = "、".join(stats.fault_categories) or "—"
    text = _("{calls} calls of a fault category ({categories}).").format(
        calls=number(stats.fault_calls), categories=categories
    )
    if not stats.records:
        return text + _("No tickets were reported in this period.")
    return text + _(
        "{tickets} tickets were reported, {resolved} of them resolved, in {average} on average; "
        "{breached} missed the resolution deadline."
    ).format(
        tickets=number(len(stats.records)),
        resolved=number(stats.resolved),
        average=_average(stats.records),
        breached=number(breached),
    )


def render_faults(
    stats: FaultStats,
    out: PdfTarget,
    letterhead: Letterhead,
    printed_at: str,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> int:
    """Write the fault analysis as a landscape A4 PDF to ``out``; the page count. ``progress`` and
    ``cancelled`` follow the records laid out (see the module docstring). ``OSError`` from writing
    ``out`` is the caller's."""
    styles = report_styles()
    width, _height = frame_size(landscape_page=True)
    title = _("Fault record analysis")
    meta = [
        (_("Period"), _period_text(stats.period)),
        (_("Service site"), stats.site_name),
        (_("Fault records"), _("Tickets reported in the period; calls of a fault category are counted")),
        (_("Compiled"), f"{stats.made_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"),
    ]
    story: list[Flowable] = heading_block(title, stats.period, stats.site_name, meta, width)
    story += heading(_("1. Overview"))
    story.append(CJKParagraph(escape_text(_overview(stats)), styles.body))
    story += _module_section(stats, width)
    story += _cause_section(stats, width)
    story += heading(_("4. Fault records"))
    if stats.records:
        story.append(_record_table(stats.records, width, progress, cancelled))
    else:
        story.append(note(_("No tickets were reported in this period.")))
    labels = letterhead.signatures or (_("Compiled by"), _("Reviewed by"), _("Date"))
    story.append(signature_block(labels, width))
    furniture = PageFurniture.of(letterhead, printed_at, header_right=title)
    subject = _("{period} · {site}").format(period=stats.period.label(), site=stats.site_name)
    pages = build_pdf(
        out, story, furniture, title=f"{title} {stats.period.label()}", subject=subject, landscape_page=True
    )
    if progress is not None:
        progress(len(stats.records), len(stats.records))
    return pages


def _module_section(stats: FaultStats, width: float) -> list[Flowable]:
    out = heading(_("2. By system and module"))
    groups = stats.by_module
    if not groups:
        return [*out, note(_("No faults in this period."))]
    columns = [
        Column(_("No."), 10 * mm),
        Column(_("System"), 62 * mm),
        Column(_("Module"), 42 * mm),
        Column(_("Fault calls"), 24 * mm, True),
        Column(_("Tickets"), 20 * mm, True),
        Column(_("Resolved"), 20 * mm, True),
        Column(_("Average time to resolve"), 34 * mm, True),
        Column(_("Resolution breached"), width - 212 * mm, True),
    ]
    rows = [
        [
            n,
            g.system,
            g.module or "—",
            number(g.calls),
            number(g.tickets),
            number(g.resolved),
            "—" if g.average_resolve is None else minutes_text(g.average_resolve),
            number(g.breached),
        ]
        for n, g in enumerate(groups, start=1)
    ]
    rows.append(
        [
            "",
            _("Total"),
            "",
            number(sum(g.calls for g in groups)),
            number(sum(g.tickets for g in groups)),
            number(sum(g.resolved for g in groups)),
            _average(stats.records),
            number(sum(g.breached for g in groups)),
        ]
    )
    out.append(data_table(columns, rows, shade_last=True))
    with_tickets = sorted((g for g in groups if g.tickets), key=lambda g: -g.tickets)[:CHART_ROWS]
    if with_tickets:
        chart = bar_chart([(_module_label(g.system, g.module), g.tickets) for g in with_tickets], width * 0.8)
        out.append(
            captioned(chart, _("Tickets by system and module (the {n} largest)").format(n=len(with_tickets)))
        )
    return out


def _cause_section(stats: FaultStats, width: float) -> list[Flowable]:
    styles = report_styles()
    out = heading(_("3. By cause"))
    causes = stats.by_cause
    if not causes:
        return [*out, note(_("No faults in this period."))]
    out.append(
        CJKParagraph(
            escape_text(
                _(
                    "A cause is taken from the knowledge-base article linked to the ticket, else from "
                    "“原因：…” in the resolution or the notes; fault calls count towards the cause of the "
                    "article used in them."
                )
            ),
            styles.body,
        )
    )
    out.append(Spacer(1, 1.5 * mm))
    total = sum(c.total for c in causes)
    columns = [
        Column(_("No."), 10 * mm),
        Column(_("Cause"), width - 152 * mm),
        Column(_("Tickets"), 20 * mm, True),
        Column(_("Fault calls"), 22 * mm, True),
        Column(_("Share"), 18 * mm, True),
        Column(_("Where"), 82 * mm),
    ]
    rows = [
        [
            n,
            c.cause,
            number(c.tickets),
            number(c.calls),
            percent(c.total / total if total else None),
            c.systems,
        ]
        for n, c in enumerate(causes[:CAUSES_SHOWN], start=1)
    ]
    out.append(data_table(columns, rows))
    if len(causes) > CAUSES_SHOWN:
        out.append(
            note(
                _(
                    "The {shown} most frequent of {count} causes; the exported spreadsheet lists every one."
                ).format(shown=CAUSES_SHOWN, count=len(causes))
            )
        )
    unknown = _("Cause not recorded")
    chart_rows = [(c.cause, c.total) for c in causes if c.total and c.cause != unknown][:CHART_ROWS]
    if len(chart_rows) > 1:
        chart = bar_chart(chart_rows, width * 0.8)
        out.append(captioned(chart, _("Faults by cause (the {n} most frequent)").format(n=len(chart_rows))))
    return out


def _record_columns(width: float) -> list[Column]:
    fixed = [
        Column(_("No."), 11 * mm, wrap=False),
        Column(_("Ticket number"), 26 * mm, wrap=False),
        Column(_("Reported"), 19 * mm, wrap=False),
        Column(_("Unit"), 24 * mm),
        Column(_("System / module"), 28 * mm),
        Column(_("Level"), 9 * mm),
    ]
    tail = [Column(_("Time to resolve"), 18 * mm, True), Column(_("Status"), 12 * mm)]
    room = width - sum(c.width for c in fixed) - sum(c.width for c in tail)
    texts = [
        Column(_("Symptom"), room * 0.36),
        Column(_("Cause"), room * 0.28),
        Column(_("How it was resolved"), room * 0.36),
    ]
    return [*fixed, *texts, *tail]


def _cut(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (the spreadsheet has the whole text)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def minutes_text(amount: dt.timedelta) -> str:
    """A time to resolve to the minute: "1 h 50 min" / "1小时50分钟"."""
    return format_amount(dt.timedelta(minutes=round(amount.total_seconds() / 60)))


def _record_row(n: int, record: FaultRecord) -> list[object]:
    duration = "—" if record.duration is None else minutes_text(record.duration)
    return [
        n,
        record.number,
        f"{record.reported_at.astimezone(SHANGHAI):%m-%d %H:%M}",
        record.unit or "—",
        _module_label(record.system, record.module),
        record.severity or "—",
        _cut(record.symptom, TEXT_LIMIT),
        _cut(record.cause, TEXT_LIMIT),
        _cut(record.resolution, TEXT_LIMIT) or "—",
        duration,
        record.status,
    ]


def _record_table(
    records: Sequence[FaultRecord], width: float, progress: ProgressFn | None, cancelled: CancelledFn | None
) -> Flowable:
    watch = _Watch(len(records), progress, cancelled)
    watch.page(len(records))
    rows = [_record_row(n, r) for n, r in enumerate(records, start=1)]
    table = data_table(_record_columns(width), rows, small=True, table_class=_WatchedTable)
    table.watch = watch
    return table


# --- spreadsheets ---------------------------------------------------------------------------------


def fault_sheets(stats: FaultStats) -> list[Sheet]:
    """The analysis as tables: by system/module, by cause, and every record."""

    def hours(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds / 3600, 2)

    by_module = Sheet(
        _("By system and module"),
        [
            _("System"),
            _("Module"),
            _("Fault calls"),
            _("Tickets"),
            _("Resolved"),
            _("Average time to resolve (h)"),
            _("Resolution breached"),
        ],
        [
            [
                g.system,
                g.module,
                g.calls,
                g.tickets,
                g.resolved,
                hours(g.average_resolve.total_seconds()) if g.average_resolve is not None else None,
                g.breached,
            ]
            for g in stats.by_module
        ],
    )
    by_cause = Sheet(
        _("By cause"),
        [_("Cause"), _("Tickets"), _("Fault calls"), _("Where")],
        [[c.cause, c.tickets, c.calls, c.systems] for c in stats.by_cause],
    )
    record_rows: list[list[Any]] = [
        [
            r.number,
            r.reported_at,
            r.unit,
            r.system,
            r.module,
            r.category,
            r.severity,
            r.symptom,
            r.cause,
            r.resolution,
            r.resolved_at,
            hours(r.duration.total_seconds()) if r.duration is not None else None,
            r.status,
            _("Yes") if r.on_site else _("No"),
            r.resolution_result.label() if r.resolution_result is not None else "",
        ]
        for r in stats.records
    ]
    records = Sheet(
        _("Fault records"),
        [
            _("Ticket number"),
            _("Reported"),
            _("Unit"),
            _("System"),
            _("Module"),
            _("Category"),
            _("Level"),
            _("Symptom"),
            _("Cause"),
            _("How it was resolved"),
            _("Resolved"),
            _("Time to resolve (h)"),
            _("Status"),
            _("On site"),
            _("Resolution deadline"),
        ],
        record_rows,
    )
    return [by_module, by_cause, records]
