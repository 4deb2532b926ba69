"""Bringing open tickets in from a spreadsheet, and reading tickets back out in that shape.

A row of a tickets file is a ``TicketEntry``: a ticket's fields with the reference data *by name*, its
status, and the moments of its status history where known (``Step``: responded, on-site decided,
arrived, paused, resumed, resolved, closed). ``import_tickets`` checks every entry and replays it
through the ticket service (``app.services.tickets``) — ``create_ticket`` with the stated report time,
then one action per step with ``at`` = the stated moment and ``now`` = the caller's clock — so the
deadlines and outcomes are derived exactly as for a ticket made in the app. All rows go into one
transaction: if any row is wrong, nothing is imported.

How a row's history is replayed (the service's status flow, 新建 → 已响应 → … → 已关闭):

- 响应时间 → respond. Without it an arrival (到场时间) counts as the response, as it does for the
  deadlines; a pause or an on-site decision needs a response time before it.
- 转现场时间 → remote handling given up at that moment: the ticket is made with remote handling and the
  on-site clock starts then. Without it, 处理方式 现场 makes the ticket on-site from the report (the
  on-site clock starts at the report time), as the new-ticket form does.
- 到场时间 → arrived on site; 挂起时间 / 恢复时间 → one pause; 解决时间 → resolved; 关闭时间 → closed (a
  closed ticket without a resolution time is resolved at its closing time — the deadlines count a
  closing without a resolution the same way).
- 状态 must be the status these steps reach. 处理中 is reached from 已响应, 待现场 or 现场处理 by
  "start work" at the latest moment given; 待现场 with 处理方式 现场 and no 转现场时间 by "on-site
  required" at the latest moment given. Both change no deadline.

``iter_ticket_entries`` reads saved tickets back as entries, with each target's due time, explanation
and outcome (what ``get_ticket`` and ``ticket_outcomes`` derive), for the export. An export of open
tickets re-imports into the same statuses and deadlines, as long as each ticket was paused at most
once (the file holds one pause) and not reopened.

The file formats themselves live in ``app.importexport.tickets_io``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import _
from app.services import sla_config, tickets
from app.services.call_import import RowProblem
from app.services.reference import list_categories, list_modules, list_sites, list_systems
from app.services.reference_names import ReferenceNames, name_key, not_found
from app.services.tickets import TicketActionError, TicketInput, TicketStatus
from app.sla.events import EventKind, Handling
from app.sla.policy import Policy, TargetKind
from app.sla.wall_time import SHANGHAI
from app.storage.models import Category, Ticket, TicketState
from app.storage.uow import UnitOfWork

# A list of valid names is added to a "not found" message only when it is short enough to read.


class Step(StrEnum):
    """A status-history column of the file, in the order the status flow takes them."""

    RESPONDED = "responded"
    ON_SITE_DECIDED = "on_site_decided"
    ARRIVED = "arrived"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def header(self) -> str:
        """The column's header in the file, which messages name it by (in every language)."""
        return _STEP_HEADERS[self]


_STEP_HEADERS = {
    Step.RESPONDED: "响应时间",
    Step.ON_SITE_DECIDED: "转现场时间",
    Step.ARRIVED: "到场时间",
    Step.PAUSED: "挂起时间",
    Step.RESUMED: "恢复时间",
    Step.RESOLVED: "解决时间",
    Step.CLOSED: "关闭时间",
}
REPORTED_HEADER = "报告时间"

# The step a status needs (its time must be filled in).
_NEEDED_STEP = {
    TicketStatus.RESPONDED: Step.RESPONDED,
    TicketStatus.IN_PROGRESS: Step.RESPONDED,
    TicketStatus.ON_SITE_PENDING: Step.ON_SITE_DECIDED,
    TicketStatus.ON_SITE: Step.ARRIVED,
    TicketStatus.PAUSED: Step.PAUSED,
    TicketStatus.RESOLVED: Step.RESOLVED,
    TicketStatus.CLOSED: Step.CLOSED,
}
_STEP_ORDER = {step: index for index, step in enumerate(Step)}
_WORKING = frozenset({TicketStatus.RESPONDED, TicketStatus.ON_SITE_PENDING, TicketStatus.ON_SITE})


@dataclass(frozen=True, slots=True)
class TargetColumns:
    """One target of an exported ticket: its due time, why, and whether it was met."""

    due: dt.datetime | None
    explanation: str
    outcome: str


@dataclass(slots=True)
class TicketEntry:
    """One row of a tickets file: reference data by name, the status and handling parsed.

    ``reported_at`` or ``status`` is None only when the file reader could not read the cell and has
    reported that already; such a row is still checked for its other problems but never imported.
    ``number`` is the ticket's number in the file (kept in the imported ticket's notes); ``targets``
    is filled for export only.
    """

    row: int
    reported_at: dt.datetime | None
    status: TicketStatus | None
    site: str = ""
    number: str = ""
    title: str = ""
    unit_name: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    system: str = ""
    module: str = ""
    category: str = ""
    severity: str = ""  # a severity of the site's policy, by name (一般) or key (general); "" = the first
    handling: str = Handling.REMOTE.value
    assignee: str = ""
    times: dict[Step, dt.datetime] = field(default_factory=dict)
    targets: dict[TargetKind, TargetColumns] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketImportResult:
    """What ``import_tickets`` did: the tickets saved (0 when there were problems or nothing was to be
    committed), the rows checked, and every problem found."""

    imported: int
    checked: int
    problems: list[RowProblem]


def _moment_text(moment: dt.datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


class _Reference(ReferenceNames):
    """Every site's reference data and policy, looked up by name (inactive entries too)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._policies = sla_config.load_policies(session)

    def policy(self, site_id: str) -> Policy | None:
        """The policy a new ticket of the site gets (None: the service will say the site has none)."""
        policy_id = sla_config.site_policy_id(self.session, site_id)
        return self._policies.get(policy_id) if policy_id else None


def _resolve_severity(policy: Policy | None, entry: TicketEntry, problems: list[str]) -> str:
    if policy is None or not policy.severities:
        return entry.severity.strip() or "general"  # the service reports the missing policy
    wanted = name_key(entry.severity)
    if not wanted:
        return policy.severities[0].key
    for severity in policy.severities:
        if wanted in (name_key(severity.name), name_key(severity.key)):
            return severity.key
    problems.append(
        _("Unknown severity (严重程度) “{name}”; use {names}.").format(
            name=entry.severity.strip(), names="、".join(s.name for s in policy.severities)
        )
    )
    return ""


# --- the history ----------------------------------------------------------------------------------

_START_WORK = "start_work"
_REQUIRE_ON_SITE = "require_on_site"
Action: TypeAlias = Step | str  # a step of the file, or one of the two status-only actions above


def _order_problems(entry: TicketEntry, now: dt.datetime, problems: list[str]) -> None:
    """Times before the report, in the future, or out of the order the status flow allows."""
    times, reported = entry.times, entry.reported_at
    assert reported is not None
    latest = now + tickets.FUTURE_TOLERANCE
    if reported > latest:
        problems.append(
            _("{what} ({moment}) is in the future.").format(
                what=REPORTED_HEADER, moment=_moment_text(reported)
            )
        )
    for step, moment in times.items():
        if moment > latest:
            problems.append(
                _("{what} ({moment}) is in the future.").format(what=step.header, moment=_moment_text(moment))
            )
        if moment < reported:
            problems.append(
                _("{what} ({moment}) is before {other} ({other_moment}).").format(
                    what=step.header,
                    moment=_moment_text(moment),
                    other=REPORTED_HEADER,
                    other_moment=_moment_text(reported),
                )
            )

    def before(later: Step, earlier: Step) -> None:
        if later in times and earlier in times and times[later] < times[earlier]:
            problems.append(
                _("{what} ({moment}) is before {other} ({other_moment}).").format(
                    what=later.header,
                    moment=_moment_text(times[later]),
                    other=earlier.header,
                    other_moment=_moment_text(times[earlier]),
                )
            )

    before(Step.ON_SITE_DECIDED, Step.RESPONDED)
    before(Step.ARRIVED, Step.ON_SITE_DECIDED)
    before(Step.ARRIVED, Step.RESPONDED)
    before(Step.RESUMED, Step.PAUSED)
    for step in (Step.ON_SITE_DECIDED, Step.PAUSED):
        if step in times and Step.RESPONDED not in times:
            if step is Step.PAUSED and Step.ARRIVED in times:
                before(Step.PAUSED, Step.ARRIVED)  # the arrival is the response
            else:
                problems.append(
                    _("{what} is filled in but {other} is empty.").format(
                        what=step.header, other=Step.RESPONDED.header
                    )
                )
    before(Step.PAUSED, Step.RESPONDED)
    if Step.RESUMED in times and Step.PAUSED not in times:
        problems.append(
            _("{what} is filled in but {other} is empty.").format(
                what=Step.RESUMED.header, other=Step.PAUSED.header
            )
        )
    if Step.PAUSED in times:
        paused, resumed = times[Step.PAUSED], times.get(Step.RESUMED)
        for step in (Step.ON_SITE_DECIDED, Step.ARRIVED):
            if step not in times:
                continue
            moment = times[step]
            if moment <= paused or (resumed is not None and moment >= resumed):
                continue
            if resumed is None:
                problems.append(
                    _("{what} ({moment}) is after the hold began ({paused}), and {resume} is empty.").format(
                        what=step.header,
                        moment=_moment_text(moment),
                        paused=_moment_text(paused),
                        resume=Step.RESUMED.header,
                    )
                )
            else:
                problems.append(
                    _("{what} ({moment}) falls while the ticket was on hold ({paused} – {resumed}).").format(
                        what=step.header,
                        moment=_moment_text(moment),
                        paused=_moment_text(paused),
                        resumed=_moment_text(resumed),
                    )
                )
    for last in (Step.RESOLVED, Step.CLOSED):
        for step in Step:
            if _STEP_ORDER[step] < _STEP_ORDER[last]:
                before(last, step)


def _reached(times: dict[Step, dt.datetime]) -> TicketStatus:
    """The status the filled-in steps lead to (before any status-only action)."""
    if Step.CLOSED in times:
        return TicketStatus.CLOSED
    if Step.RESOLVED in times:
        return TicketStatus.RESOLVED
    if Step.PAUSED in times and Step.RESUMED not in times:
        return TicketStatus.PAUSED
    if Step.ARRIVED in times:
        return TicketStatus.ON_SITE
    if Step.ON_SITE_DECIDED in times:
        return TicketStatus.ON_SITE_PENDING
    if Step.RESPONDED in times:
        return TicketStatus.RESPONDED
    return TicketStatus.NEW


def _plan_history(
    entry: TicketEntry, status: TicketStatus, problems: list[str]
) -> list[tuple[Action, dt.datetime]]:
    """The actions to replay after creating the ticket, in order, each with its stated moment."""
    times = entry.times
    reached = _reached(times)
    extra: str | None = None
    if status is not reached:
        if status is TicketStatus.IN_PROGRESS and reached in _WORKING:
            extra = _START_WORK
        elif (
            status is TicketStatus.ON_SITE_PENDING
            and reached is TicketStatus.RESPONDED
            and entry.handling == Handling.ON_SITE.value
        ):
            extra = _REQUIRE_ON_SITE
        else:
            needed = _NEEDED_STEP.get(status)
            if needed is not None and needed not in times:
                if needed is Step.ON_SITE_DECIDED:
                    problems.append(
                        _("The status “{status}” needs {what} filled in, or 现场 as 处理方式.").format(
                            status=status.label(), what=needed.header
                        )
                    )
                else:
                    problems.append(
                        _("The status “{status}” needs {what} filled in.").format(
                            status=status.label(), what=needed.header
                        )
                    )
            else:
                problems.append(
                    _(
                        "The status “{status}” does not fit the times filled in: they lead to “{reached}”."
                    ).format(status=status.label(), reached=reached.label())
                )
            return []

    working: list[tuple[Action, dt.datetime]] = []
    if Step.RESPONDED in times:
        working.append((Step.RESPONDED, times[Step.RESPONDED]))
    elif Step.ARRIVED in times:
        working.append((Step.RESPONDED, times[Step.ARRIVED]))  # the arrival is the response
    for step in (Step.ON_SITE_DECIDED, Step.ARRIVED):
        if step in times:
            working.append((step, times[step]))
    paused = times.get(Step.PAUSED)
    actions = [a for a in working if paused is None or a[1] <= paused]
    if paused is not None:
        actions.append((Step.PAUSED, paused))
        if Step.RESUMED in times:
            actions.append((Step.RESUMED, times[Step.RESUMED]))
        actions.extend(a for a in working if a[1] > paused)
    if extra is not None:  # a status-only action, at the latest moment given (the response at least)
        actions.append((extra, max(moment for _action, moment in actions)))
    if Step.RESOLVED in times:
        actions.append((Step.RESOLVED, times[Step.RESOLVED]))
    elif Step.CLOSED in times:
        actions.append((Step.RESOLVED, times[Step.CLOSED]))
    if Step.CLOSED in times:
        actions.append((Step.CLOSED, times[Step.CLOSED]))
    return actions


# --- checking and saving --------------------------------------------------------------------------


@dataclass(slots=True)
class _Planned:
    row: int
    data: TicketInput
    actions: list[tuple[Action, dt.datetime]]


def _plan(
    ref: _Reference, entry: TicketEntry, default_site_id: str, now: dt.datetime, problems: list[str]
) -> _Planned | None:
    site = ref.resolve_site(
        entry.site,
        default_site_id,
        _("No service site: fill in the 站点 column or choose one with --site."),
        problems,
    )
    if site is None:
        return None
    system, module = ref.resolve_system_module(site, entry.system, entry.module, problems)
    category: Category | None = None
    if entry.category.strip():
        category = ref.category(entry.category)
        if category is None:
            problems.append(
                not_found(
                    _("Unknown category “{name}”. Valid categories: {names}."),
                    _("Unknown category “{name}”."),
                    [c.name for c in ref.categories if c.active],
                    name=entry.category.strip(),
                )
            )
    if not " ".join(entry.title.split()):
        problems.append(_("The title (标题) is empty."))
    severity = _resolve_severity(ref.policy(site.id), entry, problems)
    if entry.reported_at is None or entry.status is None:
        return None  # the reader has reported why
    _order_problems(entry, now, problems)
    if problems:
        return None
    handling = entry.handling
    if Step.ON_SITE_DECIDED in entry.times:
        handling = Handling.REMOTE.value  # remote until the stated decision
    actions = _plan_history(entry, entry.status, problems)
    if problems:
        return None
    notes = (
        _("Imported from a file; its number there: {number}").format(number=entry.number.strip())
        if entry.number.strip()
        else ""
    )
    data = TicketInput(
        site_id=site.id,
        title=entry.title,
        org_id=ref.organisation_id(site.id, entry.unit_name),
        unit_name=entry.unit_name.strip(),
        caller_name=entry.caller_name.strip(),
        caller_phone=entry.caller_phone.strip(),
        system_id=system.id if system else None,
        module_id=module.id if module else None,
        category_id=category.id if category else None,
        notes=notes,
        severity=severity,
        handling=handling,
        assignee=entry.assignee.strip(),
        reported_at=entry.reported_at,
    )
    return _Planned(entry.row, data, actions)


class _OneTransaction(UnitOfWork):
    """The import's unit of work as the ticket service sees it. The service commits after each change;
    here a commit only flushes, so the whole file stays one transaction that ``import_tickets``
    commits — or rolls back — at the end."""

    def __init__(self, outer: UnitOfWork) -> None:
        super().__init__(outer.db)
        self._outer = outer

    @property
    def session(self) -> Session:
        return self._outer.session

    def commit(self) -> None:
        self._outer.session.flush()


# The columns of the fields the service checks, to say where a refusal belongs.
_FIELD_COLUMNS: dict[str, str] = {
    "title": "标题",
    "reported_at": "报告时间",
    "severity": "严重程度",
    "handling": "处理方式",
    "org": "单位",
    "system": "系统",
    "module": "模块",
    "category": "类别",
}


def _replay(uow: UnitOfWork, planned: _Planned, author: str, now: dt.datetime) -> list[str]:
    """Create the ticket and replay its history; why the service refused, if it did."""
    try:
        ticket = tickets.create_ticket(uow, planned.data, author, now)
    except ValidationError as exc:
        return [
            _("{what}: {reason}").format(what=_FIELD_COLUMNS[name], reason=text)
            if name in _FIELD_COLUMNS
            else text
            for name, text in exc.fields.items()
        ]
    for action, moment in planned.actions:
        try:
            _act(uow, ticket.id, action, moment, author, now)
        except TicketActionError as exc:
            what = action.header if isinstance(action, Step) else _moment_text(moment)
            return [_("{what}: {reason}").format(what=what, reason=exc.message)]
    return []


def _act(
    uow: UnitOfWork, ticket_id: str, action: Action, at: dt.datetime, author: str, now: dt.datetime
) -> None:
    if action is Step.RESPONDED:
        tickets.respond(uow, ticket_id, author, now, at)
    elif action is Step.ON_SITE_DECIDED or action == _REQUIRE_ON_SITE:
        tickets.require_on_site(uow, ticket_id, author, now, at)
    elif action is Step.ARRIVED:
        tickets.arrive_on_site(uow, ticket_id, author, now, at)
    elif action is Step.PAUSED:
        tickets.pause(uow, ticket_id, _("On hold when the ticket was imported from a file"), author, now, at)
    elif action is Step.RESUMED:
        tickets.resume(uow, ticket_id, author, now, at)
    elif action is Step.RESOLVED:
        tickets.resolve(uow, ticket_id, author, now, at)
    elif action is Step.CLOSED:
        tickets.close(uow, ticket_id, author, now, at)
    elif action == _START_WORK:
        tickets.start_work(uow, ticket_id, author, now, at)
    else:  # pragma: no cover - the planner makes no other action
        raise ValueError(f"unknown import action {action!r}")


def import_tickets(
    uow: UnitOfWork,
    entries: Sequence[TicketEntry],
    default_site_id: str,
    author: str,
    now: dt.datetime,
    progress: Callable[[int, int], None] | None = None,
    *,
    commit: bool = True,
) -> TicketImportResult:
    """Check every entry and replay it through the ticket service, all in one transaction.

    Every row is checked, and replayed if it can be, before anything is decided; the transaction is
    committed only when no row has a problem and ``commit`` is true (false: a dry run, or the reader
    found problems already). Otherwise it is rolled back and nothing at all is saved.
    ``progress(done, total)`` is called after each row.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now: a naive datetime cannot be placed in time")
    session = uow.session
    ref = _Reference(session)
    service_uow = _OneTransaction(uow)
    problems: list[RowProblem] = []
    saved = 0
    for done, entry in enumerate(entries, start=1):
        messages: list[str] = []
        planned = _plan(ref, entry, default_site_id, now, messages)
        if planned is not None and not messages:
            messages = _replay(service_uow, planned, author, now)
            if not messages:
                saved += 1
        problems.extend(RowProblem(entry.row, message) for message in messages)
        if progress is not None:
            progress(done, len(entries))
    if problems or not commit:
        session.rollback()
        return TicketImportResult(0, len(entries), problems)
    uow.commit()
    return TicketImportResult(saved, len(entries), problems)


# --- export ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Which tickets to export: of a site, reported in ``[reported_from, reported_to)``, open only."""

    site_id: str | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    open_only: bool = False


def ticket_ids(session: Session, query: TicketQuery) -> list[str]:
    """The tickets that may match ``query``, oldest first (the report time and, for a ticket whose state
    is not derived yet, its status are checked when it is read)."""
    select_ids = (
        select(Ticket.id)
        .outerjoin(TicketState, TicketState.ticket_id == Ticket.id)
        .where(Ticket.deleted.is_(False))
        .order_by(Ticket.created_at, Ticket.id)
    )
    if query.site_id is not None:
        select_ids = select_ids.where(Ticket.site_id == query.site_id)
    if query.open_only:
        select_ids = select_ids.where(or_(TicketState.is_open.is_(True), TicketState.ticket_id.is_(None)))
    if query.reported_from is not None:
        # A ticket is made at most FUTURE_TOLERANCE before the time it states it was reported.
        select_ids = select_ids.where(Ticket.created_at >= query.reported_from - tickets.FUTURE_TOLERANCE)
    return list(session.scalars(select_ids))


def _history_times(view: tickets.TicketView) -> dict[Step, dt.datetime]:
    """The file's status-history columns from a ticket's history (its last pause only)."""
    found: dict[Step, dt.datetime] = {}
    last_pause: dt.datetime | None = None
    last_resume: dt.datetime | None = None
    for entry in view.timeline:
        if entry.flagged:
            continue
        kind = entry.kind
        if kind == EventKind.RESPONDED.value:
            found.setdefault(Step.RESPONDED, entry.at)
        elif kind == EventKind.ON_SITE_REQUIRED.value:
            found.setdefault(Step.ON_SITE_DECIDED, entry.at)
        elif kind == EventKind.ARRIVED_ON_SITE.value:
            found.setdefault(Step.ARRIVED, entry.at)
        elif kind == EventKind.PAUSED.value:
            last_pause, last_resume = entry.at, None
        elif kind == EventKind.RESUMED.value:
            last_resume = entry.at
        elif kind == EventKind.RESOLVED.value:
            found[Step.RESOLVED] = entry.at
        elif kind == EventKind.CLOSED.value:
            found[Step.CLOSED] = entry.at
    if last_pause is not None:
        found[Step.PAUSED] = last_pause
        if last_resume is not None:
            found[Step.RESUMED] = last_resume
    on_site = view.deadlines.target(TargetKind.ON_SITE) if view.deadlines is not None else None
    if on_site is not None and on_site.start is not None and on_site.start == view.reported_at:
        # On-site from the report (handling 现场): a later "on-site required" moved no clock, and the
        # import starts the on-site clock at 转现场时间 when there is one.
        found.pop(Step.ON_SITE_DECIDED, None)
    if view.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        found.pop(Step.RESOLVED, None)  # reopened since
        found.pop(Step.CLOSED, None)
    elif view.status is TicketStatus.RESOLVED:
        found.pop(Step.CLOSED, None)
    return found


def iter_ticket_entries(session: Session, query: TicketQuery, now: dt.datetime) -> Iterator[TicketEntry]:
    """The tickets matching ``query`` as entries, oldest first, each target with its due time,
    explanation and outcome at ``now`` (open targets past their due time count as breached)."""
    sites = {s.id: s.name for s in list_sites(session, include_inactive=True)}
    systems = {s.id: s.name for s in list_systems(session, None, include_inactive=True)}
    modules = {m.id: m.name for m in list_modules(session, None, include_inactive=True)}
    categories = {c.id: c.name for c in list_categories(session, include_inactive=True)}
    for ticket_id in ticket_ids(session, query):
        view = tickets.get_ticket(session, ticket_id)
        if view is None or view.reported_at is None or (query.open_only and not view.status.is_open):
            continue
        if query.reported_from is not None and view.reported_at < query.reported_from:
            continue
        if query.reported_to is not None and view.reported_at >= query.reported_to:
            continue
        ticket = view.ticket
        outcomes = {o.target: o for o in tickets.ticket_outcomes(session, ticket_id, now)}
        targets: dict[TargetKind, TargetColumns] = {}
        for state in view.deadlines.targets if view.deadlines is not None else ():
            outcome = outcomes.get(state.kind)
            targets[state.kind] = TargetColumns(
                state.due, state.explanation(), outcome.text() if outcome is not None else ""
            )
        yield TicketEntry(
            row=0,
            reported_at=view.reported_at,
            status=view.status,
            site=sites.get(ticket.site_id, ""),
            number=ticket.number,
            title=ticket.title,
            unit_name=ticket.unit_name,
            caller_name=ticket.caller_name,
            caller_phone=ticket.caller_phone,
            system=systems.get(ticket.system_id or "", ""),
            module=modules.get(ticket.module_id or "", ""),
            category=categories.get(ticket.category_id or "", ""),
            severity=view.severity_name,
            handling=ticket.handling,
            assignee=ticket.assignee,
            times=_history_times(view),
            targets=targets,
        )
