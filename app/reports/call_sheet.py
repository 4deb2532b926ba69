"""One hotline call on a filed A4 form (来电记录单), and the form pieces the ticket sheet reuses.

The page: the site's letterhead, the title centred, the record number (the call's date and the end
of its id) on the right, a ruled table with shaded label cells (来电时间, 通话时长 … 值班工程师), then
the question and the answer each under a shaded band (a long text runs onto further pages, the band
repeated at the top of each), the linked tickets and knowledge-base articles when there are any, and
the signature block (never alone on a last page: the form's last lines go over with it). Empty texts
and links are left out; an empty field of the table prints "—".

``call_sheet_data`` reads and formats the call (everything a reader sees is already translated and
formatted); ``render_call_sheet`` only lays it out. The form pieces (``form_grid``, ``text_section``,
``lines_section``, ``number_line``, ``build_form``, ``format_time``) serve ``app.reports.ticket_sheet``
as well.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.i18n import N_, _
from app.reports.layout import (
    RULE,
    SHADE,
    CJKParagraph,
    Letterhead,
    PageFurniture,
    PdfTarget,
    build_pdf,
    escape_text,
    frame_size,
    grid_style,
    report_styles,
    signature_block,
)
from app.services import calls, kb, tickets
from app.sla.formatting import format_amount
from app.sla.wall_time import SHANGHAI
from app.storage.models import OUTCOME_LABELS, Category, Module, Organisation, Outcome, Site, System

LABEL_WIDTH = 22 * mm
EMPTY = "—"  # an empty field of the form
PRINT_LIMIT = 100_000  # characters of one text printed (about 100 pages); the rest is named, not printed
LINE_CHUNK = 3_000  # a longer line is laid out in pieces, cut after a sentence where possible
_SENTENCE_ENDS = "。！？；!?;"
TAIL_LINES = 3  # lines of the last text kept on the page of the signatures
HANG = 11.0  # right padding of text cells: room for one hanging closing punctuation mark (≤ 10.5 pt)

CALL_SIGNATURES: tuple[str, ...] = (N_("Engineer on duty"), N_("Reviewer"), N_("Date"))


def format_time(moment: dt.datetime | None) -> str:
    """A moment as the forms print it: Asia/Shanghai wall time, "2026-11-02 09:30" ("" for None)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSheet:
    """What a 来电记录单 shows; every text already formatted and in the reader's language ("" where
    the call has nothing, printed as "—")."""

    call_id: str
    site_id: str  # for the site's letterhead (``app.reports.letterhead.letterhead_for``)
    number: str  # 20261102-3F9A1C: the call's date and the end of its id
    started_at: str
    duration: str
    caller_phone: str
    caller_name: str
    unit: str
    site: str
    system: str
    module: str
    category: str
    outcome: str  # 当场解答 / 已转接 X / 需建工单 / 需回电（已于 … 回电）
    engineer: str
    question: str
    answer: str
    tickets: tuple[str, ...] = ()  # numbers of the tickets the call is linked to
    articles: tuple[str, ...] = ()  # titles of the knowledge-base articles used in the answer


def record_number(started_at: dt.datetime, call_id: str) -> str:
    """The number a call's form carries: its Shanghai date and the last six hex digits of its id."""
    return f"{started_at.astimezone(SHANGHAI):%Y%m%d}-{call_id.replace('-', '')[-6:].upper()}"


def _duration(seconds: int) -> str:
    return format_amount(dt.timedelta(seconds=seconds)) if seconds > 0 else ""


def _outcome(outcome: str, transferred_to: str, called_back_at: dt.datetime | None) -> str:
    if outcome == Outcome.TRANSFERRED.value and transferred_to.strip():
        return _("Transferred to {name}").format(name=transferred_to.strip())
    if outcome == Outcome.CALLBACK.value:
        if called_back_at is not None:
            return _("Needs a call back (called back {time})").format(time=format_time(called_back_at))
        return _("Needs a call back (not called back yet)")
    try:
        return _(OUTCOME_LABELS[Outcome(outcome)])
    except ValueError:
        return outcome


_Named = TypeVar("_Named", Site, System, Module, Category)


def reference_name(session: Session, model: type[_Named], row_id: str | None) -> str:
    """The name of a site, system, module or category ("" for none); a retired one still has its name."""
    row = session.get(model, row_id) if row_id else None
    return row.name if row is not None else ""


def call_sheet_data(session: Session, call_id: str) -> CallSheet:
    """The call ``call_id`` as its form shows it. Raises ``UserFacingError`` when the call does not
    exist (any more)."""
    call = calls.get_call(session, call_id)
    if call is None or call.deleted:
        raise UserFacingError(_("This call no longer exists."))
    caller = call.caller_name
    if not caller.strip():
        contact = calls.contact_for(session, call.contact_id)
        caller = contact.name if contact is not None else ""
    unit = call.unit_name
    if not unit.strip() and call.org_id:
        org = session.get(Organisation, call.org_id)
        unit = org.name if org is not None else ""
    return CallSheet(
        call_id=call.id,
        site_id=call.site_id,
        number=record_number(call.started_at, call.id),
        started_at=format_time(call.started_at),
        duration=_duration(call.duration_s),
        caller_phone=call.caller_phone,
        caller_name=caller,
        unit=unit,
        site=reference_name(session, Site, call.site_id),
        system=reference_name(session, System, call.system_id),
        module=reference_name(session, Module, call.module_id),
        category=reference_name(session, Category, call.category_id),
        outcome=_outcome(call.outcome, call.transferred_to, call.called_back_at),
        engineer=call.engineer,
        question=call.question,
        answer=call.answer,
        tickets=tuple(ticket.number for ticket in tickets.tickets_of_call(session, call.id)),
        articles=tuple(article.title for article in kb.linked_articles(session, call_id=call.id)),
    )


# --- form pieces (shared with the ticket sheet) ---------------------------------------------------


Pair = tuple[str, str]  # label, value


@functools.cache
def _number_style() -> ParagraphStyle:
    return ParagraphStyle("hotline.sheet_number", parent=report_styles().small, alignment=TA_RIGHT)


def number_line(text: str) -> Flowable:
    """The record number under the title, on the right ("记录编号：…")."""
    paragraph = CJKParagraph(escape_text(text), _number_style())
    return Table([[paragraph]], colWidths=[frame_size()[0]], spaceAfter=1.5 * mm, style=_BARE)


_BARE = TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])


def form_grid(rows: Sequence[Sequence[Pair]], width: float) -> Flowable:
    """A ruled table of label/value pairs, two a row (a row of one pair: its value runs to the right
    edge); label cells shaded, empty values printed as "—". A tall row may split across pages."""
    styles = report_styles()
    value_width = (width - 2 * LABEL_WIDTH) / 2
    cells: list[list[object]] = []
    commands: list[tuple[object, ...]] = []
    for pairs in rows:
        number = len(cells)
        row: list[object] = []
        for label, value in pairs[:2]:
            commands.append(("BACKGROUND", (len(row), number), (len(row), number), SHADE))
            row.append(CJKParagraph(escape_text(label), styles.meta_label))
            row.append(CJKParagraph(escape_text(value.strip() or EMPTY), styles.meta_value))
        if len(pairs) == 1:
            row.extend(["", ""])
            commands.append(("SPAN", (1, number), (3, number)))
        cells.append(row)
    table = Table(
        cells,
        colWidths=[LABEL_WIDTH, value_width, LABEL_WIDTH, value_width],
        splitInRow=1,
    )
    table.setStyle(
        grid_style(
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ("LEFTPADDING", (1, 0), (1, -1), 5),
            ("LEFTPADDING", (3, 0), (3, -1), 5),
            # reportlab lets closing punctuation (）。、) hang past the line's end: keep it in the cell
            ("RIGHTPADDING", (1, 0), (1, -1), HANG),
            ("RIGHTPADDING", (3, 0), (3, -1), HANG),
            *commands,
        )
    )
    return table


def _chunks(line: str) -> list[str]:
    """A line cut into pieces of at most ``LINE_CHUNK`` characters, after a sentence where possible
    (reportlab splits one huge paragraph across pages in quadratic time)."""
    pieces: list[str] = []
    while len(line) > LINE_CHUNK:
        window = line[:LINE_CHUNK]
        cut = max(window.rfind(mark) for mark in _SENTENCE_ENDS) + 1
        if cut < LINE_CHUNK // 2:
            cut = LINE_CHUNK
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def text_lines(text: str) -> list[str]:
    """The lines of a typed text as printed: trailing blanks and blank lines at either end dropped, runs
    of blank lines made one, at most ``PRINT_LIMIT`` characters (then a line saying how many are left
    out), long lines in pieces. A blank line is ""."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    left_out = max(len(text) - PRINT_LIMIT, 0)
    if left_out:
        text = text[:PRINT_LIMIT]
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            if lines and lines[-1]:
                lines.append("")
            continue
        lines.extend(_chunks(line))
    while lines and not lines[-1]:
        lines.pop()
    if left_out:
        lines.append(
            _("… {count} more characters are not printed; the full text is in Hotline Console.").format(
                count=left_out
            )
        )
    return lines


def band_style(band_rows: int, extra: Sequence[tuple[object, ...]] = ()) -> list[tuple[object, ...]]:
    """Commands for a table under a shaded band (its first ``band_rows`` rows): outer box and the
    band's rule; the caller adds the inner rules."""
    last_band = band_rows - 1
    return [
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("BACKGROUND", (0, 0), (-1, last_band), SHADE),
        ("LINEBELOW", (0, 0), (-1, last_band), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), HANG),
        ("TOPPADDING", (0, 0), (-1, last_band), 3),
        ("BOTTOMPADDING", (0, 0), (-1, last_band), 4),
        *extra,
    ]


def text_section(label: str, text: str, width: float) -> Flowable | None:
    """A full-width block: ``label`` on a shaded band, the text below it line by line; the band repeats
    at the top of every page the text runs onto. None for an empty text (nothing is printed)."""
    lines = text_lines(text)
    return lines_section(label, lines, width) if lines else None


def lines_section(label: str, lines: Sequence[str], width: float) -> Flowable:
    """``text_section`` for lines already made by ``text_lines`` (or some of them)."""
    styles = report_styles()
    rows: list[list[object]] = [[CJKParagraph(escape_text(label), styles.cell_head)]]
    for line in lines:
        rows.append([CJKParagraph(escape_text(line), styles.body_flush) if line else Spacer(1, 6)])
    last = len(rows) - 1
    style = band_style(
        1,
        [
            ("TOPPADDING", (0, 1), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 1), (-1, -1), 0),
            ("TOPPADDING", (0, 1), (-1, 1), 5),
            ("BOTTOMPADDING", (0, last), (-1, last), 6),
        ],
    )
    return Table(rows, colWidths=[width], repeatRows=1, splitInRow=1, style=TableStyle(style))


def list_text(items: Sequence[str]) -> str:
    """Several values in one cell: "GD-2026-0001、GD-2026-0002"."""
    return "、".join(item.strip() for item in items if item.strip())


def signatures_of(letterhead: Letterhead, defaults: Sequence[str]) -> tuple[str, ...]:
    """The site's signature labels, or the document's own (translated)."""
    return letterhead.signatures or tuple(_(label) for label in defaults)


class PageMark(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """Takes no room; remembers the page it was drawn on."""

    def __init__(self) -> None:
        super().__init__()
        self.page = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0.0, 0.0

    def draw(self) -> None:
        self.page = self.canv.getPageNumber()


Story = tuple[list[Flowable], list[Flowable]]


def build_form(
    out: PdfTarget,
    content: Callable[[bool], Story],
    signatures: tuple[str, ...],
    furniture: PageFurniture,
    *,
    title: str,
    author: str,
    subject: str,
) -> int:
    """Lay a form out with the signature block at its end and write it to ``out``; the page count.

    ``content(split)`` gives the form's flowables as (body, tail). A signature block that lands alone
    on the last page would attest nothing above it: the form is then laid out again with
    ``content(True)``, whose tail (the last few lines or history entries, under their band, and what
    follows them) is kept on one page with the signatures.
    """
    width = frame_size()[0]
    meta: dict[str, Any] = {"title": title, "author": author, "subject": subject}
    body, tail = content(False)
    mark = PageMark()
    buffer = io.BytesIO()
    pages = build_pdf(buffer, [*body, *tail, mark, signature_block(signatures, width)], furniture, **meta)
    if mark.page < pages:
        body, tail = content(True)
        buffer = io.BytesIO()
        kept = KeepTogether([*tail, signature_block(signatures, width)])
        pages = build_pdf(buffer, [*body, kept], furniture, **meta)
    if isinstance(out, str | os.PathLike):
        with open(os.fspath(out), "wb") as file:
            file.write(buffer.getvalue())
    else:
        out.write(buffer.getvalue())
    return pages


# --- the page -------------------------------------------------------------------------------------


def render_call_sheet(sheet: CallSheet, out: PdfTarget, letterhead: Letterhead, printed_at: str) -> int:
    """Write the form as an A4 PDF to ``out`` (a path or a binary file); returns the number of pages.

    Any text renders; ``OSError`` from writing ``out`` is the caller's.
    """
    styles = report_styles()
    width = frame_size()[0]
    title = _("Call record form")
    sections = [
        (label, lines)
        for label, lines in (
            (_("Description"), text_lines(sheet.question)),
            (_("Answer / handling"), text_lines(sheet.answer)),
        )
        if lines
    ]
    linked: list[Pair] = []
    if list_text(sheet.tickets):
        linked.append((_("Linked ticket"), list_text(sheet.tickets)))
    if list_text(sheet.articles):
        linked.append((_("Knowledge-base articles used"), list_text(sheet.articles)))

    def content(split: bool) -> Story:
        body: list[Flowable] = [
            CJKParagraph(escape_text(title), styles.title),
            number_line(_("Record number: {number}").format(number=sheet.number)),
            form_grid(
                [
                    [(_("Call time"), sheet.started_at), (_("Call duration"), sheet.duration)],
                    [(_("Caller number"), sheet.caller_phone), (_("Caller"), sheet.caller_name)],
                    [(_("Unit"), sheet.unit)],
                    [(_("Service site"), sheet.site), (_("Engineer on duty"), sheet.engineer)],
                    [(_("System"), sheet.system), (_("Module"), sheet.module)],
                    [(_("Category"), sheet.category), (_("Outcome"), sheet.outcome)],
                ],
                width,
            ),
        ]
        tail: list[Flowable] = []
        for number, (label, lines) in enumerate(sections, start=1):
            kept = TAIL_LINES if split and number == len(sections) else 0
            if len(lines) > kept:
                body.append(lines_section(label, lines[: len(lines) - kept], width))
            if kept:
                tail.append(lines_section(label, lines[-kept:], width))
        if linked:
            tail.append(form_grid([[pair] for pair in linked], width))
        return body, tail

    return build_form(
        out,
        content,
        signatures_of(letterhead, CALL_SIGNATURES),
        PageFurniture.of(letterhead, printed_at, f"{title} {sheet.number}"),
        title=f"{title} {sheet.number}",
        author=sheet.engineer,
        subject=title,
    )
