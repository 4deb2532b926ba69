"""Tickets (工单): made from a call or on their own, numbered for people, changed by events.

A ticket row holds what people type (title, unit, caller, system, notes, assignee …) and merges like
any document. Everything the service-level clock depends on — status, severity, policy, pauses, hand
deadlines — is an event in the ticket's append-only history (``ticket_events``: who, when, what), so
two desktops that changed one ticket offline both just add events; every desktop orders them by
``(hlc, origin, id)`` and derives the same state (``_derive``). Notes, assignments, linked calls and
edits are events too, so the history tells the whole story.

Status flow (``TicketStatus``): 新建 → 已响应 → 处理中 → (待现场 → 现场处理) → 挂起 → 已解决 → 已关闭, with
reopen. Each action checks the status first and refuses with a plain sentence (``TicketActionError``).
After a merge an event may no longer fit (a pause that arrived after another desktop resolved the
ticket): it is kept, shown in the timeline, flagged for a person, and left out of the derivation; one
that only repeats what happened (two desktops both responded) is left out silently.

Deadlines come from ``app.sla.deadlines.derive_deadlines`` over the accepted events, the site's policies
and the calendar (``app.services.sla_config``). The result is cached per ticket in the local
``ticket_state`` table (status, next due time, each target's outcome) — recomputed after every local
change, after pulled changes (``recompute_after_pull``, called by the sync) and when a policy or the
calendar changes — so lists and reports are plain queries.

Numbers for people (GD-2026-030123) are made by ``app.services.ticket_numbers``.

Every function takes the moment "now" from its caller (an aware datetime): nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.ids import uuid7
from app.services import kb_index, sla_config, ticket_numbers
from app.sla.calendar import HOLIDAY_PERIOD_REACH, WorkCalendar
from app.sla.deadlines import DeadlineMode, TargetState, TicketDeadlines, derive_deadlines
from app.sla.events import EventKind, Handling, TicketEvent
from app.sla.formatting import format_amount, format_moment, join_labels
from app.sla.policy import Policy, TargetKind
from app.storage.models import (
    Call,
    Category,
    Contact,
    Module,
    Organisation,
    Site,
    SlaPolicy,
    System,
    Ticket,
    TicketAlert,
    TicketCall,
    TicketEventRow,
    TicketState,
)
from app.storage.uow import UnitOfWork

log = logging.getLogger("hotline.tickets")

MAX_TEXT = 1_000_000
# A stated moment ("responded at 10:05") may lie this far ahead of the caller's clock (clocks differ).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


# --- status ---------------------------------------------------------------------------------------


class TicketStatus(StrEnum):
    NEW = "new"
    RESPONDED = "responded"
    IN_PROGRESS = "in_progress"
    ON_SITE_PENDING = "on_site_pending"
    ON_SITE = "on_site"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"

    def label(self) -> str:
        return _(_STATUS_LABELS[self])

    @property
    def is_open(self) -> bool:
        return self not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


_STATUS_LABELS = {
    TicketStatus.NEW: N_("New"),
    TicketStatus.RESPONDED: N_("Responded"),
    TicketStatus.IN_PROGRESS: N_("In progress"),
    TicketStatus.ON_SITE_PENDING: N_("Awaiting on-site visit"),
    TicketStatus.ON_SITE: N_("On-site handling"),
    TicketStatus.PAUSED: N_("On hold"),
    TicketStatus.RESOLVED: N_("Resolved"),
    TicketStatus.CLOSED: N_("Closed"),
}

# Kinds of events besides the service-level ones of app.sla.events.
NOTE = "note"
ASSIGNED = "assigned"
CALL_LINKED = "call_linked"
EDITED = "edited"
# A person looked at an event that did not apply after a merge and set the mark aside:
# {"event": id of that event}. The event stays in the history, no longer marked.
FLAG_DISMISSED = "flag_dismissed"
IN_PROGRESS_STATUS = TicketStatus.IN_PROGRESS.value  # the "status_changed" event of "start work"

_ALL = frozenset(TicketStatus)
_OPEN = frozenset(s for s in TicketStatus if s.is_open)
_WORKING = frozenset(
    {TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS, TicketStatus.ON_SITE_PENDING, TicketStatus.ON_SITE}
)
_NOT_CLOSED = _ALL - {TicketStatus.CLOSED}


class _Action(StrEnum):
    RESPOND = "respond"
    START_WORK = "start_work"
    REQUIRE_ON_SITE = "require_on_site"
    ARRIVE_ON_SITE = "arrive_on_site"
    PAUSE = "pause"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CHANGE = "change"  # severity, policy, category, hand deadline, assignment, details
    NOTE = "note"  # notes and linked calls: any time


@dataclass(frozen=True, slots=True)
class _Step:
    allowed: frozenset[TicketStatus]
    result: TicketStatus | None  # None: the status stays (RESUME: back to the status before the pause)
    redundant: frozenset[TicketStatus] = frozenset()  # already so: a repeat after a merge, left out


_STEPS: dict[_Action, _Step] = {
    _Action.RESPOND: _Step(frozenset({TicketStatus.NEW}), TicketStatus.RESPONDED, _ALL - {TicketStatus.NEW}),
    _Action.START_WORK: _Step(
        frozenset({TicketStatus.RESPONDED, TicketStatus.ON_SITE_PENDING, TicketStatus.ON_SITE}),
        TicketStatus.IN_PROGRESS,
        frozenset({TicketStatus.IN_PROGRESS}),
    ),
    _Action.REQUIRE_ON_SITE: _Step(
        frozenset({TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS}),
        TicketStatus.ON_SITE_PENDING,
        frozenset({TicketStatus.ON_SITE_PENDING}),
    ),
    _Action.ARRIVE_ON_SITE: _Step(
        frozenset({TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS, TicketStatus.ON_SITE_PENDING}),
        TicketStatus.ON_SITE,
        frozenset({TicketStatus.ON_SITE}),
    ),
    _Action.PAUSE: _Step(_WORKING, TicketStatus.PAUSED, frozenset({TicketStatus.PAUSED})),
    _Action.RESUME: _Step(frozenset({TicketStatus.PAUSED}), None, _WORKING),
    _Action.RESOLVE: _Step(_OPEN, TicketStatus.RESOLVED, frozenset({TicketStatus.RESOLVED})),
    _Action.CLOSE: _Step(
        frozenset({TicketStatus.RESOLVED}), TicketStatus.CLOSED, frozenset({TicketStatus.CLOSED})
    ),
    _Action.REOPEN: _Step(
        frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED}), TicketStatus.IN_PROGRESS, _OPEN
    ),
    _Action.CHANGE: _Step(_NOT_CLOSED, None),
    _Action.NOTE: _Step(_ALL, None),
}

_ACTION_OF_KIND: dict[str, _Action] = {
    EventKind.RESPONDED.value: _Action.RESPOND,
    EventKind.ON_SITE_REQUIRED.value: _Action.REQUIRE_ON_SITE,
    EventKind.ARRIVED_ON_SITE.value: _Action.ARRIVE_ON_SITE,
    EventKind.PAUSED.value: _Action.PAUSE,
    EventKind.RESUMED.value: _Action.RESUME,
    EventKind.RESOLVED.value: _Action.RESOLVE,
    EventKind.CLOSED.value: _Action.CLOSE,
    EventKind.REOPENED.value: _Action.REOPEN,
    EventKind.SEVERITY_CHANGED.value: _Action.CHANGE,
    EventKind.POLICY_CHANGED.value: _Action.CHANGE,
    EventKind.CATEGORY_CHANGED.value: _Action.CHANGE,
    EventKind.DEADLINE_SET.value: _Action.CHANGE,
    ASSIGNED: _Action.CHANGE,
    EDITED: _Action.CHANGE,
    NOTE: _Action.NOTE,
    CALL_LINKED: _Action.NOTE,
    FLAG_DISMISSED: _Action.NOTE,
}


def _action_of(kind: str, data: Mapping[str, Any]) -> _Action | None:
    if kind == EventKind.STATUS_CHANGED.value:
        return _Action.START_WORK if data.get("status") == IN_PROGRESS_STATUS else _Action.NOTE
    return _ACTION_OF_KIND.get(kind)


class TicketActionError(UserFacingError):
    """A change the ticket cannot take now (its status does not allow it, a time that cannot be); the
    message, translated, says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _refusal(action: _Action, status: TicketStatus) -> str:
    """Why ``action`` cannot be done while the ticket is ``status``, in words."""
    if action is _Action.RESPOND:
        return _("The ticket has already been responded to.")
    if action is _Action.RESUME:
        return _("The ticket is not on hold.")
    if action is _Action.CLOSE and status is not TicketStatus.CLOSED:
        return _("Only a resolved ticket can be closed: resolve it first.")
    if action is _Action.REOPEN:
        return _("Only a resolved or closed ticket can be reopened.")
    if status is TicketStatus.CLOSED:
        return _("The ticket is closed: reopen it first.")
    if status is TicketStatus.RESOLVED:
        return _("The ticket is resolved: reopen it first.")
    if status is TicketStatus.NEW:
        return _("Respond to the ticket first.")
    if status is TicketStatus.PAUSED:
        if action is _Action.PAUSE:
            return _("The ticket is already on hold.")
        return _("The ticket is on hold: resume it first.")
    if action is _Action.START_WORK:
        return _("Work on the ticket has already started.")
    if action is _Action.REQUIRE_ON_SITE and status is TicketStatus.ON_SITE_PENDING:
        return _("An on-site visit is already required.")
    if action in (_Action.REQUIRE_ON_SITE, _Action.ARRIVE_ON_SITE) and status is TicketStatus.ON_SITE:
        return _("An engineer is already on site.")
    return _("This cannot be done while the ticket is “{status}”.").format(status=status.label())


# --- input ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class TicketInput:
    """What the new-ticket form hands over. ``edit_ticket`` uses only the details (title …
    notes): site, severity, policy, handling, assignee and report time change through their actions."""

    site_id: str
    title: str
    description: str = ""
    org_id: str | None = None
    unit_name: str = ""
    contact_id: str | None = None
    caller_name: str = ""
    caller_phone: str = ""
    system_id: str | None = None
    module_id: str | None = None
    category_id: str | None = None
    notes: str = ""
    severity: str = "general"
    policy_id: str | None = None  # None: the site's policy
    handling: str = Handling.REMOTE.value
    assignee: str = ""
    reported_at: dt.datetime | None = None  # None: now


_DETAILS = (
    "title",
    "description",
    "org_id",
    "unit_name",
    "contact_id",
    "caller_name",
    "caller_phone",
    "system_id",
    "module_id",
    "category_id",
    "notes",
)

_DETAIL_LABELS: dict[str, str] = {
    "title": N_("Subject"),
    "description": N_("Description"),
    "org_id": N_("Unit"),
    "unit_name": N_("Unit"),
    "contact_id": N_("Contact"),
    "caller_name": N_("Caller"),
    "caller_phone": N_("Caller number"),
    "system_id": N_("System"),
    "module_id": N_("Module"),
    "category_id": N_("Category"),
    "notes": N_("Notes"),
}


def _aware(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what}: a naive datetime cannot be placed in time")
    return moment


def _one_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def input_from_call(session: Session, call_id: str) -> TicketInput:
    """A new ticket's fields, prefilled from a call: its site, unit, caller, system, module, category;
    its question as the description and first line as the subject; reported when the call started."""
    call = session.scalar(select(Call).where(Call.id == call_id))
    if call is None or call.deleted:
        raise ValidationError({"call": _("This call no longer exists.")})
    first_line = next((line for line in call.question.splitlines() if line.strip()), "")
    return TicketInput(
        site_id=call.site_id,
        title=_one_line(first_line, 100),
        description=call.question,
        org_id=call.org_id,
        unit_name=call.unit_name,
        contact_id=call.contact_id,
        caller_name=call.caller_name,
        caller_phone=call.caller_phone,
        system_id=call.system_id,
        module_id=call.module_id,
        category_id=call.category_id,
        reported_at=call.started_at,
    )


def input_from_ticket(ticket: Ticket) -> TicketInput:
    """A saved ticket's details, for the edit form."""
    values = {name: getattr(ticket, name) for name in _DETAILS}
    return TicketInput(site_id=ticket.site_id, handling=ticket.handling, assignee=ticket.assignee, **values)


def _validate_details(session: Session, data: TicketInput, errors: dict[str, str]) -> str | None:
    """Check the details (adding to ``errors``); the category's name (what policy rules match on)."""
    if not _one_line(data.title, 200):
        errors["title"] = _("Give the ticket a subject.")
    elif len(" ".join(data.title.split())) > 200:
        errors["title"] = _("Too long: at most {limit} characters.").format(limit=200)
    for name in ("description", "notes"):
        if len(getattr(data, name)) > MAX_TEXT:
            errors[name] = _("Too long: at most {limit} characters.").format(limit=MAX_TEXT)
    if data.org_id and session.get(Organisation, data.org_id) is None:
        errors["org"] = _("This unit no longer exists.")
    if data.contact_id and session.get(Contact, data.contact_id) is None:
        errors["contact"] = _("This contact no longer exists.")
    if data.system_id and session.get(System, data.system_id) is None:
        errors["system"] = _("The system no longer exists.")
    if data.module_id:
        module = session.get(Module, data.module_id)
        if module is None:
            errors["module"] = _("The module no longer exists.")
        elif data.system_id and module.system_id != data.system_id:
            errors["module"] = _("The module does not belong to the chosen system.")
    category_name: str | None = None
    if data.category_id:
        category = session.get(Category, data.category_id)
        if category is None:
            errors["category"] = _("The category no longer exists.")
        else:
            category_name = category.name
    return category_name


def _apply_details(session: Session, ticket: Ticket, data: TicketInput) -> dict[str, Any]:
    """Set the details; the ones that changed, with their new values."""
    unit_name = _one_line(data.unit_name, 200)
    if not unit_name and data.org_id:
        org = session.get(Organisation, data.org_id)
        unit_name = org.name if org is not None else ""
    values: dict[str, Any] = {
        "title": _one_line(data.title, 200),
        "description": data.description,
        "org_id": data.org_id or None,
        "unit_name": unit_name,
        "contact_id": data.contact_id or None,
        "caller_name": _one_line(data.caller_name, 100),
        "caller_phone": data.caller_phone.strip()[:64],
        "system_id": data.system_id or None,
        "module_id": data.module_id or None,
        "category_id": data.category_id or None,
        "notes": data.notes,
    }
    changed = {}
    for name, value in values.items():
        if getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed[name] = value
    return changed


def ticket_call_id(ticket_id: str, call_id: str) -> str:
    """The link's id, derived from the pair: two desktops linking one call make one row."""
    return str(uuid.uuid5(uuid.UUID(ticket_id), f"call/{call_id}"))


# --- events ---------------------------------------------------------------------------------------


def _add_event(
    session: Session,
    ticket_id: str,
    kind: str,
    data: Mapping[str, Any],
    author: str,
    at: dt.datetime,
    now: dt.datetime,
) -> TicketEventRow:
    row = TicketEventRow(
        id=uuid7(),
        ticket_id=ticket_id,
        kind=kind,
        at=at,
        data=json.dumps(dict(data), ensure_ascii=False, sort_keys=True),
        author=_one_line(author, 100),
        recorded_at=now,
    )
    session.add(row)
    session.flush()  # one flush per event: its clock stamp orders it after the ones before
    return row


def _events(session: Session, ticket_id: str) -> list[TicketEventRow]:
    """A ticket's events in sync order: (hlc, origin, id)."""
    return list(
        session.scalars(
            select(TicketEventRow)
            .where(TicketEventRow.ticket_id == ticket_id)
            .order_by(TicketEventRow.hlc, TicketEventRow.origin, TicketEventRow.id)
        )
    )


def _events_of(session: Session, ticket_ids: Sequence[str]) -> dict[str, list[TicketEventRow]]:
    found: dict[str, list[TicketEventRow]] = {ticket_id: [] for ticket_id in ticket_ids}
    for start in range(0, len(ticket_ids), 500):
        chunk = list(ticket_ids[start : start + 500])
        for row in session.scalars(
            select(TicketEventRow)
            .where(TicketEventRow.ticket_id.in_(chunk))
            .order_by(TicketEventRow.hlc, TicketEventRow.origin, TicketEventRow.id)
        ):
            found[row.ticket_id].append(row)
    return found


def _data(row: TicketEventRow) -> dict[str, Any]:
    try:
        value = json.loads(row.data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class _Derived:
    """The status flow replayed over a ticket's events."""

    status: TicketStatus = TicketStatus.NEW
    severity: str = ""
    policy_id: str = ""
    reported_at: dt.datetime | None = None
    created: bool = False
    accepted: list[TicketEventRow] = field(default_factory=list)  # in order, the "created" event first
    flagged: list[str] = field(default_factory=list)  # ids of events that did not apply
    # the stated time of the last change of status: a later one cannot be stated before it (a resume
    # before its pause); notes, assignments and edits, stamped when written, do not count
    last_at: dt.datetime | None = None


def _derive(events: Sequence[TicketEventRow]) -> _Derived:
    # The "created" event is the first whatever its stamp (a fast clock clamped by the server can
    # stamp the creating desktop's next events before it).
    ordered = sorted(events, key=lambda row: row.kind != EventKind.CREATED.value)
    derived = _Derived()
    before_pause = TicketStatus.NEW
    for row in ordered:
        data = _data(row)
        if row.kind == EventKind.CREATED.value:
            if derived.created:
                derived.flagged.append(row.id)
                continue
            derived.created = True
            derived.severity = str(data.get("severity") or "")
            derived.policy_id = str(data.get("policy") or "")
            reported = data.get("reported_at")
            if isinstance(reported, str):
                try:
                    derived.reported_at = dt.datetime.fromisoformat(reported)
                except ValueError:
                    derived.reported_at = None
            derived.accepted.append(row)
            continue
        action = _action_of(row.kind, data)
        if action is None or not derived.created:
            derived.flagged.append(row.id)
            continue
        step = _STEPS[action]
        if derived.status not in step.allowed:
            if derived.status not in step.redundant:
                derived.flagged.append(row.id)
            continue
        if action is _Action.PAUSE:
            before_pause = derived.status
        if action is _Action.RESUME:
            derived.status = before_pause
        elif step.result is not None:
            derived.status = step.result
        if row.kind == EventKind.SEVERITY_CHANGED.value:
            derived.severity = str(data.get("severity") or derived.severity)
        elif row.kind == EventKind.POLICY_CHANGED.value:
            derived.policy_id = str(data.get("policy") or derived.policy_id)
        derived.accepted.append(row)
        if action not in (_Action.NOTE, _Action.CHANGE):
            derived.last_at = row.at
    dismissed = {str(_data(row).get("event")) for row in ordered if row.kind == FLAG_DISMISSED}
    if dismissed:
        derived.flagged = [event_id for event_id in derived.flagged if event_id not in dismissed]
    return derived


def _sla_events(derived: _Derived) -> list[TicketEvent]:
    kinds = {kind.value for kind in EventKind}
    return [
        TicketEvent(row.at, EventKind(row.kind), _data(row)) for row in derived.accepted if row.kind in kinds
    ]


def _deadlines(
    derived: _Derived, policies: Mapping[str, Policy], calendar: WorkCalendar
) -> tuple[TicketDeadlines | None, str]:
    """The ticket's deadlines, or None and why not (a technical detail, for the log and the view)."""
    if not derived.created:
        return None, "the ticket's history has not arrived yet"
    try:
        return derive_deadlines(_sla_events(derived), policies, calendar), ""
    except ValueError as exc:  # an unknown policy (not synced yet), a damaged event
        return None, str(exc)


# --- the derived state ----------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def _seconds(amount: dt.timedelta | None) -> int | None:
    return None if amount is None else int(amount.total_seconds())


def _target_record(target: TargetState) -> dict[str, Any]:
    return {
        "target": target.kind.value,
        "mode": target.mode.value,
        "counting": target.counting.value,
        "start": _iso(target.start),
        "due": _iso(target.due),
        "met_at": _iso(target.met_at),
        "outcome": None if target.outcome is None else target.outcome.value,
        "late_by_s": _seconds(target.late_by),
        "paused_s": _seconds(target.paused_total),
    }


@dataclass(frozen=True, slots=True)
class _Config:
    """What every ticket's derivation needs, read once per recompute."""

    policies: dict[str, Policy]
    calendar: WorkCalendar


def _config(session: Session) -> _Config:
    return _Config(sla_config.load_policies(session), sla_config.build_calendar(session))


def _write_state(
    session: Session, ticket: Ticket, events: Sequence[TicketEventRow], config: _Config, now: dt.datetime
) -> TicketState:
    derived = _derive(events)
    with config.calendar.recording() as consulted:
        deadlines, problem = _deadlines(derived, config.policies, config.calendar)
    if problem:
        log.info("ticket %s (%s) has no deadlines: %s", ticket.number, ticket.id, problem)
    is_open = derived.status.is_open and not ticket.deleted
    values: dict[str, Any] = {
        "site_id": ticket.site_id,
        "status": derived.status.value,
        "severity": deadlines.severity if deadlines is not None else derived.severity,
        "policy_id": (deadlines.policy_id if deadlines is not None else derived.policy_id) or None,
        "phase": deadlines.phase.value if deadlines is not None else ("open" if is_open else "closed"),
        "is_open": is_open,
        "next_due_at": deadlines.next_due() if deadlines is not None and is_open else None,
        "outcomes": json.dumps(
            [_target_record(t) for t in deadlines.targets] if deadlines is not None else [], sort_keys=True
        ),
        "flagged": json.dumps(derived.flagged),
        "problem": problem,
        "calendar_from": consulted.first.isoformat() if consulted.first is not None else None,
        "calendar_to": consulted.last.isoformat() if consulted.last is not None else None,
    }
    state = session.get(TicketState, ticket.id)
    if state is None:
        state = TicketState(ticket_id=ticket.id)
        session.add(state)
    elif all(getattr(state, name) == value for name, value in values.items()):
        return state  # nothing moved (most tickets after a calendar edit): no write
    for name, value in values.items():
        setattr(state, name, value)
    state.updated_at = now
    return state


def recompute(session: Session, ticket_ids: Iterable[str], now: dt.datetime) -> None:
    """Derive the state of these tickets again from their events (missing tickets are skipped)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    config = _config(session)
    events = _events_of(session, ids)
    # the tickets and their states in a few queries: session.get below then finds them in the
    # identity map instead of asking SQLite once per ticket (thousands after a calendar edit)
    held: list[object] = []  # the identity map holds objects weakly: keep them until written
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        held += session.scalars(select(Ticket).where(Ticket.id.in_(chunk))).all()
        held += session.scalars(select(TicketState).where(TicketState.ticket_id.in_(chunk))).all()
    for ticket_id in ids:
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            _write_state(session, ticket, events[ticket_id], config, now)
    session.flush()
    del held


def _open_ids(session: Session) -> list[str]:
    """Open tickets, and tickets with no derived state yet."""
    open_ids = session.scalars(select(TicketState.ticket_id).where(TicketState.is_open.is_(True)))
    stateless = session.scalars(
        select(Ticket.id)
        .outerjoin(TicketState, TicketState.ticket_id == Ticket.id)
        .where(TicketState.ticket_id.is_(None))
    )
    return [*open_ids, *stateless]


def recompute_all_open(session: Session, now: dt.datetime) -> None:
    """After a policy or the calendar changed: every open ticket's deadlines again."""
    recompute(session, _open_ids(session), now)


def _concerned_ids(session: Session, days: Iterable[dt.date]) -> list[str]:
    """Open tickets whose deadlines asked the calendar about a date near one of ``days`` (a date's
    kind depends on its neighbours: ``HOLIDAY_PERIOD_REACH``), and tickets with no derived state."""
    reach = dt.timedelta(days=HOLIDAY_PERIOD_REACH)
    near = [
        and_(
            TicketState.calendar_from <= (day + reach).isoformat(),
            TicketState.calendar_to >= (day - reach).isoformat(),
        )
        for day in sorted(set(days))
    ]
    if not near:
        return []
    concerned = session.scalars(
        select(TicketState.ticket_id).where(TicketState.is_open.is_(True), or_(*near))
    )
    stateless = session.scalars(
        select(Ticket.id)
        .outerjoin(TicketState, TicketState.ticket_id == Ticket.id)
        .where(TicketState.ticket_id.is_(None))
    )
    return [*concerned, *stateless]


def recompute_for_days(session: Session, days: Iterable[dt.date], now: dt.datetime) -> None:
    """After some dates of the calendar changed: the deadlines of the open tickets they concern (each
    ticket's state records the dates its deadlines asked about); the rest cannot have moved."""
    recompute(session, _concerned_ids(session, days), now)


def recompute_after_pull(
    conn: Connection,
    ticket_ids: Iterable[str],
    config_changed: bool,
    now: dt.datetime,
    changed_days: Iterable[dt.date] = (),
) -> None:
    """Pulled rows were written on ``conn`` (inside the sync's transaction): derive the state of the
    tickets they touched, of every open ticket when a policy or a confirmed year changed, and of the
    open tickets concerned by ``changed_days`` when only calendar dates did."""
    with Session(bind=conn) as session:
        session.info["applying_remote"] = True  # ticket_state is local; nothing here is synced
        ids = set(ticket_ids)
        if config_changed:
            ids.update(_open_ids(session))
        else:
            ids.update(_concerned_ids(session, changed_days))
        recompute(session, ids, now)


# --- creating -------------------------------------------------------------------------------------


def _check_reported_at(reported_at: dt.datetime, now: dt.datetime, errors: dict[str, str]) -> None:
    if reported_at > now + FUTURE_TOLERANCE:
        errors["reported_at"] = _("The time cannot be in the future.")


def create_ticket(
    uow: UnitOfWork, data: TicketInput, author: str, now: dt.datetime, call_id: str | None = None
) -> Ticket:
    """Save a new ticket (linked to the call it came from, if any) and its "created" event."""
    session = uow.session
    now = _aware(now, "now")
    reported_at = _aware(data.reported_at, "reported_at") if data.reported_at is not None else now
    errors: dict[str, str] = {}
    site = session.get(Site, data.site_id) if data.site_id else None
    if site is None or site.deleted:
        errors["site"] = _("Choose the service site.")
    category_name = _validate_details(session, data, errors)
    _check_reported_at(reported_at, now, errors)
    if data.handling not in {h.value for h in Handling}:
        errors["handling"] = _("Choose remote or on-site handling.")
    if call_id is not None:
        call = session.scalar(select(Call).where(Call.id == call_id))
        if call is None or call.deleted:
            errors["call"] = _("This call no longer exists.")
    policy_id = data.policy_id or (sla_config.site_policy_id(session, data.site_id) if site else None)
    policies = sla_config.load_policies(session)
    policy = policies.get(policy_id) if policy_id else None
    policy_row = session.get(SlaPolicy, policy_id) if policy_id else None
    usable = (
        policy is not None
        and policy_row is not None
        and policy_row.site_id == data.site_id
        and policy_row.active
        and not policy_row.deleted
    )
    if site is not None and not usable:
        errors["policy"] = _(
            "The site has no usable service-level policy; a supervisor can set one in the settings."
        )
    elif policy is not None and data.severity not in {s.key for s in policy.severities}:
        errors["severity"] = _("Choose a severity of the site's policy.")
    if errors:
        raise ValidationError(errors)
    assert policy_id is not None
    ticket = Ticket(
        id=uuid7(),
        number=ticket_numbers.new_number(session, now),
        site_id=data.site_id,
        handling=data.handling,
        assignee=_one_line(data.assignee, 100),
        call_id=call_id,
        created_by=_one_line(author, 100),
        created_at=now,
    )
    _apply_details(session, ticket, data)
    session.add(ticket)
    session.flush()
    created = TicketEvent.created(
        now,
        reported_at=reported_at,
        severity=data.severity,
        policy=policy_id,
        category=category_name,
        handling=Handling(data.handling),
    )
    _add_event(session, ticket.id, created.kind.value, created.data, author, now, now)
    if call_id is not None:
        session.add(
            TicketCall(
                id=ticket_call_id(ticket.id, call_id),
                ticket_id=ticket.id,
                call_id=call_id,
                linked_by=_one_line(author, 100),
                linked_at=now,
            )
        )
        session.flush()
    recompute(session, [ticket.id], now)
    kb_index.index_tickets(session, [ticket.id])
    uow.commit()
    return ticket


def create_ticket_from_call(
    uow: UnitOfWork,
    call_id: str,
    author: str,
    now: dt.datetime,
    severity: str = "general",
    handling: str = Handling.REMOTE.value,
    assignee: str = "",
) -> Ticket:
    """A ticket for a call, prefilled from it (``input_from_call``) and linked to it."""
    data = input_from_call(uow.session, call_id)
    data.severity, data.handling, data.assignee = severity, handling, assignee
    return create_ticket(uow, data, author, now, call_id=call_id)


# --- changing -------------------------------------------------------------------------------------


def _live_ticket(session: Session, ticket_id: str) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.deleted:
        raise TicketActionError(_("This ticket no longer exists."))
    return ticket


def _prepare(uow: UnitOfWork, ticket_id: str, action: _Action) -> tuple[Ticket, _Derived]:
    session = uow.session
    ticket = _live_ticket(session, ticket_id)
    derived = _derive(_events(session, ticket_id))
    if derived.status not in _STEPS[action].allowed:
        raise TicketActionError(_refusal(action, derived.status))
    return ticket, derived


def _stated(at: dt.datetime | None, now: dt.datetime, derived: _Derived) -> dt.datetime:
    """The moment an engineer states for a change (now by default), checked against the history."""
    moment = _aware(at, "at") if at is not None else now
    if moment > now + FUTURE_TOLERANCE:
        raise TicketActionError(_("The time cannot be in the future."))
    if derived.reported_at is not None and moment < derived.reported_at:
        raise TicketActionError(_("The time cannot be before the ticket was reported."))
    if derived.last_at is not None and moment < derived.last_at:
        raise TicketActionError(
            _("The time cannot be before the ticket's last change ({moment}).").format(
                moment=format_moment(derived.last_at)
            )
        )
    return moment


def _record(
    uow: UnitOfWork,
    ticket: Ticket,
    kind: str,
    data: Mapping[str, Any],
    author: str,
    at: dt.datetime,
    now: dt.datetime,
) -> TicketState:
    session = uow.session
    _add_event(session, ticket.id, kind, data, author, at, now)
    state = _write_state(session, ticket, _events(session, ticket.id), _config(session), now)
    session.flush()
    uow.commit()
    return state


def _status_change(
    uow: UnitOfWork,
    ticket_id: str,
    action: _Action,
    make: Callable[[dt.datetime], TicketEvent],
    author: str,
    now: dt.datetime,
    at: dt.datetime | None,
    extra: Mapping[str, Any] | None = None,
) -> TicketState:
    """Check the action against the status and the stated moment, then record ``make(moment)``."""
    ticket, derived = _prepare(uow, ticket_id, action)
    moment = _stated(at, _aware(now, "now"), derived)
    event = make(moment)
    return _record(uow, ticket, event.kind.value, {**event.data, **(extra or {})}, author, moment, now)


def respond(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """First response (新建 → 已响应)."""
    return _status_change(uow, ticket_id, _Action.RESPOND, TicketEvent.responded, author, now, at)


def start_work(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """Work starts (已响应 → 处理中; also back to remote work after an on-site step)."""

    def make(moment: dt.datetime) -> TicketEvent:
        return TicketEvent.status_changed(moment, IN_PROGRESS_STATUS)

    return _status_change(uow, ticket_id, _Action.START_WORK, make, author, now, at)


def require_on_site(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """Remote handling cannot solve it: someone must go on site (→ 待现场; the on-site clock starts)."""
    _live_ticket(uow.session, ticket_id).handling = Handling.ON_SITE.value
    return _status_change(
        uow, ticket_id, _Action.REQUIRE_ON_SITE, TicketEvent.on_site_required, author, now, at
    )


def arrive_on_site(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """An engineer arrived on site (→ 现场处理)."""
    _live_ticket(uow.session, ticket_id).handling = Handling.ON_SITE.value
    return _status_change(
        uow, ticket_id, _Action.ARRIVE_ON_SITE, TicketEvent.arrived_on_site, author, now, at
    )


def pause(
    uow: UnitOfWork, ticket_id: str, reason: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """Put on hold (挂起) while waiting for the user or a third party: the resolution clock stops."""
    reason = reason.strip()
    if not reason:
        raise TicketActionError(_("Say what the ticket is waiting for."))

    def make(moment: dt.datetime) -> TicketEvent:
        return TicketEvent.paused(moment, reason[:2000])

    return _status_change(uow, ticket_id, _Action.PAUSE, make, author, now, at)


def resume(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """End the hold: back to the status before it; the paused time moves the resolution deadline."""
    return _status_change(uow, ticket_id, _Action.RESUME, TicketEvent.resumed, author, now, at)


def resolve(
    uow: UnitOfWork,
    ticket_id: str,
    author: str,
    now: dt.datetime,
    at: dt.datetime | None = None,
    summary: str = "",
) -> TicketState:
    """Resolved (→ 已解决); ``summary`` says how."""
    extra = {"summary": summary.strip()[:MAX_TEXT]} if summary.strip() else None
    return _status_change(uow, ticket_id, _Action.RESOLVE, TicketEvent.resolved, author, now, at, extra)


def close(
    uow: UnitOfWork, ticket_id: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """Closed (已解决 → 已关闭), e.g. after the user confirmed."""
    return _status_change(uow, ticket_id, _Action.CLOSE, TicketEvent.closed, author, now, at)


def reopen(
    uow: UnitOfWork, ticket_id: str, reason: str, author: str, now: dt.datetime, at: dt.datetime | None = None
) -> TicketState:
    """Reopen a resolved or closed ticket (→ 处理中); the resolution clock resumes where it stopped."""
    reason = reason.strip()
    if not reason:
        raise TicketActionError(_("Say why the ticket is reopened."))
    extra = {"reason": reason[:2000]}
    return _status_change(uow, ticket_id, _Action.REOPEN, TicketEvent.reopened, author, now, at, extra)


def change_severity(
    uow: UnitOfWork,
    ticket_id: str,
    severity: str,
    author: str,
    now: dt.datetime,
    at: dt.datetime | None = None,
) -> TicketState:
    """A new severity (一般 → 重大 …); deadlines are derived again, keeping the time already paused."""
    ticket, derived = _prepare(uow, ticket_id, _Action.CHANGE)
    moment = _stated(at, _aware(now, "now"), derived)
    policy = sla_config.load_policies(uow.session).get(derived.policy_id)
    if policy is not None and severity not in {s.key for s in policy.severities}:
        raise TicketActionError(
            _("“{severity}” is not a severity of the policy “{policy}”.").format(
                severity=severity, policy=policy.name
            )
        )
    if severity == derived.severity:
        name = policy.severity_name(severity) if policy is not None else severity
        raise TicketActionError(_("The severity is already “{severity}”.").format(severity=name))
    event = TicketEvent.severity_changed(moment, severity)
    return _record(uow, ticket, event.kind.value, event.data, author, moment, now)


def change_policy(
    uow: UnitOfWork,
    ticket_id: str,
    policy_id: str,
    author: str,
    now: dt.datetime,
    at: dt.datetime | None = None,
) -> TicketState:
    """Another policy of the ticket's site; deadlines are derived again, keeping the paused time."""
    ticket, derived = _prepare(uow, ticket_id, _Action.CHANGE)
    moment = _stated(at, _aware(now, "now"), derived)
    row = uow.session.get(SlaPolicy, policy_id)
    policy = sla_config.load_policies(uow.session).get(policy_id)
    if row is None or row.deleted or not row.active or policy is None:
        raise TicketActionError(_("This service-level policy no longer exists or is retired."))
    if row.site_id != ticket.site_id:
        raise TicketActionError(_("This service-level policy belongs to another site."))
    if policy_id == derived.policy_id:
        raise TicketActionError(_("The ticket already follows this policy."))
    if derived.severity not in {s.key for s in policy.severities}:
        raise TicketActionError(
            _("The ticket's severity is not one of this policy's: change the severity first.")
        )
    event = TicketEvent.policy_changed(moment, policy_id)
    return _record(uow, ticket, event.kind.value, event.data, author, moment, now)


def set_deadline(
    uow: UnitOfWork,
    ticket_id: str,
    target: TargetKind,
    due: dt.datetime | None,
    author: str,
    now: dt.datetime,
) -> TicketState:
    """A deadline agreed with the user (按约定), for a target the policy leaves by agreement; None
    clears it."""
    session = uow.session
    ticket, derived = _prepare(uow, ticket_id, _Action.CHANGE)
    now = _aware(now, "now")
    deadlines, _problem = _deadlines(
        derived, sla_config.load_policies(session), sla_config.build_calendar(session)
    )
    state = deadlines.target(target) if deadlines is not None else None
    if state is None or state.mode not in (DeadlineMode.BY_AGREEMENT, DeadlineMode.MANUAL):
        raise TicketActionError(
            _(
                "The {target} deadline follows from the policy; only a deadline by agreement can be set "
                "by hand."
            ).format(target=target.label())
        )
    if due is not None:
        due = _aware(due, "due")
        if derived.reported_at is not None and due < derived.reported_at:
            raise TicketActionError(_("The deadline cannot be before the ticket was reported."))
    event = TicketEvent.deadline_set(now, target, due)
    return _record(uow, ticket, event.kind.value, event.data, author, now, now)


def assign(uow: UnitOfWork, ticket_id: str, assignee: str, author: str, now: dt.datetime) -> TicketState:
    """Give the ticket to an engineer ("" takes it back)."""
    ticket, _derived = _prepare(uow, ticket_id, _Action.CHANGE)
    now = _aware(now, "now")
    name = _one_line(assignee, 100)
    if name == ticket.assignee:
        if name:
            raise TicketActionError(_("The ticket is already assigned to {assignee}.").format(assignee=name))
        raise TicketActionError(_("The ticket is not assigned to anyone."))
    ticket.assignee = name
    return _record(uow, ticket, ASSIGNED, {"assignee": name}, author, now, now)


def add_note(uow: UnitOfWork, ticket_id: str, note: str, author: str, now: dt.datetime) -> TicketState:
    """A note in the ticket's history (possible in any status)."""
    ticket, _derived = _prepare(uow, ticket_id, _Action.NOTE)
    now = _aware(now, "now")
    if not note.strip():
        raise TicketActionError(_("The note is empty."))
    if len(note) > MAX_TEXT:
        raise TicketActionError(_("Too long: at most {limit} characters.").format(limit=MAX_TEXT))
    return _record(uow, ticket, NOTE, {"text": note.strip()}, author, now, now)


def dismiss_flag(
    uow: UnitOfWork, ticket_id: str, event_id: str, author: str, now: dt.datetime
) -> TicketState:
    """Set aside the mark of an event that did not apply after a merge, once a person has looked at it
    (the event stays in the history; the dismissal is an event too, so every desktop sees it)."""
    ticket, derived = _prepare(uow, ticket_id, _Action.NOTE)
    now = _aware(now, "now")
    if event_id not in derived.flagged:
        raise TicketActionError(_("This entry of the history is not marked (any more)."))
    return _record(uow, ticket, FLAG_DISMISSED, {"event": event_id}, author, now, now)


def link_call(uow: UnitOfWork, ticket_id: str, call_id: str, author: str, now: dt.datetime) -> TicketState:
    """Link another call to the ticket (the caller rang again about it)."""
    session = uow.session
    ticket, _derived = _prepare(uow, ticket_id, _Action.NOTE)
    now = _aware(now, "now")
    call = session.scalar(select(Call).where(Call.id == call_id))
    if call is None or call.deleted:
        raise TicketActionError(_("This call no longer exists."))
    link_id = ticket_call_id(ticket.id, call_id)
    if session.get(TicketCall, link_id) is not None:
        raise TicketActionError(_("This call is already linked to the ticket."))
    session.add(
        TicketCall(
            id=link_id, ticket_id=ticket.id, call_id=call_id, linked_by=_one_line(author, 100), linked_at=now
        )
    )
    session.flush()
    return _record(uow, ticket, CALL_LINKED, {"call_id": call_id}, author, now, now)


def edit_ticket(
    uow: UnitOfWork, ticket_id: str, data: TicketInput, author: str, now: dt.datetime
) -> TicketState | None:
    """Change a ticket's details (subject, description, unit, caller, system, category, notes); the
    history records what changed. A new category is a service-level event too (rules may match it).
    Returns None when nothing changed."""
    session = uow.session
    ticket, _derived = _prepare(uow, ticket_id, _Action.CHANGE)
    now = _aware(now, "now")
    errors: dict[str, str] = {}
    category_name = _validate_details(session, data, errors)
    if errors:
        raise ValidationError(errors)
    changed = _apply_details(session, ticket, data)
    if not changed:
        session.rollback()
        return None
    shown = {name: value for name, value in changed.items() if name not in ("description", "notes")}
    _add_event(session, ticket.id, EDITED, {"fields": sorted(changed), "values": shown}, author, now, now)
    if "category_id" in changed:
        event = TicketEvent.category_changed(now, category_name)
        _add_event(session, ticket.id, event.kind.value, event.data, author, now, now)
    state = _write_state(session, ticket, _events(session, ticket.id), _config(session), now)
    session.flush()
    kb_index.index_tickets(session, [ticket.id])
    uow.commit()
    return state


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """One open ticket as a list shows it, with its deadlines for the countdown (``app.sla.countdown``)."""

    id: str
    number: str
    site_id: str
    title: str
    unit_name: str
    caller_name: str
    assignee: str
    status: TicketStatus
    severity: str
    severity_name: str
    created_at: dt.datetime
    next_due_at: dt.datetime | None
    deadlines: TicketDeadlines | None
    flagged: int


def list_open_tickets(
    session: Session, site_id: str | None = None, assignee: str | None = None
) -> list[TicketSummary]:
    """Open tickets, most urgent first (earliest due time; tickets without one last)."""
    query = (
        select(Ticket, TicketState)
        .join(TicketState, TicketState.ticket_id == Ticket.id)
        .where(TicketState.is_open.is_(True), Ticket.deleted.is_(False))
        .order_by(TicketState.next_due_at.is_(None), TicketState.next_due_at, Ticket.created_at, Ticket.id)
    )
    if site_id is not None:
        query = query.where(Ticket.site_id == site_id)
    if assignee is not None:
        query = query.where(Ticket.assignee == assignee)
    pairs = session.execute(query).all()
    if not pairs:
        return []
    config = _config(session)
    events = _events_of(session, [ticket.id for ticket, _state in pairs])
    summaries = []
    for ticket, state in pairs:
        derived = _derive(events[ticket.id])
        deadlines, _problem = _deadlines(derived, config.policies, config.calendar)
        policy = config.policies.get(state.policy_id or "")
        summaries.append(
            TicketSummary(
                id=ticket.id,
                number=ticket.number,
                site_id=ticket.site_id,
                title=ticket.title,
                unit_name=ticket.unit_name,
                caller_name=ticket.caller_name,
                assignee=ticket.assignee,
                status=derived.status,
                severity=state.severity,
                severity_name=policy.severity_name(state.severity) if policy is not None else state.severity,
                created_at=ticket.created_at,
                next_due_at=state.next_due_at,
                deadlines=deadlines,
                flagged=len(derived.flagged),
            )
        )
    return summaries


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of a ticket's history, described in the current language."""

    id: str
    kind: str
    at: dt.datetime
    recorded_at: dt.datetime
    author: str
    text: str
    flagged: bool  # kept, but did not apply after the histories of two desktops were merged

    @property
    def flag_text(self) -> str:
        if not self.flagged:
            return ""
        return _("Did not apply after the changes of two computers were merged; please check.")


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket: Ticket
    status: TicketStatus
    severity: str
    severity_name: str
    policy_id: str
    policy_name: str
    reported_at: dt.datetime | None
    deadlines: TicketDeadlines | None
    problem: str
    timeline: list[TimelineEntry]
    call_ids: list[str]

    @property
    def status_label(self) -> str:
        return self.status.label()

    @property
    def flagged(self) -> int:
        return sum(1 for entry in self.timeline if entry.flagged)


def _call_label(session: Session, call_id: str) -> str:
    call = session.scalar(select(Call).where(Call.id == call_id))
    if call is None:
        return _("a call not on this computer")
    who = call.caller_name or call.caller_phone or call.unit_name
    return f"{format_moment(call.started_at)} {who}".strip()


def _describe(
    session: Session, row: TicketEventRow, policies: Mapping[str, Policy], policy: Policy | None
) -> str:
    data = _data(row)
    kind = row.kind

    def severity_name(key: object) -> str:
        return policy.severity_name(str(key)) if policy is not None else str(key)

    def policy_name(policy_id: object) -> str:
        found = policies.get(str(policy_id))
        return found.name if found is not None else str(policy_id)

    if kind == EventKind.CREATED.value:
        return _("Ticket created (severity {severity}, policy “{policy}”)").format(
            severity=severity_name(data.get("severity")), policy=policy_name(data.get("policy"))
        )
    if kind == EventKind.RESPONDED.value:
        return _("Responded to the ticket")
    if kind == EventKind.STATUS_CHANGED.value:
        if data.get("status") == IN_PROGRESS_STATUS:
            return _("Started work")
        return _("Status: {status}").format(status=str(data.get("status")))
    if kind == EventKind.ON_SITE_REQUIRED.value:
        return _("On-site visit required")
    if kind == EventKind.ARRIVED_ON_SITE.value:
        return _("Arrived on site")
    if kind == EventKind.PAUSED.value:
        return _("Put on hold: {reason}").format(reason=str(data.get("reason") or ""))
    if kind == EventKind.RESUMED.value:
        return _("Resumed")
    if kind == EventKind.RESOLVED.value:
        if data.get("summary"):
            return _("Marked as resolved: {summary}").format(summary=str(data["summary"]))
        return _("Marked as resolved")
    if kind == EventKind.CLOSED.value:
        return _("Closed the ticket")
    if kind == EventKind.REOPENED.value:
        return _("Reopened: {reason}").format(reason=str(data.get("reason") or ""))
    if kind == EventKind.SEVERITY_CHANGED.value:
        return _("Severity changed to {severity}").format(severity=severity_name(data.get("severity")))
    if kind == EventKind.POLICY_CHANGED.value:
        return _("Service-level policy changed to “{policy}”").format(policy=policy_name(data.get("policy")))
    if kind == EventKind.CATEGORY_CHANGED.value:
        return _("Category changed to {category}").format(category=str(data.get("category") or "—"))
    if kind == EventKind.DEADLINE_SET.value:
        try:
            target = TargetKind(str(data.get("target"))).label()
        except ValueError:
            target = str(data.get("target"))
        due = data.get("due")
        if isinstance(due, str):
            return _("{target} deadline set by hand to {due}").format(
                target=target, due=format_moment(dt.datetime.fromisoformat(due))
            )
        return _("{target} deadline set by hand was cleared").format(target=target)
    if kind == NOTE:
        return _("Note: {text}").format(text=str(data.get("text") or ""))
    if kind == ASSIGNED:
        if data.get("assignee"):
            return _("Assigned to {assignee}").format(assignee=str(data["assignee"]))
        return _("Assignment taken back")
    if kind == CALL_LINKED:
        return _("Call linked: {call}").format(call=_call_label(session, str(data.get("call_id"))))
    if kind == FLAG_DISMISSED:
        return _("Checked an entry that did not apply after a merge; its mark was set aside")
    if kind == EDITED:
        names = data.get("fields")
        labels = (
            [_(_DETAIL_LABELS[n]) for n in names if n in _DETAIL_LABELS] if isinstance(names, list) else []
        )
        return _("Changed: {fields}").format(fields=join_labels(dict.fromkeys(labels)))
    return kind


def get_ticket(session: Session, ticket_id: str) -> TicketView | None:
    """A ticket with its derived state and its whole history in order, described in words."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    events = _events(session, ticket_id)
    derived = _derive(events)
    config = _config(session)
    deadlines, problem = _deadlines(derived, config.policies, config.calendar)
    policy = deadlines.policy if deadlines is not None else config.policies.get(derived.policy_id)
    flagged = set(derived.flagged)
    timeline = [
        TimelineEntry(
            row.id,
            row.kind,
            row.at,
            row.recorded_at,
            row.author,
            _describe(session, row, config.policies, policy),
            row.id in flagged,
        )
        for row in sorted(events, key=lambda row: row.kind != EventKind.CREATED.value)
    ]
    call_ids = list(
        session.scalars(
            select(TicketCall.call_id).where(TicketCall.ticket_id == ticket_id).order_by(TicketCall.linked_at)
        )
    )
    severity = deadlines.severity if deadlines is not None else derived.severity
    return TicketView(
        ticket=ticket,
        status=derived.status,
        severity=severity,
        severity_name=policy.severity_name(severity) if policy is not None else severity,
        policy_id=derived.policy_id,
        policy_name=policy.name if policy is not None else "",
        reported_at=derived.reported_at,
        deadlines=deadlines,
        problem=problem,
        timeline=timeline,
        call_ids=call_ids,
    )


def tickets_of_call(session: Session, call_id: str) -> list[Ticket]:
    """The tickets a call is linked to."""
    return list(
        session.scalars(
            select(Ticket)
            .join(TicketCall, TicketCall.ticket_id == Ticket.id)
            .where(TicketCall.call_id == call_id, Ticket.deleted.is_(False))
            .order_by(Ticket.created_at)
        )
    )


# --- outcomes (reports) ---------------------------------------------------------------------------


class TargetResult(StrEnum):
    MET = "met"
    BREACHED = "breached"  # met late, or still open after its due time
    OPEN = "open"  # still running (or on hold) before its due time
    BY_AGREEMENT = "by_agreement"  # no deadline
    NOT_STARTED = "not_started"  # the on-site clock never started

    def label(self) -> str:
        return _(_RESULT_LABELS[self])


_RESULT_LABELS = {
    TargetResult.MET: N_("Met"),
    TargetResult.BREACHED: N_("Breached"),
    TargetResult.OPEN: N_("Running"),
    TargetResult.BY_AGREEMENT: N_("By agreement"),
    TargetResult.NOT_STARTED: N_("Not started"),
}


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """One target of one ticket for a report: met or breached, and by how much."""

    ticket_id: str
    number: str
    site_id: str
    target: TargetKind
    result: TargetResult
    due: dt.datetime | None
    met_at: dt.datetime | None
    margin: dt.timedelta | None  # MET: time to spare; BREACHED: how late (or overdue so far)

    def text(self) -> str:
        if self.result is TargetResult.MET and self.margin is not None:
            return _("Met, {amount} to spare").format(amount=format_amount(self.margin))
        if self.result is TargetResult.BREACHED and self.margin is not None:
            return _("Breached by {amount}").format(amount=format_amount(self.margin))
        return self.result.label()


def _moment_of(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def _outcome(ticket: Ticket, record: Mapping[str, Any], now: dt.datetime) -> TargetOutcome | None:
    try:
        target = TargetKind(str(record.get("target")))
    except ValueError:
        return None
    due, met_at = _moment_of(record.get("due")), _moment_of(record.get("met_at"))
    margin: dt.timedelta | None = None
    if due is None:
        mode = record.get("mode")
        if mode == DeadlineMode.NOT_STARTED.value:
            result = TargetResult.NOT_STARTED
        elif mode in (DeadlineMode.BY_AGREEMENT.value, DeadlineMode.MANUAL.value):
            result = TargetResult.BY_AGREEMENT
        else:
            result = TargetResult.OPEN  # on hold with time left
    elif met_at is not None:
        result = TargetResult.MET if met_at <= due else TargetResult.BREACHED
        margin = due - met_at if met_at <= due else met_at - due
    elif now > due:
        result, margin = TargetResult.BREACHED, now - due
    else:
        result = TargetResult.OPEN
    return TargetOutcome(ticket.id, ticket.number, ticket.site_id, target, result, due, met_at, margin)


def outcome_report(
    session: Session,
    now: dt.datetime,
    site_id: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> list[TargetOutcome]:
    """Every target of the tickets made in a period (of a site): met or breached and by how much, from
    the derived state (no history replayed). Open targets past their due time count as breached."""
    now = _aware(now, "now")
    query = (
        select(Ticket, TicketState.outcomes)
        .join(TicketState, TicketState.ticket_id == Ticket.id)
        .where(Ticket.deleted.is_(False))
        .order_by(Ticket.created_at, Ticket.id)
    )
    if site_id is not None:
        query = query.where(Ticket.site_id == site_id)
    if created_from is not None:
        query = query.where(Ticket.created_at >= created_from)
    if created_to is not None:
        query = query.where(Ticket.created_at < created_to)
    found: list[TargetOutcome] = []
    for ticket, outcomes in session.execute(query):
        for record in json.loads(outcomes or "[]"):
            outcome = _outcome(ticket, record, now)
            if outcome is not None:
                found.append(outcome)
    return found


def ticket_outcomes(session: Session, ticket_id: str, now: dt.datetime) -> list[TargetOutcome]:
    """One ticket's targets, met or breached and by how much."""
    ticket = session.get(Ticket, ticket_id)
    state = session.get(TicketState, ticket_id)
    if ticket is None or state is None:
        return []
    records = json.loads(state.outcomes or "[]")
    return [o for o in (_outcome(ticket, r, _aware(now, "now")) for r in records) if o is not None]


# --- countdown warnings shown (notify once per threshold) ----------------------------------------


def alert_shown(session: Session, ticket_id: str, target: TargetKind, threshold_key: str) -> bool:
    return session.get(TicketAlert, (ticket_id, target.value, threshold_key)) is not None


def mark_alert_shown(
    uow: UnitOfWork, ticket_id: str, target: TargetKind, threshold_key: str, now: dt.datetime
) -> None:
    """Remember that a countdown warning was shown, so it is shown once per ticket and threshold."""
    if not alert_shown(uow.session, ticket_id, target, threshold_key):
        uow.session.add(
            TicketAlert(ticket_id=ticket_id, target=target.value, threshold=threshold_key, notified_at=now)
        )
        uow.commit()
