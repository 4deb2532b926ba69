"""One ticket on a filed A4 form (工单处理单).

The page: the site's letterhead, the title centred, the ticket number on the right, a ruled table of
the ticket's facts with shaded label cells (标题, 服务站点, 单位, 联系人 … 报告时间), the description and
notes under shaded bands, the service-level deadlines (each target's due time, when it was met, the
outcome and, under it, why it is due when it is), the whole history (time, who, what) as a ruled table
whose band and column heads repeat on every page, and the signature block.

``ticket_sheet_data`` reads the ticket through ``app.services.tickets`` (its derived deadlines, their
outcomes and its history in words, as the ticket window and the tickets export show them) and formats
everything; ``render_ticket_sheet`` only lays it out, with the form pieces of ``call_sheet``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.i18n import N_, _
from app.reports.call_sheet import (
    EMPTY,
    HANG,
    Story,
    band_style,
    build_form,
    form_grid,
    format_time,
    list_text,
    number_line,
    reference_name,
    signatures_of,
    text_section,
)
from app.reports.layout import (
    MUTED,
    RULE,
    SHADE,
    CJKParagraph,
    Letterhead,
    PageFurniture,
    PdfTarget,
    escape_text,
    frame_size,
    report_styles,
)
from app.services import calls, kb, tickets
from app.services.tickets import TargetOutcome, TargetResult, TicketView, TimelineEntry
from app.sla.countdown import CountdownKind, countdown
from app.sla.deadlines import TargetState
from app.sla.events import Handling
from app.sla.formatting import format_amount
from app.storage.models import Category, Module, Organisation, Site, System

TICKET_SIGNATURES: tuple[str, ...] = (N_("Handling engineer"), N_("User confirmation"), N_("Date"))
HANDLING_LABELS: dict[str, str] = {
    Handling.REMOTE.value: N_("Remote"),
    Handling.ON_SITE.value: N_("On-site visit"),
}
TAIL_ENTRIES = 2  # history entries kept on the page of the signatures
ENTRY_LIMIT = 20_000  # characters of one history entry printed (a pasted log in a note)
RECORDED_LATE = dt.timedelta(minutes=5)  # an entry written this much after its moment says when

# column widths
_TARGET = 22 * mm
_MOMENT = 31 * mm
_WHO = 22 * mm


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineLine:
    """One target of the ticket: 首次响应 / 到场 / 解决, formatted."""

    target: str
    due: str  # "" when there is no due time (by agreement, not started, on hold)
    met_at: str
    result: str  # 达标，提前… / 超时… / 计时中，剩余… / 挂起中… / 按约定 / 未开始
    explanation: str  # why it is due when it is


@dataclass(frozen=True)
class HistoryLine:
    """One entry of the ticket's history."""

    at: str
    recorded: str  # "记录于 …" when written well after the moment it states, else ""
    author: str
    text: str
    flag: str = ""  # did not apply after a merge


@dataclass(frozen=True)
class TicketSheet:
    """What a 工单处理单 shows; every text already formatted and in the reader's language ("" where
    the ticket has nothing, printed as "—")."""

    ticket_id: str
    site_id: str  # for the site's letterhead
    number: str
    title: str
    site: str
    unit: str
    contact: str
    phone: str
    system: str
    module: str
    category: str
    severity: str
    policy: str
    handling: str
    assignee: str
    status: str
    reported_at: str
    description: str
    notes: str
    calls: tuple[str, ...] = ()  # linked calls: "2026-11-02 09:30 王会计"
    articles: tuple[str, ...] = ()  # titles of the linked knowledge-base articles
    deadlines: tuple[DeadlineLine, ...] = ()
    deadline_note: str = ""  # why there are no deadlines, or that they may still change
    history: tuple[HistoryLine, ...] = ()


def _call_label(session: Session, call_id: str) -> str:
    call = calls.get_call(session, call_id)
    if call is None or call.deleted:
        return _("(removed call)")
    who = call.caller_name or call.caller_phone or call.unit_name
    return f"{format_time(call.started_at)} {who}".strip()


def _result(state: TargetState, outcome: TargetOutcome | None, now: dt.datetime) -> str:
    """The outcome in the words of reports (达标…, 超时…, 按约定); a target still running says how
    much time is left, as the countdown counts it."""
    shown = countdown(state, now)
    if outcome is None:
        return shown.text()
    if outcome.result is TargetResult.OPEN:
        if shown.kind is CountdownKind.PAUSED:
            return _("On hold, {amount} left").format(amount=format_amount(shown.remaining or dt.timedelta()))
        if shown.kind is CountdownKind.REMAINING and shown.remaining is not None:
            return _("{result}, {amount} left").format(
                result=outcome.text(), amount=format_amount(shown.remaining)
            )
        if shown.kind is CountdownKind.CLOCK_STOPPED:
            return shown.text()
    return outcome.text()


def _deadlines(session: Session, view: TicketView, now: dt.datetime) -> tuple[DeadlineLine, ...]:
    if view.deadlines is None:
        return ()
    outcomes = {o.target: o for o in tickets.ticket_outcomes(session, view.ticket.id, now)}
    return tuple(
        DeadlineLine(
            target=state.kind.label(),
            due=format_time(state.due),
            met_at=format_time(state.met_at),
            result=_result(state, outcomes.get(state.kind), now),
            explanation=state.explanation(),
        )
        for state in view.deadlines.targets
    )


def _deadline_note(view: TicketView) -> str:
    deadlines = view.deadlines
    notes: list[str] = []
    if view.problem:
        notes.append(
            _("No deadlines can be worked out for this ticket ({problem}).").format(problem=view.problem)
        )
    elif deadlines is None:
        notes.append(_("No deadlines."))
    elif deadlines.rule is None:
        notes.append(deadlines.explanation())
    elif not deadlines.targets:
        notes.append(_("The policy sets no deadline for this ticket."))
    if deadlines is not None and deadlines.unconfirmed_years:
        years = "、".join(str(year) for year in deadlines.unconfirmed_years)
        notes.append(
            _(
                "The holiday arrangements for {years} are not confirmed yet (unconfirmed calendar year): "
                "these deadlines may still change."
            ).format(years=years)
        )
    return "\n".join(notes)


def _cut(text: str) -> str:
    if len(text) <= ENTRY_LIMIT:
        return text
    rest = len(text) - ENTRY_LIMIT
    more = _("… {count} more characters are not printed; the full text is in Hotline Console.")
    return text[:ENTRY_LIMIT] + "\n" + more.format(count=rest)


def _history_line(entry: TimelineEntry) -> HistoryLine:
    recorded = ""
    if abs(entry.recorded_at - entry.at) > RECORDED_LATE:
        recorded = _("recorded {time}").format(time=format_time(entry.recorded_at))
    return HistoryLine(format_time(entry.at), recorded, entry.author, _cut(entry.text), entry.flag_text)


def ticket_sheet_data(session: Session, ticket_id: str, now: dt.datetime) -> TicketSheet:
    """The ticket ``ticket_id`` as its form shows it, its deadlines' outcomes as of ``now`` (an aware
    datetime). Raises ``UserFacingError`` when the ticket does not exist (any more)."""
    view = tickets.get_ticket(session, ticket_id)
    if view is None or view.ticket.deleted:
        raise UserFacingError(_("This ticket no longer exists."))
    ticket = view.ticket
    contact = ticket.caller_name
    if not contact.strip():
        found = calls.contact_for(session, ticket.contact_id)
        contact = found.name if found is not None else ""
    unit = ticket.unit_name
    if not unit.strip() and ticket.org_id:
        org = session.get(Organisation, ticket.org_id)
        unit = org.name if org is not None else ""
    handling = HANDLING_LABELS.get(ticket.handling)
    return TicketSheet(
        ticket_id=ticket.id,
        site_id=ticket.site_id,
        number=ticket.number,
        title=ticket.title,
        site=reference_name(session, Site, ticket.site_id),
        unit=unit,
        contact=contact,
        phone=ticket.caller_phone,
        system=reference_name(session, System, ticket.system_id),
        module=reference_name(session, Module, ticket.module_id),
        category=reference_name(session, Category, ticket.category_id),
        severity=view.severity_name,
        policy=view.policy_name,
        handling=_(handling) if handling is not None else ticket.handling,
        assignee=ticket.assignee,
        status=view.status_label,
        reported_at=format_time(view.reported_at),
        description=ticket.description,
        notes=ticket.notes,
        calls=tuple(_call_label(session, call_id) for call_id in view.call_ids),
        articles=tuple(a.title for a in kb.linked_articles(session, ticket_id=ticket.id)),
        deadlines=_deadlines(session, view, now),
        deadline_note=_deadline_note(view),
        history=tuple(_history_line(entry) for entry in view.timeline),
    )


# --- the page -------------------------------------------------------------------------------------


@functools.cache
def _styles() -> tuple[ParagraphStyle, ParagraphStyle]:
    """A band's title and the grey small print (explanations, "recorded at", notes)."""
    base = report_styles()
    muted = ParagraphStyle("hotline.sheet_muted", parent=base.cell, textColor=MUTED)
    return base.cell_head, muted


def _paragraph(text: str, style: ParagraphStyle) -> CJKParagraph:
    return CJKParagraph(escape_text(text.strip() or EMPTY), style)


def _deadline_table(sheet: TicketSheet, width: float) -> Flowable:
    """The band 服务时限, a note when there is one (no deadlines; calendar not confirmed, so the
    deadlines below may change), then the column heads and per target a row of figures with its
    explanation under it."""
    styles = report_styles()
    band, muted = _styles()
    rows: list[list[object]] = [[CJKParagraph(escape_text(_("Service-level deadlines")), band), "", "", ""]]
    commands: list[tuple[object, ...]] = [
        ("SPAN", (0, 0), (-1, 0)),
        ("TOPPADDING", (0, 1), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 1), (-1, -1), HANG - 1),
    ]
    if sheet.deadline_note.strip():
        rows.append([_paragraph(sheet.deadline_note, muted), "", "", ""])
        commands += [("SPAN", (0, 1), (-1, 1)), ("LINEBELOW", (0, 1), (-1, 1), 0.5, RULE)]
    repeat = 1
    if sheet.deadlines:
        heads = (_("Target"), _("Due"), _("Met at"), _("Result"))
        rows.append([CJKParagraph(escape_text(text), styles.cell_head) for text in heads])
        head = len(rows) - 1
        commands += [
            ("BACKGROUND", (0, head), (-1, head), SHADE),
            ("LINEBELOW", (0, head), (-1, head), 0.5, RULE),
            ("LINEBEFORE", (1, head), (-1, head), 0.5, RULE),
        ]
        repeat = len(rows)
    for line in sheet.deadlines:
        figures = len(rows)
        rows.append(
            [
                _paragraph(line.target, styles.cell),
                _paragraph(line.due, styles.cell),
                _paragraph(line.met_at, styles.cell),
                _paragraph(line.result, styles.cell),
            ]
        )
        why = _("Why: {explanation}").format(explanation=line.explanation)
        rows.append([_paragraph(why, muted), "", "", ""])
        commands += [
            ("LINEBEFORE", (1, figures), (-1, figures), 0.5, RULE),
            ("SPAN", (0, figures + 1), (-1, figures + 1)),
            ("LINEBELOW", (0, figures + 1), (-1, figures + 1), 0.5, RULE),
            ("BOTTOMPADDING", (0, figures), (-1, figures), 1),
            ("TOPPADDING", (0, figures + 1), (-1, figures + 1), 0),
        ]
    if len(rows) == 1:  # nothing to say at all: the band alone would look like a mistake
        rows.append([_paragraph(_("No deadlines."), muted), "", "", ""])
        commands.append(("SPAN", (0, 1), (-1, 1)))
    return Table(
        rows,
        colWidths=[_TARGET, _MOMENT, _MOMENT, width - _TARGET - 2 * _MOMENT],
        repeatRows=repeat,
        splitInRow=1,
        style=TableStyle(band_style(1, commands)),
    )


def _history_table(history: Sequence[HistoryLine], width: float) -> Flowable:
    """The band 处理记录 and the column heads (both repeated on every page), then one ruled row per
    entry, oldest first."""
    styles = report_styles()
    band, muted = _styles()
    rows: list[list[object]] = [
        [CJKParagraph(escape_text(_("Ticket history")), band), "", ""],
        [CJKParagraph(escape_text(text), styles.cell_head) for text in (_("Time"), _("By"), _("What"))],
    ]
    for line in history:
        when: list[object] = [_paragraph(line.at, styles.cell)]
        if line.recorded:
            when.append(_paragraph(line.recorded, muted))
        what: list[object] = [_paragraph(line.text, styles.cell)]
        if line.flag:
            what.append(_paragraph(line.flag, muted))
        rows.append([when, _paragraph(line.author, styles.cell), what])
    if not history:
        rows.append([_paragraph(EMPTY, styles.cell), "", ""])
    commands: list[tuple[object, ...]] = [
        ("SPAN", (0, 0), (-1, 0)),
        ("BACKGROUND", (0, 1), (-1, 1), SHADE),
        ("INNERGRID", (0, 1), (-1, -1), 0.5, RULE),
        ("TOPPADDING", (0, 1), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 1), (-1, -1), HANG - 1),
    ]
    return Table(
        rows,
        colWidths=[_MOMENT, _WHO, width - _MOMENT - _WHO],
        repeatRows=2,
        splitInRow=1,
        style=TableStyle(band_style(1, commands)),
    )


def render_ticket_sheet(sheet: TicketSheet, out: PdfTarget, letterhead: Letterhead, printed_at: str) -> int:
    """Write the form as an A4 PDF to ``out`` (a path or a binary file); returns the number of pages.

    Any text renders; ``OSError`` from writing ``out`` is the caller's.
    """
    styles = report_styles()
    width = frame_size()[0]
    title = _("Ticket handling form")
    facts: list[list[tuple[str, str]]] = [
        [(_("Subject"), sheet.title)],
        [(_("Service site"), sheet.site), (_("Severity"), sheet.severity)],
        [(_("Unit"), sheet.unit)],
        [(_("Contact"), sheet.contact), (_("Contact number"), sheet.phone)],
        [(_("System"), sheet.system), (_("Module"), sheet.module)],
        [(_("Category"), sheet.category), (_("Policy"), sheet.policy)],
        [(_("Handling"), sheet.handling), (_("Assignee"), sheet.assignee)],
        [(_("Status"), sheet.status), (_("Reported"), sheet.reported_at)],
    ]
    if list_text(sheet.calls):
        facts.append([(_("Linked calls"), list_text(sheet.calls))])
    if list_text(sheet.articles):
        facts.append([(_("Knowledge-base articles"), list_text(sheet.articles))])

    def content(split: bool) -> Story:
        body: list[Flowable] = [
            CJKParagraph(escape_text(title), styles.title),
            number_line(_("Ticket number: {number}").format(number=sheet.number)),
            form_grid(facts, width),
        ]
        for label, text in ((_("Description"), sheet.description), (_("Notes"), sheet.notes)):
            section = text_section(label, text, width)
            if section is not None:
                body.append(section)
        body.append(_deadline_table(sheet, width))
        history = list(sheet.history)
        kept = min(TAIL_ENTRIES, len(history)) if split else 0
        if len(history) > kept or not history:
            body.append(_history_table(history[: len(history) - kept], width))
        tail: list[Flowable] = [_history_table(history[-kept:], width)] if kept else []
        return body, tail

    return build_form(
        out,
        content,
        signatures_of(letterhead, TICKET_SIGNATURES),
        PageFurniture.of(letterhead, printed_at, f"{title} {sheet.number}"),
        title=f"{title} {sheet.number}",
        author=sheet.assignee,
        subject=title,
    )
