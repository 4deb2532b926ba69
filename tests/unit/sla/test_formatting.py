"""app.sla.formatting: moments, durations and phrases as users read them, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest

from app.sla.formatting import Moment, Phrase, format_amount, format_hms, format_moment
from tests.unit.sla.moments import NEW_YORK, hours, minutes, sh

FRIDAY_EVENING = sh("2026-03-06 19:00")


MOMENTS = [
    # moment, reference, English, Chinese
    ("2026-03-06 19:00", None, "Fri 03-06 19:00", "3月6日 周五 19:00"),
    ("2026-03-06 22:00", FRIDAY_EVENING, "22:00", "22:00"),
    ("2026-03-09 08:00", FRIDAY_EVENING, "Mon 08:00", "周一 08:00"),
    ("2026-03-12 08:00", FRIDAY_EVENING, "Thu 08:00", "周四 08:00"),
    ("2026-03-13 08:00", FRIDAY_EVENING, "Fri 03-13 08:00", "3月13日 周五 08:00"),  # a week later
    ("2026-03-05 08:00", FRIDAY_EVENING, "Thu 03-05 08:00", "3月5日 周四 08:00"),  # the day before
]


@pytest.mark.parametrize(("moment", "reference", "english", "_chinese"), MOMENTS)
def test_format_moment(moment: str, reference: dt.datetime | None, english: str, _chinese: str) -> None:
    assert format_moment(sh(moment), reference) == english


@pytest.mark.parametrize(("moment", "reference", "_english", "chinese"), MOMENTS)
def test_format_moment_in_chinese(
    zh: None, moment: str, reference: dt.datetime | None, _english: str, chinese: str
) -> None:
    assert format_moment(sh(moment), reference) == chinese


def test_moments_show_in_shanghai_time_whatever_their_zone() -> None:
    assert format_moment(FRIDAY_EVENING.astimezone(NEW_YORK)) == "Fri 03-06 19:00"
    assert format_moment(FRIDAY_EVENING.astimezone(dt.UTC)) == "Fri 03-06 19:00"


def test_format_hms() -> None:
    assert format_hms(minutes(23) + dt.timedelta(seconds=15)) == "00:23:15"
    assert format_hms(hours(23) + minutes(59) + dt.timedelta(seconds=59)) == "23:59:59"
    assert format_hms(hours(26) + minutes(5)) == "1 d 02:05:00"
    assert format_hms(-(hours(8160) + minutes(16))) == "340 d 00:16:00"
    assert format_hms(-minutes(5)) == "00:05:00"
    assert format_hms(dt.timedelta(seconds=59.9)) == "00:00:59"


def test_format_hms_in_chinese(zh: None) -> None:
    assert format_hms(-(hours(8160) + minutes(16) + dt.timedelta(seconds=36))) == "340天 00:16:36"
    assert format_hms(minutes(5) + dt.timedelta(seconds=2)) == "00:05:02"


def test_format_amount(zh: None) -> None:
    assert format_amount(hours(1) + minutes(30)) == "1小时30分钟"
    assert format_amount(hours(63) + minutes(40)) == "2天15小时40分钟"
    assert format_amount(dt.timedelta(seconds=45)) == "45秒"
    assert format_amount(dt.timedelta()) == "0分钟"


def test_format_amount_in_english() -> None:
    assert format_amount(hours(3)) == "3 h"
    assert format_amount(hours(1) + minutes(30)) == "1 h 30 min"
    assert format_amount(hours(24)) == "1 d"


def report_phrase() -> Phrase:
    return Phrase.of(
        "Reported {reported} → {amount} → {due}",
        reported=Moment(FRIDAY_EVENING),
        amount=hours(3),
        due=Moment(sh("2026-03-06 22:00"), FRIDAY_EVENING),
    )


def test_a_phrase_renders_when_shown() -> None:
    assert report_phrase().render() == "Reported Fri 03-06 19:00 → 3 h → 22:00"


def test_the_same_phrase_renders_in_chinese_after_switching(zh: None) -> None:
    assert report_phrase().render() == "3月6日 周五 19:00 报告 → 3小时 → 22:00"
