"""Working days and working hours of mainland China, for business-time deadlines.

A **working day** is Monday–Friday that is not a statutory holiday, plus the adjusted working weekends
(调休上班) of the State Council's yearly notice. The base data comes from the ``holidays`` package
(``holidays.China``); a supervisor can change single dates (``DateOverride``) or enter a whole year's
notice (``WorkCalendar.with_notice``, fed by ``app.sla.notice_csv``).

Confirmed years
    A year is *confirmed* when its official notice is known: either the ``holidays`` package ships it
    (the years listed in ``holidays.countries.china.ChinaStaticHolidays.special_public_holidays``,
    one entry per published notice; see ``library_notice_years``) or a supervisor entered it
    (``confirmed_years``). For any other year the library only *estimates* — the statutory dates by
    law, a substitute day after a weekend, and no working weekends at all (2027 has none) — and the
    calendar still uses that estimate, but ``is_confirmed(year)`` is False and
    ``unconfirmed_years(start, end)`` lists it, so callers can warn ("2027 not confirmed"). Deadlines
    carry the unconfirmed years they depended on.

    For a year a supervisor confirmed, the library's data is ignored and the overrides of that year
    alone say which dates differ from a plain Monday–Friday week: the imported notice is the truth.

Day kinds (``DayKind``)
    ``WORKDAY`` (Mon–Fri), ``ADJUSTED_WORKDAY`` (a Saturday/Sunday worked, 调休上班), ``WEEKEND``,
    ``HOLIDAY`` and ``REST_DAY`` (a weekday off that is no holiday, e.g. an office closure a supervisor
    entered). A weekend that touches a holiday through days off only — Oct 3–4 inside "Oct 1–7 off" —
    is part of the holiday period the notice announces ("10月1日至7日放假调休") and is a ``HOLIDAY``
    too, named after the period's main holiday; so is a weekday given off in exchange for a worked
    weekend ("休息日（由 2026-02-14 调休）").

Working hours (``WorkingHours``)
    One or more intervals per working day, default 08:00–18:00, each start inclusive and end
    exclusive (18:00 itself is outside). An end of 24:00 is allowed.

Time
    All functions accept aware datetimes in any zone and return Asia/Shanghai ones; naive datetimes
    raise ``NaiveDatetimeError`` (see ``app.sla.wall_time``).

A ``WorkCalendar`` is immutable; its per-day answers are cached, so build one per set of overrides and
reuse it (``with_hours`` makes a calendar with other hours that shares the cache).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from app.errors import UserFacingError
from app.i18n import N_, _
from app.sla.wall_time import SHANGHAI, to_shanghai

MINUTES_PER_DAY = 24 * 60
# Adding time never looks further than this for working time (a calendar with none would loop forever).
MAX_SCAN_DAYS = 3660
# A holiday period is at most ~10 days; looking this far for its holidays is plenty.
HOLIDAY_PERIOD_REACH = 16
# The library's name of a weekday given off for a worked weekend: "休息日（由 2026-02-14 调休）".
_SWAPPED_DAY_OFF = "休息日"


class DayKind(StrEnum):
    WORKDAY = "workday"
    ADJUSTED_WORKDAY = "adjusted_workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    REST_DAY = "rest_day"

    @property
    def is_working(self) -> bool:
        return self in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY)

    def label(self) -> str:
        return _(_DAY_KIND_LABELS[self])


_DAY_KIND_LABELS: dict[DayKind, str] = {
    DayKind.WORKDAY: N_("Working day"),
    DayKind.ADJUSTED_WORKDAY: N_("Adjusted working day"),
    DayKind.WEEKEND: N_("Weekend"),
    DayKind.HOLIDAY: N_("Statutory holiday"),
    DayKind.REST_DAY: N_("Day off"),
}


class OverrideKind(StrEnum):
    """What a supervisor says about one date."""

    WORKDAY = "workday"  # worked (on a weekend: an adjusted working day)
    REST_DAY = "rest_day"  # not worked, no holiday
    HOLIDAY = "holiday"  # statutory holiday (or a day of its period), with a name


@dataclass(frozen=True, slots=True)
class DateOverride:
    day: dt.date
    kind: OverrideKind
    name: str = ""


class WorkingHoursError(UserFacingError):
    """Working hours that cannot be used (message translated)."""


@dataclass(frozen=True, slots=True, order=True)
class WorkingInterval:
    """Minutes after midnight: ``start`` inclusive, ``end`` exclusive (1440 = 24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_INTERVAL = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*[-–~～至到]\s*(\d{1,2})[:：](\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """The working intervals of every working day, sorted and not overlapping."""

    intervals: tuple[WorkingInterval, ...]

    def __post_init__(self) -> None:
        if not self.intervals:
            raise WorkingHoursError(_("Working hours need at least one interval."))
        previous_end = 0
        for interval in self.intervals:
            if not 0 <= interval.start < interval.end <= MINUTES_PER_DAY:
                raise WorkingHoursError(
                    _("Working hours “{interval}” must start before they end, within one day.").format(
                        interval=str(interval)
                    )
                )
            if interval.start < previous_end:
                raise WorkingHoursError(
                    _("Working hours “{interval}” overlap or are out of order.").format(
                        interval=str(interval)
                    )
                )
            previous_end = interval.end

    @classmethod
    def parse(cls, text: str | Sequence[str]) -> WorkingHours:
        """From "08:00-18:00", "08:00-12:00, 13:30-18:00" or a list of such intervals."""
        pieces = re.split(r"[,，;；]", text) if isinstance(text, str) else list(text)
        intervals: list[WorkingInterval] = []
        for piece in pieces:
            if not isinstance(piece, str):
                raise WorkingHoursError(_("Working hours must be written like 08:00-18:00."))
            if not piece.strip():
                continue
            match = _INTERVAL.match(piece)
            if match is None:
                raise WorkingHoursError(
                    _("“{text}” is not a time interval; write it like 08:00-18:00.").format(
                        text=piece.strip()
                    )
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
                raise WorkingHoursError(
                    _("“{text}” is not a time interval; write it like 08:00-18:00.").format(
                        text=piece.strip()
                    )
                )
            intervals.append(WorkingInterval(h1 * 60 + m1, h2 * 60 + m2))
        return cls(tuple(intervals))

    def texts(self) -> list[str]:
        """The intervals as "08:00-18:00" strings (what ``parse`` reads back)."""
        return [str(i) for i in self.intervals]

    def __str__(self) -> str:
        return ", ".join(self.texts())


DEFAULT_WORKING_HOURS = WorkingHours((WorkingInterval(8 * 60, 18 * 60),))

Period = tuple[dt.datetime, dt.datetime]


# --- the holidays library -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LibraryYear:
    holidays: dict[dt.date, str]  # days off the library lists, with its (Chinese) names
    working_weekends: frozenset[dt.date]


@functools.cache
def _library_year(year: int) -> _LibraryYear:
    # imported on first use: loading it takes a while and many runs never need it
    from holidays import country_holidays

    # The next year is populated too: a notice may make a late-December weekend of the year before
    # a working day (the 2002 notice did so for 2001-12-29/30).
    china = country_holidays("CN", years=(year, year + 1), language="zh_CN")
    return _LibraryYear(
        holidays={day: str(name) for day, name in china.items() if day.year == year},
        working_weekends=frozenset(day for day in china.weekend_workdays if day.year == year),
    )


@functools.cache
def library_notice_years() -> frozenset[int]:
    """Years whose State Council notice the installed ``holidays`` package contains.

    ``ChinaStaticHolidays.special_public_holidays`` has one entry per published notice (the swapped
    days of that year); years after the last entry are rule-based estimates. Should a future version
    of the package move that table, no year counts as published and every year shows as unconfirmed:
    a visible warning, never a silent guess.
    """
    try:
        from holidays.countries.china import ChinaStaticHolidays
    except ImportError:  # pragma: no cover - depends on the installed package version
        return frozenset()
    table = getattr(ChinaStaticHolidays, "special_public_holidays", {})
    return frozenset(year for year in table if isinstance(year, int))


# --- the calendar ---------------------------------------------------------------------------------


def _as_day(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return to_shanghai(value).date()
    return value


class ConsultedDays:
    """The first and last date whose kind a computation asked for (``WorkCalendar.recording``). A
    date's kind also depends on the dates up to ``HOLIDAY_PERIOD_REACH`` days either side of it (the
    run of days off it may belong to), so a change of one date can concern a computation whose span,
    widened by that reach, contains it."""

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: dt.date | None = None
        self.last: dt.date | None = None

    def note(self, day: dt.date) -> None:
        if self.first is None or day < self.first:
            self.first = day
        if self.last is None or day > self.last:
            self.last = day


class _DayBook:
    """Which kind each date is: library data, overrides, confirmed years; answers cached."""

    def __init__(self, overrides: Iterable[DateOverride], confirmed_years: Iterable[int]) -> None:
        self.overrides: dict[dt.date, DateOverride] = {o.day: o for o in overrides}
        self.confirmed_years = frozenset(confirmed_years)
        self._kinds: dict[dt.date, tuple[DayKind, str | None]] = {}
        self.consulted: ConsultedDays | None = None  # set while a computation is recorded

    def _own_kind(self, day: dt.date) -> tuple[DayKind, str | None]:
        """The kind of ``day`` from its own data, before holiday periods are extended."""
        weekend = day.weekday() >= 5
        override = self.overrides.get(day)
        if override is not None:
            if override.kind is OverrideKind.WORKDAY:
                return (DayKind.ADJUSTED_WORKDAY if weekend else DayKind.WORKDAY), None
            if override.kind is OverrideKind.HOLIDAY:
                return DayKind.HOLIDAY, override.name
            return (DayKind.WEEKEND if weekend else DayKind.REST_DAY), None
        if day.year not in self.confirmed_years:
            library = _library_year(day.year)
            if day in library.working_weekends:
                return (DayKind.ADJUSTED_WORKDAY if weekend else DayKind.WORKDAY), None
            name = library.holidays.get(day)
            if name is not None:
                return DayKind.HOLIDAY, name
        return (DayKind.WEEKEND if weekend else DayKind.WORKDAY), None

    def kind(self, day: dt.date) -> tuple[DayKind, str | None]:
        if self.consulted is not None:
            self.consulted.note(day)
        cached = self._kinds.get(day)
        if cached is not None:
            return cached
        kind, name = self._own_kind(day)
        if kind is DayKind.WEEKEND or (kind is DayKind.HOLIDAY and _is_swapped_day_off(name)):
            period_name = self._holiday_period_name(day)
            if period_name is not None:
                kind, name = DayKind.HOLIDAY, period_name
        self._kinds[day] = (kind, name)
        return kind, name

    def _holiday_period_name(self, day: dt.date) -> str | None:
        """If ``day`` lies in a run of days off containing a holiday, the run's main holiday name."""
        named: list[tuple[dt.date, str]] = []
        for step in (-1, 1):
            for distance in range(1 if step == 1 else 0, HOLIDAY_PERIOD_REACH):
                current = day + dt.timedelta(days=distance * step)
                kind, name = self._own_kind(current)
                if kind.is_working:
                    break
                if kind is DayKind.HOLIDAY:
                    named.append((current, name or ""))
        if not named:
            return None
        named.sort()
        main_names = [_base_name(n) for _d, n in named if n and not _is_swapped_day_off(n)]
        if not main_names:
            return next((n for _d, n in named if n), "")
        counts = Counter(main_names)
        # the most frequent name; on a tie the earliest (春节 x3 beats 农历除夕 x1)
        return max(counts, key=lambda n: (counts[n], -main_names.index(n)))


def _is_swapped_day_off(name: str | None) -> bool:
    return bool(name) and str(name).startswith(_SWAPPED_DAY_OFF)


def _base_name(name: str) -> str:
    """ "春节（补假）" -> "春节"."""
    return re.split(r"[（(]", name, maxsplit=1)[0].strip()


class WorkCalendar:
    """Working days and hours (see the module docstring); immutable, with cached day lookups."""

    def __init__(
        self,
        hours: WorkingHours = DEFAULT_WORKING_HOURS,
        overrides: Iterable[DateOverride] = (),
        confirmed_years: Iterable[int] = (),
    ) -> None:
        self.hours = hours
        self._book = _DayBook(overrides, confirmed_years)

    @classmethod
    def _sharing(cls, book: _DayBook, hours: WorkingHours) -> WorkCalendar:
        calendar = cls.__new__(cls)
        calendar.hours = hours
        calendar._book = book
        return calendar

    def with_hours(self, hours: WorkingHours) -> WorkCalendar:
        """The same days with other working hours (shares the day cache)."""
        if hours == self.hours:
            return self
        return WorkCalendar._sharing(self._book, hours)

    def with_notice(self, year: int, overrides: Iterable[DateOverride]) -> WorkCalendar:
        """A calendar where ``overrides`` are the whole notice of ``year`` and the year is confirmed.

        Overrides of that year the calendar had are replaced; other years are kept.
        """
        notice = list(overrides)
        wrong = [o.day for o in notice if o.day.year != year]
        if wrong:
            raise ValueError(f"notice for {year} has dates of other years: {wrong}")
        kept = [o for o in self._book.overrides.values() if o.day.year != year]
        return WorkCalendar(self.hours, [*kept, *notice], self._book.confirmed_years | {year})

    @property
    def overrides(self) -> tuple[DateOverride, ...]:
        return tuple(sorted(self._book.overrides.values(), key=lambda o: o.day))

    @property
    def confirmed_years(self) -> frozenset[int]:
        """The years a supervisor confirmed (the library's published years are not included)."""
        return self._book.confirmed_years

    @contextmanager
    def recording(self) -> Iterator[ConsultedDays]:
        """Within the block, note which dates this calendar (and those sharing its days,
        ``with_hours``) is asked about. Not for use by two threads at once."""
        consulted = ConsultedDays()
        previous, self._book.consulted = self._book.consulted, consulted
        try:
            yield consulted
        finally:
            self._book.consulted = previous

    # --- days ---------------------------------------------------------------------------------------

    def is_confirmed(self, year: int) -> bool:
        """Whether the official holiday arrangements of ``year`` are known (library or supervisor)."""
        return year in self._book.confirmed_years or year in library_notice_years()

    def unconfirmed_years(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> list[int]:
        """The years from ``start`` to ``end`` (inclusive) that are not confirmed, in order."""
        first, last = _as_day(start).year, _as_day(end).year
        return [year for year in range(first, last + 1) if not self.is_confirmed(year)]

    def day_kind(self, day: dt.date | dt.datetime) -> DayKind:
        """What kind of day it is; a datetime counts by its Shanghai date."""
        return self._book.kind(_as_day(day))[0]

    def holiday_name(self, day: dt.date | dt.datetime) -> str | None:
        """The holiday's name for a ``HOLIDAY`` day ("国庆节"; "" if nobody named it), else None."""
        kind, name = self._book.kind(_as_day(day))
        return (name or "") if kind is DayKind.HOLIDAY else None

    def is_working_day(self, day: dt.date | dt.datetime) -> bool:
        return self.day_kind(day).is_working

    # --- working time -------------------------------------------------------------------------------

    def _day_periods(self, day: dt.date) -> list[Period]:
        if not self.is_working_day(day):
            return []
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        return [
            (midnight + dt.timedelta(minutes=i.start), midnight + dt.timedelta(minutes=i.end))
            for i in self.hours.intervals
        ]

    def is_working_time(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` is inside the working hours of a working day (start in, end out)."""
        local = to_shanghai(moment)
        return any(start <= local < end for start, end in self._day_periods(local.date()))

    def next_working_time(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself if it is working time, else the start of the next working period."""
        local = to_shanghai(moment)
        day = local.date()
        for _step in range(MAX_SCAN_DAYS):
            for start, end in self._day_periods(day):
                if local < end:
                    return max(start, local)
            day += dt.timedelta(days=1)
        raise ValueError(f"no working time within {MAX_SCAN_DAYS} days after {local.isoformat()}")

    def working_periods(self, start: dt.datetime, end: dt.datetime) -> list[Period]:
        """The working periods between two moments, clipped to them, in order."""
        first, last = to_shanghai(start), to_shanghai(end)
        periods: list[Period] = []
        day = first.date()
        while day <= last.date():
            for p_start, p_end in self._day_periods(day):
                clipped = (max(p_start, first), min(p_end, last))
                if clipped[0] < clipped[1]:
                    periods.append(clipped)
            day += dt.timedelta(days=1)
        return periods

    def business_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from ``start`` to ``end`` (zero if ``end`` is not after ``start``)."""
        total = dt.timedelta()
        for p_start, p_end in self.working_periods(start, end):
            total += p_end - p_start
        return total

    def consume_business_time(self, start: dt.datetime, amount: dt.timedelta) -> list[Period]:
        """The working periods from ``start`` that add up to ``amount``; the last one ends where it is
        used up. Empty for a zero amount."""
        local = to_shanghai(start)
        remaining = amount
        periods: list[Period] = []
        day = local.date()
        for _step in range(MAX_SCAN_DAYS):
            if remaining <= dt.timedelta():
                return periods
            for p_start, p_end in self._day_periods(day):
                if p_end <= local:
                    continue
                p_start = max(p_start, local)
                available = p_end - p_start
                if available >= remaining:
                    periods.append((p_start, p_start + remaining))
                    return periods
                periods.append((p_start, p_end))
                remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError(f"no working time within {MAX_SCAN_DAYS} days after {local.isoformat()}")

    def add_business_time(self, moment: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The moment ``amount`` of working time after ``moment``.

        Ends at the end of a working period rather than the start of the next one (1 h from Friday
        17:00 is Friday 18:00). A zero amount returns ``moment`` (in Shanghai time).
        """
        periods = self.consume_business_time(moment, amount)
        return periods[-1][1] if periods else to_shanghai(moment)
