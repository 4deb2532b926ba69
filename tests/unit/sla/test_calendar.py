"""app.sla.calendar: Chinese working days (real 2026 notice data), hours, business-time arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest

from app.sla.calendar import (
    DateOverride,
    DayKind,
    OverrideKind,
    WorkCalendar,
    WorkingHours,
    WorkingHoursError,
)
from app.sla.wall_time import NaiveDatetimeError
from tests.unit.sla.moments import NEW_YORK, sh

D = dt.date.fromisoformat
UTC = dt.UTC

# The State Council notice for 2026 (published in November 2025), as the holidays package carries it.
DAYS_2026 = [
    ("2026-01-01", DayKind.HOLIDAY, "元旦"),  # Thu
    ("2026-01-03", DayKind.HOLIDAY, "元旦"),  # Sat inside "1月1日至3日放假"
    ("2026-01-04", DayKind.ADJUSTED_WORKDAY, None),  # Sun 上班
    ("2026-02-13", DayKind.WORKDAY, None),  # Fri
    ("2026-02-14", DayKind.ADJUSTED_WORKDAY, None),  # Sat 上班
    ("2026-02-15", DayKind.HOLIDAY, "春节"),  # Sun, first day of "2月15日至23日放假"
    ("2026-02-16", DayKind.HOLIDAY, "农历除夕"),
    ("2026-02-20", DayKind.HOLIDAY, "春节"),  # Fri off in exchange for Sat 02-14
    ("2026-02-23", DayKind.HOLIDAY, "春节"),  # Mon, last day off
    ("2026-02-24", DayKind.WORKDAY, None),
    ("2026-02-28", DayKind.ADJUSTED_WORKDAY, None),  # Sat 上班
    ("2026-03-07", DayKind.WEEKEND, None),
    ("2026-05-09", DayKind.ADJUSTED_WORKDAY, None),  # Sat 上班
    ("2026-09-20", DayKind.ADJUSTED_WORKDAY, None),  # Sun 上班
    ("2026-09-25", DayKind.HOLIDAY, "中秋节"),  # Fri
    ("2026-10-03", DayKind.HOLIDAY, "国庆节"),  # Sat inside "10月1日至7日放假"
    ("2026-10-07", DayKind.HOLIDAY, "国庆节"),  # Wed, swapped day off
    ("2026-10-08", DayKind.WORKDAY, None),
    ("2026-10-10", DayKind.ADJUSTED_WORKDAY, None),  # Sat 上班
    ("2026-10-11", DayKind.WEEKEND, None),
]


@pytest.mark.parametrize(("day", "kind", "name"), DAYS_2026)
def test_day_kinds_follow_the_2026_notice(
    calendar: WorkCalendar, day: str, kind: DayKind, name: str | None
) -> None:
    assert calendar.day_kind(D(day)) is kind
    assert calendar.holiday_name(D(day)) == name
    assert calendar.is_working_day(D(day)) == (kind in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY))


def test_a_datetime_counts_by_its_shanghai_date(calendar: WorkCalendar) -> None:
    # 2026-10-07 20:00 in New York is already Thursday 10-08 08:00 in Shanghai: a working day
    assert calendar.day_kind(dt.datetime(2026, 10, 7, 20, 0, tzinfo=NEW_YORK)) is DayKind.WORKDAY
    assert calendar.day_kind(dt.datetime(2026, 10, 7, 15, 0, tzinfo=UTC)) is DayKind.HOLIDAY


def test_day_kind_labels_in_chinese(zh: None) -> None:
    assert DayKind.ADJUSTED_WORKDAY.label() == "调休上班日"
    assert DayKind.HOLIDAY.label() == "法定节假日"


# --- confirmed years ------------------------------------------------------------------------------


def test_published_years_are_confirmed_and_later_ones_are_not(calendar: WorkCalendar) -> None:
    assert calendar.is_confirmed(2025)
    assert calendar.is_confirmed(2026)
    assert not calendar.is_confirmed(2027)
    assert calendar.unconfirmed_years(D("2026-12-01"), sh("2028-01-05 10:00")) == [2027, 2028]
    assert calendar.unconfirmed_years(D("2026-01-01"), D("2026-12-31")) == []


def test_an_unconfirmed_year_is_only_the_librarys_estimate(calendar: WorkCalendar) -> None:
    # No notice yet: statutory days are there, but not a single adjusted working weekend.
    days = [D("2027-01-01") + dt.timedelta(days=i) for i in range(365)]
    assert [d for d in days if calendar.day_kind(d) is DayKind.ADJUSTED_WORKDAY] == []
    assert calendar.day_kind(D("2027-10-01")) is DayKind.HOLIDAY
    assert calendar.holiday_name(D("2027-02-09")) == "春节（补假）"  # a rule-based guess


def test_entering_a_notice_confirms_the_year_and_replaces_the_estimate(calendar: WorkCalendar) -> None:
    notice = [
        DateOverride(D("2027-02-06"), OverrideKind.HOLIDAY, "春节"),
        DateOverride(D("2027-02-08"), OverrideKind.HOLIDAY, "春节"),
        DateOverride(D("2027-02-20"), OverrideKind.WORKDAY),
    ]
    confirmed = calendar.with_notice(2027, notice)
    assert confirmed.is_confirmed(2027)
    assert confirmed.confirmed_years == frozenset({2027})
    assert confirmed.day_kind(D("2027-02-20")) is DayKind.ADJUSTED_WORKDAY
    assert confirmed.day_kind(D("2027-02-07")) is DayKind.HOLIDAY  # Sunday between two days off
    # the library guessed Tue 02-09 off; the entered notice does not say so
    assert confirmed.day_kind(D("2027-02-09")) is DayKind.WORKDAY
    assert confirmed.day_kind(D("2027-10-01")) is DayKind.WORKDAY
    # the original calendar is unchanged
    assert calendar.day_kind(D("2027-02-09")) is DayKind.HOLIDAY


# --- overrides ------------------------------------------------------------------------------------


def test_supervisor_overrides_win_over_the_library() -> None:
    calendar = WorkCalendar(
        overrides=[
            DateOverride(D("2026-03-09"), OverrideKind.REST_DAY),  # Mon: office closed
            DateOverride(D("2026-03-14"), OverrideKind.WORKDAY),  # Sat: worked
            DateOverride(D("2026-10-08"), OverrideKind.HOLIDAY, "国庆节（延长）"),
            DateOverride(D("2026-10-02"), OverrideKind.WORKDAY),
        ]
    )
    assert calendar.day_kind(D("2026-03-09")) is DayKind.REST_DAY
    assert not calendar.is_working_day(D("2026-03-09"))
    assert calendar.day_kind(D("2026-03-14")) is DayKind.ADJUSTED_WORKDAY
    assert calendar.holiday_name(D("2026-10-08")) == "国庆节（延长）"
    assert calendar.day_kind(D("2026-10-02")) is DayKind.WORKDAY
    assert calendar.is_confirmed(2026)  # overrides alone do not change the confirmed status


# --- working hours --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        ("2026-03-06 08:00:00", True),  # Fri, start included
        ("2026-03-06 07:59:59", False),
        ("2026-03-06 17:59:59", True),
        ("2026-03-06 18:00:00", False),  # end excluded
        ("2026-03-07 10:00:00", False),  # Sat
        ("2026-02-14 10:00:00", True),  # adjusted working Saturday
        ("2026-10-02 10:00:00", False),  # National Day
    ],
)
def test_working_time(calendar: WorkCalendar, moment: str, working: bool) -> None:
    assert calendar.is_working_time(sh(moment)) is working


def test_several_intervals_a_day() -> None:
    hours = WorkingHours.parse("08:30-12:00，13:30-17:30")
    assert str(hours) == "08:30-12:00, 13:30-17:30"
    calendar = WorkCalendar(hours)
    assert not calendar.is_working_time(sh("2026-03-06 12:30"))
    assert calendar.next_working_time(sh("2026-03-06 12:30")) == sh("2026-03-06 13:30")
    assert calendar.add_business_time(sh("2026-03-06 11:30"), dt.timedelta(hours=1)) == sh("2026-03-06 14:00")
    assert calendar.business_time_between(sh("2026-03-06 08:00"), sh("2026-03-06 18:00")) == dt.timedelta(
        hours=7, minutes=30
    )


def test_with_hours_shares_the_days(calendar: WorkCalendar) -> None:
    evening = calendar.with_hours(WorkingHours.parse("18:00-24:00"))
    assert evening.is_working_time(sh("2026-03-06 23:59"))
    assert not evening.is_working_time(sh("2026-03-07 20:00"))  # still a Saturday
    assert calendar.with_hours(calendar.hours) is calendar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("18:00-08:00", "Working hours “18:00-08:00” must start before they end, within one day."),
        ("8点到6点", "“8点到6点” is not a time interval; write it like 08:00-18:00."),
        ("25:00-26:00", "“25:00-26:00” is not a time interval; write it like 08:00-18:00."),
        ("08:00-12:00, 11:00-18:00", "Working hours “11:00-18:00” overlap or are out of order."),
        ("", "Working hours need at least one interval."),
    ],
)
def test_bad_working_hours_are_explained(text: str, message: str) -> None:
    with pytest.raises(WorkingHoursError) as caught:
        WorkingHours.parse(text)
    assert caught.value.message == message


# --- moving through working time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-03-06 10:00", "2026-03-06 10:00"),  # already working
        ("2026-03-06 19:00", "2026-03-09 08:00"),  # Fri evening -> Mon
        ("2026-02-13 19:00", "2026-02-14 08:00"),  # Fri -> adjusted working Saturday
        ("2026-09-30 18:30", "2026-10-08 08:00"),  # across National Day
        ("2026-02-14 18:00", "2026-02-24 08:00"),  # across the Spring Festival
    ],
)
def test_next_working_time(calendar: WorkCalendar, moment: str, expected: str) -> None:
    assert calendar.next_working_time(sh(moment)) == sh(expected)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-03-06 17:00", 1, "2026-03-06 18:00"),  # ends at closing time, not Monday 08:00
        ("2026-03-06 17:00", 2, "2026-03-09 09:00"),  # across the weekend
        ("2026-03-07 10:00", 1, "2026-03-09 09:00"),  # starts on a Saturday
        ("2026-02-13 17:00", 2, "2026-02-14 09:00"),  # adjusted working Saturday
        ("2026-09-30 17:00", 2, "2026-10-08 09:00"),  # across National Day
        ("2026-02-13 17:00", 12, "2026-02-24 09:00"),  # 1 h Fri, 10 h Sat, then the Spring Festival
        ("2026-03-06 10:00", 0, "2026-03-06 10:00"),
    ],
)
def test_add_business_time(calendar: WorkCalendar, start: str, hours: int, expected: str) -> None:
    assert calendar.add_business_time(sh(start), dt.timedelta(hours=hours)) == sh(expected)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2026-03-06 16:00", "2026-03-09 10:00", 4),  # weekend
        ("2026-09-30 16:00", "2026-10-08 10:00", 4),  # National Day
        ("2026-02-13 17:00", "2026-02-24 09:00", 12),  # adjusted Saturday + Spring Festival
        ("2026-03-09 10:00", "2026-03-06 16:00", 0),  # reversed
    ],
)
def test_business_time_between(calendar: WorkCalendar, start: str, end: str, hours: int) -> None:
    assert calendar.business_time_between(sh(start), sh(end)) == dt.timedelta(hours=hours)


def test_any_time_zone_gives_shanghai_answers(calendar: WorkCalendar) -> None:
    friday_evening_utc = dt.datetime(2026, 3, 6, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai
    friday_evening_ny = dt.datetime(2026, 3, 6, 6, 0, tzinfo=NEW_YORK)  # 19:00 in Shanghai
    for moment in (friday_evening_utc, friday_evening_ny):
        assert not calendar.is_working_time(moment)
        result = calendar.next_working_time(moment)
        assert result == sh("2026-03-09 08:00")
        assert result.utcoffset() == dt.timedelta(hours=8)
        assert f"{result:%a %H:%M}" == "Mon 08:00"


def test_naive_datetimes_are_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime 2026-03-06T19:00:00"):
        calendar.is_working_time(dt.datetime(2026, 3, 6, 19, 0))
    with pytest.raises(NaiveDatetimeError):
        calendar.add_business_time(dt.datetime(2026, 3, 6, 19, 0), dt.timedelta(hours=1))
