"""The tickets file (工单表): open tickets carried over from a spreadsheet, and tickets written out with
their deadlines and outcomes for a supervisor's records.

One table, ``COLUMNS``, declares the layout for both directions, as ``calls_io`` does for the call
ledger: export writes the first header of each exported column in this order; import finds columns by
any of their names (Chinese or English, in any order, case, width and spacing ignored, a bracketed
note allowed), skips the export-only columns and ignores (and names) columns it does not know. The
header is looked for in the first 10 rows.

=====================  =================================  ============================================
Header (as exported)   Also accepted                      Content
=====================  =================================  ============================================
编号                    工单编号, 原编号, number            the ticket's number there (kept in the notes)
站点                    服务站点, site                      site name or code; empty = ``--site``, else
                                                          the current site
标题 (required)         主题, 工单标题, title, subject      the ticket's subject
单位, 来电人, 电话        (as in the call ledger)             text; the unit is matched to the directory
系统, 模块, 类别          (as in the call ledger)             reference data of the site, by name
严重程度                 故障等级, severity                  一般 / 重大 (a severity of the site's policy);
                                                          empty = the policy's first (一般)
处理方式                 handling                           远程 (default) / 现场
状态 (required)         工单状态, status                    新建, 已响应, 处理中, 待现场, 现场处理, 挂起,
                                                          已解决, 已关闭
处理人                  负责人, assignee                    the engineer the ticket is assigned to
报告时间 (required)     报修时间, reported at              2026-11-28 09:30 (date and time in one cell)
响应时间, 转现场时间,     responded at, on-site decided at,  the status history where known (see
到场时间, 挂起时间,       arrived at, paused at, resumed at, ``app.services.ticket_import``), same format
恢复时间, 解决时间,       resolved at, closed at
关闭时间
响应/到场/解决 截止时间,  (export only)                      each target's due time, its explanation and
时限说明, 结果                                              its outcome (达标…, 超时…, 计时中, 按约定)
=====================  =================================  ============================================

Times are Asia/Shanghai wall-clock times: 2026-11-28 09:30, 2026/11/28 9:30, 2026年11月28日 09:30,
an Excel date-time cell. Fully empty rows are skipped. Text files may be UTF-8 (with or without BOM),
GB18030/GBK or UTF-16, separated by commas, tabs or semicolons (read as ``calls_io`` reads them).

Export writes CSV as UTF-8 with BOM (for Excel), guarding texts that start like a formula, and .xlsx
with a bold, frozen, filtered header row, readable column widths, wrapped explanations and real
date-time cells.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.i18n import _

# The byte-level readers of the call ledger (encodings, delimiters, damaged files) serve this file too.
from app.importexport.calls_io import (
    HEADER_SEARCH_ROWS,
    LOCAL_TZ,
    CellError,
    LedgerFileError,
    _cannot_write,
    _csv_rows,
    _not_a_spreadsheet,
    _read_bytes,
    cell_text,
    header_key,
    parse_date,
)
from app.importexport.export_file import ExportFile, WriteResult, write_export
from app.services.call_import import RowProblem
from app.services.ticket_import import REPORTED_HEADER, Step, TicketEntry
from app.services.tickets import TicketStatus
from app.sla.events import Handling
from app.sla.policy import TargetKind

_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".et"})


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    header: str  # what export writes
    aliases: tuple[str, ...] = ()  # also accepted on import
    width: int = 12  # xlsx column width, in characters
    imported: bool = True  # False: written by export, skipped by import
    wrap: bool = False


_TARGET_WORDS = {TargetKind.RESPONSE: "响应", TargetKind.ON_SITE: "到场", TargetKind.RESOLUTION: "解决"}
_TARGET_ENGLISH = {
    TargetKind.RESPONSE: "response",
    TargetKind.ON_SITE: "on-site",
    TargetKind.RESOLUTION: "resolution",
}


def _target_columns(kind: TargetKind) -> tuple[Column, ...]:
    word, english = _TARGET_WORDS[kind], _TARGET_ENGLISH[kind]
    return (
        Column(f"{kind.value}.due", f"{word}截止时间", (f"{english} due",), 17, imported=False),
        Column(f"{kind.value}.explanation", f"{word}时限说明", (f"{english} explanation",), 44, False, True),
        Column(f"{kind.value}.outcome", f"{word}结果", (f"{english} outcome",), 16, imported=False),
    )


COLUMNS: tuple[Column, ...] = (
    Column("number", "编号", ("工单编号", "工单号", "原编号", "number", "ticket number"), 18),
    Column("site", "站点", ("服务站点", "site"), 14),
    Column("title", "标题", ("主题", "工单标题", "title", "subject"), 30),
    Column("unit", "单位", ("单位名称", "报修单位", "来电单位", "unit"), 24),
    Column("caller", "来电人", ("联系人", "报修人", "caller", "contact"), 10),
    Column("phone", "电话", ("联系电话", "来电号码", "电话号码", "phone"), 16),
    Column("system", "系统", ("系统名称", "所属系统", "system"), 22),
    Column("module", "模块", ("功能模块", "module"), 12),
    Column("category", "类别", ("问题类别", "分类", "category"), 10),
    Column("severity", "严重程度", ("故障等级", "等级", "严重性", "severity"), 10),
    Column("handling", "处理方式", ("handling",), 10),
    Column("status", "状态", ("工单状态", "status"), 10),
    Column("assignee", "处理人", ("负责人", "assignee", "assigned to"), 10),
    Column("reported", REPORTED_HEADER, ("报修时间", "报障时间", "reported", "reported at"), 17),
    Column(Step.RESPONDED.value, Step.RESPONDED.header, ("responded", "responded at"), 17),
    Column(
        Step.ON_SITE_DECIDED.value,
        Step.ON_SITE_DECIDED.header,
        ("需现场时间", "现场决定时间", "on-site decided", "on-site decided at"),
        17,
    ),
    Column(Step.ARRIVED.value, Step.ARRIVED.header, ("到达现场时间", "arrived", "arrived at"), 17),
    Column(Step.PAUSED.value, Step.PAUSED.header, ("paused", "paused at"), 17),
    Column(Step.RESUMED.value, Step.RESUMED.header, ("resumed", "resumed at"), 17),
    Column(Step.RESOLVED.value, Step.RESOLVED.header, ("resolved", "resolved at"), 17),
    Column(Step.CLOSED.value, Step.CLOSED.header, ("closed", "closed at"), 17),
    *(column for kind in TargetKind for column in _target_columns(kind)),
)
_REQUIRED = ("title", "reported", "status")
_HEADERS_BY_FIELD = {c.field: c.header for c in COLUMNS}
_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_INDEX.setdefault(header_key(_name), _column.field)

# What export writes in the 状态 and 处理方式 columns; import also accepts the synonyms below.
STATUS_TEXT: dict[TicketStatus, str] = {
    TicketStatus.NEW: "新建",
    TicketStatus.RESPONDED: "已响应",
    TicketStatus.IN_PROGRESS: "处理中",
    TicketStatus.ON_SITE_PENDING: "待现场",
    TicketStatus.ON_SITE: "现场处理",
    TicketStatus.PAUSED: "挂起",
    TicketStatus.RESOLVED: "已解决",
    TicketStatus.CLOSED: "已关闭",
}
HANDLING_TEXT: dict[str, str] = {Handling.REMOTE.value: "远程", Handling.ON_SITE.value: "现场"}

_ENGLISH_STATUS = {
    TicketStatus.NEW: "New",
    TicketStatus.RESPONDED: "Responded",
    TicketStatus.IN_PROGRESS: "In progress",
    TicketStatus.ON_SITE_PENDING: "Awaiting on-site visit",
    TicketStatus.ON_SITE: "On-site handling",
    TicketStatus.PAUSED: "On hold",
    TicketStatus.RESOLVED: "Resolved",
    TicketStatus.CLOSED: "Closed",
}
_STATUS_SYNONYMS = {
    "新": TicketStatus.NEW,
    "未响应": TicketStatus.NEW,
    "响应": TicketStatus.RESPONDED,
    "进行中": TicketStatus.IN_PROGRESS,
    "待上门": TicketStatus.ON_SITE_PENDING,
    "待现场处理": TicketStatus.ON_SITE_PENDING,
    "现场处理中": TicketStatus.ON_SITE,
    "已到场": TicketStatus.ON_SITE,
    "已挂起": TicketStatus.PAUSED,
    "解决": TicketStatus.RESOLVED,
    "关闭": TicketStatus.CLOSED,
}
_HANDLING_WORDS = {
    "远程": Handling.REMOTE.value,
    "远程处理": Handling.REMOTE.value,
    "电话": Handling.REMOTE.value,
    "remote": Handling.REMOTE.value,
    "现场": Handling.ON_SITE.value,
    "上门": Handling.ON_SITE.value,
    "onsite": Handling.ON_SITE.value,
    "on-site": Handling.ON_SITE.value,
    "on_site": Handling.ON_SITE.value,
}


def _word_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


_STATUS_WORDS: dict[str, TicketStatus] = {}
for _status in TicketStatus:
    for _word in (STATUS_TEXT[_status], _ENGLISH_STATUS[_status], _status.value):
        _STATUS_WORDS[_word_key(_word)] = _status
_STATUS_WORDS.update({_word_key(word): status for word, status in _STATUS_SYNONYMS.items()})


class TicketFileError(LedgerFileError):
    """The tickets file as a whole cannot be used (missing, not a spreadsheet, no header ...)."""


@dataclass(slots=True)
class TicketFile:
    entries: list[TicketEntry] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    header_row: int = 1


# --- cells ----------------------------------------------------------------------------------------


def parse_status(value: Any) -> TicketStatus:
    """A status from its Chinese or English word. Raises ``CellError``."""
    text = cell_text(value)
    found = _STATUS_WORDS.get(_word_key(text))
    if found is None:
        if not text:
            raise CellError(_("The status (状态) is empty."))
        raise CellError(
            _("Unknown status “{value}”; use {names}.").format(
                value=text, names="、".join(STATUS_TEXT.values())
            )
        )
    return found


def parse_handling(value: Any) -> str:
    """A ``Handling`` value; empty means remote. Raises ``CellError``."""
    text = cell_text(value)
    if not text:
        return Handling.REMOTE.value
    found = _HANDLING_WORDS.get(_word_key(text))
    if found is None:
        raise CellError(_("Unknown handling (处理方式) “{value}”; use 远程 or 现场.").format(value=text))
    return found


_HAS_TIME_OF_DAY = re.compile(r"\d\s*[:：时点]\s*\d|T\d")


def parse_moment(value: Any, column: str) -> dt.datetime:
    """A date and a time of day in one cell, as an aware Asia/Shanghai datetime. Raises ``CellError``."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(LOCAL_TZ) if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
        return moment.replace(microsecond=0)
    text = cell_text(value)
    example = "2026-11-28 09:30"
    if isinstance(value, dt.date) or (isinstance(value, int | float) and float(value).is_integer()):
        raise CellError(
            _("{column} “{value}” has no time of day; write it like {example}.").format(
                column=column, value=text, example=example
            )
        )
    try:
        day, time = parse_date(value)
    except CellError:
        raise CellError(
            _("Cannot read {column} “{value}”; write it like {example}.").format(
                column=column, value=text, example=example
            )
        ) from None
    if time is None:
        if not _HAS_TIME_OF_DAY.search(unicodedata.normalize("NFKC", text)):
            raise CellError(
                _("{column} “{value}” has no time of day; write it like {example}.").format(
                    column=column, value=text, example=example
                )
            )
        time = dt.time()  # midnight, written out
    return dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)


# --- reading --------------------------------------------------------------------------------------


def _match_header(values: list[Any]) -> tuple[dict[int, str], list[str]] | None:
    """Column index → field for a header row (None if this is not one), and the unknown headers."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            continue
        found = _HEADER_INDEX.get(header_key(value))
        if found is None or found in mapping.values():
            unknown.append(value.strip())
        else:
            mapping[index] = found
    return (mapping, unknown) if len(mapping) >= 2 else None


def read_tickets(path: Path) -> TicketFile:
    """Read a tickets file. Raises ``LedgerFileError`` (a ``UserFacingError``) when the file as a whole
    is unusable; problems of single rows are collected in ``TicketFile.problems``."""
    data = _read_bytes(path)
    if not data.strip():
        raise TicketFileError(_("The file {path} is empty.").format(path=path))
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(path, data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TicketFileError(
            _(
                "{path} is an old Excel 97-2003 (.xls) workbook. Open it in Excel, save it as .xlsx "
                "and import that file."
            ).format(path=path)
        )
    elif path.suffix.lower() in _XLSX_SUFFIXES:
        raise _not_a_spreadsheet(path)
    else:
        rows = _csv_rows(path, data)
    return _parse_rows(path, rows)


def _xlsx_rows(path: Path, data: bytes) -> Iterator[tuple[int, list[Any]]]:
    """The rows of the first sheet that has a header row, numbered as Excel shows them."""
    import openpyxl  # imported when needed: it costs a noticeable part of a second

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about harmless things (no default style ...)
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign zip fails in many ways, none of them our bug
        raise _not_a_spreadsheet(path, repr(exc)) from exc

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            sheets = [workbook.active, *(ws for ws in workbook.worksheets if ws is not workbook.active)]
            for sheet in sheets:
                if sheet is None or not hasattr(sheet, "iter_rows"):
                    continue
                numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
                head: list[tuple[int, list[Any]]] = []
                for number, values in numbered:
                    head.append((number, list(values)))
                    if len(head) >= HEADER_SEARCH_ROWS:
                        break
                if not any(_match_header(values) for _n, values in head):
                    continue
                yield from head
                for number, values in numbered:
                    yield number, list(values)
                return
        except LedgerFileError:
            raise
        except Exception as exc:  # damaged sheet XML
            raise TicketFileError(
                _("{path} is damaged and cannot be read completely.").format(path=path), repr(exc)
            ) from exc
        finally:
            workbook.close()

    return rows()


def _parse_rows(path: Path, rows: Iterator[tuple[int, list[Any]]]) -> TicketFile:
    result = TicketFile()
    mapping: dict[int, str] | None = None
    for number, values in rows:
        if mapping is None:
            if number > HEADER_SEARCH_ROWS:
                break
            found = _match_header(values)
            if found is None:
                continue
            mapping, result.ignored_headers = found
            result.header_row = number
            missing = [_HEADERS_BY_FIELD[name] for name in _REQUIRED if name not in mapping.values()]
            if missing:
                raise TicketFileError(
                    _("The header row (row {row}) of {path} has no column {names}.").format(
                        row=number, path=path, names="、".join(missing)
                    )
                )
            continue
        cells = {name: values[index] for index, name in mapping.items() if index < len(values)}
        if all(cell_text(v) == "" for v in cells.values()):
            continue
        result.entries.append(_entry(number, cells, result.problems))
    if mapping is None:
        raise TicketFileError(
            _(
                "No header row found in {path}: the first row must name the columns, e.g. 站点, 标题, "
                "严重程度, 状态, 报告时间."
            ).format(path=path)
        )
    return result


def _entry(row: int, cells: dict[str, Any], problems: list[RowProblem]) -> TicketEntry:
    def text(name: str) -> str:
        return cell_text(cells.get(name))

    entry = TicketEntry(
        row=row,
        reported_at=None,
        status=None,
        site=text("site"),
        number=text("number"),
        title=text("title"),
        unit_name=text("unit"),
        caller_name=text("caller"),
        caller_phone=text("phone"),
        system=text("system"),
        module=text("module"),
        category=text("category"),
        severity=text("severity"),
        assignee=text("assignee"),
    )
    if text("reported"):
        try:
            entry.reported_at = parse_moment(cells.get("reported"), _HEADERS_BY_FIELD["reported"])
        except CellError as exc:
            problems.append(RowProblem(row, str(exc)))
    else:
        problems.append(RowProblem(row, _("The report time (报告时间) is empty.")))
    try:
        entry.status = parse_status(cells.get("status"))
    except CellError as exc:
        problems.append(RowProblem(row, str(exc)))
    try:
        entry.handling = parse_handling(cells.get("handling"))
    except CellError as exc:
        problems.append(RowProblem(row, str(exc)))
    for step in Step:
        if not text(step.value):
            continue
        try:
            entry.times[step] = parse_moment(cells.get(step.value), _HEADERS_BY_FIELD[step.value])
        except CellError as exc:
            problems.append(RowProblem(row, str(exc)))
            entry.status = None  # an unreadable step: the history cannot be replayed
    return entry


# --- writing --------------------------------------------------------------------------------------


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment as the naive Shanghai wall time a spreadsheet shows (to the minute)."""
    if moment is None:
        return None
    return moment.astimezone(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)


def _row_values(entry: TicketEntry) -> dict[str, Any]:
    values: dict[str, Any] = {
        "number": entry.number,
        "site": entry.site,
        "title": entry.title,
        "unit": entry.unit_name,
        "caller": entry.caller_name,
        "phone": entry.caller_phone,
        "system": entry.system,
        "module": entry.module,
        "category": entry.category,
        "severity": entry.severity,
        "handling": HANDLING_TEXT.get(entry.handling, entry.handling),
        "status": STATUS_TEXT[entry.status] if entry.status is not None else "",
        "assignee": entry.assignee,
        "reported": _local(entry.reported_at),
    }
    for step in Step:
        values[step.value] = _local(entry.times.get(step))
    for kind in TargetKind:
        target = entry.targets.get(kind)
        values[f"{kind.value}.due"] = _local(target.due) if target is not None else None
        values[f"{kind.value}.explanation"] = target.explanation if target is not None else ""
        values[f"{kind.value}.outcome"] = target.outcome if target is not None else ""
    return values


def write_tickets(
    path: Path,
    entries: Iterable[TicketEntry],
    file_format: str,
    progress: Callable[[int], None] | None = None,
) -> WriteResult:
    """Write ``entries`` (``file_format`` "csv" or "xlsx") next to ``path`` and rename the file over it
    at the end, so an interrupted export leaves no half-written file. Raises ``LedgerFileError`` when
    the file cannot be written."""
    fields = [column.field for column in COLUMNS]
    rows = ([values[f] for f in fields] for values in map(_row_values, entries))
    return write_export(_TICKETS_FILE, path, rows, file_format, progress)


def _too_many_tickets(limit: int) -> LedgerFileError:
    return LedgerFileError(
        _("More than {limit} tickets do not fit in one Excel sheet; export CSV.").format(limit=limit)
    )


_TICKETS_FILE = ExportFile(COLUMNS, "工单", _too_many_tickets, _cannot_write)
