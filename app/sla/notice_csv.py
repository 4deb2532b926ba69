"""Import a year's holiday notice (国务院办公厅关于节假日安排的通知) from a small CSV file.

One line per date::

    date,kind,name
    2027-01-01,休,元旦
    2027-02-20,班,春节

- ``date``: 2027-01-01, 2027/1/1, 2027.1.1, 2027年1月1日 or 20270101; every date in the notice's year.
- ``kind``: ``holiday`` (also 休, 放假, 休息, 假) for a day off of the notice, ``workday`` (also 班, 上班,
  补班) for a Saturday or Sunday that is worked. A workday on Monday–Friday is refused: it changes
  nothing, so it is almost certainly a typing mistake.
- ``name``: optional, the holiday's name ("国庆节").

A header line (first cell "date" or "日期"), blank lines and lines starting with ``#`` are skipped;
cells may be separated by commas or, if the text has no comma at all, by tabs. A date may appear only
once.

``parse_notice_csv`` never half-applies: it returns either all the overrides (and no problems) or
every problem found (and no overrides). Problems name their line and are translated. Apply a good
result with ``WorkCalendar.with_notice(result.year, result.overrides)`` and store the year as
confirmed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass

from app.i18n import _
from app.sla.calendar import DateOverride, OverrideKind
from app.sla.formatting import weekday_name

_KIND_WORDS: dict[str, OverrideKind] = {
    "holiday": OverrideKind.HOLIDAY,
    "休": OverrideKind.HOLIDAY,
    "放假": OverrideKind.HOLIDAY,
    "休息": OverrideKind.HOLIDAY,
    "假": OverrideKind.HOLIDAY,
    "workday": OverrideKind.WORKDAY,
    "班": OverrideKind.WORKDAY,
    "上班": OverrideKind.WORKDAY,
    "补班": OverrideKind.WORKDAY,
}
_HEADER_WORDS = frozenset({"date", "日期"})
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


@dataclass(frozen=True, slots=True)
class NoticeProblem:
    """One reason the file cannot be imported; ``line`` is 1-based (0: the file as a whole)."""

    line: int
    message: str  # translated, includes the line number

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class NoticeImport:
    year: int
    overrides: tuple[DateOverride, ...]  # empty when there are problems
    problems: tuple[NoticeProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _normalize(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip()


def _parse_date(text: str) -> dt.date | None:
    compact = text.replace(" ", "")
    for pattern in _DATE_PATTERNS:
        match = pattern.match(compact)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    return None


def parse_notice_csv(text: str, year: int) -> NoticeImport:
    """Read the notice of ``year`` from CSV text (see the module docstring)."""
    text = text.removeprefix("\ufeff")
    delimiter = "," if "," in text or "\t" not in text else "\t"
    problems: list[NoticeProblem] = []
    overrides: list[DateOverride] = []
    first_line_of: dict[dt.date, int] = {}

    def problem(line: int, message: str) -> None:
        problems.append(NoticeProblem(line, message))

    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [c.strip() for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells or cells[0].startswith("#"):
            continue
        if not overrides and not problems and _normalize(cells[0]).casefold() in _HEADER_WORDS:
            continue
        if len(cells) < 2 or len(cells) > 3:
            problem(
                number,
                _("Line {line}: expected a date, a kind (休 or 班) and an optional name.").format(
                    line=number
                ),
            )
            continue
        raw_date, raw_kind = cells[0], cells[1]
        name = cells[2] if len(cells) == 3 else ""
        day = _parse_date(_normalize(raw_date))
        kind = _KIND_WORDS.get(_normalize(raw_kind).casefold())
        if day is None:
            problem(
                number,
                _("Line {line}: “{value}” is not a date; write it like {example}.").format(
                    line=number, value=raw_date, example=f"{year}-10-01"
                ),
            )
        if kind is None:
            problem(
                number,
                _(
                    "Line {line}: “{value}” is not a kind; use holiday (休, 放假) or workday (班, 上班)."
                ).format(line=number, value=raw_kind),
            )
        if day is None or kind is None:
            continue
        if day.year != year:
            problem(
                number,
                _("Line {line}: {date} is not in {year}.").format(
                    line=number, date=day.isoformat(), year=year
                ),
            )
            continue
        if day in first_line_of:
            problem(
                number,
                _("Line {line}: {date} is already listed on line {first}.").format(
                    line=number, date=day.isoformat(), first=first_line_of[day]
                ),
            )
            continue
        first_line_of[day] = number
        if kind is OverrideKind.WORKDAY and day.weekday() < 5:
            problem(
                number,
                _(
                    "Line {line}: {date} is a {weekday}, a working day anyway; only a Saturday or "
                    "Sunday can be an adjusted working day."
                ).format(line=number, date=day.isoformat(), weekday=weekday_name(day)),
            )
            continue
        overrides.append(DateOverride(day, kind, name if kind is OverrideKind.HOLIDAY else ""))

    if not overrides and not problems:
        problem(0, _("The file lists no dates."))
    if problems:
        return NoticeImport(year, (), tuple(problems))
    return NoticeImport(year, tuple(sorted(overrides, key=lambda o: o.day)), ())
