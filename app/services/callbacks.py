"""Call-backs (回电): calls that must be returned, with the contract's countdown where it sets one.

A call recorded with the outcome "needs a call back" (``Outcome.CALLBACK``: a missed call, or one
taken after hours that needs an answer later) is a call-back task until someone marks it returned
(``mark_called_back``; ``calls.called_back_at`` is synced like the rest of the call). Where the site's
policy has a call-back rule — Changzhou: a call on a non-working day is returned within 30 minutes —
the task counts down to its due time (``app.sla.deadlines.callback_target``), warns like a ticket's
deadline, and keeps whether it was met for the reports. Tasks of other calls have no contract time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.i18n import _
from app.services import calls, sla_config
from app.sla.calendar import WorkCalendar
from app.sla.deadlines import TargetState, callback_target
from app.sla.policy import Policy
from app.storage.models import Call, Outcome
from app.storage.uow import UnitOfWork

FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # a desktop clock a little behind another's


@dataclass(frozen=True, slots=True)
class CallbackTask:
    call_id: str
    key: int
    site_id: str
    started_at: dt.datetime
    caller_name: str
    caller_phone: str
    unit_name: str
    question: str
    called_back_at: dt.datetime | None
    state: TargetState | None  # the contract's countdown; None: no contract time for this call

    @property
    def due(self) -> dt.datetime | None:
        return self.state.due if self.state is not None else None

    def label(self) -> str:
        """How a list or a warning names it: "回电 李会计 0519-88881234"."""
        who = " ".join(part for part in (self.caller_name, self.caller_phone) if part) or self.unit_name
        return _("Call back {caller}").format(caller=who or "—")


class _Policies:
    """The policy of each site and the calendar, read once per listing."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._policies = sla_config.load_policies(session)
        self._by_site: dict[str, Policy | None] = {}
        self.calendar: WorkCalendar = sla_config.build_calendar(session)

    def of_site(self, site_id: str) -> Policy | None:
        if site_id not in self._by_site:
            policy_id = sla_config.site_policy_id(self._session, site_id)
            self._by_site[site_id] = self._policies.get(policy_id) if policy_id else None
        return self._by_site[site_id]


def _task(call: Call, policies: _Policies) -> CallbackTask:
    policy = policies.of_site(call.site_id)
    state = (
        callback_target(policy, policies.calendar, call.started_at, call.called_back_at)
        if policy is not None
        else None
    )
    return CallbackTask(
        call_id=call.id,
        key=call.key,
        site_id=call.site_id,
        started_at=call.started_at,
        caller_name=call.caller_name,
        caller_phone=call.caller_phone,
        unit_name=call.unit_name,
        question=call.question,
        called_back_at=call.called_back_at,
        state=state,
    )


def open_callbacks(session: Session, site_id: str | None = None) -> list[CallbackTask]:
    """Calls still to be called back (of one site, or all), those due first, then the oldest."""
    stmt = select(Call).where(
        Call.outcome == Outcome.CALLBACK.value, Call.called_back_at.is_(None), Call.deleted.is_(False)
    )  # the partial index ix_calls_callback_open holds exactly these
    if site_id is not None:
        stmt = stmt.where(Call.site_id == site_id)
    calls = session.scalars(stmt).all()
    if not calls:
        return []
    policies = _Policies(session)
    tasks = [_task(call, policies) for call in calls]
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(tasks, key=lambda t: (t.due or never, t.started_at))


def callback_of(session: Session, call_id: str) -> CallbackTask | None:
    """The call-back of one call (done or not), or None when the call needed none."""
    call = calls.get_call(session, call_id)
    if call is None or call.deleted or call.outcome != Outcome.CALLBACK.value:
        return None
    return _task(call, _Policies(session))


def mark_called_back(uow: UnitOfWork, call_id: str, at: dt.datetime, now: dt.datetime) -> Call:
    """Record that the caller was called back at ``at``. Refused for a call that needed no call back,
    one already called back (the first time stands), or a time before the call or in the future."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime")
    call = calls.get_call(uow.session, call_id)
    if call is None or call.deleted:
        raise UserFacingError(_("The call no longer exists."))
    if call.outcome != Outcome.CALLBACK.value:
        raise UserFacingError(_("This call was not marked as needing a call back."))
    if call.called_back_at is not None:
        raise UserFacingError(_("This caller was already called back."))
    if at > now + FUTURE_TOLERANCE:
        raise UserFacingError(_("The time of the call back cannot be in the future."))
    if at < call.started_at:
        raise UserFacingError(_("The call back cannot be before the call."))
    call.called_back_at = at
    uow.commit()
    return call
