"""The generic service-level model: a third contract is data, not code.

A ``Policy`` belongs to a service site. Its ``rules`` are tried in order and the **first** rule whose
conditions all hold for a ticket sets the ticket's ``targets``:

- ``Rule.severities`` / ``Rule.categories``: the ticket's severity key / category must be in the set
  (an empty set matches anything). Category values are whatever the ticket stores (the caller decides:
  names or ids).
- ``Rule.window``: when the ticket was *reported* (``TimeWindow``): any time, inside working hours
  (a working day, start <= t < end), outside them, on a non-working day, on a statutory holiday.

A ``Target`` is one promise: its ``kind`` (first response, on-site arrival, resolution), its
``minutes`` — or ``None`` for "by agreement" (按约定: no automatic deadline, an engineer may set one by
hand) — counted in clock time or business time (``Counting``), from the report time or from the
decision that someone must go on site (``Anchor``); ``pausable`` targets stop while the ticket is
paused (挂起).

The ``CallbackRule`` turns a missed or after-hours hotline call inside its window into a call-back
task due ``minutes`` later. ``WarningThresholds`` say when a running countdown warns: when at most
``percent_left`` % of the target's time is left, and when at most ``minutes_left`` minutes are left.

JSON form (``Policy.to_dict`` / ``Policy.from_dict``; ``to_json`` / ``from_json`` for text)::

    {"format": 1, "site": "zhanjiang", "name": "湛江市财政局运维服务",
     "working_hours": ["08:00-18:00"],
     "severities": [{"key": "general", "name": "一般"}, {"key": "major", "name": "重大"}],
     "rules": [{"name": "法定节假日报修", "severities": [], "categories": [], "window": "holiday",
                "targets": [{"kind": "response", "minutes": null, "counting": "clock",
                             "anchor": "reported", "pausable": false}]}],
     "callback": null | {"minutes": 30, "counting": "clock", "window": "non_working_day"},
     "warnings": {"percent_left": [25], "minutes_left": [10]}}

``"minutes": null`` means by agreement. ``from_dict`` checks everything and raises ``PolicyError``
listing every problem as a translated sentence ("Rule 2, target 1: “minutes” must be a whole number
from 1 to 525600."), so a broken row from the synced table can be shown to the supervisor.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TypeVar

from app.errors import UserFacingError
from app.i18n import N_, _
from app.sla.calendar import DEFAULT_WORKING_HOURS, DayKind, WorkCalendar, WorkingHours, WorkingHoursError
from app.sla.formatting import Phrase

FORMAT_VERSION = 1
MAX_TARGET_MINUTES = 366 * 24 * 60


class TargetKind(StrEnum):
    RESPONSE = "response"
    ON_SITE = "on_site"
    RESOLUTION = "resolution"

    def label(self) -> str:
        return _(_TARGET_LABELS[self])


_TARGET_LABELS = {
    TargetKind.RESPONSE: N_("First response"),
    TargetKind.ON_SITE: N_("On-site arrival"),
    TargetKind.RESOLUTION: N_("Resolution"),
}


class Counting(StrEnum):
    CLOCK = "clock"  # every minute counts (7x24)
    BUSINESS = "business"  # only working time of the calendar counts

    def label(self) -> str:
        return _(N_("Clock time") if self is Counting.CLOCK else N_("Business time"))


class Anchor(StrEnum):
    REPORTED = "reported"  # the ticket's report time
    ON_SITE_DECISION = "on_site_decision"  # the moment someone decided remote handling is not enough

    def label(self) -> str:
        return _(N_("Report time") if self is Anchor.REPORTED else N_("On-site decision"))


class TimeWindow(StrEnum):
    ANY = "any"
    WORKING_HOURS = "working_hours"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    NON_WORKING_DAY = "non_working_day"
    HOLIDAY = "holiday"

    def label(self) -> str:
        return _(_WINDOW_LABELS[self])

    def matches(self, calendar: WorkCalendar, moment: dt.datetime) -> bool:
        """Whether ``moment`` falls in this window (working hours are the calendar's)."""
        if self is TimeWindow.ANY:
            return True
        if self is TimeWindow.WORKING_HOURS:
            return calendar.is_working_time(moment)
        if self is TimeWindow.OUTSIDE_WORKING_HOURS:
            return not calendar.is_working_time(moment)
        if self is TimeWindow.NON_WORKING_DAY:
            return not calendar.is_working_day(moment)
        return calendar.day_kind(moment) is DayKind.HOLIDAY

    def describe(self, calendar: WorkCalendar, moment: dt.datetime) -> Phrase | None:
        """How an explanation says that ``moment`` was in this window (None for ``ANY``)."""
        if self is TimeWindow.ANY:
            return None
        if self is TimeWindow.HOLIDAY:
            name = calendar.holiday_name(moment)
            if name:
                return Phrase.of(N_("on a statutory holiday ({name})"), name=name)
            return Phrase.of(N_("on a statutory holiday"))
        return Phrase.of(_WINDOW_PHRASES[self])


_WINDOW_LABELS = {
    TimeWindow.ANY: N_("Any time"),
    TimeWindow.WORKING_HOURS: N_("Inside working hours"),
    TimeWindow.OUTSIDE_WORKING_HOURS: N_("Outside working hours"),
    TimeWindow.NON_WORKING_DAY: N_("On a non-working day"),
    TimeWindow.HOLIDAY: N_("On a statutory holiday"),
}
_WINDOW_PHRASES = {
    TimeWindow.WORKING_HOURS: N_("inside working hours"),
    TimeWindow.OUTSIDE_WORKING_HOURS: N_("outside working hours"),
    TimeWindow.NON_WORKING_DAY: N_("on a non-working day"),
}


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    minutes: int | None  # None: by agreement (按约定)
    counting: Counting = Counting.CLOCK
    anchor: Anchor = Anchor.REPORTED
    pausable: bool = False

    @property
    def by_agreement(self) -> bool:
        return self.minutes is None

    @property
    def amount(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.minutes or 0)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    targets: tuple[Target, ...]
    severities: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    window: TimeWindow = TimeWindow.ANY

    def target(self, kind: TargetKind) -> Target | None:
        return next((t for t in self.targets if t.kind is kind), None)

    def matches(
        self, severity: str, category: str | None, calendar: WorkCalendar, reported_at: dt.datetime
    ) -> bool:
        if self.severities and severity not in self.severities:
            return False
        if self.categories and category not in self.categories:
            return False
        return self.window.matches(calendar, reported_at)


@dataclass(frozen=True, slots=True)
class Severity:
    key: str  # stored on tickets: "general", "major"
    name: str  # shown: "一般", "重大"


@dataclass(frozen=True, slots=True)
class CallbackRule:
    """A missed or after-hours call inside ``window`` must be returned within ``minutes``."""

    minutes: int
    counting: Counting = Counting.CLOCK
    window: TimeWindow = TimeWindow.NON_WORKING_DAY


@dataclass(frozen=True, slots=True, order=True)
class Threshold:
    """One warning level of a countdown: ``value`` percent or minutes of the target's time left."""

    unit: str  # "percent" or "minutes"
    value: int

    @property
    def key(self) -> str:
        """Stable identifier, e.g. to remember that a ticket's warning was already shown."""
        return f"{self.unit}:{self.value}"

    def amount(self, budget: dt.timedelta) -> dt.timedelta:
        """How much time left crosses this threshold for a target of ``budget``."""
        if self.unit == "percent":
            return budget * self.value / 100
        return dt.timedelta(minutes=self.value)

    def label(self) -> str:
        if self.unit == "percent":
            return _("{percent}% of the time left").format(percent=self.value)
        return _("{minutes} min left").format(minutes=self.value)


@dataclass(frozen=True, slots=True)
class WarningThresholds:
    percent_left: tuple[int, ...] = (25,)
    minutes_left: tuple[int, ...] = (10,)

    def thresholds(self) -> tuple[Threshold, ...]:
        return tuple(
            sorted(
                [Threshold("percent", p) for p in set(self.percent_left)]
                + [Threshold("minutes", m) for m in set(self.minutes_left)]
            )
        )


@dataclass(frozen=True, slots=True)
class Policy:
    site: str
    name: str
    rules: tuple[Rule, ...]
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS
    severities: tuple[Severity, ...] = (Severity("general", "一般"), Severity("major", "重大"))
    callback: CallbackRule | None = None
    warnings: WarningThresholds = field(default_factory=WarningThresholds)

    def severity_name(self, key: str) -> str:
        """The shown name of a severity key (the key itself if the policy does not list it)."""
        return next((s.name for s in self.severities if s.key == key), key)

    def match(
        self, severity: str, category: str | None, reported_at: dt.datetime, calendar: WorkCalendar
    ) -> Rule | None:
        """The first rule that applies to a ticket (``calendar`` with this policy's hours), or None."""
        hours_calendar = calendar.with_hours(self.working_hours)
        return next(
            (r for r in self.rules if r.matches(severity, category, hours_calendar, reported_at)), None
        )

    # --- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT_VERSION,
            "site": self.site,
            "name": self.name,
            "working_hours": self.working_hours.texts(),
            "severities": [{"key": s.key, "name": s.name} for s in self.severities],
            "rules": [
                {
                    "name": r.name,
                    "severities": sorted(r.severities),
                    "categories": sorted(r.categories),
                    "window": r.window.value,
                    "targets": [
                        {
                            "kind": t.kind.value,
                            "minutes": t.minutes,
                            "counting": t.counting.value,
                            "anchor": t.anchor.value,
                            "pausable": t.pausable,
                        }
                        for t in r.targets
                    ],
                }
                for r in self.rules
            ],
            "callback": None
            if self.callback is None
            else {
                "minutes": self.callback.minutes,
                "counting": self.callback.counting.value,
                "window": self.callback.window.value,
            },
            "warnings": {
                "percent_left": list(self.warnings.percent_left),
                "minutes_left": list(self.warnings.minutes_left),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> Policy:
        """A policy from its JSON form; raises ``PolicyError`` listing every problem."""
        return _PolicyReader().policy(data)

    @classmethod
    def from_json(cls, text: str) -> Policy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(
                [
                    _("The policy is not valid JSON (line {line}, column {column}).").format(
                        line=exc.lineno, column=exc.colno
                    )
                ]
            ) from exc
        return cls.from_dict(data)


class PolicyError(UserFacingError):
    """A stored or imported policy that cannot be used; ``problems`` are translated sentences."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(_("The service-level policy cannot be used."), "\n".join(problems))
        self.problems = tuple(problems)


# --- reading the JSON form ------------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class _Invalid(Exception):
    """Stops reading one part; its problem is already recorded."""


class _PolicyReader:
    """Reads the JSON form, collecting every problem (each prefixed by where it is) before failing."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> _Invalid:
        self.problems.append(_("{where}: {problem}").format(where=where, problem=message))
        return _Invalid()

    def attempt(self, read: Callable[[], _T]) -> _T | None:
        """``read()``, or None if it failed (its problem is recorded)."""
        try:
            return read()
        except _Invalid:
            return None

    # --- values -------------------------------------------------------------------------------------

    def field(self, data: Mapping[str, object], name: str, where: str) -> object:
        if name not in data:
            raise self.fail(where, _("“{field}” is missing.").format(field=name))
        return data[name]

    def text(self, data: Mapping[str, object], name: str, where: str, *, required: bool = True) -> str:
        value = self.field(data, name, where)
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(where, _("“{field}” must be a non-empty text.").format(field=name))
        return value.strip()

    def mapping(self, value: object, where: str) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.fail(where, _("must be a JSON object."))
        return value

    def items(self, data: Mapping[str, object], name: str, where: str) -> list[object]:
        value = self.field(data, name, where)
        if not isinstance(value, list):
            raise self.fail(where, _("“{field}” must be a list.").format(field=name))
        return value

    def texts(self, data: Mapping[str, object], name: str, where: str) -> frozenset[str]:
        values = self.items(data, name, where)
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(where, _("“{field}” must be a list of texts.").format(field=name))
        return frozenset(str(v).strip() for v in values)

    def whole(self, value: object, name: str, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(
                where,
                _("“{field}” must be a whole number from {low} to {high}.").format(
                    field=name, low=low, high=high
                ),
            )
        return value

    def choice(self, data: Mapping[str, object], name: str, where: str, enum: type[_E]) -> _E:
        value = self.field(data, name, where)
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return enum(value)
        except ValueError:
            raise self.fail(
                where,
                _("“{field}” is “{value}”; it must be one of: {choices}.").format(
                    field=name, value=value, choices=", ".join(e.value for e in enum)
                ),
            ) from None

    # --- parts --------------------------------------------------------------------------------------

    def policy(self, data: object) -> Policy:
        if not isinstance(data, dict):
            raise PolicyError([_("The policy must be a JSON object.")])
        version = data.get("format")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            message = _("The policy was written by a newer version of Hotline Console (format {version}).")
            raise PolicyError([message.format(version=version)])
        if version != FORMAT_VERSION:
            message = _("The policy has no known format number (“format”: {expected}).")
            raise PolicyError([message.format(expected=FORMAT_VERSION)])

        where = _("Policy")
        site = self.attempt(lambda: self.text(data, "site", where))
        name = self.attempt(lambda: self.text(data, "name", where))
        hours = self.attempt(lambda: self.working_hours(data, where))
        severities = self.attempt(lambda: self.severities(data, where))
        known = {s.key for s in severities or ()}
        rules = self.attempt(lambda: self.rules(data, where, known))
        callback = self.attempt(lambda: (self.callback(self.field(data, "callback", where)),))
        warnings = self.attempt(lambda: self.warnings(self.field(data, "warnings", where)))
        if (
            self.problems
            or site is None
            or name is None
            or hours is None
            or severities is None
            or rules is None
            or callback is None
            or warnings is None
        ):
            raise PolicyError(self.problems)
        return Policy(
            site=site,
            name=name,
            rules=rules,
            working_hours=hours,
            severities=severities,
            callback=callback[0],
            warnings=warnings,
        )

    def working_hours(self, data: Mapping[str, object], where: str) -> WorkingHours:
        values = self.items(data, "working_hours", where)
        if not all(isinstance(v, str) for v in values):
            raise self.fail(where, _("“{field}” must be a list of texts.").format(field="working_hours"))
        try:
            return WorkingHours.parse([str(v) for v in values])
        except WorkingHoursError as exc:
            raise self.fail(_("Working hours"), exc.message) from None

    def severities(self, data: Mapping[str, object], where: str) -> tuple[Severity, ...]:
        values = self.items(data, "severities", where)
        if not values:
            raise self.fail(where, _("at least one severity is needed."))
        result: list[Severity] = []
        for number, value in enumerate(values, start=1):
            here = _("Severity {number}").format(number=number)
            item = self.attempt(partial(self.mapping, value, here))
            if item is None:
                continue
            key = self.attempt(partial(self.text, item, "key", here))
            shown = self.attempt(partial(self.text, item, "name", here))
            if key is None or shown is None:
                continue
            if any(s.key == key for s in result):
                self.fail(here, _("the key “{key}” is used twice.").format(key=key))
                continue
            result.append(Severity(key, shown))
        return tuple(result)

    def rules(self, data: Mapping[str, object], where: str, known_severities: set[str]) -> tuple[Rule, ...]:
        values = self.items(data, "rules", where)
        if not values:
            raise self.fail(where, _("at least one rule is needed."))
        rules = [
            self.attempt(partial(self.rule, value, number, known_severities))
            for number, value in enumerate(values, start=1)
        ]
        return tuple(r for r in rules if r is not None)

    def rule(self, value: object, number: int, known_severities: set[str]) -> Rule:
        where = _("Rule {number}").format(number=number)
        data = self.mapping(value, where)
        before = len(self.problems)
        name = self.attempt(lambda: self.text(data, "name", where, required=False))
        severities = self.attempt(lambda: self.texts(data, "severities", where))
        for key in sorted((severities or frozenset()) - known_severities):
            self.fail(where, _("the severity “{key}” is not in the policy's list.").format(key=key))
        categories = self.attempt(lambda: self.texts(data, "categories", where))
        window = self.attempt(lambda: self.choice(data, "window", where, TimeWindow))
        targets: list[Target] = []
        for index, raw in enumerate(self.attempt(lambda: self.items(data, "targets", where)) or [], start=1):
            here = _("Rule {number}, target {target}").format(number=number, target=index)
            target = self.attempt(partial(self.target, raw, here))
            if target is None:
                continue
            if any(t.kind is target.kind for t in targets):
                self.fail(where, _("the target “{kind}” appears twice.").format(kind=target.kind.value))
                continue
            targets.append(target)
        if len(self.problems) > before or name is None or severities is None or categories is None:
            raise _Invalid()
        return Rule(name, tuple(targets), severities, categories, window or TimeWindow.ANY)

    def target(self, value: object, where: str) -> Target:
        data = self.mapping(value, where)
        before = len(self.problems)
        kind = self.attempt(lambda: self.choice(data, "kind", where, TargetKind))
        counting = self.attempt(lambda: self.choice(data, "counting", where, Counting))
        anchor = self.attempt(lambda: self.choice(data, "anchor", where, Anchor))
        minutes = self.attempt(lambda: self.minutes(self.field(data, "minutes", where), where))
        pausable = data.get("pausable", kind is TargetKind.RESOLUTION)
        if not isinstance(pausable, bool):
            self.fail(where, _("“{field}” must be true or false.").format(field="pausable"))
        if (
            len(self.problems) > before
            or kind is None
            or counting is None
            or anchor is None
            or minutes is None
        ):
            raise _Invalid()
        return Target(kind, minutes[0], counting, anchor, bool(pausable))

    def minutes(self, value: object, where: str) -> tuple[int | None]:
        """(minutes,) or (None,) for by agreement; a tuple so that None can mean "invalid" above."""
        if value is None:
            return (None,)
        return (self.whole(value, "minutes", where, 1, MAX_TARGET_MINUTES),)

    def callback(self, value: object) -> CallbackRule | None:
        if value is None:
            return None
        where = _("Call-back rule")
        data = self.mapping(value, where)
        minutes = self.attempt(
            lambda: self.whole(self.field(data, "minutes", where), "minutes", where, 1, MAX_TARGET_MINUTES)
        )
        counting = self.attempt(lambda: self.choice(data, "counting", where, Counting))
        window = self.attempt(lambda: self.choice(data, "window", where, TimeWindow))
        if minutes is None or counting is None or window is None:
            raise _Invalid()
        return CallbackRule(minutes, counting, window)

    def warnings(self, value: object) -> WarningThresholds:
        where = _("Warning thresholds")
        data = self.mapping(value, where)
        before = len(self.problems)
        percent = self.attempt(lambda: self.numbers(data, "percent_left", where, 99))
        minutes = self.attempt(lambda: self.numbers(data, "minutes_left", where, MAX_TARGET_MINUTES))
        if len(self.problems) > before or percent is None or minutes is None:
            raise _Invalid()
        return WarningThresholds(percent, minutes)

    def numbers(self, data: Mapping[str, object], name: str, where: str, high: int) -> tuple[int, ...]:
        values = self.items(data, name, where)
        return tuple(self.whole(v, name, where, 1, high) for v in values)
