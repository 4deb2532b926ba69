"""Writing an export of many rows (the call ledger, the tickets), streamed, as CSV or xlsx.

- CSV: UTF-8 with a BOM (Excel opens it as Unicode), CRLF lines, a text starting with = + - @ gets a
  leading ' so a spreadsheet never runs it as a formula;
- xlsx: openpyxl's write-only mode (rows go straight to the file, memory stays flat), a bold shaded
  header row that stays in view and filters, each column as wide as its ``width``, dates and times as
  real Excel dates, texts stored as text whatever they start with, cut at Excel's cell limit
  (counted in ``WriteResult.truncated_cells``), more rows than a sheet holds refused;
- either way the file is written next to its target and renamed over it at the end, so an interrupted
  export never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

XLSX_MAX_ROWS = 1_048_576  # Excel's limit, header included
XLSX_MAX_CELL_CHARS = 32_767
FORMULA_START = ("=", "+", "-", "@")


class OutColumn(Protocol):
    @property
    def header(self) -> str: ...

    @property
    def width(self) -> int: ...  # in characters

    @property
    def wrap(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows: int
    truncated_cells: int  # texts cut to Excel's cell limit (xlsx only)


@dataclass(frozen=True, slots=True)
class ExportFile:
    """What one kind of export writes: its columns, the xlsx sheet's name, and the errors to raise."""

    columns: Sequence[OutColumn]
    sheet_title: str
    too_many_rows: Callable[[int], Exception]  # the limit of data rows -> the error to raise
    cannot_write: Callable[[Path, OSError], Exception]
    progress_every: int = 1000
    top_aligned: bool = False  # every text cell at the top of its row (rows of long texts), at a cost


def csv_guard(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return csv_guard(str(value))


def write_export(
    kind: ExportFile,
    path: Path,
    rows: Iterable[Sequence[Any]],
    file_format: str,
    progress: Callable[[int], None] | None = None,
) -> WriteResult:
    """Write ``rows`` (values in the order of ``kind.columns``) to ``path`` as "csv" or "xlsx"."""
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {file_format!r}")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise kind.cannot_write(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer = _write_csv if file_format == "csv" else _write_xlsx
            result = writer(kind, handle, rows, progress)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise kind.cannot_write(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return result


def _write_csv(
    kind: ExportFile, handle: IO[bytes], rows: Iterable[Sequence[Any]], progress: Callable[[int], None] | None
) -> WriteResult:
    stream = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([c.header for c in kind.columns])
    count = 0
    for values in rows:
        writer.writerow([csv_text(value) for value in values])
        count += 1
        if progress is not None and count % kind.progress_every == 0:
            progress(count)
    stream.flush()
    stream.detach()  # leave the binary handle open for the caller's fsync
    return WriteResult(count, 0)


def _write_xlsx(
    kind: ExportFile, handle: IO[bytes], rows: Iterable[Sequence[Any]], progress: Callable[[int], None] | None
) -> WriteResult:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = kind.columns
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(kind.sheet_title)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill = bold, fill
        header.append(cell)
    sheet.append(header)

    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top") if kind.top_aligned else None
    wrapped = [column.wrap for column in columns]
    count = truncated = 0
    for values in rows:
        if count + 1 >= XLSX_MAX_ROWS:
            raise kind.too_many_rows(XLSX_MAX_ROWS - 1)
        row: list[Any] = []
        # A styled cell costs many times a plain value, so only the cells that need it get one.
        for value, wraps in zip(values, wrapped, strict=True):
            if value is None:
                row.append(None)
                continue
            if isinstance(value, dt.date | dt.time):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = (
                    "yyyy-mm-dd hh:mm"
                    if isinstance(value, dt.datetime)
                    else "yyyy-mm-dd"
                    if isinstance(value, dt.date)
                    else "hh:mm:ss"
                )
                row.append(cell)
                continue
            text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
            if len(text) > XLSX_MAX_CELL_CHARS:
                text = text[:XLSX_MAX_CELL_CHARS]
                truncated += 1
            if wraps or top is not None or text.startswith("="):
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # text, never a formula, whatever it starts with
                if wraps or top is not None:
                    cell.alignment = wrap if wraps else top
                row.append(cell)
            else:
                row.append(text)
        sheet.append(row)
        count += 1
        if progress is not None and count % kind.progress_every == 0:
            progress(count)
    workbook.save(handle)
    return WriteResult(count, truncated)
