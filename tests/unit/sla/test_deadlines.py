"""app.sla.deadlines: due times, outcomes and explanations derived from a ticket's events."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.sla.calendar import WorkCalendar
from app.sla.deadlines import (
    DeadlineMode,
    EventHistoryError,
    Outcome,
    TargetState,
    TicketDeadlines,
    TicketPhase,
    callback_due,
    derive_deadlines,
)
from app.sla.events import EventDataError, EventKind, Handling, TicketEvent
from app.sla.policy import Policy, TargetKind
from app.sla.wall_time import NaiveDatetimeError
from tests.unit.sla.moments import NEW_YORK, hours, minutes, sh
from tests.unit.sla.test_policy import THIRD_CONTRACT

E = TicketEvent
RESPONSE, ON_SITE, RESOLUTION = TargetKind.RESPONSE, TargetKind.ON_SITE, TargetKind.RESOLUTION


@pytest.fixture(scope="module")
def all_policies(policies: dict[str, Policy]) -> dict[str, Policy]:
    return {**policies, "third": Policy.from_dict(THIRD_CONTRACT)}


def created(
    reported: str,
    policy: str,
    severity: str = "general",
    category: str | None = None,
    handling: Handling = Handling.REMOTE,
) -> TicketEvent:
    return E.created(
        sh(reported),
        reported_at=sh(reported),
        severity=severity,
        policy=policy,
        category=category,
        handling=handling,
    )


def derive(events: list[TicketEvent], policies: dict[str, Policy], calendar: WorkCalendar) -> TicketDeadlines:
    return derive_deadlines(events, policies, calendar)


def target(deadlines: TicketDeadlines, kind: TargetKind) -> TargetState:
    state = deadlines.target(kind)
    assert state is not None, f"no {kind} target"
    return state


# --- Zhanjiang: the response depends on when the report arrives ----------------------------------

ZHANJIANG_RESPONSE = [
    # reported (Shanghai), due or None for by agreement, explanation
    ("2026-03-06 10:00", "2026-03-06 11:00", "Reported Fri 03-06 10:00, inside working hours → 1 h → 11:00"),
    ("2026-03-06 08:00", "2026-03-06 09:00", "Reported Fri 03-06 08:00, inside working hours → 1 h → 09:00"),
    ("2026-03-06 07:59", "2026-03-06 10:59", "Reported Fri 03-06 07:59, outside working hours → 3 h → 10:59"),
    ("2026-03-06 17:59", "2026-03-06 18:59", "Reported Fri 03-06 17:59, inside working hours → 1 h → 18:59"),
    ("2026-03-06 18:00", "2026-03-06 21:00", "Reported Fri 03-06 18:00, outside working hours → 3 h → 21:00"),
    ("2026-03-06 19:00", "2026-03-06 22:00", "Reported Fri 03-06 19:00, outside working hours → 3 h → 22:00"),
    (
        "2026-03-06 22:30",
        "2026-03-07 01:30",
        "Reported Fri 03-06 22:30, outside working hours → 3 h → Sat 01:30",
    ),
    ("2026-03-07 10:00", "2026-03-07 13:00", "Reported Sat 03-07 10:00, outside working hours → 3 h → 13:00"),
    # adjusted working weekends of 2026 (调休上班) count as working days
    ("2026-02-14 10:00", "2026-02-14 11:00", "Reported Sat 02-14 10:00, inside working hours → 1 h → 11:00"),
    ("2026-10-10 09:00", "2026-10-10 10:00", "Reported Sat 10-10 09:00, inside working hours → 1 h → 10:00"),
    ("2026-09-20 17:30", "2026-09-20 18:30", "Reported Sun 09-20 17:30, inside working hours → 1 h → 18:30"),
    # the evening before National Day: a clock-time deadline runs into the holiday
    (
        "2026-09-30 23:00",
        "2026-10-01 02:00",
        "Reported Wed 09-30 23:00, outside working hours → 3 h → Thu 02:00",
    ),
    ("2026-02-24 08:30", "2026-02-24 09:30", "Reported Tue 02-24 08:30, inside working hours → 1 h → 09:30"),
    # statutory public holidays: by agreement
    ("2026-10-02 10:00", None, "Reported Fri 10-02 10:00, on a statutory holiday (国庆节): by agreement"),
    ("2026-10-04 10:00", None, "Reported Sun 10-04 10:00, on a statutory holiday (国庆节): by agreement"),
    ("2026-02-17 23:30", None, "Reported Tue 02-17 23:30, on a statutory holiday (春节): by agreement"),
    ("2026-09-25 10:00", None, "Reported Fri 09-25 10:00, on a statutory holiday (中秋节): by agreement"),
]


@pytest.mark.parametrize(("reported", "due", "explanation"), ZHANJIANG_RESPONSE)
def test_zhanjiang_response(
    policies: dict[str, Policy], calendar: WorkCalendar, reported: str, due: str | None, explanation: str
) -> None:
    state = target(derive([created(reported, "zj")], policies, calendar), RESPONSE)
    if due is None:
        assert (state.mode, state.due) == (DeadlineMode.BY_AGREEMENT, None)
    else:
        assert (state.mode, state.due) == (DeadlineMode.AUTOMATIC, sh(due))
    assert state.explanation() == explanation
    assert state.unconfirmed_years == ()


def test_zhanjiang_explanation_in_chinese(
    policies: dict[str, Policy], calendar: WorkCalendar, zh: None
) -> None:
    deadlines = derive([created("2026-03-06 19:00", "zj")], policies, calendar)
    assert target(deadlines, RESPONSE).explanation() == "3月6日 周五 19:00 报告，工作时间外 → 3小时 → 22:00"
    holiday = derive([created("2026-10-02 10:00", "zj")], policies, calendar)
    assert target(holiday, RESPONSE).explanation() == "10月2日 周五 10:00 报告，法定节假日（国庆节）：按约定"


def test_zhanjiang_on_site_within_8_hours_of_the_decision(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-09 09:00", "zj"), E.responded(sh("2026-03-09 09:20"))]
    waiting = target(derive(events, policies, calendar), ON_SITE)
    assert (waiting.mode, waiting.due) == (DeadlineMode.NOT_STARTED, None)
    assert waiting.explanation() == "Starts when an on-site visit is decided"

    events += [E.on_site_required(sh("2026-03-09 11:00")), E.arrived_on_site(sh("2026-03-09 18:30"))]
    state = target(derive(events, policies, calendar), ON_SITE)
    assert (state.due, state.met_at, state.outcome) == (
        sh("2026-03-09 19:00"),
        sh("2026-03-09 18:30"),
        Outcome.MET,
    )
    assert state.explanation() == "On-site visit decided Mon 03-09 11:00 → 8 h → 19:00"
    assert target(derive(events, policies, calendar), RESPONSE).outcome is Outcome.MET


def test_a_ticket_created_for_on_site_handling_starts_the_clock_at_the_report(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-09 21:00", "zj", handling=Handling.ON_SITE)]
    state = target(derive(events, policies, calendar), ON_SITE)
    assert state.due == sh("2026-03-10 05:00")


def test_on_site_on_a_holiday_still_has_8_hours(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    events = [created("2026-10-02 10:00", "zj"), E.on_site_required(sh("2026-10-02 10:30"))]
    deadlines = derive(events, policies, calendar)
    assert target(deadlines, RESPONSE).mode is DeadlineMode.BY_AGREEMENT
    assert target(deadlines, ON_SITE).due == sh("2026-10-02 18:30")


# --- Changzhou: 7x24 clock time -------------------------------------------------------------------

CHANGZHOU = [
    # reported, severity, response due, resolution due
    ("2026-03-06 10:00", "general", "2026-03-06 10:30", "2026-03-06 11:00"),
    ("2026-03-06 10:00", "major", "2026-03-06 10:30", "2026-03-06 12:00"),
    ("2026-03-07 03:00", "general", "2026-03-07 03:30", "2026-03-07 04:00"),  # Saturday night
    ("2026-02-17 23:00", "major", "2026-02-17 23:30", "2026-02-18 01:00"),  # Spring Festival
    ("2026-10-01 09:45", "general", "2026-10-01 10:15", "2026-10-01 10:45"),  # National Day
]


@pytest.mark.parametrize(("reported", "severity", "response", "resolution"), CHANGZHOU)
def test_changzhou_clock_time(
    policies: dict[str, Policy],
    calendar: WorkCalendar,
    reported: str,
    severity: str,
    response: str,
    resolution: str,
) -> None:
    deadlines = derive([created(reported, "cz", severity)], policies, calendar)
    assert [(t.kind, t.due) for t in deadlines.targets] == [
        (RESPONSE, sh(response)),
        (RESOLUTION, sh(resolution)),
    ]
    assert deadlines.rule is not None and deadlines.rule.name == (
        "重大故障" if severity == "major" else "一般故障"
    )


def test_changzhou_explanation_names_the_severity(
    policies: dict[str, Policy], calendar: WorkCalendar, zh: None
) -> None:
    deadlines = derive([created("2026-10-01 09:45", "cz", "major")], policies, calendar)
    assert deadlines.explanation() == (
        "首次响应：10月1日 周四 09:45 报告，严重程度：重大 → 30分钟 → 10:15\n"
        "解决：10月1日 周四 09:45 报告，严重程度：重大 → 2小时 → 11:45"
    )


def test_next_due_is_the_earliest_open_deadline(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    events = [created("2026-03-06 10:00", "cz")]
    assert derive(events, policies, calendar).next_due() == sh("2026-03-06 10:30")
    events.append(E.responded(sh("2026-03-06 10:10")))
    assert derive(events, policies, calendar).next_due() == sh("2026-03-06 11:00")
    events.append(E.resolved(sh("2026-03-06 10:40")))
    assert derive(events, policies, calendar).next_due() is None


def test_an_unknown_severity_has_no_deadlines(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    deadlines = derive([created("2026-03-06 10:00", "cz", "urgent")], policies, calendar)
    assert (deadlines.rule, deadlines.targets) == (None, ())
    assert deadlines.explanation() == (
        "No rule of the policy “常州市财政局运维服务” applies to this ticket, so it has no deadlines."
    )


# --- pauses ---------------------------------------------------------------------------------------


def test_a_pause_across_the_weekend_moves_a_clock_deadline(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 17:00", "cz"),
        E.responded(sh("2026-03-06 17:10")),
        E.paused(sh("2026-03-06 17:20"), "等待用户提供日志"),
        E.resumed(sh("2026-03-09 09:00")),
    ]
    deadlines = derive(events, policies, calendar)
    resolution = target(deadlines, RESOLUTION)
    assert resolution.due == sh("2026-03-09 09:40")  # 40 min were left when it was paused
    assert resolution.paused_total == hours(63) + minutes(40)
    assert resolution.explanation() == (
        "Reported Fri 03-06 17:00, severity 一般 → 1 h → 18:00; paused for 2 d 15 h 40 min in total; "
        "so it is due Mon 09:40"
    )
    # the response clock does not pause
    assert target(deadlines, RESPONSE).due == sh("2026-03-06 17:30")
    assert deadlines.phase is TicketPhase.OPEN


def test_a_pause_across_the_weekend_moves_a_business_deadline_by_working_time_only(
    all_policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-06 16:00", "third"), E.paused(sh("2026-03-06 17:00"))]
    paused = target(derive(events, all_policies, calendar), RESOLUTION)
    assert (paused.due, paused.paused_since, paused.remaining_while_paused) == (
        None,
        sh("2026-03-06 17:00"),
        hours(3),
    )
    assert paused.explanation() == (
        "Reported Fri 03-06 16:00 → 4 h of working time → Mon 10:00; paused since 17:00 with 3 h left"
    )
    assert derive(events, all_policies, calendar).phase is TicketPhase.PAUSED

    events.append(E.resumed(sh("2026-03-09 09:00")))
    resumed = target(derive(events, all_policies, calendar), RESOLUTION)
    # 16-17 Fri ran (1 h); the pause swallowed 17-18 Fri and 08-09 Mon; 3 h from Mon 09:00
    assert resumed.due == sh("2026-03-09 12:00")
    assert resumed.paused_since is None


def test_a_pause_after_the_deadline_passed_changes_nothing(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "cz"),
        E.paused(sh("2026-03-06 11:30")),
        E.resumed(sh("2026-03-06 15:00")),
        E.resolved(sh("2026-03-06 15:10")),
    ]
    resolution = target(derive(events, policies, calendar), RESOLUTION)
    assert (resolution.due, resolution.outcome, resolution.late_by) == (
        sh("2026-03-06 11:00"),
        Outcome.BREACHED,
        hours(4) + minutes(10),
    )
    assert resolution.paused_total == dt.timedelta()


# --- changes mid-ticket ---------------------------------------------------------------------------


def test_raising_the_severity_recomputes_and_keeps_the_paused_time(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "cz", "general"),
        E.responded(sh("2026-03-06 10:10")),
        E.paused(sh("2026-03-06 10:20")),
        E.resumed(sh("2026-03-06 10:50")),
        E.severity_changed(sh("2026-03-06 10:55"), "major"),
    ]
    deadlines = derive(events, policies, calendar)
    resolution = target(deadlines, RESOLUTION)
    assert resolution.due == sh("2026-03-06 12:30")  # 2 h + the 30 min paused under "general"
    assert resolution.paused_total == minutes(30)
    assert resolution.explanation() == (
        "Reported Fri 03-06 10:00, severity 重大 → 2 h → 12:00; paused for 30 min in total; "
        "so it is due 12:30; recomputed after the severity changed to 重大 at 10:55"
    )
    response = target(deadlines, RESPONSE)
    assert (response.outcome, response.due) == (Outcome.MET, sh("2026-03-06 10:30"))
    assert deadlines.severity == "major"


def test_a_breach_stands_when_the_severity_is_raised_afterwards(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "cz", "general"),
        E.responded(sh("2026-03-06 10:05")),
        E.severity_changed(sh("2026-03-06 11:10"), "major"),
        E.resolved(sh("2026-03-06 11:40")),
    ]
    resolution = target(derive(events, policies, calendar), RESOLUTION)
    assert (resolution.due, resolution.outcome, resolution.late_by) == (
        sh("2026-03-06 11:00"),
        Outcome.BREACHED,
        minutes(40),
    )
    assert resolution.explanation() == (
        "Reported Fri 03-06 10:00, severity 一般 → 1 h → 11:00; "
        "the change at 11:10 came after this deadline had passed, so the breach stands"
    )


def test_changing_the_policy_recomputes_from_the_report(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-06 19:00", "zj"), E.policy_changed(sh("2026-03-06 19:10"), "cz")]
    deadlines = derive(events, policies, calendar)
    assert deadlines.policy_id == "cz"
    assert [(t.kind, t.due) for t in deadlines.targets] == [
        (RESPONSE, sh("2026-03-06 19:30")),
        (RESOLUTION, sh("2026-03-06 20:00")),
    ]
    assert target(deadlines, RESPONSE).explanation() == (
        "Reported Fri 03-06 19:00, severity 一般 → 30 min → 19:30; "
        "recomputed after the policy changed to “常州市财政局运维服务” at 19:10"
    )


def test_changing_the_category_picks_another_rule(
    all_policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-06 10:00", "third", category="咨询")]
    assert target(derive(events, all_policies, calendar), RESPONSE).due == sh("2026-03-06 14:00")
    events.append(E.category_changed(sh("2026-03-06 10:30"), "故障报修"))
    deadlines = derive(events, all_policies, calendar)
    assert target(deadlines, RESPONSE).due == sh("2026-03-06 12:00")
    assert target(deadlines, RESOLUTION).due == sh("2026-03-06 14:00")


# --- resolve and reopen ---------------------------------------------------------------------------


def test_reopening_resumes_the_resolution_clock_where_it_stopped(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "cz"),
        E.responded(sh("2026-03-06 10:05")),
        E.resolved(sh("2026-03-06 10:40")),
        E.closed(sh("2026-03-06 10:45")),
    ]
    closed = derive(events, policies, calendar)
    assert closed.phase is TicketPhase.CLOSED
    assert target(closed, RESOLUTION).outcome is Outcome.MET

    events.append(E.reopened(sh("2026-03-06 14:00")))
    reopened = derive(events, policies, calendar)
    resolution = target(reopened, RESOLUTION)
    assert reopened.phase is TicketPhase.OPEN
    assert (resolution.due, resolution.met_at, resolution.outcome) == (sh("2026-03-06 14:20"), None, None)
    assert resolution.explanation() == (
        "Reported Fri 03-06 10:00, severity 一般 → 1 h → 11:00; "
        "resolved 10:40 and reopened 14:00: the time in between does not count; so it is due 14:20"
    )
    assert target(reopened, RESPONSE).outcome is Outcome.MET  # kept

    late = derive([*events, E.resolved(sh("2026-03-06 14:30"))], policies, calendar)
    assert (target(late, RESOLUTION).outcome, target(late, RESOLUTION).late_by) == (
        Outcome.BREACHED,
        minutes(10),
    )


def test_closing_without_resolving_counts_as_the_resolution(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [created("2026-03-06 10:00", "cz"), E.closed(sh("2026-03-06 10:50"))]
    deadlines = derive(events, policies, calendar)
    assert [(t.kind, t.met_at, t.outcome) for t in deadlines.targets] == [
        (RESPONSE, sh("2026-03-06 10:50"), Outcome.BREACHED),  # nobody responded before
        (RESOLUTION, sh("2026-03-06 10:50"), Outcome.MET),
    ]


# --- by agreement ---------------------------------------------------------------------------------


def test_a_deadline_set_by_hand_for_a_by_agreement_target(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-10-02 10:00", "zj"),
        E.deadline_set(sh("2026-10-02 10:30"), RESPONSE, sh("2026-10-02 15:00")),
        E.deadline_set(sh("2026-10-02 10:40"), RESPONSE, sh("2026-10-02 14:00")),  # the latest wins
    ]
    state = target(derive(events, policies, calendar), RESPONSE)
    assert (state.mode, state.due, state.budget) == (DeadlineMode.MANUAL, sh("2026-10-02 14:00"), hours(4))
    assert state.explanation() == (
        "Reported Fri 10-02 10:00, on a statutory holiday (国庆节): by agreement; "
        "deadline set by hand to 14:00"
    )
    answered = target(derive([*events, E.responded(sh("2026-10-02 13:50"))], policies, calendar), RESPONSE)
    assert answered.outcome is Outcome.MET

    cleared = derive([*events, E.deadline_set(sh("2026-10-02 11:00"), RESPONSE, None)], policies, calendar)
    assert target(cleared, RESPONSE).mode is DeadlineMode.BY_AGREEMENT


def test_a_hand_deadline_does_not_replace_an_automatic_one(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "zj"),
        E.deadline_set(sh("2026-03-06 10:05"), RESPONSE, sh("2026-03-06 16:00")),
    ]
    assert target(derive(events, policies, calendar), RESPONSE).due == sh("2026-03-06 11:00")


# --- business time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "response", "resolution", "explanation"),
    [
        (
            "2026-03-06 16:00",
            "2026-03-06 18:00",
            "2026-03-09 10:00",
            "Reported Fri 03-06 16:00 → 4 h of working time → Mon 10:00",
        ),
        (
            "2026-09-30 16:00",
            "2026-09-30 18:00",
            "2026-10-08 10:00",
            "Reported Wed 09-30 16:00 → 4 h of working time → Thu 10-08 10:00",
        ),
        (
            "2026-02-13 17:00",
            "2026-02-14 09:00",
            "2026-02-14 11:00",
            "Reported Fri 02-13 17:00 → 4 h of working time → Sat 11:00",
        ),
        (
            "2026-10-03 12:00",
            "2026-10-08 10:00",
            "2026-10-08 12:00",
            "Reported Sat 10-03 12:00 → 4 h of working time → Thu 12:00",
        ),
    ],
)
def test_business_time_across_weekends_and_holidays(
    all_policies: dict[str, Policy],
    calendar: WorkCalendar,
    reported: str,
    response: str,
    resolution: str,
    explanation: str,
) -> None:
    deadlines = derive([created(reported, "third")], all_policies, calendar)
    assert target(deadlines, RESPONSE).due == sh(response)
    assert target(deadlines, RESOLUTION).due == sh(resolution)
    assert target(deadlines, RESOLUTION).explanation() == explanation


# --- time zones and calendar years ----------------------------------------------------------------


def test_a_desktop_in_another_time_zone_gets_the_same_deadlines(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    def history(zone: dt.tzinfo) -> list[TicketEvent]:
        def at(text: str) -> dt.datetime:
            return sh(text).astimezone(zone)

        return [
            E.created(
                at("2026-03-06 19:00"), reported_at=at("2026-03-06 19:00"), severity="general", policy="zj"
            ),
            E.on_site_required(at("2026-03-06 20:00")),
        ]

    results = [derive(history(zone), policies, calendar) for zone in (dt.UTC, NEW_YORK)]
    for deadlines in results:
        response = target(deadlines, RESPONSE)
        assert response.due is not None
        assert response.due == sh("2026-03-06 22:00")
        assert f"{response.due:%H:%M %z}" == "22:00 +0800"
        assert response.explanation() == "Reported Fri 03-06 19:00, outside working hours → 3 h → 22:00"
        assert target(deadlines, ON_SITE).due == sh("2026-03-07 04:00")


def test_an_unconfirmed_year_is_reported_with_the_deadline(
    all_policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    zhanjiang = derive([created("2027-10-01 10:00", "zj")], all_policies, calendar)
    assert zhanjiang.unconfirmed_years == (2027,)
    assert target(zhanjiang, RESPONSE).explanation() == (
        "Reported Fri 10-01 10:00, on a statutory holiday (国庆节): by agreement; "
        "the holiday arrangements for 2027 are not confirmed yet"
    )
    # clock time, no report-time windows: the calendar is not consulted
    assert derive([created("2027-10-01 10:00", "cz")], all_policies, calendar).unconfirmed_years == ()
    # business time running into 2027
    across = derive([created("2026-12-31 16:00", "third")], all_policies, calendar)
    assert target(across, RESPONSE).unconfirmed_years == ()
    assert target(across, RESOLUTION).unconfirmed_years == (2027,)
    assert target(across, RESOLUTION).due == sh("2027-01-04 10:00")


def test_a_confirmed_year_has_no_warning(all_policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    confirmed = calendar.with_notice(2027, [])
    assert derive([created("2027-10-01 10:00", "zj")], all_policies, confirmed).unconfirmed_years == ()


# --- call-backs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "missed", "due"),
    [
        ("2026-03-07 10:00", True, "2026-03-07 10:30"),  # Saturday
        ("2026-10-03 23:50", True, "2026-10-04 00:20"),  # National Day
        ("2026-03-07 10:00", False, None),  # answered live
        ("2026-02-14 10:00", True, None),  # adjusted working Saturday: a working day
        ("2026-03-06 20:00", True, None),  # a working day, after hours
    ],
)
def test_changzhou_call_back(
    policies: dict[str, Policy], calendar: WorkCalendar, call: str, missed: bool, due: str | None
) -> None:
    result = callback_due(policies["cz"], calendar, sh(call), missed_or_after_hours=missed)
    assert result == (sh(due) if due else None)


def test_call_back_rules_from_other_policies(all_policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    assert (
        callback_due(all_policies["zj"], calendar, sh("2026-03-07 10:00"), missed_or_after_hours=True) is None
    )
    # the third contract: after hours, within one working hour
    missed_friday_night = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)  # 20:00 in Shanghai
    assert callback_due(
        all_policies["third"], calendar, missed_friday_night, missed_or_after_hours=True
    ) == sh("2026-03-09 09:00")


# --- malformed histories --------------------------------------------------------------------------


def test_histories_that_cannot_describe_a_ticket(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    with pytest.raises(EventHistoryError, match="must start with its 'created' event"):
        derive([E.responded(sh("2026-03-06 10:00"))], policies, calendar)
    with pytest.raises(EventHistoryError, match="unknown policy 'gone'"):
        derive([created("2026-03-06 10:00", "gone")], policies, calendar)
    with pytest.raises(EventDataError, match="'reported_at' must be an ISO datetime"):
        derive(
            [E(sh("2026-03-06 10:00"), EventKind.CREATED, {"severity": "general", "policy": "cz"})],
            policies,
            calendar,
        )
    with pytest.raises(NaiveDatetimeError):
        E.responded(dt.datetime(2026, 3, 6, 10, 0))


def test_events_read_back_from_storage_give_the_same_result(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    events = [
        created("2026-03-06 10:00", "cz"),
        E.paused(sh("2026-03-06 10:20"), "等待第三方"),
        E.resumed(sh("2026-03-06 10:50")),
        E.deadline_set(sh("2026-03-06 10:55"), RESOLUTION, None),
    ]
    # what a storage layer keeps: the kind as text, the data as JSON, the time as ISO text
    rows = [(e.at.isoformat(), e.kind.value, json.dumps(dict(e.data), ensure_ascii=False)) for e in events]
    restored = [E(dt.datetime.fromisoformat(at), kind, json.loads(data)) for at, kind, data in rows]  # type: ignore[arg-type]
    assert restored == events
    assert target(derive(restored, policies, calendar), RESOLUTION).due == sh("2026-03-06 11:30")


def test_unknown_kinds_and_targets_are_data_errors(
    policies: dict[str, Policy], calendar: WorkCalendar
) -> None:
    with pytest.raises(EventDataError, match="unknown event kind 'escalated'"):
        E(sh("2026-03-06 10:00"), "escalated")  # type: ignore[arg-type]
    bad_target = E(sh("2026-03-06 10:05"), EventKind.DEADLINE_SET, {"target": "callback", "due": None})
    with pytest.raises(EventDataError, match="unknown target 'callback'"):
        derive([created("2026-03-06 10:00", "cz"), bad_target], policies, calendar)


def test_stray_events_are_ignored(policies: dict[str, Policy], calendar: WorkCalendar) -> None:
    events = [
        created("2026-03-06 10:00", "cz"),
        E.resumed(sh("2026-03-06 10:10")),  # never paused
        E.status_changed(sh("2026-03-06 10:12"), "处理中"),
        E.reopened(sh("2026-03-06 10:15")),  # never resolved
        E.paused(sh("2026-03-06 10:20")),
        E.resumed(sh("2026-03-06 10:19")),  # a skewed clock: counts as no pause
    ]
    resolution = target(derive(events, policies, calendar), RESOLUTION)
    assert (resolution.due, resolution.paused_total) == (sh("2026-03-06 11:00"), dt.timedelta())
