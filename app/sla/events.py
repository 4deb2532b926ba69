"""The ticket events service-level deadlines are derived from.

Each event has the moment it happened (``at``, an aware datetime — the time the engineer states,
e.g. "responded at 10:05", not necessarily when the row was written), a ``kind`` and a small ``data``
mapping of JSON values, so a storage layer can keep events as rows and pass them back unchanged.
The caller passes events already in their sync order ((hlc, origin, id)); that order — not ``at`` —
decides what happened after what, so every desktop derives the same result even with skewed clocks.

==================  ===================================================================  =========
kind                data                                                                 effect
==================  ===================================================================  =========
created             reported_at (ISO datetime), severity (key), policy (id),             starts
                    category (text or null), handling ("remote" or "on_site")
responded           —                                                                    response
status_changed      status (text)                                                        none
paused              reason (text, optional)                                              挂起
resumed             —
severity_changed    severity (key)                                                       recompute
category_changed    category (text or null)                                              recompute
policy_changed      policy (id)                                                          recompute
on_site_required    — (``at`` is the decision that remote handling failed)               on-site
arrived_on_site     —
resolved            —
closed              —
reopened            —
deadline_set        target ("response", "on_site", "resolution"), due (ISO datetime or   by hand
                    null to clear)
==================  ===================================================================  =========

The class methods build events with well-formed data (``TicketEvent.created(...)`` ...). A row read
back from storage can be passed as ``TicketEvent(at, "paused", data)``: the kind text is converted
(an unknown one raises ``EventDataError``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from app.sla.policy import TargetKind
from app.sla.wall_time import to_shanghai


class EventKind(StrEnum):
    CREATED = "created"
    RESPONDED = "responded"
    STATUS_CHANGED = "status_changed"
    PAUSED = "paused"
    RESUMED = "resumed"
    SEVERITY_CHANGED = "severity_changed"
    CATEGORY_CHANGED = "category_changed"
    POLICY_CHANGED = "policy_changed"
    ON_SITE_REQUIRED = "on_site_required"
    ARRIVED_ON_SITE = "arrived_on_site"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    DEADLINE_SET = "deadline_set"


class Handling(StrEnum):
    REMOTE = "remote"
    ON_SITE = "on_site"


class EventDataError(ValueError):
    """An event whose data is missing or malformed (a bug or a damaged row, not a user mistake)."""


@dataclass(frozen=True, slots=True)
class TicketEvent:
    at: dt.datetime
    kind: EventKind
    data: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        to_shanghai(self.at)  # refuse a naive datetime where it is made, not where it is used
        kind: object = self.kind
        if not isinstance(kind, EventKind):  # a plain string read back from storage
            try:
                object.__setattr__(self, "kind", EventKind(str(kind)))
            except ValueError:
                raise EventDataError(f"unknown event kind {kind!r}") from None

    # --- reading data -------------------------------------------------------------------------------

    def text(self, key: str, *, optional: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise EventDataError(f"{self.kind.value} event at {self.at.isoformat()}: {key!r} must be text")
        return value

    def moment(self, key: str, *, optional: bool = False) -> dt.datetime | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            raise EventDataError(
                f"{self.kind.value} event at {self.at.isoformat()}: {key!r} must be an ISO datetime "
                "with an offset"
            )
        return to_shanghai(value)

    # --- building -----------------------------------------------------------------------------------

    @classmethod
    def created(
        cls,
        at: dt.datetime,
        *,
        reported_at: dt.datetime,
        severity: str,
        policy: str,
        category: str | None = None,
        handling: Handling = Handling.REMOTE,
    ) -> TicketEvent:
        return cls(
            at,
            EventKind.CREATED,
            {
                "reported_at": to_shanghai(reported_at).isoformat(),
                "severity": severity,
                "policy": policy,
                "category": category,
                "handling": handling.value,
            },
        )

    @classmethod
    def responded(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.RESPONDED)

    @classmethod
    def status_changed(cls, at: dt.datetime, status: str) -> TicketEvent:
        return cls(at, EventKind.STATUS_CHANGED, {"status": status})

    @classmethod
    def paused(cls, at: dt.datetime, reason: str = "") -> TicketEvent:
        return cls(at, EventKind.PAUSED, {"reason": reason})

    @classmethod
    def resumed(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.RESUMED)

    @classmethod
    def severity_changed(cls, at: dt.datetime, severity: str) -> TicketEvent:
        return cls(at, EventKind.SEVERITY_CHANGED, {"severity": severity})

    @classmethod
    def category_changed(cls, at: dt.datetime, category: str | None) -> TicketEvent:
        return cls(at, EventKind.CATEGORY_CHANGED, {"category": category})

    @classmethod
    def policy_changed(cls, at: dt.datetime, policy: str) -> TicketEvent:
        return cls(at, EventKind.POLICY_CHANGED, {"policy": policy})

    @classmethod
    def on_site_required(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.ON_SITE_REQUIRED)

    @classmethod
    def arrived_on_site(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.ARRIVED_ON_SITE)

    @classmethod
    def resolved(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.RESOLVED)

    @classmethod
    def closed(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.CLOSED)

    @classmethod
    def reopened(cls, at: dt.datetime) -> TicketEvent:
        return cls(at, EventKind.REOPENED)

    @classmethod
    def deadline_set(cls, at: dt.datetime, target: TargetKind, due: dt.datetime | None) -> TicketEvent:
        return cls(
            at,
            EventKind.DEADLINE_SET,
            {"target": target.value, "due": None if due is None else to_shanghai(due).isoformat()},
        )
