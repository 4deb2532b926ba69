"""What a ticket list shows for a target at one moment: "剩余 00:23:15", "已超时 00:05:02" ...

``countdown(state, now)`` only does arithmetic on the ``TargetState`` that ``derive_deadlines``
precomputed (its running periods and their sums): no calendar lookups, no event replay, so a list can
refresh thousands of tickets every second. ``now`` comes from the caller's clock.

=================  ===============================  ==============================================
kind               text (en / zh_CN)                when
=================  ===============================  ==============================================
``REMAINING``      Remaining 00:23:15 / 剩余         running, due later (business targets: working
                                                    time left)
``CLOCK_STOPPED``  Clock stopped until Mon 08:00 /  business-time target outside working time
                   计时暂停至 周一 08:00
``OVERDUE``        Overdue 00:05:02 / 已超时         open after the due time (wall time since due)
``PAUSED``         Paused / 挂起中                   paused (挂起) before the due time; time left frozen
``MET``            Met in time / 按时完成
``MET_LATE``       Met 00:05:02 late / 超时…完成
``DONE``           Done / 已完成                     met, without a deadline (by agreement)
``BY_AGREEMENT``   By agreement / 按约定              no deadline and none set by hand
``NOT_STARTED``    Not started / 未开始               waits for the on-site decision
=================  ===============================  ==============================================

``crossed`` lists the policy's warning thresholds the time left has reached (all of them once
overdue), so the UI can notify once per threshold key and ticket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from app.i18n import _
from app.sla.deadlines import DeadlineMode, TargetState
from app.sla.formatting import format_hms, format_moment
from app.sla.policy import Threshold

_ZERO = dt.timedelta()


class CountdownKind(StrEnum):
    REMAINING = "remaining"
    CLOCK_STOPPED = "clock_stopped"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MET_LATE = "met_late"
    DONE = "done"
    BY_AGREEMENT = "by_agreement"
    NOT_STARTED = "not_started"


@dataclass(frozen=True, slots=True)
class Countdown:
    kind: CountdownKind
    now: dt.datetime
    remaining: dt.timedelta | None = None  # REMAINING, CLOCK_STOPPED, PAUSED: counted time left
    overdue: dt.timedelta | None = None  # OVERDUE: since the due time; MET_LATE: how late
    resumes_at: dt.datetime | None = None  # CLOCK_STOPPED: when the clock runs again
    crossed: tuple[Threshold, ...] = ()

    def text(self) -> str:
        """The cell text, in the current language."""
        if self.kind is CountdownKind.REMAINING:
            return _("Remaining {time}").format(time=format_hms(self.remaining or _ZERO))
        if self.kind is CountdownKind.CLOCK_STOPPED:
            assert self.resumes_at is not None
            return _("Clock stopped until {moment}").format(moment=format_moment(self.resumes_at, self.now))
        if self.kind is CountdownKind.OVERDUE:
            return _("Overdue {time}").format(time=format_hms(self.overdue or _ZERO))
        if self.kind is CountdownKind.PAUSED:
            return _("Paused")
        if self.kind is CountdownKind.MET:
            return _("Met in time")
        if self.kind is CountdownKind.MET_LATE:
            return _("Met {time} late").format(time=format_hms(self.overdue or _ZERO))
        if self.kind is CountdownKind.DONE:
            return _("Done")
        if self.kind is CountdownKind.BY_AGREEMENT:
            return _("By agreement")
        return _("Not started")


def _crossed(state: TargetState, remaining: dt.timedelta) -> tuple[Threshold, ...]:
    return tuple(t for t in state.thresholds if remaining <= t.amount(state.budget))


def countdown(state: TargetState, now: dt.datetime) -> Countdown:
    """What to show for ``state`` at ``now`` (an aware datetime)."""
    if state.met_at is not None:
        if state.due is None:
            return Countdown(CountdownKind.DONE, now)
        if state.met_at <= state.due:
            return Countdown(CountdownKind.MET, now)
        return Countdown(CountdownKind.MET_LATE, now, overdue=state.met_at - state.due)
    if state.mode is DeadlineMode.NOT_STARTED:
        return Countdown(CountdownKind.NOT_STARTED, now)
    if state.mode is DeadlineMode.BY_AGREEMENT:
        return Countdown(CountdownKind.BY_AGREEMENT, now)
    if state.due is None:
        left = state.remaining_while_paused or _ZERO
        return Countdown(CountdownKind.PAUSED, now, remaining=left, crossed=_crossed(state, left))
    if now >= state.due:
        return Countdown(CountdownKind.OVERDUE, now, overdue=now - state.due, crossed=state.thresholds)
    left, stopped_until = state.remaining_at(now)
    if stopped_until is not None:
        return Countdown(
            CountdownKind.CLOCK_STOPPED,
            now,
            remaining=left,
            resumes_at=stopped_until,
            crossed=_crossed(state, left),
        )
    return Countdown(CountdownKind.REMAINING, now, remaining=left, crossed=_crossed(state, left))
