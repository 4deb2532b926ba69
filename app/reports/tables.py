"""The data of a report as tables, written as an .xlsx workbook (openpyxl) or as CSV.

A report that prints also gives its figures as ``Sheet``s (a name, column headers, rows of plain
values); ``write_xlsx`` puts each on a worksheet of its own with a bold, frozen header row and
columns wide enough to read (Chinese characters count double), ``write_csv`` writes them as UTF-8
with a byte-order mark, so that Excel opens Chinese text correctly (several sheets: one after the
other, each under its name, a blank line between). Both write to a temporary file and move it into
place, so a failure leaves no half-written file; the disk's refusal is a ``UserFacingError``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app.errors import UserFacingError
from app.i18n import _

MAX_COLUMN_WIDTH = 60  # characters; longer texts wrap in the cell
MIN_COLUMN_WIDTH = 6
_SHEET_NAME_FORBIDDEN = str.maketrans({ch: "_" for ch in "[]:*?/\\"})


@dataclass(frozen=True)
class Sheet:
    """One table: ``rows`` hold str, int, float, dates or None, one value per header."""

    name: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def display_width(text: str) -> int:
    """How many Latin character widths ``text`` takes in a spreadsheet cell (CJK counts two)."""
    longest = 0
    for line in text.splitlines() or [""]:
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        longest = max(longest, width)
    return longest


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def _sheet_title(name: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts: no []:*?/\\, at most 31 characters, unique."""
    base = (name.translate(_SHEET_NAME_FORBIDDEN).strip() or "Sheet")[:31]
    title, number = base, 2
    while title.casefold() in taken:
        suffix = f" ({number})"
        title = base[: 31 - len(suffix)] + suffix
        number += 1
    taken.add(title.casefold())
    return title


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _cannot_write(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _cannot_write(path: Path, exc: OSError) -> UserFacingError:
    return UserFacingError(
        _("{path} could not be written: {error}").format(path=path, error=exc.strerror or exc)
    )


def write_xlsx(sheets: Sequence[Sheet], path: Path) -> None:
    """The sheets as one workbook at ``path`` (replaced if it exists)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=False)
    book.remove(book.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for sheet in sheets or [Sheet(_("Report"), [])]:
        ws = book.create_sheet(_sheet_title(sheet.name, taken))
        ws.append(list(sheet.headers))
        for cell in ws[1]:
            cell.font = bold
        widths = [display_width(header) for header in sheet.headers]
        for row in sheet.rows:
            # a spreadsheet has no time zones: give times in Asia/Shanghai, the zone is dropped here
            ws.append([v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in row])
            for index, value in enumerate(row[: len(widths)]):
                widths[index] = max(widths[index], display_width(_cell_text(value)))
        for index, width in enumerate(widths, start=1):
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = min(max(width + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH)
            if width > MAX_COLUMN_WIDTH:
                for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.alignment = wrap
        for cells in ws.iter_rows(min_row=2):  # dates and times readable as such
            for cell in cells:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
        ws.freeze_panes = "A2"
    _atomic_write(path, book.save)


def write_csv(sheets: Sequence[Sheet], path: Path) -> None:
    """The sheets as CSV (UTF-8 with BOM); with several, each under a line with its name."""

    def write(out: IO[bytes]) -> None:
        import io

        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        for number, sheet in enumerate(sheets):
            if len(sheets) > 1:
                if number:
                    writer.writerow([])
                writer.writerow([sheet.name])
            writer.writerow(sheet.headers)
            for row in sheet.rows:
                writer.writerow([_cell_text(value) for value in row])
        text.flush()
        text.detach()

    _atomic_write(path, write)
