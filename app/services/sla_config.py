"""Service-level configuration: each site's policies and the working-day calendar.

Policies (``sla_policies``) are a site's contract rules as ``app.sla.policy.Policy`` JSON; a supervisor
edits them. Every desktop seeds the two contracts' defaults under ids derived from the site
(``default_policy_id``), so desktops that seeded offline hold the *same* row. The seed is queued as a
``restore`` with the lowest possible clock stamp: merged by clock without a conflict, it never wins
over a supervisor's edit already on the server — a new desktop joining must not put the defaults back.

The calendar is the ``holidays`` library's (``app.sla.calendar``) plus what a supervisor sets: one
``calendar_days`` row per date that differs, its id derived from the date (two desktops editing one
date edit one row, merged field by field), and ``calendar_years`` for the years whose State Council
notice a supervisor entered or imported. A year neither the library nor a supervisor confirmed is
"not confirmed" (``year_status``). ``import_notice`` applies a whole notice in one transaction or
nothing at all.

Every change here recomputes the derived state of the open tickets it concerns (their deadlines depend
on it): a policy or a year's confirmation all of them, one date those whose deadlines asked about it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.ids import format_hlc, uuid7
from app.sla.calendar import DateOverride, OverrideKind, WorkCalendar, library_notice_years
from app.sla.contracts import changzhou_policy, zhanjiang_policy
from app.sla.notice_csv import parse_notice_csv
from app.sla.policy import Policy, PolicyError
from app.storage.models import CalendarDay, CalendarYear, OutboxOp, Site, SlaPolicy
from app.storage.uow import UnitOfWork

log = logging.getLogger("hotline.sla")

_NAMESPACE = uuid.UUID("0c6f8d52-31a4-4b8e-9f3d-6a2b7c1e5d94")

# The contracts' policies, by the seeded site code they belong to.
DEFAULT_POLICIES: dict[str, Callable[[], Policy]] = {
    "changzhou": changzhou_policy,
    "zhanjiang": zhanjiang_policy,
}


def default_policy_id(site_id: str) -> str:
    """The id of a site's default policy: the same on every desktop."""
    return str(uuid.uuid5(_NAMESPACE, f"sla_policy/{site_id}"))


def calendar_day_id(day: dt.date) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"calendar_day/{day.isoformat()}"))


def calendar_year_id(year: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"calendar_year/{year}"))


def require_supervisor(session: Session) -> None:
    """Refuse a change of policies or the calendar on a desktop whose server login is not a
    supervisor (the server would refuse it too: ``app.sync.local.may_change_service_rules``)."""
    from app.sync import local  # the sync layer's record of what the server said

    if not local.may_change_service_rules(session):
        raise UserFacingError(not_a_supervisor_message())


def not_a_supervisor_message() -> str:
    return _(
        "Only a supervisor may change the service-level rules and the working-day calendar. This "
        "computer's login on the shared server is not a supervisor's; the administrator can make it one."
    )


def _recompute_open_tickets(session: Session, now: dt.datetime) -> None:
    # imported here: the ticket service reads its policies and calendar from this module
    from app.services import tickets

    tickets.recompute_all_open(session, now)


def _recompute_for_days(session: Session, days: list[dt.date], now: dt.datetime) -> None:
    from app.services import tickets

    tickets.recompute_for_days(session, days, now)


# --- policies -------------------------------------------------------------------------------------


def seed_default_policies(uow: UnitOfWork) -> int:
    """Add the contracts' default policy to each seeded site that has none yet (see the module
    docstring). Returns how many were added."""
    from app.storage.outbox import _recorded  # the same column choice as the outbox recorder's

    session = uow.session
    sites = list(session.scalars(select(Site).where(Site.code.in_(list(DEFAULT_POLICIES)))))
    wanted = {default_policy_id(site.id): site for site in sites}
    if not wanted:
        return 0
    present = set(session.scalars(select(SlaPolicy.id).where(SlaPolicy.id.in_(list(wanted)))))
    missing = [(policy_id, site) for policy_id, site in wanted.items() if policy_id not in present]
    if not missing:
        return 0
    node = uow.db.node_id
    stamp = format_hlc(0, 0, node)  # older than any edit: the seed never wins a merge
    created = dt.datetime.now(dt.UTC)
    session.info["applying_remote"] = True  # the ops are written here, as restores
    try:
        for policy_id, site in missing:
            policy = DEFAULT_POLICIES[site.code]()
            row = SlaPolicy(
                id=policy_id,
                site_id=site.id,
                name=policy.name[:100],
                body=policy.to_json(),
                active=True,
                origin=node,
                hlc=stamp,
                server_version=None,
                deleted=False,
            )
            session.add(row)
            fields = {
                attr.key: getattr(row, attr.key)
                for attr in SlaPolicy.__mapper__.column_attrs
                if _recorded(attr)
            }
            session.add(
                OutboxOp(
                    client_op_id=uuid7(),
                    table_name=SlaPolicy.__tablename__,
                    row_id=policy_id,
                    op="restore",
                    fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
                    base_version=None,
                    hlc=stamp,
                    created_at=created,
                )
            )
        uow.commit()
    finally:
        session.info.pop("applying_remote", None)
    return len(missing)


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """A policy as the supervisor's list shows it; ``policy`` is None when its body cannot be read."""

    id: str
    site_id: str
    name: str
    active: bool
    is_default: bool
    policy: Policy | None
    problems: tuple[str, ...]


def _read(row: SlaPolicy) -> tuple[Policy | None, tuple[str, ...]]:
    try:
        return Policy.from_json(row.body), ()
    except PolicyError as exc:
        return None, exc.problems


def list_policies(session: Session, site_id: str | None = None) -> list[PolicyEntry]:
    """The policies (of one site), active ones first, by name."""
    query = select(SlaPolicy).where(SlaPolicy.deleted.is_(False))
    if site_id is not None:
        query = query.where(SlaPolicy.site_id == site_id)
    entries = []
    for row in session.scalars(query.order_by(SlaPolicy.active.desc(), SlaPolicy.name, SlaPolicy.id)):
        policy, problems = _read(row)
        entries.append(
            PolicyEntry(
                row.id,
                row.site_id,
                row.name,
                row.active,
                row.id == default_policy_id(row.site_id),
                policy,
                problems,
            )
        )
    return entries


def load_policies(session: Session) -> dict[str, Policy]:
    """Every readable policy by id, retired and deleted ones too: a ticket's events may name them."""
    policies: dict[str, Policy] = {}
    for row in session.scalars(select(SlaPolicy)):
        policy, problems = _read(row)
        if policy is None:
            log.info("policy %s cannot be read: %s", row.id, "; ".join(problems))
            continue
        policies[row.id] = policy
    return policies


def site_policy_id(session: Session, site_id: str) -> str | None:
    """The policy new tickets of a site get: its default if in use, else its oldest active one."""
    ids = list(
        session.scalars(
            select(SlaPolicy.id).where(
                SlaPolicy.site_id == site_id, SlaPolicy.active.is_(True), SlaPolicy.deleted.is_(False)
            )
        )
    )
    if not ids:
        return None
    default = default_policy_id(site_id)
    return default if default in ids else min(ids)


def _policy_from(body: Policy | str) -> Policy:
    policy = Policy.from_json(body) if isinstance(body, str) else body
    # written back in its canonical form, so the same policy is the same text on every desktop
    return Policy.from_json(policy.to_json())


def add_policy(uow: UnitOfWork, site_id: str, body: Policy | str) -> SlaPolicy:
    """A new policy for a site (a supervisor's). Raises ``PolicyError`` for a body that cannot be used."""
    require_supervisor(uow.session)
    session = uow.session
    site = session.get(Site, site_id)
    if site is None or site.deleted:
        raise ValidationError({"site": _("Choose the service site.")})
    policy = _policy_from(body)
    row = SlaPolicy(id=uuid7(), site_id=site_id, name=policy.name[:100], body=policy.to_json(), active=True)
    session.add(row)
    session.flush()
    uow.commit()
    return row


def save_policy(uow: UnitOfWork, policy_id: str, body: Policy | str, now: dt.datetime) -> SlaPolicy:
    """Change a policy (a supervisor's edit); the deadlines of open tickets follow at once.

    Raises ``PolicyError`` (every problem, translated) for a body that cannot be used: nothing is saved.
    """
    require_supervisor(uow.session)
    session = uow.session
    row = session.get(SlaPolicy, policy_id)
    if row is None or row.deleted:
        raise ValidationError({"policy": _("This service-level policy no longer exists.")})
    policy = _policy_from(body)
    row.body = policy.to_json()
    row.name = policy.name[:100]
    session.flush()
    _recompute_open_tickets(session, now)
    uow.commit()
    return row


def set_policy_active(uow: UnitOfWork, policy_id: str, active: bool) -> None:
    """Retire a policy (new tickets no longer get it; tickets that use it keep it) or bring it back."""
    require_supervisor(uow.session)
    row = uow.session.get(SlaPolicy, policy_id)
    if row is None or row.deleted:
        raise ValidationError({"policy": _("This service-level policy no longer exists.")})
    row.active = active
    uow.commit()


# --- the calendar ---------------------------------------------------------------------------------


class YearStatus(StrEnum):
    PUBLISHED = "published"  # the holidays library ships the State Council's notice
    CONFIRMED = "confirmed"  # a supervisor entered or imported it
    UNCONFIRMED = "unconfirmed"  # estimated only: statutory dates, no adjusted working weekends

    def label(self) -> str:
        return _(_YEAR_STATUS_LABELS[self])


_YEAR_STATUS_LABELS = {
    YearStatus.PUBLISHED: N_("Official arrangements (from the holiday library)"),
    YearStatus.CONFIRMED: N_("Official arrangements (entered by a supervisor)"),
    YearStatus.UNCONFIRMED: N_("Not confirmed: the official arrangements are not published yet"),
}


@dataclass(frozen=True, slots=True)
class CalendarDayEntry:
    day: dt.date
    kind: OverrideKind
    name: str


class NoticeImportError(UserFacingError):
    """A notice file that cannot be imported; ``problems`` name their lines. Nothing was changed."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__(
            _("The holiday notice cannot be imported; nothing was changed."), "\n".join(problems)
        )
        self.problems = problems


def _overrides(session: Session) -> list[DateOverride]:
    found = []
    for row in session.scalars(select(CalendarDay).where(CalendarDay.deleted.is_(False))):
        try:
            found.append(DateOverride(dt.date.fromisoformat(row.day), OverrideKind(row.kind), row.name))
        except ValueError:
            log.info("calendar date %s with kind %r skipped", row.day, row.kind)
    return found


def confirmed_years(session: Session) -> set[int]:
    """The years a supervisor confirmed (the library's published years are not included)."""
    return set(
        session.scalars(
            select(CalendarYear.year).where(CalendarYear.confirmed.is_(True), CalendarYear.deleted.is_(False))
        )
    )


def build_calendar(session: Session) -> WorkCalendar:
    """The working-day calendar: the library's data, the supervisors' dates and confirmed years."""
    return WorkCalendar(overrides=_overrides(session), confirmed_years=confirmed_years(session))


def year_status(session: Session, year: int) -> YearStatus:
    if year in confirmed_years(session):
        return YearStatus.CONFIRMED
    if year in library_notice_years():
        return YearStatus.PUBLISHED
    return YearStatus.UNCONFIRMED


def calendar_days(session: Session, year: int) -> list[CalendarDayEntry]:
    """The dates of ``year`` a supervisor set, in date order."""
    rows = session.scalars(
        select(CalendarDay)
        .where(
            CalendarDay.deleted.is_(False),
            CalendarDay.day >= f"{year:04d}-01-01",
            CalendarDay.day <= f"{year:04d}-12-31",
        )
        .order_by(CalendarDay.day)
    )
    entries = []
    for row in rows:
        try:
            entries.append(CalendarDayEntry(dt.date.fromisoformat(row.day), OverrideKind(row.kind), row.name))
        except ValueError:
            continue
    return entries


def _clean_kind(kind: OverrideKind | str) -> OverrideKind:
    try:
        return OverrideKind(kind)
    except ValueError:
        raise ValidationError(
            {"kind": _("Choose whether the date is a working day, a day off or a holiday.")}
        ) from None


def _put_day(session: Session, day: dt.date, kind: OverrideKind, name: str) -> None:
    name = " ".join(name.split())[:100] if kind is OverrideKind.HOLIDAY else ""
    row = session.get(CalendarDay, calendar_day_id(day))
    if row is None:
        session.add(CalendarDay(id=calendar_day_id(day), day=day.isoformat(), kind=kind.value, name=name))
        return
    if row.deleted:
        row.deleted = False  # set again after it was cleared: a write that saw the delete restores it
    if row.kind != kind.value:
        row.kind = kind.value
    if row.name != name:
        row.name = name


def set_calendar_day(
    uow: UnitOfWork, day: dt.date, kind: OverrideKind | str, name: str, now: dt.datetime
) -> None:
    """Say what one date is (a working day, a day off, a holiday with its name); deadlines follow."""
    require_supervisor(uow.session)
    session = uow.session
    _put_day(session, day, _clean_kind(kind), name)
    session.flush()
    _recompute_for_days(session, [day], now)
    uow.commit()


def clear_calendar_day(uow: UnitOfWork, day: dt.date, now: dt.datetime) -> None:
    """Give a date back to the library's data."""
    require_supervisor(uow.session)
    session = uow.session
    row = session.get(CalendarDay, calendar_day_id(day))
    if row is None or row.deleted:
        return
    row.deleted = True
    session.flush()
    _recompute_for_days(session, [day], now)
    uow.commit()


def _put_year(session: Session, year: int, confirmed: bool, source: str) -> None:
    row = session.get(CalendarYear, calendar_year_id(year))
    source = source.strip()[:500]
    if row is None:
        session.add(CalendarYear(id=calendar_year_id(year), year=year, confirmed=confirmed, source=source))
        return
    if row.deleted:
        row.deleted = False
    if row.confirmed != confirmed:
        row.confirmed = confirmed
    if row.source != source:
        row.source = source


def set_year_confirmed(uow: UnitOfWork, year: int, confirmed: bool, source: str, now: dt.datetime) -> None:
    """Mark a year's dates as the official notice (or take that back): for a confirmed year the
    library's estimate is ignored and only the supervisor's dates differ from a plain week."""
    require_supervisor(uow.session)
    if not 1990 <= year <= 2200:
        raise ValidationError({"year": _("Enter a year between 1990 and 2200.")})
    session = uow.session
    _put_year(session, year, confirmed, source)
    session.flush()
    _recompute_open_tickets(session, now)
    uow.commit()


def import_notice(uow: UnitOfWork, year: int, text: str, source: str, now: dt.datetime) -> int:
    """Apply a year's State Council notice from CSV text (``app.sla.notice_csv``): its dates replace the
    year's dates, and the year is confirmed. All or nothing: a file with any problem raises
    ``NoticeImportError`` listing every problem and changes nothing. Returns the number of dates."""
    require_supervisor(uow.session)
    if not 1990 <= year <= 2200:
        raise ValidationError({"year": _("Enter a year between 1990 and 2200.")})
    result = parse_notice_csv(text, year)
    if not result.ok:
        raise NoticeImportError(tuple(str(problem) for problem in result.problems))
    session = uow.session
    listed = {override.day.isoformat() for override in result.overrides}
    for row in session.scalars(
        select(CalendarDay).where(
            CalendarDay.deleted.is_(False),
            CalendarDay.day >= f"{year:04d}-01-01",
            CalendarDay.day <= f"{year:04d}-12-31",
        )
    ):
        if row.day not in listed:
            row.deleted = True
    for override in result.overrides:
        _put_day(session, override.day, override.kind, override.name)
    _put_year(session, year, True, source)
    session.flush()
    _recompute_open_tickets(session, now)
    uow.commit()
    return len(result.overrides)
