"""The call ledger file (来电登记表): reading .xlsx/.csv into ledger entries and writing them back.

One table, ``COLUMNS``, declares the layout for both directions: export writes the first header of
each exported column in this order; import finds columns by any of their names (Chinese or English,
in any order, case, width and spacing ignored, a bracketed note such as ``通话时长（秒）`` allowed) and
ignores columns it does not know. Row 1 is normally the header; a title row or two above it is fine
(the header is looked for in the first 10 rows).

=====================  ==================================  ======================================
Header (as exported)   Also accepted                       Content
=====================  ==================================  ======================================
日期 (required*)        来电日期, date                      2024-03-05, 2024/3/5, 2024.3.5,
                                                           2024年3月5日, 20240305, an Excel date
时间                    来电时刻, time                      14:30, 14:30:05, 14时30分, 下午2:30, an
                                                           Excel time; empty = 00:00
来电时间 (import only)  日期时间, datetime, call time       date and time in one cell, e.g.
                                                           2024-03-05 14:30 (*instead of 日期)
来电号码                电话, 电话号码, 联系电话, phone     as typed: 0519-85681234, 13912345678
来电人                  联系人, 姓名, caller                the caller's name
单位                    来电单位, 单位名称, unit            matched to a unit of the directory by
                                                           its exact name, else kept as text
系统                    系统名称, 所属系统, system          a system of the site, by name
模块                    功能模块, module                    a module of that system, by name (the
                                                           system is inferred if it is unique)
类别 (required)         问题类别, 分类, category            咨询, 故障报修, 需求建议, 投诉, 其他 ...
问题描述 (required)     问题, 来电内容, 咨询内容, question  free text
处理结果                答复, 处理结果/答复, answer         free text
处理方式                处理状态, outcome                   当场解答/已解答 (default), 转接/转交,
                                                           需派单/工单, 需回访/回电
转交对象                转接对象, 转交人, transferred to    required when the call was transferred
通话时长                时长, duration                      seconds (200), 5分钟, 3分20秒,
                                                           00:03:20, 03:20 (mm:ss), an Excel time
值班工程师              工程师, 接听人, 受理人, engineer    empty = this desktop's engineer
服务站点                站点, site                          site name or code (常州市财政局,
                                                           changzhou); empty = ``--site``, else
                                                           the current site
=====================  ==================================  ======================================

Times are Asia/Shanghai wall-clock times. Either the phone number or the caller's name is required.
Fully empty rows are skipped. Text files may be UTF-8 (with or without BOM), GB18030/GBK or UTF-16
(Excel's "Unicode text"), separated by commas, tabs or semicolons.

Export writes CSV as UTF-8 with BOM (so Excel shows the Chinese correctly) and .xlsx with a frozen,
bold header row, fixed column widths, wrapped question/answer text and real date/time cells. In CSV a
text starting with ``= + - @`` gets a leading apostrophe so that Excel does not run it as a formula;
import removes that apostrophe again. Excel cells hold at most 32,767 characters: longer texts are cut
in .xlsx (the CSV export is always complete). ``docs/import-format.md`` has this table for users.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.errors import UserFacingError
from app.i18n import _
from app.importexport.export_file import (
    FORMULA_START,
    ExportFile,
    WriteResult,
    write_export,
)
from app.services.call_import import LedgerEntry, RowProblem
from app.storage.models import Outcome

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
HEADER_SEARCH_ROWS = 10
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".et"})


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    header: str  # what export writes
    aliases: tuple[str, ...] = ()  # also accepted on import
    width: int = 12  # xlsx column width, in characters
    wrap: bool = False
    export: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", ("来电日期", "date", "call date"), 12),
    Column("time", "时间", ("来电时刻", "time"), 10),
    Column(
        "datetime",
        "来电时间",
        ("日期时间", "来电日期时间", "datetime", "date time", "call time", "started at", "start time"),
        20,
        export=False,
    ),
    Column("phone", "来电号码", ("电话", "电话号码", "联系电话", "号码", "phone", "phone number"), 18),
    Column("caller", "来电人", ("联系人", "姓名", "来电人姓名", "caller", "caller name", "name"), 10),
    Column("unit", "单位", ("来电单位", "单位名称", "unit", "organisation", "organization"), 26),
    Column("system", "系统", ("系统名称", "所属系统", "system"), 24),
    Column("module", "模块", ("功能模块", "module"), 14),
    Column("category", "类别", ("问题类别", "分类", "category"), 10),
    Column("question", "问题描述", ("问题", "来电内容", "咨询内容", "question", "description"), 50, True),
    Column(
        "answer", "处理结果", ("答复", "处理结果/答复", "解决方案", "回复", "answer", "resolution"), 50, True
    ),
    Column("outcome", "处理方式", ("处理状态", "outcome"), 10),
    Column("transferred_to", "转交对象", ("转接对象", "转交人", "transferred to"), 14),
    Column("duration", "通话时长", ("时长", "duration"), 10),
    Column("engineer", "值班工程师", ("工程师", "接听人", "受理人", "engineer"), 10),
    Column("site", "服务站点", ("站点", "site"), 14),
)
EXPORT_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.export)

# What export writes in the 处理方式 column; import also accepts the synonyms in _OUTCOME_WORDS.
OUTCOME_TEXT: dict[str, str] = {
    Outcome.ANSWERED.value: "当场解答",
    Outcome.TRANSFERRED.value: "转接",
    Outcome.TICKET.value: "需派单",
    Outcome.CALLBACK.value: "需回访",
}
_OUTCOME_WORDS: dict[str, str] = {
    "当场解答": Outcome.ANSWERED.value,
    "已解答": Outcome.ANSWERED.value,
    "解答": Outcome.ANSWERED.value,
    "已解决": Outcome.ANSWERED.value,
    "已处理": Outcome.ANSWERED.value,
    "已答复": Outcome.ANSWERED.value,
    "answered": Outcome.ANSWERED.value,
    "answeredonthecall": Outcome.ANSWERED.value,
    "转接": Outcome.TRANSFERRED.value,
    "转交": Outcome.TRANSFERRED.value,
    "已转接": Outcome.TRANSFERRED.value,
    "已转交": Outcome.TRANSFERRED.value,
    "transferred": Outcome.TRANSFERRED.value,
    "需派单": Outcome.TICKET.value,
    "派单": Outcome.TICKET.value,
    "已派单": Outcome.TICKET.value,
    "工单": Outcome.TICKET.value,
    "ticket": Outcome.TICKET.value,
    "needsaticket": Outcome.TICKET.value,
    "需回访": Outcome.CALLBACK.value,
    "需回电": Outcome.CALLBACK.value,
    "回访": Outcome.CALLBACK.value,
    "回电": Outcome.CALLBACK.value,
    "callback": Outcome.CALLBACK.value,
    "needsacallback": Outcome.CALLBACK.value,
}
# Longer free text ("已转交二线处理"): the first of these words that occurs decides.
_OUTCOME_HINTS: tuple[tuple[str, str], ...] = (
    ("回访", Outcome.CALLBACK.value),
    ("回电", Outcome.CALLBACK.value),
    ("派单", Outcome.TICKET.value),
    ("工单", Outcome.TICKET.value),
    ("转", Outcome.TRANSFERRED.value),
    ("解答", Outcome.ANSWERED.value),
    ("解决", Outcome.ANSWERED.value),
)


class LedgerFileError(UserFacingError):
    """The file as a whole cannot be used (missing, locked, not a spreadsheet, no header ...)."""


@dataclass(slots=True)
class LedgerFile:
    entries: list[LedgerEntry] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    header_row: int = 1


# --- header matching ------------------------------------------------------------------------------

_BRACKETED = re.compile(r"[(（\[【].*?[)）\]】]")


def header_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _BRACKETED.sub("", folded)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "*:：_")


_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_INDEX.setdefault(header_key(_name), _column.field)
_HEADERS_BY_FIELD = {c.field: c.header for c in COLUMNS}


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


# --- cell parsing ---------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read; the message is for the user."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START:
        return text[1:]  # our own CSV guard against Excel formulas (see module docstring)
    return text


def _excel_serial(value: float) -> dt.datetime:
    # Excel's day 0 is 1899-12-30 in the 1900 date system (the 1900 leap-year bug included).
    return dt.datetime(1899, 12, 30) + dt.timedelta(days=value)


_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:(?:\s+|T|\s*日\s*)(.+))?$"
)
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_RE = re.compile(
    r"^(上午|下午|晚上|中午|凌晨|早上)?\s*(\d{1,2})\s*[:：时点]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2})(?:[.,]\d+)?)?\s*[秒分]?\s*(am|pm)?$",
    re.IGNORECASE,
)


def parse_date(value: Any) -> tuple[dt.date, dt.time | None]:
    """A date cell: the day, and a time if the cell carries one too. Raises ``CellError``."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
        return moment.date(), (moment.time() if moment.time() != dt.time() else None)
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:  # an Excel serial date (up to 9999-12-31)
            return parse_date(_excel_serial(float(value)).replace(microsecond=0))
        raise CellError(_("Cannot read the date “{value}”; write it like 2024-03-05.").format(value=value))
    text = unicodedata.normalize("NFKC", cell_text(value))
    try:
        return parse_date(dt.datetime.fromisoformat(text))
    except ValueError:
        pass
    compact = _COMPACT_DATE_RE.match(text)
    match = _DATE_RE.match(text)
    try:
        if compact:
            return dt.date(int(compact[1]), int(compact[2]), int(compact[3])), None
        if match:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
            return day, (parse_time(match[4]) if match[4] else None)
    except (ValueError, CellError):
        pass
    raise CellError(_("Cannot read the date “{value}”; write it like 2024-03-05.").format(value=text))


def parse_time(value: Any) -> dt.time:
    """A time-of-day cell. Raises ``CellError``."""
    if isinstance(value, dt.datetime):
        return value.time().replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, dt.timedelta) and dt.timedelta(0) <= value < dt.timedelta(days=1):
        return (dt.datetime.min + value).time().replace(microsecond=0)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        seconds = round(value * 86_400)
        return dt.time(min(seconds // 3600, 23), seconds // 60 % 60, seconds % 60)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    match = _TIME_RE.match(text)
    if match:
        hour, minute, second = int(match[2]), int(match[3]), int(match[4] or 0)
        marker = (match[1] or "") + (match[5] or "").lower()
        if hour < 12 and any(word in marker for word in ("下午", "晚上", "pm")):
            hour += 12
        elif hour == 12 and any(word in marker for word in ("凌晨", "am")):
            hour = 0
        with contextlib.suppress(ValueError):
            return dt.time(hour, minute, second)
    raise CellError(_("Cannot read the time “{value}”; write it like 14:30 or 14:30:05.").format(value=text))


_DURATION_UNITS_RE = re.compile(
    r"^(?:(\d+(?:\.\d+)?)(?:小时|时|h|hr|hrs|hours?))?"
    r"(?:(\d+(?:\.\d+)?)(?:分钟|分|min|mins|minutes?|m|'))?"
    r"(?:(\d+(?:\.\d+)?)(?:秒钟|秒|s|sec|secs|seconds?|\"))?$"
)
_DURATION_CLOCK_RE = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?$")


def parse_duration(value: Any) -> int:
    """A call duration in seconds. Raises ``CellError``."""
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds())
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            # A fraction below one is a day fraction (an Excel time in a "General" cell), not 0.4 s.
            return round(value * 86_400) if 0 < value < 1 else round(value)
    else:
        text = "".join(unicodedata.normalize("NFKC", cell_text(value)).casefold().split())
        if not text:
            return 0
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return round(float(text))
        clock = _DURATION_CLOCK_RE.match(text)
        if clock:
            if clock[3] is None:  # mm:ss
                return int(clock[1]) * 60 + int(clock[2])
            return int(clock[1]) * 3600 + int(clock[2]) * 60 + int(clock[3])
        units = _DURATION_UNITS_RE.match(text)
        if units and any(units.groups()):
            hours, minutes, seconds = (float(g) if g else 0.0 for g in units.groups())
            return round(hours * 3600 + minutes * 60 + seconds)
    raise CellError(
        _("Cannot read the duration “{value}”; write seconds (200), 3分20秒 or 00:03:20.").format(
            value=cell_text(value)
        )
    )


def parse_outcome(value: Any) -> str:
    """An ``Outcome`` value from what the ledger says; empty means answered. Raises ``CellError``."""
    text = "".join(unicodedata.normalize("NFKC", cell_text(value)).casefold().split())
    if not text:
        return Outcome.ANSWERED.value
    if text in _OUTCOME_WORDS:
        return _OUTCOME_WORDS[text]
    for word, outcome in _OUTCOME_HINTS:
        if word in text:
            return outcome
    raise CellError(
        _("Unknown outcome “{value}”; use 当场解答, 转接, 需派单 or 需回访.").format(value=cell_text(value))
    )


def format_duration(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# --- reading --------------------------------------------------------------------------------------


def read_ledger(path: Path) -> LedgerFile:
    """Read a ledger file. Raises ``LedgerFileError`` when the file as a whole is unusable.

    Problems of single rows do not raise: they are collected in ``LedgerFile.problems``.
    """
    data = _read_bytes(path)
    if not data.strip():
        raise LedgerFileError(_("The file {path} is empty.").format(path=path))
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(path, data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LedgerFileError(
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


def _not_a_spreadsheet(path: Path, detail: str = "") -> LedgerFileError:
    return LedgerFileError(
        _("{path} is not an Excel workbook (.xlsx) or a CSV file.").format(path=path), detail
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise LedgerFileError(_("The file {path} does not exist.").format(path=path), str(exc)) from exc
    except IsADirectoryError as exc:
        raise LedgerFileError(_("{path} is a folder, not a file.").format(path=path), str(exc)) from exc
    except OSError as exc:
        raise LedgerFileError(
            _(
                "The file {path} cannot be read (it may be open in Excel or locked by another program): "
                "{error}"
            ).format(path=path, error=exc.strerror or exc),
            str(exc),
        ) from exc


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
                head = [(n, list(v)) for n, v in _take(numbered, HEADER_SEARCH_ROWS)]
                if not any(_match_header(values) for _n, values in head):
                    continue
                yield from head
                for number, values in numbered:
                    yield number, list(values)
                return
        except LedgerFileError:
            raise
        except Exception as exc:  # damaged sheet XML
            raise LedgerFileError(
                _("{path} is damaged and cannot be read completely.").format(path=path), repr(exc)
            ) from exc
        finally:
            workbook.close()

    return rows()


def _take(iterator: Iterator[tuple[int, Any]], count: int) -> list[tuple[int, Any]]:
    taken = []
    for item in iterator:
        taken.append(item)
        if len(taken) >= count:
            break
    return taken


def _decode(path: Path, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        if b"\x00" in data[:65536]:
            raise _not_a_spreadsheet(path, "binary data")
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and any(unicodedata.category(ch) == "Co" for ch in text[:65536]):
            continue  # private-use characters: GB18030 "decoded" bytes that were never text
        return text
    raise LedgerFileError(
        _("{path} is neither UTF-8 nor GB18030 (GBK) text. Save it from Excel as .xlsx or CSV UTF-8.").format(
            path=path
        )
    )


def _csv_rows(path: Path, data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(path, data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))  # answers may be long
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 0
        try:
            for number, values in enumerate(reader, start=1):
                yield number, list(values)
        except csv.Error as exc:
            raise LedgerFileError(
                _("Row {row} of {path} is not valid CSV: {error}").format(
                    row=number + 1, path=path, error=exc
                )
            ) from exc

    return rows()


def _parse_rows(path: Path, rows: Iterator[tuple[int, list[Any]]]) -> LedgerFile:
    result = LedgerFile()
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
            _check_required(path, number, set(mapping.values()))
            continue
        cells = {name: values[index] for index, name in mapping.items() if index < len(values)}
        if all(cell_text(v) == "" for v in cells.values()):
            continue
        result.entries.append(_entry(number, cells, result.problems))
    if mapping is None:
        raise LedgerFileError(
            _(
                "No header row found in {path}: the first row must name the columns, e.g. 日期, 时间, "
                "来电号码, 问题描述 (see docs/import-format.md)."
            ).format(path=path)
        )
    return result


def _check_required(path: Path, row: int, fields: set[str]) -> None:
    missing = []
    if not fields & {"date", "datetime"}:
        missing.append(_HEADERS_BY_FIELD["date"])
    for name in ("question", "category"):
        if name not in fields:
            missing.append(_HEADERS_BY_FIELD[name])
    if missing:
        raise LedgerFileError(
            _("The header row (row {row}) of {path} has no column {names}.").format(
                row=row, path=path, names="、".join(missing)
            )
        )


def _entry(row: int, cells: dict[str, Any], problems: list[RowProblem]) -> LedgerEntry:
    def text(name: str) -> str:
        return cell_text(cells.get(name))

    entry = LedgerEntry(
        row=row,
        started_at=None,
        caller_phone=text("phone"),
        caller_name=text("caller"),
        unit_name=text("unit"),
        system=text("system"),
        module=text("module"),
        category=text("category"),
        question=text("question"),
        answer=text("answer"),
        transferred_to=text("transferred_to"),
        engineer=text("engineer"),
        site=text("site"),
    )
    try:
        entry.started_at = _started_at(cells)
    except CellError as exc:
        problems.append(RowProblem(row, str(exc)))
    try:
        entry.outcome = parse_outcome(cells.get("outcome"))
    except CellError as exc:
        problems.append(RowProblem(row, str(exc)))
    try:
        entry.duration_s = parse_duration(cells.get("duration"))
    except CellError as exc:
        problems.append(RowProblem(row, str(exc)))
    return entry


def _started_at(cells: dict[str, Any]) -> dt.datetime:
    day: dt.date | None = None
    time: dt.time | None = None
    combined = cells.get("datetime")
    if cell_text(combined):
        try:
            day, time = parse_date(combined)
        except CellError as date_error:
            # A 来电时间 column next to a 日期 column may hold just the time of day.
            try:
                time = parse_time(combined)
            except CellError:
                raise date_error from None
    if cell_text(cells.get("date")):
        day, date_time = parse_date(cells.get("date"))
        time = time or date_time
    if cell_text(cells.get("time")):
        time = parse_time(cells.get("time"))
    if day is None:
        raise CellError(_("The date (日期) is empty."))
    return dt.datetime.combine(day, time or dt.time(), tzinfo=LOCAL_TZ)


# --- writing --------------------------------------------------------------------------------------


def _row_values(entry: LedgerEntry) -> dict[str, Any]:
    assert entry.started_at is not None, "exported calls always have a time"
    local = entry.started_at.astimezone(LOCAL_TZ)
    return {
        "date": local.date(),
        "time": local.time().replace(microsecond=0, tzinfo=None),
        "phone": entry.caller_phone,
        "caller": entry.caller_name,
        "unit": entry.unit_name,
        "system": entry.system,
        "module": entry.module,
        "category": entry.category,
        "question": entry.question,
        "answer": entry.answer,
        "outcome": OUTCOME_TEXT.get(entry.outcome, entry.outcome),
        "transferred_to": entry.transferred_to,
        "duration": format_duration(entry.duration_s),
        "engineer": entry.engineer,
        "site": entry.site,
    }


def write_ledger(
    path: Path,
    entries: Iterable[LedgerEntry],
    file_format: str,
    progress: Callable[[int], None] | None = None,
) -> WriteResult:
    """Write ``entries`` as a ledger (``file_format`` is "csv" or "xlsx"), streaming.

    The file is written next to ``path`` and renamed over it at the end, so an interrupted export never
    leaves a half-written ledger behind. Raises ``LedgerFileError`` when the file cannot be written.
    """
    fields = [column.field for column in EXPORT_COLUMNS]
    rows = ([values[f] for f in fields] for values in map(_row_values, entries))
    return write_export(_LEDGER_FILE, path, rows, file_format, progress)


def _cannot_write(path: Path, exc: OSError) -> LedgerFileError:
    return LedgerFileError(
        _("Cannot write {path} (is it open in Excel, or is the folder read-only?): {error}").format(
            path=path, error=exc.strerror or exc
        ),
        str(exc),
    )


def _too_many_calls(limit: int) -> LedgerFileError:
    return LedgerFileError(
        _("More than {limit} calls do not fit in one Excel sheet; export CSV or a shorter period.").format(
            limit=limit
        )
    )


_LEDGER_FILE = ExportFile(EXPORT_COLUMNS, "来电记录", _too_many_calls, _cannot_write, progress_every=50_000)
