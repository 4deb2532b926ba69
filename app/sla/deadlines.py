"""Deadlines derived from a ticket's events: the same history gives the same result on every desktop.

``derive_deadlines(events, policies, calendar)`` replays the events (already in sync order, see
``app.sla.events``) and returns a ``TicketDeadlines`` with one ``TargetState`` per target of the
matching rule: its due time (or by agreement / not started), when it was met, the outcome kept for
reports, the paused time, whether it is paused now, the calendar years it relied on that are not
confirmed, and an explanation in words ("Reported Fri 03-06 19:00, outside working hours → 3 h →
22:00"). Derive again whenever a ticket's events change; between changes ``app.sla.countdown`` turns
a state and "now" into what to show, with arithmetic only.

How the history is read
    - **Rule**: the policy's first rule matching the ticket's severity, category and report time.
    - **Response** is met by the first "responded", "arrived on site", "resolved" or "closed" event.
    - **On site**: the clock starts at the first "on-site required" event (or at the report time for a
      ticket created with handling "on_site"); met by the first arrival. An arrival without a decision
      counts as both. Resolving the ticket before anyone arrived also ends it (the visit is moot):
      met if that was in time, breached if not.
    - **Resolution** is met by "resolved" (or "closed" without "resolved" before).
    - **Pause** (挂起) stops every ``pausable`` target (in the shipped contracts: resolution). Paused
      time moves the deadline, measured in the target's own counting: for a business-time target only
      the working time inside the pause. A pause that begins after the deadline has passed moves
      nothing — the breach had already happened. "paused_total" is the paused wall time that moved the
      deadline; a pause still running is ``paused_since`` with the time left frozen.
    - **Severity, category or policy change** re-runs the whole history under the new rule, so time
      already paused is kept. A target already met before the change keeps its result, and so does a
      target whose deadline had already passed at the change: a breach cannot be undone by raising the
      severity afterwards (in Changzhou a major fault has *more* time to resolve than a general one).
    - **Reopen**: the resolution clock resumes where it stopped. The time between "resolved"/"closed"
      and "reopened" does not count, as if paused; the rest of the original budget is left (a fault
      resolved with 5 minutes to spare and reopened the next day has 5 minutes left). Met targets
      other than resolution keep their result. This measures "resolved within 1 h" honestly: a fix
      that did not hold was not a resolution.
    - **By agreement** (按约定): no automatic deadline. A "deadline set" event gives one by hand (the
      latest one wins; due null clears it); it is an absolute moment that pauses do not move. A hand
      deadline for a target that has an automatic one is ignored.
    - Clock skew: times are taken as given; a resume earlier than its pause counts as zero pause.

Overdue amounts and "met late by" are wall time after the due moment, also for business-time targets.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.i18n import N_, _
from app.sla.calendar import Period, WorkCalendar
from app.sla.events import EventDataError, EventKind, Handling, TicketEvent
from app.sla.formatting import Moment, Phrase, join_phrases
from app.sla.policy import Anchor, Counting, Policy, Rule, Target, TargetKind, Threshold, TimeWindow
from app.sla.wall_time import to_shanghai

log = logging.getLogger("hotline.sla")

_ZERO = dt.timedelta()


class DeadlineMode(StrEnum):
    AUTOMATIC = "automatic"
    BY_AGREEMENT = "by_agreement"  # no deadline (yet)
    MANUAL = "manual"  # by agreement, deadline set by hand
    NOT_STARTED = "not_started"  # anchored on an on-site decision that has not been made


class Outcome(StrEnum):
    MET = "met"
    BREACHED = "breached"


class TicketPhase(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"


class EventHistoryError(ValueError):
    """Events that cannot describe a ticket (no "created" event, unknown policy)."""


@dataclass(frozen=True, slots=True)
class TargetState:
    """One target of one ticket, derived once per change of its events (see the module docstring)."""

    kind: TargetKind
    mode: DeadlineMode
    counting: Counting
    start: dt.datetime | None  # the anchor moment
    budget: dt.timedelta  # the target's time (for a hand deadline: from the report to it)
    due: dt.datetime | None  # None: by agreement, not started, or paused with time left
    met_at: dt.datetime | None
    paused_total: dt.timedelta
    paused_since: dt.datetime | None
    remaining_while_paused: dt.timedelta | None  # time left, frozen, while paused before the due time
    thresholds: tuple[Threshold, ...]
    unconfirmed_years: tuple[int, ...]
    phrases: tuple[Phrase, ...]
    # When the clock runs from the start to the due time; the countdown's only input besides "now".
    running: tuple[Period, ...] = ()
    _ends: tuple[dt.datetime, ...] = field(init=False, repr=False, compare=False)
    _left_from: tuple[dt.timedelta, ...] = field(init=False, repr=False, compare=False)  # suffix sums

    def __post_init__(self) -> None:
        left = [_ZERO]
        for start, end in reversed(self.running):
            left.append(left[-1] + (end - start))
        object.__setattr__(self, "_ends", tuple(end for _start, end in self.running))
        object.__setattr__(self, "_left_from", tuple(reversed(left)))

    @property
    def outcome(self) -> Outcome | None:
        """Met or breached, once the target is met and has a due time; None while open."""
        if self.met_at is None or self.due is None:
            return None
        return Outcome.MET if self.met_at <= self.due else Outcome.BREACHED

    @property
    def late_by(self) -> dt.timedelta | None:
        """How late it was met (wall time), for a breached target."""
        if self.outcome is Outcome.BREACHED and self.met_at is not None and self.due is not None:
            return self.met_at - self.due
        return None

    def is_breached(self, now: dt.datetime) -> bool:
        """Breached already: met late, or still open after the due time (for reports of open tickets)."""
        if self.due is None:
            return False
        return (self.met_at or now) > self.due

    def remaining_at(self, now: dt.datetime) -> tuple[dt.timedelta, dt.datetime | None]:
        """Counted time left at ``now`` before the due time, and — for a business-time target outside
        working time — the moment its clock runs again (else None). Arithmetic only."""
        index = bisect.bisect_right(self._ends, now)
        if index == len(self.running):
            return _ZERO, None
        start, end = self.running[index]
        if now >= start:
            return (end - now) + self._left_from[index + 1], None
        stopped_until = start if self.counting is Counting.BUSINESS else None
        return self._left_from[index], stopped_until

    def explanation(self) -> str:
        """Why it is due when it is, in the current language."""
        return join_phrases(self.phrases)


@dataclass(frozen=True, slots=True)
class TicketDeadlines:
    policy_id: str
    policy: Policy
    severity: str
    category: str | None
    reported_at: dt.datetime
    rule: Rule | None  # None: no rule of the policy matches, so no deadlines
    phase: TicketPhase
    targets: tuple[TargetState, ...]
    unconfirmed_years: tuple[int, ...]

    def target(self, kind: TargetKind) -> TargetState | None:
        return next((t for t in self.targets if t.kind is kind), None)

    def next_due(self) -> dt.datetime | None:
        """The earliest due time of the targets not met yet (to sort a list by urgency), or None."""
        open_dues = [t.due for t in self.targets if t.met_at is None and t.due is not None]
        return min(open_dues) if open_dues else None

    def explanation(self) -> str:
        """Every target's explanation, one per line ("First response: …"), or why there is none."""
        if self.rule is None:
            return Phrase.of(
                N_("No rule of the policy “{policy}” applies to this ticket, so it has no deadlines."),
                policy=self.policy.name,
            ).render()
        return "\n".join(
            _("{target}: {explanation}").format(target=t.kind.label(), explanation=t.explanation())
            for t in self.targets
        )


# --- reading the history --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Config:
    """What decides the rule, from a moment on (``at`` None: from the start)."""

    at: dt.datetime | None
    change: EventKind | None
    policy_id: str
    severity: str
    category: str | None


@dataclass(slots=True)
class _History:
    reported_at: dt.datetime
    configs: list[_Config]
    phase: TicketPhase = TicketPhase.OPEN
    pauses: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    pause_start: dt.datetime | None = None  # the running pause
    reopen_gaps: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    resolved_at: dt.datetime | None = None  # the current resolution (None while open)
    resolutions: list[dt.datetime] = field(default_factory=list)  # every resolution, reopened or not
    responded_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None
    manual: dict[TargetKind, dt.datetime | None] = field(default_factory=dict)

    def met_at(self, kind: TargetKind) -> dt.datetime | None:
        if kind is TargetKind.RESOLUTION:
            return self.resolved_at
        if kind is TargetKind.RESPONSE:
            candidates = [self.responded_at, self.arrived_at, *self.resolutions[:1]]
        else:
            after_decision = [
                r for r in self.resolutions if self.decided_at is not None and r >= self.decided_at
            ]
            candidates = [self.arrived_at, *after_decision[:1]]
        present = [c for c in candidates if c is not None]
        return min(present) if present else None


def _read_history(events: Sequence[TicketEvent]) -> _History:
    if not events or events[0].kind is not EventKind.CREATED:
        raise EventHistoryError("a ticket's events must start with its 'created' event")
    created = events[0]
    reported_at = created.moment("reported_at")
    assert reported_at is not None
    history = _History(
        reported_at=reported_at,
        configs=[
            _Config(
                at=None,
                change=None,
                policy_id=str(created.text("policy")),
                severity=str(created.text("severity")),
                category=created.text("category", optional=True),
            )
        ],
    )
    if created.data.get("handling") == Handling.ON_SITE.value:
        history.decided_at = reported_at

    for event in events[1:]:
        at = to_shanghai(event.at)
        kind = event.kind
        current = history.configs[-1]
        if kind is EventKind.CREATED:
            log.info("ignoring a second 'created' event at %s", at.isoformat())
        elif kind is EventKind.RESPONDED:
            history.responded_at = history.responded_at or at
        elif kind is EventKind.PAUSED:
            if history.phase is TicketPhase.OPEN:
                history.phase, history.pause_start = TicketPhase.PAUSED, at
        elif kind is EventKind.RESUMED:
            _end_pause(history, at)
        elif kind is EventKind.SEVERITY_CHANGED:
            severity = str(event.text("severity"))
            history.configs.append(dataclasses.replace(current, at=at, change=kind, severity=severity))
        elif kind is EventKind.CATEGORY_CHANGED:
            category = event.text("category", optional=True)
            history.configs.append(dataclasses.replace(current, at=at, change=kind, category=category))
        elif kind is EventKind.POLICY_CHANGED:
            policy_id = str(event.text("policy"))
            history.configs.append(dataclasses.replace(current, at=at, change=kind, policy_id=policy_id))
        elif kind is EventKind.ON_SITE_REQUIRED:
            history.decided_at = history.decided_at or at
        elif kind is EventKind.ARRIVED_ON_SITE:
            history.decided_at = history.decided_at or at
            history.arrived_at = history.arrived_at or at
        elif kind in (EventKind.RESOLVED, EventKind.CLOSED):
            if history.phase in (TicketPhase.OPEN, TicketPhase.PAUSED):
                _end_pause(history, at)
                history.resolved_at = at
                history.resolutions.append(at)
            if history.phase is not TicketPhase.CLOSED:
                history.phase = TicketPhase.CLOSED if kind is EventKind.CLOSED else TicketPhase.RESOLVED
        elif kind is EventKind.REOPENED:
            if history.resolved_at is not None:
                history.reopen_gaps.append((history.resolved_at, max(at, history.resolved_at)))
                history.resolved_at = None
                history.phase = TicketPhase.OPEN
        elif kind is EventKind.DEADLINE_SET:
            name = str(event.text("target"))
            if name not in {k.value for k in TargetKind}:
                raise EventDataError(f"deadline_set event at {at.isoformat()}: unknown target {name!r}")
            history.manual[TargetKind(name)] = event.moment("due", optional=True)
        # STATUS_CHANGED: kept for the record, no effect on deadlines
    return history


def _end_pause(history: _History, at: dt.datetime) -> None:
    if history.phase is TicketPhase.PAUSED and history.pause_start is not None:
        history.pauses.append((history.pause_start, max(at, history.pause_start)))
        history.pause_start = None
        history.phase = TicketPhase.OPEN


# --- one target under one rule --------------------------------------------------------------------


@dataclass(slots=True)
class _Walk:
    due: dt.datetime | None = None
    running: list[Period] = field(default_factory=list)
    paused_since: dt.datetime | None = None
    remaining: dt.timedelta = _ZERO


def _walk(
    start: dt.datetime,
    amount: dt.timedelta,
    counting: Counting,
    calendar: WorkCalendar,
    stops: list[tuple[dt.datetime, dt.datetime | None]],
) -> _Walk:
    """Spend ``amount`` of (clock or working) time from ``start``, skipping the ``stops``."""
    walk = _Walk(remaining=amount)
    cursor = start

    def run(until: dt.datetime | None) -> dt.datetime | None:
        """Run the clock from ``cursor`` up to ``until`` (None: until spent); the due time if spent."""
        if counting is Counting.CLOCK:
            if until is None or until - cursor >= walk.remaining:
                walk.running.append((cursor, cursor + walk.remaining))
                return cursor + walk.remaining
            walk.running.append((cursor, until))
            walk.remaining -= until - cursor
            return None
        if until is None:
            periods = calendar.consume_business_time(cursor, walk.remaining)
            walk.running.extend(periods)
            return periods[-1][1] if periods else cursor
        for p_start, p_end in calendar.working_periods(cursor, until):
            if p_end - p_start >= walk.remaining:
                walk.running.append((p_start, p_start + walk.remaining))
                return p_start + walk.remaining
            walk.running.append((p_start, p_end))
            walk.remaining -= p_end - p_start
        return None

    for stop_start, stop_end in sorted(stops, key=lambda s: s[0]):
        if stop_end is not None and stop_end <= cursor:
            continue
        if stop_start > cursor:
            walk.due = run(stop_start)
            if walk.due is not None:
                return walk
        if stop_end is None:
            walk.paused_since = max(stop_start, cursor)
            return walk
        cursor = stop_end
    walk.due = run(None)
    return walk


def _amount_phrase(target: Target) -> Phrase | dt.timedelta:
    if target.counting is Counting.BUSINESS:
        return Phrase.of(N_("{amount} of working time"), amount=target.amount)
    return target.amount


def _conditions(
    rule: Rule, policy: Policy, config: _Config, calendar: WorkCalendar, at: dt.datetime
) -> Phrase | None:
    parts: list[Phrase] = []
    if rule.severities:
        parts.append(Phrase.of(N_("severity {severity}"), severity=policy.severity_name(config.severity)))
    if rule.categories:
        parts.append(Phrase.of(N_("category {category}"), category=config.category or "—"))
    window = rule.window.describe(calendar, at)
    if window is not None:
        parts.append(window)
    if not parts:
        return None
    joined = parts[0]
    for part in parts[1:]:
        joined = Phrase.of(N_("{first}, {second}"), first=joined, second=part)
    return joined


def _reported_phrase(
    template_plain: str, template_with: str, conditions: Phrase | None, **values: object
) -> Phrase:
    if conditions is None:
        return Phrase.of(template_plain, **values)
    return Phrase.of(template_with, conditions=conditions, **values)


def _evaluate(
    kind: TargetKind,
    target: Target,
    rule: Rule,
    policy: Policy,
    config: _Config,
    calendar: WorkCalendar,
    history: _History,
) -> TargetState:
    reported = history.reported_at
    thresholds = policy.warnings.thresholds()
    met_at = history.met_at(kind)
    uses_calendar = any(r.window is not TimeWindow.ANY for r in policy.rules)
    consulted: set[int] = {reported.year} if uses_calendar else set()
    conditions = _conditions(rule, policy, config, calendar, reported)

    start = reported if target.anchor is Anchor.REPORTED else history.decided_at
    if start is None:
        return TargetState(
            kind=kind,
            mode=DeadlineMode.NOT_STARTED,
            counting=target.counting,
            start=None,
            budget=target.amount,
            due=None,
            met_at=None,
            paused_total=_ZERO,
            paused_since=None,
            remaining_while_paused=None,
            thresholds=thresholds,
            unconfirmed_years=_unconfirmed(calendar, consulted),
            phrases=(Phrase.of(N_("Starts when an on-site visit is decided")),),
        )

    if target.by_agreement:
        due = history.manual.get(kind)
        phrases = [
            _reported_phrase(
                N_("Reported {reported}: by agreement"),
                N_("Reported {reported}, {conditions}: by agreement"),
                conditions,
                reported=Moment(reported),
            )
        ]
        if due is not None:
            phrases.append(Phrase.of(N_("deadline set by hand to {due}"), due=Moment(due, reported)))
        budget = max(due - start, _ZERO) if due is not None else _ZERO
        return TargetState(
            kind=kind,
            mode=DeadlineMode.MANUAL if due is not None else DeadlineMode.BY_AGREEMENT,
            counting=Counting.CLOCK,
            start=start,
            budget=budget,
            due=due,
            met_at=met_at,
            paused_total=_ZERO,
            paused_since=None,
            remaining_while_paused=None,
            thresholds=thresholds if due is not None else (),
            unconfirmed_years=_unconfirmed(calendar, consulted),
            phrases=(*phrases, *_unconfirmed_phrases(calendar, consulted)),
            running=((start, due),) if due is not None and due > start else (),
        )

    stops: list[tuple[dt.datetime, dt.datetime | None]] = list(history.reopen_gaps)
    if target.pausable:
        stops += history.pauses
        if history.pause_start is not None:
            stops.append((history.pause_start, None))
    if met_at is not None:
        stops = [s for s in stops if s[0] < met_at]
    walk = _walk(start, target.amount, target.counting, calendar, stops)

    plain_due = (
        start + target.amount
        if target.counting is Counting.CLOCK
        else calendar.add_business_time(start, target.amount)
    )
    if target.counting is Counting.BUSINESS:
        consulted.update(range(start.year, (walk.due or walk.paused_since or start).year + 1))
    limit = walk.due or walk.paused_since or start
    if met_at is not None:
        limit = min(limit, met_at)
    paused_total = sum(
        (
            min(end, limit) - max(begin, start)
            for begin, end in history.pauses
            if begin < limit and end > start
        ),
        _ZERO,
    )
    if not target.pausable:
        paused_total = _ZERO

    if target.anchor is Anchor.REPORTED:
        phrases = [
            _reported_phrase(
                N_("Reported {reported} → {amount} → {due}"),
                N_("Reported {reported}, {conditions} → {amount} → {due}"),
                conditions,
                reported=Moment(reported),
                amount=_amount_phrase(target),
                due=Moment(plain_due, start),
            )
        ]
    else:
        phrases = [
            Phrase.of(
                N_("On-site visit decided {decided} → {amount} → {due}"),
                decided=Moment(start),
                amount=_amount_phrase(target),
                due=Moment(plain_due, start),
            )
        ]
    if paused_total > _ZERO:
        phrases.append(Phrase.of(N_("paused for {paused} in total"), paused=paused_total))
    for resolved, reopened in history.reopen_gaps:
        if start <= resolved < limit:
            phrases.append(
                Phrase.of(
                    N_("resolved {resolved} and reopened {reopened}: the time in between does not count"),
                    resolved=Moment(resolved, start),
                    reopened=Moment(reopened, start),
                )
            )
    if walk.due is None and walk.paused_since is not None:
        phrases.append(
            Phrase.of(
                N_("paused since {since} with {left} left"),
                since=Moment(walk.paused_since, start),
                left=walk.remaining,
            )
        )
    elif walk.due is not None and walk.due != plain_due:
        phrases.append(Phrase.of(N_("so it is due {due}"), due=Moment(walk.due, start)))
    phrases.extend(_unconfirmed_phrases(calendar, consulted))

    open_pause = history.pause_start if target.pausable and met_at is None else None
    return TargetState(
        kind=kind,
        mode=DeadlineMode.AUTOMATIC,
        counting=target.counting,
        start=start,
        budget=target.amount,
        due=walk.due,
        met_at=met_at,
        paused_total=paused_total,
        paused_since=open_pause,
        remaining_while_paused=walk.remaining if walk.due is None else None,
        thresholds=thresholds,
        unconfirmed_years=_unconfirmed(calendar, consulted),
        phrases=tuple(phrases),
        running=tuple(walk.running),
    )


def _unconfirmed(calendar: WorkCalendar, years: set[int]) -> tuple[int, ...]:
    return tuple(sorted(y for y in years if not calendar.is_confirmed(y)))


def _unconfirmed_phrases(calendar: WorkCalendar, years: set[int]) -> list[Phrase]:
    missing = _unconfirmed(calendar, years)
    if not missing:
        return []
    return [
        Phrase.of(
            N_("the holiday arrangements for {years} are not confirmed yet"),
            years=", ".join(str(y) for y in missing),
        )
    ]


_CHANGE_PHRASES = {
    EventKind.SEVERITY_CHANGED: N_("recomputed after the severity changed to {value} at {at}"),
    EventKind.CATEGORY_CHANGED: N_("recomputed after the category changed to {value} at {at}"),
    EventKind.POLICY_CHANGED: N_("recomputed after the policy changed to “{value}” at {at}"),
}


def _change_phrase(config: _Config, policy: Policy, reference: dt.datetime) -> Phrase:
    assert config.change is not None and config.at is not None
    if config.change is EventKind.SEVERITY_CHANGED:
        value = policy.severity_name(config.severity)
    elif config.change is EventKind.CATEGORY_CHANGED:
        value = config.category or "—"
    else:
        value = policy.name
    return Phrase.of(_CHANGE_PHRASES[config.change], value=value, at=Moment(config.at, reference))


# --- the whole ticket -----------------------------------------------------------------------------


def derive_deadlines(
    events: Sequence[TicketEvent], policies: Mapping[str, Policy], calendar: WorkCalendar
) -> TicketDeadlines:
    """Every target's state from the ticket's events (in sync order).

    ``policies`` maps the policy ids the events name to the policies — the versions the events were
    made under: editing a policy in place changes the deadlines of tickets that use it, so record a
    "policy changed" event (or keep versioned ids) when the numbers of a contract change.
    ``calendar`` carries the site's overrides; each policy's working hours are applied to it.
    """
    history = _read_history(events)
    for config in history.configs:
        if config.policy_id not in policies:
            raise EventHistoryError(f"unknown policy {config.policy_id!r}")

    epochs = []
    for config in history.configs:
        policy = policies[config.policy_id]
        hours_calendar = calendar.with_hours(policy.working_hours)
        rule = policy.match(config.severity, config.category, history.reported_at, calendar)
        epochs.append((config, policy, hours_calendar, rule))

    kinds = [k for k in TargetKind if any(rule and rule.target(k) for _c, _p, _cal, rule in epochs)]
    states: list[TargetState] = []
    for kind in kinds:
        state = _target_through_changes(kind, epochs, history)
        if state is not None:
            states.append(state)

    final_config, final_policy, final_calendar, final_rule = epochs[-1]
    years: set[int] = {y for s in states for y in s.unconfirmed_years}
    if any(r.window is not TimeWindow.ANY for r in final_policy.rules) and not final_calendar.is_confirmed(
        history.reported_at.year
    ):
        years.add(history.reported_at.year)
    return TicketDeadlines(
        policy_id=final_config.policy_id,
        policy=final_policy,
        severity=final_config.severity,
        category=final_config.category,
        reported_at=history.reported_at,
        rule=final_rule,
        phase=history.phase,
        targets=tuple(states),
        unconfirmed_years=tuple(sorted(years)),
    )


def _target_through_changes(
    kind: TargetKind,
    epochs: list[tuple[_Config, Policy, WorkCalendar, Rule | None]],
    history: _History,
) -> TargetState | None:
    """The target under the latest rule, unless it was settled (met or breached) before a change."""
    result: TargetState | None = None
    changes: list[Phrase] = []
    for index, (config, policy, calendar, rule) in enumerate(epochs):
        target = rule.target(kind) if rule is not None else None
        if index > 0:
            changes.append(_change_phrase(config, policy, history.reported_at))
        if target is None or rule is None:
            result = None
            continue
        state = _evaluate(kind, target, rule, policy, config, calendar, history)
        result = dataclasses.replace(state, phrases=(*state.phrases, *changes)) if changes else state
        if index + 1 == len(epochs):
            break
        next_change = epochs[index + 1][0].at
        assert next_change is not None
        if state.met_at is not None and state.met_at <= next_change:
            break
        if state.due is not None and state.due <= next_change:
            stands = Phrase.of(
                N_("the change at {at} came after this deadline had passed, so the breach stands"),
                at=Moment(next_change, state.start or history.reported_at),
            )
            result = dataclasses.replace(result, phrases=(*result.phrases, stands))
            break
    return result


# --- hotline call-backs ---------------------------------------------------------------------------


def callback_due(
    policy: Policy, calendar: WorkCalendar, call_at: dt.datetime, *, missed_or_after_hours: bool
) -> dt.datetime | None:
    """When a call must be returned, or None if the policy asks for no call-back for it.

    Only a call that was missed or came after hours (no live answer) can need one, and only inside
    the policy's call-back window (Changzhou: on a non-working day, due 30 min later).
    """
    rule = policy.callback
    if rule is None or not missed_or_after_hours:
        return None
    hours_calendar = calendar.with_hours(policy.working_hours)
    if not rule.window.matches(hours_calendar, call_at):
        return None
    amount = dt.timedelta(minutes=rule.minutes)
    if rule.counting is Counting.CLOCK:
        return to_shanghai(call_at) + amount
    return hours_calendar.add_business_time(call_at, amount)


def callback_target(
    policy: Policy, calendar: WorkCalendar, call_at: dt.datetime, called_back_at: dt.datetime | None
) -> TargetState | None:
    """The call-back of a missed or after-hours call as a countdown target (``callback_due``), or
    None when the policy asks for no call-back for it. Its warnings are the policy's."""
    due = callback_due(policy, calendar, call_at, missed_or_after_hours=True)
    rule = policy.callback
    if due is None or rule is None:
        return None
    start = to_shanghai(call_at)
    amount = dt.timedelta(minutes=rule.minutes)
    hours_calendar = calendar.with_hours(policy.working_hours)
    running: tuple[Period, ...] = (
        ((start, due),)
        if rule.counting is Counting.CLOCK
        else tuple(hours_calendar.consume_business_time(start, amount))
    )
    window = rule.window.describe(hours_calendar, start)
    phrases = (
        Phrase.of(
            N_("Called {called}, {window}: call back → {amount} → {due}"),
            called=Moment(start),
            window=window,
            amount=amount,
            due=Moment(due, start),
        )
        if window is not None
        else Phrase.of(
            N_("Called {called}: call back → {amount} → {due}"),
            called=Moment(start),
            amount=amount,
            due=Moment(due, start),
        ),
    )
    return TargetState(
        kind=TargetKind.RESPONSE,
        mode=DeadlineMode.AUTOMATIC,
        counting=rule.counting,
        start=start,
        budget=amount,
        due=due,
        met_at=called_back_at,
        paused_total=_ZERO,
        paused_since=None,
        remaining_while_paused=None,
        thresholds=policy.warnings.thresholds(),
        unconfirmed_years=tuple(calendar.unconfirmed_years(start, start)),
        phrases=phrases,
        running=running,
    )
