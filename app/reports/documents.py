"""Every printout by name, built the same way for the window and for ``hotline report``.

A ``ReportRequest`` names the document (``ReportKind``), the site, the period or the record, and for
the ledger its filter; ``build_report`` reads the data, lays the pages out with the site's letterhead
(``app.reports.letterhead``) and returns a ``BuiltReport``: the PDF's bytes, its page count, the
file name to offer, and the same figures as ``Sheet``s for xlsx/CSV. Cancelling (``cancelled()``
true) raises ``ReportCancelled`` whichever document was being built; bad requests (a period that
ends before it starts, a record that does not exist) are ``UserFacingError``s in plain Chinese.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.context import AppContext
from app.errors import UserFacingError
from app.i18n import _
from app.reports.letterhead import letterhead_for
from app.reports.tables import Sheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


class ReportKind(StrEnum):
    LEDGER = "ledger"  # 来电登记台账
    SUMMARY = "summary"  # 服务月报 / 年度服务总结报告 (by the period)
    FAULTS = "faults"  # 故障记录分析
    CALL = "call"  # 来电记录单
    TICKET = "ticket"  # 工单处理单


class ReportCancelled(Exception):
    """The person cancelled: nothing was written."""


@dataclass(frozen=True)
class ReportRequest:
    kind: ReportKind
    site_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    record_id: str = ""  # the call or the ticket
    # the ledger's filter, as the call list's
    system_id: str | None = None
    module_id: str | None = None
    category_id: str | None = None
    outcome: str | None = None
    text: str = ""


@dataclass(frozen=True)
class BuiltReport:
    title: str
    file_name: str  # without suffix, safe on every system
    pdf: bytes
    pages: int
    sheets: list[Sheet] = field(default_factory=list)


def month_period(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def year_period(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def period_scope(date_from: dt.date, date_to: dt.date) -> str:
    """ "month" for one whole calendar month, "year" for one whole year, else "period"."""
    if (date_from, date_to) == year_period(date_from.year):
        return "year"
    if (date_from, date_to) == month_period(date_from.year, date_from.month):
        return "month"
    return "period"


def safe_file_name(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")[:80] or "report"


def _period(request: ReportRequest) -> tuple[dt.date, dt.date]:
    if request.date_from is None or request.date_to is None:
        raise UserFacingError(_("Please give the period: the first and the last day."))
    if request.date_to < request.date_from:
        raise UserFacingError(_("The period ends before it starts."))
    return request.date_from, request.date_to


def _period_text(date_from: dt.date, date_to: dt.date) -> str:
    scope = period_scope(date_from, date_to)
    if scope == "year":
        return str(date_from.year)
    if scope == "month":
        return f"{date_from.year}-{date_from.month:02d}"
    return f"{date_from.isoformat()}_{date_to.isoformat()}"


def _phases(progress: ProgressFn | None, first_share: int) -> tuple[ProgressFn, ProgressFn]:
    """Two progress callbacks, for a first step of ``first_share`` thirds of the work and the rest,
    reporting to ``progress`` as one count from 0 to 1,000."""
    split = first_share * 1000 // 3

    def first(done: int, total: int) -> None:
        if progress is not None and total:
            progress(min(done * split // total, split), 1000)

    def second(done: int, total: int) -> None:
        if progress is not None and total:
            progress(split + min(done * (1000 - split) // total, 1000 - split), 1000)

    return first, second


def build_report(
    ctx: AppContext,
    request: ReportRequest,
    now: dt.datetime,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> BuiltReport:
    """The printout ``request`` asks for (see the module docstring)."""
    printed_at = now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if request.kind is ReportKind.LEDGER:
        return _ledger(ctx, request, printed_at, progress, cancelled)
    if request.kind in (ReportKind.SUMMARY, ReportKind.FAULTS):
        return _summary(ctx, request, now, printed_at, progress, cancelled)
    return _sheet(ctx, request, now, printed_at)


def _summary(
    ctx: AppContext,
    request: ReportRequest,
    now: dt.datetime,
    printed_at: str,
    progress: ProgressFn | None,
    cancelled: CancelledFn | None,
) -> BuiltReport:
    from app.reports import faults, stats, summary

    date_from, date_to = _period(request)
    scope = period_scope(date_from, date_to)
    if scope == "month":
        period = stats.SummaryPeriod.month(date_from.year, date_from.month)
    elif scope == "year":
        period = stats.SummaryPeriod.year(date_from.year)
    else:
        period = stats.SummaryPeriod.days(date_from, date_to)
    site_id = request.site_id or None
    reading, laying_out = _phases(progress, 2)
    letterhead = letterhead_for(ctx, request.site_id)
    out = io.BytesIO()
    try:
        with ctx.db.session() as session:
            if request.kind is ReportKind.FAULTS:
                fault_figures = stats.fault_stats(session, site_id, period, reading, cancelled, now=now)
            else:
                figures = stats.summary_stats(session, site_id, period, reading, cancelled, now=now)
        if request.kind is ReportKind.FAULTS:
            pages = faults.render_faults(fault_figures, out, letterhead, printed_at, laying_out, cancelled)
            title, sheets = _("Fault analysis"), faults.fault_sheets(fault_figures)
        else:
            pages = summary.render_summary(figures, out, letterhead, printed_at)
            title = {"month": _("Monthly service report"), "year": _("Annual service report")}.get(
                scope, _("Service report")
            )
            sheets = summary.summary_sheets(figures)
    except stats.ReportCancelled as exc:
        raise ReportCancelled from exc
    name = safe_file_name(f"{title}_{_period_text(date_from, date_to)}")
    return BuiltReport(title, name, out.getvalue(), pages, sheets)


def _sheet(ctx: AppContext, request: ReportRequest, now: dt.datetime, printed_at: str) -> BuiltReport:
    from app.reports import call_sheet, ticket_sheet

    out = io.BytesIO()
    with ctx.db.session() as session:
        if request.kind is ReportKind.CALL:
            call = call_sheet.call_sheet_data(session, request.record_id)
            letterhead = letterhead_for(ctx, call.site_id)
            pages = call_sheet.render_call_sheet(call, out, letterhead, printed_at)
            title, number = _("Call record sheet"), call.number
        else:
            ticket = ticket_sheet.ticket_sheet_data(session, request.record_id, now)
            letterhead = letterhead_for(ctx, ticket.site_id)
            pages = ticket_sheet.render_ticket_sheet(ticket, out, letterhead, printed_at)
            title, number = _("Ticket sheet"), ticket.number
    return BuiltReport(title, safe_file_name(f"{title}_{number}"), out.getvalue(), pages)


def _ledger(
    ctx: AppContext,
    request: ReportRequest,
    printed_at: str,
    progress: ProgressFn | None,
    cancelled: CancelledFn | None,
) -> BuiltReport:
    from app.reports.ledger import (
        LedgerCancelled,
        LedgerFilter,
        ledger_rows,
        ledger_sheets,
        render_ledger,
    )

    date_from, date_to = _period(request)
    ledger_filter = LedgerFilter(
        date_from,
        date_to,
        request.site_id,
        request.system_id,
        request.module_id,
        request.category_id,
        request.outcome,
        request.text,
    )
    reading, laying_out = _phases(progress, 1)  # reading the calls: a third of the work
    try:
        with ctx.db.session() as session:
            data = ledger_rows(session, ledger_filter, reading, cancelled)
        out = io.BytesIO()
        letterhead = letterhead_for(ctx, request.site_id)
        pages = render_ledger(data, out, letterhead, printed_at, laying_out, cancelled)
    except LedgerCancelled as exc:
        raise ReportCancelled from exc
    title = _("Call ledger")
    name = safe_file_name(f"{title}_{_period_text(date_from, date_to)}")
    return BuiltReport(title, name, out.getvalue(), pages, ledger_sheets(data))
