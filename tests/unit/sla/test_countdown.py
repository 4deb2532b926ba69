"""app.sla.countdown: what a ticket list shows each second, and which warnings have been reached."""

from __future__ import annotations

import datetime as dt

import pytest

from app.sla.calendar import WorkCalendar, _DayBook
from app.sla.countdown import CountdownKind, countdown
from app.sla.deadlines import TargetState, derive_deadlines
from app.sla.events import TicketEvent
from app.sla.policy import Policy, TargetKind
from tests.unit.sla.moments import NEW_YORK, hours, minutes, sh
from tests.unit.sla.test_policy import THIRD_CONTRACT

E = TicketEvent
RESPONSE, ON_SITE, RESOLUTION = TargetKind.RESPONSE, TargetKind.ON_SITE, TargetKind.RESOLUTION


@pytest.fixture(scope="module")
def all_policies(policies: dict[str, Policy]) -> dict[str, Policy]:
    return {**policies, "third": Policy.from_dict(THIRD_CONTRACT)}


def state_of(
    events: list[TicketEvent], kind: TargetKind, policies: dict[str, Policy], calendar: WorkCalendar
) -> TargetState:
    state = derive_deadlines(events, policies, calendar).target(kind)
    assert state is not None
    return state


def created(reported: str, policy: str, severity: str = "general") -> TicketEvent:
    return E.created(sh(reported), reported_at=sh(reported), severity=severity, policy=policy)


@pytest.mark.parametrize(
    ("now", "text", "crossed"),
    [
        ("2026-03-06 10:00:00", "剩余 01:00:00", []),
        ("2026-03-06 10:36:45", "剩余 00:23:15", []),
        ("2026-03-06 10:45:00", "剩余 00:15:00", ["percent:25"]),  # 25 % of 1 h
        ("2026-03-06 10:50:30", "剩余 00:09:30", ["minutes:10", "percent:25"]),
        ("2026-03-06 11:00:00", "已超时 00:00:00", ["minutes:10", "percent:25"]),
        ("2026-03-06 11:05:02", "已超时 00:05:02", ["minutes:10", "percent:25"]),
        ("2026-03-07 12:00:00", "已超时 1天 01:00:00", ["minutes:10", "percent:25"]),
    ],
)
def test_a_running_clock_in_chinese(
    policies: dict[str, Policy], calendar: WorkCalendar, zh: None, now: str, text: str, crossed: list[str]
) -> None:
    state = state_of([created("2026-03-06 10:00", "cz")], RESOLUTION, policies, calendar)
    shown = countdown(state, sh(now))
    assert shown.text() == text
    assert [t.key for t in shown.crossed] == crossed


def test_thresholds_are_crossed_once_each_as_time_passes(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    """What a UI that notifies once per threshold would notify, ticking every 30 s."""
    state = state_of([created("2026-03-06 10:00", "cz")], RESOLUTION, policies, calendar)
    notified: list[tuple[str, str]] = []
    seen: set[str] = set()
    now = sh("2026-03-06 10:00")
    while now <= sh("2026-03-06 11:01"):
        for threshold in countdown(state, now).crossed:
            if threshold.key not in seen:
                seen.add(threshold.key)
                notified.append((f"{now:%H:%M:%S}", threshold.label()))
        now += dt.timedelta(seconds=30)
    assert notified == [("10:45:00", "25% of the time left"), ("10:50:00", "10 min left")]


def test_paused(policies: dict[str, Policy], calendar: WorkCalendar, zh: None) -> None:
    events = [created("2026-03-06 10:00", "cz"), E.paused(sh("2026-03-06 10:50"))]
    state = state_of(events, RESOLUTION, policies, calendar)
    shown = countdown(state, sh("2026-03-09 09:00"))
    assert (shown.kind, shown.text(), shown.remaining) == (CountdownKind.PAUSED, "挂起中", minutes(10))
    assert [t.key for t in shown.crossed] == ["minutes:10", "percent:25"]


def test_business_time_clock_stops_outside_working_hours(
    all_policies: dict[str, Policy], calendar: WorkCalendar, zh: None
) -> None:
    state = state_of([created("2026-03-06 17:00", "third")], RESOLUTION, all_policies, calendar)
    assert state.due == sh("2026-03-09 11:00")
    friday_evening = countdown(state, sh("2026-03-06 19:00"))
    assert (friday_evening.kind, friday_evening.remaining) == (CountdownKind.CLOCK_STOPPED, hours(3))
    assert friday_evening.text() == "计时暂停至 周一 08:00"
    assert countdown(state, sh("2026-03-09 09:00")).text() == "剩余 02:00:00"
    assert countdown(state, sh("2026-03-06 17:30")).text() == "剩余 03:30:00"
    # on Monday before 08:00 it resumes the same day
    assert countdown(state, sh("2026-03-09 07:00")).text() == "计时暂停至 08:00"


def test_clock_stopped_over_national_day_names_the_date(
    all_policies: dict[str, Policy], calendar: WorkCalendar, zh: None
) -> None:
    state = state_of([created("2026-09-30 17:00", "third")], RESOLUTION, all_policies, calendar)
    assert countdown(state, sh("2026-09-30 19:00")).text() == "计时暂停至 10月8日 周四 08:00"


def test_the_same_countdown_in_any_time_zone(all_policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    state = state_of([created("2026-03-06 17:00", "third")], RESOLUTION, all_policies, calendar)
    in_new_york = sh("2026-03-06 19:00").astimezone(NEW_YORK)
    assert countdown(state, in_new_york).text() == "Clock stopped until Mon 08:00"
    assert countdown(state, sh("2026-03-09 09:00").astimezone(dt.UTC)).text() == "Remaining 02:00:00"


def test_finished_and_other_states(policies: dict[str, Policy], calendar: WorkCalendar, zh: None) -> None:
    on_time = [created("2026-03-06 10:00", "cz"), E.resolved(sh("2026-03-06 10:40"))]
    assert (
        countdown(state_of(on_time, RESOLUTION, policies, calendar), sh("2026-03-06 12:00")).text()
        == "按时完成"
    )
    late = [created("2026-03-06 10:00", "cz"), E.resolved(sh("2026-03-06 11:10"))]
    assert countdown(state_of(late, RESOLUTION, policies, calendar), sh("2026-03-06 12:00")).text() == (
        "超时 00:10:00 完成"
    )
    holiday = [created("2026-10-02 10:00", "zj")]
    assert (
        countdown(state_of(holiday, RESPONSE, policies, calendar), sh("2026-10-02 12:00")).text() == "按约定"
    )
    assert (
        countdown(state_of(holiday, ON_SITE, policies, calendar), sh("2026-10-02 12:00")).text() == "未开始"
    )
    answered = [*holiday, E.responded(sh("2026-10-02 11:00"))]
    assert (
        countdown(state_of(answered, RESPONSE, policies, calendar), sh("2026-10-02 12:00")).text() == "已完成"
    )


def test_a_hand_set_deadline_counts_down(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    events = [
        created("2026-10-02 10:00", "zj"),
        E.deadline_set(sh("2026-10-02 10:30"), RESPONSE, sh("2026-10-02 14:00")),
    ]
    state = state_of(events, RESPONSE, policies, calendar)
    shown = countdown(state, sh("2026-10-02 13:55"))
    assert shown.text() == "Remaining 00:05:00"
    assert [t.label() for t in shown.crossed] == ["10 min left", "25% of the time left"]
    assert countdown(state, sh("2026-10-02 14:01")).text() == "Overdue 00:01:00"


def test_english_texts(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    state = state_of([created("2026-03-06 10:00", "cz")], RESOLUTION, policies, calendar)
    assert countdown(state, sh("2026-03-06 10:36:45")).text() == "Remaining 00:23:15"
    assert countdown(state, sh("2026-03-06 11:05:02")).text() == "Overdue 00:05:02"


def test_a_tick_needs_no_calendar(
    all_policies: dict[str, Policy], calendar: WorkCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5,000 tickets tick on precomputed numbers: any calendar lookup during a tick fails the test."""
    states = [
        state_of(
            [created(f"2026-03-0{2 + i % 5} {8 + i % 10:02d}:{i % 60:02d}", "third")],
            RESOLUTION,
            all_policies,
            calendar,
        )
        for i in range(50)
    ] * 100

    def no_calendar(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the countdown consulted the calendar")

    monkeypatch.setattr(_DayBook, "kind", no_calendar)
    monkeypatch.setattr(WorkCalendar, "_day_periods", no_calendar)
    now = sh("2026-03-06 19:00")
    shown = [countdown(state, now) for state in states]
    assert len(shown) == 5000
    # Mon 03-02 08:00 + 4 working hours = Mon 12:00
    assert shown[0].text() == "Overdue 4 d 07:00:00"
    # Fri 03-06 17:09: 51 min on Friday, 3 h 09 min left for Monday
    assert (shown[9].text(), shown[9].remaining) == ("Clock stopped until Mon 08:00", hours(3) + minutes(9))
