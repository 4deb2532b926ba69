"""app.sla.notice_csv: a year's notice from CSV, all or nothing, with per-line messages."""

from __future__ import annotations

import datetime as dt

from app.sla.calendar import DateOverride, DayKind, OverrideKind, WorkCalendar
from app.sla.notice_csv import parse_notice_csv

D = dt.date.fromisoformat

# Made-up arrangements for 2027 (no notice is published yet): the shape of a real one.
GOOD_2027 = """\ufeff日期,类型,名称
# 元旦
2027-01-01,休,元旦

2027/2/6,放假,春节
2027年2月7日,holiday,春节
20270208,休,
2027-02-20,班
2027.10.09,上班,国庆节
"""


def test_a_good_notice_gives_sorted_overrides() -> None:
    result = parse_notice_csv(GOOD_2027, 2027)
    assert result.ok
    assert result.problems == ()
    assert result.overrides == (
        DateOverride(D("2027-01-01"), OverrideKind.HOLIDAY, "元旦"),
        DateOverride(D("2027-02-06"), OverrideKind.HOLIDAY, "春节"),
        DateOverride(D("2027-02-07"), OverrideKind.HOLIDAY, "春节"),
        DateOverride(D("2027-02-08"), OverrideKind.HOLIDAY, ""),
        DateOverride(D("2027-02-20"), OverrideKind.WORKDAY, ""),
        DateOverride(D("2027-10-09"), OverrideKind.WORKDAY, ""),
    )


def test_an_imported_notice_makes_the_year_confirmed() -> None:
    result = parse_notice_csv(GOOD_2027, 2027)
    calendar = WorkCalendar().with_notice(result.year, result.overrides)
    assert calendar.is_confirmed(2027)
    assert calendar.day_kind(D("2027-02-20")) is DayKind.ADJUSTED_WORKDAY
    assert calendar.day_kind(D("2027-10-09")) is DayKind.ADJUSTED_WORKDAY
    assert calendar.holiday_name(D("2027-02-07")) == "春节"


def test_tab_separated_text_is_read() -> None:
    result = parse_notice_csv("2027-10-01\t休\t国庆节\n2027-10-09\t班\n", 2027)
    assert [(o.day.isoformat(), o.kind) for o in result.overrides] == [
        ("2027-10-01", OverrideKind.HOLIDAY),
        ("2027-10-09", OverrideKind.WORKDAY),
    ]


BAD_2027 = """date,kind,name
2027-01-01,休,元旦
2027-13-01,休,春节
2027-02-06,请假,春节
2026-10-01,休,国庆节
2027-01-01,休,元旦
2027-02-22,班
2027-02-06
2027-02-06,休,春节,多余
"""


def test_bad_lines_are_all_reported_and_nothing_is_applied() -> None:
    result = parse_notice_csv(BAD_2027, 2027)
    assert not result.ok
    assert result.overrides == ()
    assert [(p.line, p.message) for p in result.problems] == [
        (3, "Line 3: “2027-13-01” is not a date; write it like 2027-10-01."),
        (4, "Line 4: “请假” is not a kind; use holiday (休, 放假) or workday (班, 上班)."),
        (5, "Line 5: 2026-10-01 is not in 2027."),
        (6, "Line 6: 2027-01-01 is already listed on line 2."),
        (
            7,
            "Line 7: 2027-02-22 is a Mon, a working day anyway; only a Saturday or Sunday can be an "
            "adjusted working day.",
        ),
        (8, "Line 8: expected a date, a kind (休 or 班) and an optional name."),
        (9, "Line 9: expected a date, a kind (休 or 班) and an optional name."),
    ]


def test_problems_in_chinese(zh: None) -> None:
    result = parse_notice_csv("2027-02-22,班\n2027-02-30,休\n", 2027)
    assert [str(p) for p in result.problems] == [
        "第 1 行：2027-02-22 是周一，本来就是工作日；只有周六或周日才能设为调休上班。",
        "第 2 行：“2027-02-30”不是日期，请按 2027-10-01 的格式填写。",
    ]


def test_an_empty_file_says_so() -> None:
    result = parse_notice_csv("日期,类型,名称\n\n", 2027)
    assert [(p.line, p.message) for p in result.problems] == [(0, "The file lists no dates.")]
    assert result.overrides == ()
