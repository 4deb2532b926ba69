"""Live countdowns: one ticker for the whole window, the colour of each state, and warnings once.

``Ticker`` is the only timer: it fires on each whole second with "now" from the injected clock
(Asia/Shanghai time, whatever the machine's zone), and every countdown on screen — the ticket list,
the "due soon" panel, an open ticket — redraws from it. A tick is arithmetic only
(``app.sla.countdown.countdown`` on a precomputed ``TargetState``).

``AlertTracker`` raises each warning threshold of each open target once (25 % left, 10 min left …
as the policy sets them, and the breach itself), however often it ticks and across restarts: what was
raised is kept by the caller's ``AlertStore``. It does not look at every ticket every second: each
target has the earliest moment its next warning can come (time left can shrink no faster than the
wall clock), kept in a heap, so a tick looks only at targets whose moment has come.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QLabel, QWidget

from app.i18n import _
from app.sla.countdown import Countdown, CountdownKind, countdown
from app.sla.deadlines import TargetState
from app.sla.formatting import format_hms
from app.sla.policy import TargetKind, Threshold
from app.sla.wall_time import SHANGHAI

Clock = Callable[[], dt.datetime]

BREACH = "breach"  # the alert key of a passed deadline, beside the thresholds' keys


def system_clock() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


# --- colours ----------------------------------------------------------------------------------------

OVERDUE_RED = QColor("#c62828")
WARNING_ORANGE = QColor("#e65100")
RUNNING_GREEN = QColor("#2e7d32")
QUIET_GREY = QColor("#607d8b")
AGREEMENT_PURPLE = QColor("#6a1b9a")


def widest_countdown(metrics: QFontMetrics) -> int:
    """The width of the longest countdown text a column should show whole ("已超时 99天 23:59:59")."""
    longest = dt.timedelta(days=99, hours=23, minutes=59, seconds=59)
    texts = (_("Overdue {time}"), _("Remaining {time}"), _("Met {time} late"))
    return max(metrics.horizontalAdvance(text.format(time=format_hms(longest))) for text in texts)


def colour_of(state: Countdown) -> QColor:
    """Red when overdue (or met late), orange once a warning threshold is crossed, green while there
    is time, grey while the clock is paused or stopped, purple when the deadline is by agreement."""
    kind = state.kind
    if kind in (CountdownKind.OVERDUE, CountdownKind.MET_LATE):
        return OVERDUE_RED
    if kind in (CountdownKind.REMAINING, CountdownKind.CLOCK_STOPPED) and state.crossed:
        return WARNING_ORANGE
    if kind in (CountdownKind.REMAINING, CountdownKind.MET):
        return RUNNING_GREEN
    if kind is CountdownKind.BY_AGREEMENT:
        return AGREEMENT_PURPLE
    return QUIET_GREY


# --- the ticker -------------------------------------------------------------------------------------


class Ticker(QObject):
    """Fires ``tick(now)`` once a second, on the second."""

    tick = Signal(object)  # an aware datetime

    def __init__(self, clock: Clock = system_clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    def now(self) -> dt.datetime:
        return self.clock()

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        self._timer.stop()

    def _schedule(self) -> None:
        now = self.clock()
        self._timer.start(max(1000 - now.microsecond // 1000, 20))  # the next whole second

    def _fire(self) -> None:
        self.fire()
        self._schedule()

    def fire(self) -> None:
        """Tick now (the timer does it each second; tests and a change of data call it directly)."""
        self.tick.emit(self.clock())


class CountdownLabel(QLabel):
    """One target's countdown, redrawn at every tick."""

    def __init__(self, ticker: Ticker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ticker = ticker
        self._state: TargetState | None = None
        ticker.tick.connect(self._redraw)

    def set_state(self, state: TargetState | None) -> None:
        self._state = state
        self.setToolTip(state.explanation() if state is not None else "")
        self._redraw(self._ticker.now())

    def _redraw(self, now: dt.datetime) -> None:
        if self._state is None:
            self.setText("")
            return
        shown = countdown(self._state, now)
        self.setText(shown.text())
        self.setStyleSheet(f"QLabel {{ color: {colour_of(shown).name()}; }}")


# --- warnings once ----------------------------------------------------------------------------------


class AlertStore(Protocol):
    """Which warnings were already raised (kept across restarts by the caller, e.g. a local table)."""

    def raised(self, ticket_id: str) -> set[str]: ...

    def remember(self, ticket_id: str, key: str) -> None: ...


class MemoryAlertStore:
    def __init__(self) -> None:
        self._raised: dict[str, set[str]] = {}

    def raised(self, ticket_id: str) -> set[str]:
        return set(self._raised.get(ticket_id, set()))

    def remember(self, ticket_id: str, key: str) -> None:
        self._raised.setdefault(ticket_id, set()).add(key)


def alert_key(target: TargetKind, threshold: Threshold | None) -> str:
    return f"{target.value}:{threshold.key if threshold is not None else BREACH}"


@dataclass(frozen=True, slots=True)
class Alert:
    ticket_id: str
    label: str  # the ticket as people name it (number and title)
    target: TargetKind
    threshold: Threshold | None  # None: the deadline has passed
    shown: Countdown


_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


class AlertTracker(QObject):
    """Raises ``alert`` once per ticket, target and threshold (and once at the breach)."""

    alert = Signal(object)  # Alert

    def __init__(self, ticker: Ticker, store: AlertStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._ticker = ticker
        self._tracked: dict[str, tuple[str, tuple[TargetState, ...], int]] = {}  # id -> label, states, gen
        self._heap: list[tuple[dt.datetime, int, str, int]] = []  # (check at, tie, ticket id, generation)
        self._tie = itertools.count()
        self._generation = itertools.count()
        ticker.tick.connect(self.check)

    def track(self, ticket_id: str, label: str, states: Iterable[TargetState]) -> None:
        """Watch a ticket's open targets (again, after its events changed)."""
        generation = next(self._generation)
        self._tracked[ticket_id] = (label, tuple(states), generation)
        heapq.heappush(self._heap, (self._ticker.now(), next(self._tie), ticket_id, generation))

    def tracked(self) -> list[str]:
        return list(self._tracked)

    def untrack(self, ticket_id: str) -> None:
        self._tracked.pop(ticket_id, None)  # its heap entries are dropped when they come up

    def check(self, now: dt.datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            _at, _tie, ticket_id, generation = heapq.heappop(self._heap)
            tracked = self._tracked.get(ticket_id)
            if tracked is None or tracked[2] != generation:
                continue  # untracked, or tracked again since with other states
            label, states, _gen = tracked
            next_at = self._check_ticket(ticket_id, label, states, now)
            if next_at is not _NEVER:
                heapq.heappush(self._heap, (next_at, next(self._tie), ticket_id, generation))

    def _check_ticket(
        self, ticket_id: str, label: str, states: tuple[TargetState, ...], now: dt.datetime
    ) -> dt.datetime:
        raised = self._store.raised(ticket_id)
        next_at = _NEVER
        for state in states:
            shown = countdown(state, now)
            due_now: list[Threshold | None] = [*shown.crossed]
            if shown.kind is CountdownKind.OVERDUE:
                due_now.append(None)  # the breach
            new = [t for t in due_now if alert_key(state.kind, t) not in raised]
            if new:
                # several at once (the app was closed meanwhile): say the most urgent, remember all
                for threshold in new:
                    self._store.remember(ticket_id, alert_key(state.kind, threshold))
                urgent = (
                    None if None in new else min((t for t in new if t), key=lambda t: t.amount(state.budget))
                )
                self.alert.emit(Alert(ticket_id, label, state.kind, urgent, shown))
            next_at = min(next_at, _next_check(state, shown, now))
        return next_at


def _next_check(state: TargetState, shown: Countdown, now: dt.datetime) -> dt.datetime:
    """The earliest moment this target can cross its next warning: time left shrinks at most as fast
    as the wall clock (slower outside working hours), so nothing can happen before then."""
    if shown.kind in (CountdownKind.REMAINING, CountdownKind.CLOCK_STOPPED) and shown.remaining is not None:
        ahead = [
            shown.remaining - t.amount(state.budget)
            for t in state.thresholds
            if shown.remaining > t.amount(state.budget)
        ]
        return now + max(min([*ahead, shown.remaining]), dt.timedelta(seconds=1))
    return _NEVER  # overdue (all raised), met, paused (frozen), by agreement: only a change can alter it
