"""Live countdowns driven at a fake clock: what the engineer reads and when a warning is raised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from app import i18n
from app.sla.calendar import WorkCalendar
from app.sla.contracts import changzhou_policy, zhanjiang_policy
from app.sla.deadlines import TicketDeadlines, derive_deadlines
from app.sla.events import TicketEvent
from app.sla.policy import TargetKind
from app.sla.wall_time import SHANGHAI
from ui.tickets.countdown import (
    OVERDUE_RED,
    QUIET_GREY,
    RUNNING_GREEN,
    WARNING_ORANGE,
    Alert,
    AlertTracker,
    CountdownLabel,
    MemoryAlertStore,
    Ticker,
    alert_key,
)

POLICIES = {"cz": changzhou_policy(), "zj": zhanjiang_policy()}
CALENDAR = WorkCalendar()


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def ticket(*events: TicketEvent) -> TicketDeadlines:
    return derive_deadlines(list(events), POLICIES, CALENDAR)


def created(moment: dt.datetime, policy: str = "cz", severity: str = "general") -> TicketEvent:
    return TicketEvent.created(moment, reported_at=moment, severity=severity, policy=policy)


def label_for(qtbot: Any, ticker: Ticker, state: Any) -> CountdownLabel:
    label = CountdownLabel(ticker)
    qtbot.addWidget(label)
    label.set_state(state)
    return label


def colour(label: CountdownLabel) -> str:
    return label.styleSheet().split("color: ")[1].split(";")[0]


def test_a_countdown_ticks_down_turns_orange_then_red(qtbot: Any) -> None:
    clock = FakeClock(at(2, 10, 0))  # a Wednesday
    ticker = Ticker(clock)
    deadlines = ticket(created(at(2, 10, 0)))  # Changzhou general fault: respond in 30 min
    label = label_for(qtbot, ticker, deadlines.target(TargetKind.RESPONSE))
    assert label.text() == "剩余 00:30:00" and colour(label) == RUNNING_GREEN.name()

    clock.advance(minutes=6, seconds=45)
    ticker.fire()
    assert label.text() == "剩余 00:23:15" and colour(label) == RUNNING_GREEN.name()

    clock.advance(minutes=15)  # 8:15 left: past the "10 min left" warning, not yet "25 % left" (7:30)
    ticker.fire()
    assert label.text() == "剩余 00:08:15" and colour(label) == WARNING_ORANGE.name()

    clock.advance(minutes=13, seconds=17)
    ticker.fire()
    assert label.text() == "已超时 00:05:02" and colour(label) == OVERDUE_RED.name()
    assert "30分钟" in label.toolTip()  # the explanation of the deadline


def test_paused_and_by_agreement_say_so(qtbot: Any) -> None:
    clock = FakeClock(at(2, 10, 0))
    ticker = Ticker(clock)
    paused = ticket(
        created(at(2, 9, 50)), TicketEvent.responded(at(2, 9, 55)), TicketEvent.paused(at(2, 9, 58))
    )
    label = label_for(qtbot, ticker, paused.target(TargetKind.RESOLUTION))
    assert label.text() == "挂起中" and colour(label) == QUIET_GREY.name()
    clock.advance(hours=3)
    ticker.fire()
    assert label.text() == "挂起中"  # frozen: time does not run while waiting for the user

    holiday = ticket(created(dt.datetime(2026, 10, 2, 9, 0, tzinfo=SHANGHAI), policy="zj"))  # National Day
    label = label_for(qtbot, ticker, holiday.target(TargetKind.RESPONSE))
    assert label.text() == "按约定"


def test_each_warning_is_raised_once_and_the_breach_once_more(qtbot: Any) -> None:
    clock = FakeClock(at(2, 10, 0))
    ticker = Ticker(clock)
    store = MemoryAlertStore()
    tracker = AlertTracker(ticker, store)
    raised: list[Alert] = []
    tracker.alert.connect(raised.append)
    deadlines = ticket(created(at(2, 10, 0)))
    tracker.track("t1", "GD-2026-010001 电子票据无法开具", deadlines.targets)

    for _second in range(60 * 40):  # forty minutes, tick by tick
        ticker.fire()
        clock.advance(seconds=1)

    response = [a for a in raised if a.target is TargetKind.RESPONSE]
    said = [alert_key(a.target, a.threshold) for a in response]
    assert said == ["response:minutes:10", "response:percent:25", "response:breach"]
    assert raised[0].shown.text() == "剩余 00:10:00"  # raised the second the threshold was reached
    assert store.raised("t1") >= set(said)


def test_warnings_already_raised_before_a_restart_are_not_raised_again(qtbot: Any) -> None:
    clock = FakeClock(at(2, 10, 40))  # reopened 10 minutes after the response deadline passed
    ticker = Ticker(clock)
    store = MemoryAlertStore()
    for key in ("response:minutes:10", "response:percent:25"):
        store.remember("t1", key)
    tracker = AlertTracker(ticker, store)
    raised: list[Alert] = []
    tracker.alert.connect(raised.append)
    tracker.track("t1", "GD-2026-010001", ticket(created(at(2, 10, 0))).targets)
    ticker.fire()
    ticker.fire()
    response = [a for a in raised if a.target is TargetKind.RESPONSE]
    assert [a.threshold for a in response] == [None]  # only the breach was new, and only once


def test_a_tick_over_thousands_of_quiet_tickets_looks_at_none_of_them(qtbot: Any, monkeypatch: Any) -> None:
    clock = FakeClock(at(2, 10, 0))
    ticker = Ticker(clock)
    tracker = AlertTracker(ticker, MemoryAlertStore())
    states = ticket(created(at(2, 9, 59), severity="major")).targets
    for n in range(3000):
        tracker.track(f"t{n}", str(n), states)
    ticker.fire()  # the first look at each

    import ui.tickets.countdown as module

    looked: list[int] = []
    real = module.countdown
    monkeypatch.setattr(module, "countdown", lambda *args: looked.append(1) or real(*args))
    clock.advance(seconds=1)
    ticker.fire()
    assert looked == []  # no warning can come this second: nothing is recomputed
