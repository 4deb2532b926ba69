"""The figures of the service reports: 服务月报 / 年度服务总结报告 and 故障记录分析.

``summary_stats`` and ``fault_stats`` read one site's calls and tickets of a ``SummaryPeriod`` (a
month, a year or any range of Asia/Shanghai days) and return plain frozen dataclasses, every label
already translated; ``app.reports.summary`` and ``app.reports.faults`` lay them out and export them.
Nothing here imports reportlab.

**Calls are counted in SQLite, never loaded.** A call's key is its start time (UTC, in ms) times
``CALL_KEY_SLOTS`` plus a slot, so the calls of an Asia/Shanghai day are one key range: from the
key of its midnight (UTC + 8 h) to the next one. The period is read a day at a time, two GROUP BY
statements per day, each a ``SEARCH calls USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)`` (the
``+deleted`` keeps SQLite from taking the index on ``deleted`` instead, which costs a lookup a row):

- ``CALLS_BY_DAY``: per module, system and category: calls, talk time and calls per outcome — the
  totals, outcomes, breakdowns, trend and the most frequent problems all come from these few
  hundred groups a day;
- ``UNITS_BY_DAY``: per unit (its directory entry, or the unit typed on the call when it has none).

Measured on the 1,000,000-call benchmark database, one statement per day sorts a few thousand rows
in memory, and the year takes about 40 % less than one statement over the year (which sorts a
million rows of four UUIDs); the rows come straight from the driver (``_fetch``). The split also
gives the progress steps and the cancellation points: ``progress(done, total)`` after each day,
``cancelled()`` asked before each day and each later step; a cancelled report raises
``ReportCancelled`` (the window's background operation turns it into ``ui.operations.Cancelled``).
All statements run in the session's one read transaction: the figures are of one snapshot even
while calls are saved.

Two figures need few rows, found through indexes instead of reading every call again. The
call-backs done, and done within the site's call-back time (its policy's, else 30 minutes), read
only the calls with the outcome "call back", their keys from the full-text index's facet tokens
(``INDEX_KEYS``: ``calls_fts`` holds the live calls; calls still queued for it are read from
``calls_unindexed``). The previous period (the trend's comparison and the change of the total)
only counts calls per day: the Shanghai day is computed in SQL from the key
(``(key / 1024 + 8 h in ms) / 1 day in ms``), the keys come from the index on ``deleted`` (all
sites) or the site's facet token, so a year of it costs about a tenth of a second.

**The most frequent problems** are the system + module + category of the calls ("财政电子票据 / 票据
开具 · 故障报修"): every call has them, they are what the bureau's systems are organised by, and they
group calls that the caller words differently. A question's first line would scatter the same
problem over hundreds of wordings (units' names, numbers, error codes, "您好，…"). Each problem shows
the latest question of its group as a typical example and how many of its calls were answered on the
call.

**Tickets** counted are those *reported* in the period (the report time of their ``created`` event,
which may lie before the ticket was entered). Their deadline outcomes come from the stored derived
state (``ticket_state.outcomes``) and are classified as ``tickets.outcome_report`` does: met, breached
(met late, or still open past its due time at ``now``), running, by agreement, not started.

**Fault records** (故障记录) are the tickets reported in the period, and the calls of a fault category
(a category whose name holds 故障, e.g. 故障报修) are counted beside them. A record's cause is, in
order: the cause of a knowledge-base article linked to the ticket (the known problem it was), a
"原因：…" the engineer wrote in the resolve summary or the ticket's notes, else "cause not recorded".
Causes are grouped by a normalised text (first sentence, spaces and end punctuation dropped, Latin
letters lower-cased), so "数据库监听未启动。" and "数据库监听未启动" are one cause. Fault calls
linked to an article count towards that article's cause.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import _
from app.services import sla_config
from app.services.calls import facet_token
from app.services.tickets import TargetResult, TicketStatus
from app.sla.deadlines import DeadlineMode
from app.sla.policy import Policy, TargetKind
from app.sla.wall_time import SHANGHAI
from app.storage.models import (
    CALL_KEY_SLOTS,
    OUTCOME_LABELS,
    Category,
    KbArticle,
    KbLink,
    Module,
    Organisation,
    Outcome,
    Site,
    System,
    TicketEventRow,
    call_key_floor,
)

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]

DEFAULT_CALLBACK_MINUTES = 30  # the Changzhou contract's call-back time, where a policy sets none
TOP_PROBLEMS = 10
TOP_ARTICLES = 10
DAILY_TREND_MAX_DAYS = 62  # a longer range is shown per month
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # a ticket's report time may lie this far after its entry
_DAY_MS = 86_400_000
_SHIFT_MS = 8 * 3_600_000  # UTC → Asia/Shanghai (no daylight saving time since 1991)
_EPOCH_DAY = dt.date(1970, 1, 1)
_FAULT_WORD = "故障"
OTHERS_KEY = "*others*"  # the key of ``Breakdown.top``'s last row
_NO_MODULE = "none:"  # + a system id: the module breakdown's key of that system's calls without module


class ReportCancelled(Exception):
    """``cancelled()`` said so: the report was abandoned (nothing is returned or written)."""


# --- the period -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryPeriod:
    """Asia/Shanghai days ``first`` to ``last`` (both included); ``kind`` is "month", "year" or
    "range". Make one with ``month``, ``year`` or ``days``."""

    first: dt.date
    last: dt.date
    kind: str = "range"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if self.kind not in ("month", "year", "range"):
            raise ValueError(f"unknown period kind {self.kind!r}")

    @classmethod
    def month(cls, year: int, month: int) -> SummaryPeriod:
        days = calendar.monthrange(year, month)[1]
        return cls(dt.date(year, month, 1), dt.date(year, month, days), "month")

    @classmethod
    def year(cls, year: int) -> SummaryPeriod:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")

    @classmethod
    def days(cls, first: dt.date, last: dt.date) -> SummaryPeriod:
        return cls(first, last, "range")

    @property
    def start(self) -> dt.datetime:
        """Midnight (Asia/Shanghai) that opens the period."""
        return dt.datetime.combine(self.first, dt.time(), SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        """Midnight (Asia/Shanghai) after the last day: the period is ``start <= t < end``."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), SHANGHAI)

    @property
    def day_count(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def monthly(self) -> bool:
        """Whether the trend is per month (a year, or a range longer than two months)."""
        return self.kind == "year" or (self.kind == "range" and self.day_count > DAILY_TREND_MAX_DAYS)

    def each_day(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(self.day_count)]

    def previous(self) -> SummaryPeriod:
        """The period before: the month before, the year before, or as many days just before."""
        if self.kind == "month":
            year, month = (self.first.year, self.first.month - 1) if self.first.month > 1 else (
                self.first.year - 1, 12,
            )  # fmt: skip
            return SummaryPeriod.month(year, month)
        if self.kind == "year":
            return SummaryPeriod.year(self.first.year - 1)
        return SummaryPeriod.days(
            self.first - dt.timedelta(days=self.day_count), self.first - dt.timedelta(days=1)
        )

    def label(self) -> str:
        """How the report names it: "2026年3月", "2026年", "2026-03-01 至 2026-03-15"."""
        if self.kind == "month":
            return month_label(self.first.year, self.first.month)
        if self.kind == "year":
            return _("Year {year}").format(year=self.first.year)
        return _("{first} to {last}").format(first=self.first.isoformat(), last=self.last.isoformat())

    def bucket_of(self, day: dt.date) -> dt.date:
        """The first day of the trend bucket ``day`` falls in (itself, or its month's first day)."""
        return day.replace(day=1) if self.monthly else day

    def buckets(self) -> list[dt.date]:
        """The trend's buckets in order, by their first day."""
        return list(dict.fromkeys(self.bucket_of(day) for day in self.each_day()))

    def bucket_label(self, bucket: dt.date) -> str:
        if not self.monthly:
            return str(bucket.day) if self.kind == "month" else f"{bucket.month}/{bucket.day}"
        if self.kind == "year":
            return _("Month {month}").format(month=bucket.month)
        return month_label(bucket.year, bucket.month)


def month_label(year: int, month: int) -> str:
    return _("{year}-{month:02d}").format(year=year, month=month)


def _key_range(first: dt.date, last: dt.date) -> tuple[int, int]:
    """The call keys of Asia/Shanghai days ``first`` to ``last``: ``low <= key < high``."""
    low = call_key_floor(dt.datetime.combine(first, dt.time(), SHANGHAI))
    high = call_key_floor(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), SHANGHAI))
    return low, high


def _utc_text(moment: dt.datetime) -> str:
    """A moment as ``UTCDateTime`` stores it, for comparing stored times in SQL."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    """One row of a breakdown: ``key`` (an id, a unit's text, "" for none), its label and count;
    ``parent`` is the system of a module."""

    key: str
    label: str
    count: int
    parent: str = ""


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Calls by one dimension, every value, most calls first."""

    total: int
    rows: tuple[Count, ...] = ()

    def share(self, count: int) -> float:
        """``count`` as a share of the total, 0 … 1 (0 when there are no calls)."""
        return count / self.total if self.total else 0.0

    def top(self, n: int) -> list[Count]:
        """The ``n`` largest, then one "Others (k)" row for the rest when there is a rest."""
        if len(self.rows) <= n + 1:  # an "Others" row for a single value would hide its name
            return list(self.rows)
        rest = self.rows[n:]
        others = Count(OTHERS_KEY, _("Others ({count})").format(count=len(rest)), sum(c.count for c in rest))
        return [*self.rows[:n], others]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    start: dt.date  # the bucket's first day
    label: str  # "3" (a day of a month), "3月", "2026年3月"
    calls: int
    previous: int | None  # the same bucket of the previous period; None: it has none


@dataclass(frozen=True, slots=True)
class CallbackStats:
    """Calls that needed a call back (outcome ``callback``) and what became of them."""

    due: int
    done: int
    within: int  # called back within ``minutes`` of the call
    minutes: int

    @property
    def open(self) -> int:
        return self.due - self.done


@dataclass(frozen=True, slots=True)
class TargetCompliance:
    """One deadline (首次响应, 到场, 解决) over the tickets reported in the period."""

    target: TargetKind
    met: int = 0
    breached: int = 0
    running: int = 0
    by_agreement: int = 0
    not_started: int = 0

    @property
    def label(self) -> str:
        return self.target.label()

    @property
    def judged(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        """Met as a share of met and breached; None when none was judged yet."""
        return self.met / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class TicketCounts:
    opened: int = 0  # reported in the period
    resolved: int = 0  # of those, resolved or closed now
    on_site: int = 0  # of those, handled on site
    visits: int = 0  # arrivals on site in the period (any ticket of the site)

    @property
    def still_open(self) -> int:
        return self.opened - self.resolved


@dataclass(frozen=True, slots=True)
class OnSiteVisit:
    number: str
    arrived_at: dt.datetime  # Asia/Shanghai
    unit: str
    title: str
    result: str  # the on-site deadline's outcome, in words ("" without one)


@dataclass(frozen=True, slots=True)
class Problem:
    """A most frequent problem: calls of one system, module and category."""

    system: str
    module: str
    category: str
    count: int
    answered: int  # answered on the call
    example: str  # the latest question's first line

    @property
    def label(self) -> str:
        return " / ".join(part for part in (self.system, self.module) if part)


@dataclass(frozen=True, slots=True)
class ArticleUse:
    article_id: str
    title: str
    calls: int  # calls of the period its answer was used in
    tickets: int  # tickets reported in the period it was linked to

    @property
    def total(self) -> int:
        return self.calls + self.tickets


@dataclass(frozen=True)
class SummaryStats:
    """Everything the service report shows (see the module docstring for where each comes from)."""

    site_id: str | None
    site_name: str
    period: SummaryPeriod
    made_at: dt.datetime
    calls: int
    duration_s: int
    outcomes: tuple[Count, ...]  # every outcome, in the app's order, zeros included
    callbacks: CallbackStats
    categories: Breakdown
    systems: Breakdown
    modules: Breakdown
    units: Breakdown
    trend: tuple[TrendPoint, ...]
    previous_calls: int | None
    compliance: tuple[TargetCompliance, ...]
    tickets: TicketCounts
    visits: tuple[OnSiteVisit, ...]
    problems: tuple[Problem, ...]
    articles: tuple[ArticleUse, ...]

    @property
    def average_duration_s(self) -> float:
        return self.duration_s / self.calls if self.calls else 0.0

    def outcome_count(self, outcome: Outcome) -> int:
        return next((c.count for c in self.outcomes if c.key == outcome.value), 0)

    @property
    def transferred(self) -> int:
        return self.outcome_count(Outcome.TRANSFERRED)

    @property
    def change(self) -> float | None:
        """The change of the number of calls against the previous period (0.1: 10 % more)."""
        if not self.previous_calls:
            return None
        return (self.calls - self.previous_calls) / self.previous_calls


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One fault record: a ticket reported in the period."""

    ticket_id: str
    number: str
    reported_at: dt.datetime  # Asia/Shanghai
    unit: str
    system: str
    module: str
    category: str
    severity: str
    symptom: str
    cause: str
    resolution: str
    resolved_at: dt.datetime | None  # Asia/Shanghai; None: not resolved
    status: str
    on_site: bool
    resolution_result: TargetResult | None  # the resolution deadline's outcome

    @property
    def duration(self) -> dt.timedelta | None:
        """From the report to the resolution (wall time); None while unresolved."""
        return None if self.resolved_at is None else max(self.resolved_at - self.reported_at, dt.timedelta())


@dataclass(frozen=True, slots=True)
class FaultGroup:
    """Faults of one system and module."""

    system: str
    module: str
    calls: int  # calls of a fault category
    tickets: int
    resolved: int
    breached: int  # tickets whose resolution deadline was breached
    resolve_seconds: int  # summed over the resolved tickets

    @property
    def average_resolve(self) -> dt.timedelta | None:
        return dt.timedelta(seconds=self.resolve_seconds / self.resolved) if self.resolved else None


@dataclass(frozen=True, slots=True)
class CauseGroup:
    cause: str
    tickets: int
    calls: int  # fault calls linked to a knowledge-base article with this cause
    systems: str  # the systems / modules it occurred in, most first

    @property
    def total(self) -> int:
        return self.tickets + self.calls


@dataclass(frozen=True)
class FaultStats:
    site_id: str | None
    site_name: str
    period: SummaryPeriod
    made_at: dt.datetime
    fault_categories: tuple[str, ...]  # the names of the categories counted as faults
    fault_calls: int
    records: tuple[FaultRecord, ...]
    by_module: tuple[FaultGroup, ...]
    by_cause: tuple[CauseGroup, ...]

    @property
    def resolved(self) -> int:
        return sum(1 for record in self.records if record.resolved_at is not None)


# --- SQL ------------------------------------------------------------------------------------------

# Each reads one key range (a day): SEARCH calls USING INTEGER PRIMARY KEY (rowid>? AND rowid<?).
# {site} is "" or "AND site_id = :site".
_OUTCOME_SUMS = ", ".join(f"sum(outcome = '{o.value}')" for o in Outcome)
CALLS_BY_DAY = (
    "SELECT module_id, system_id, category_id, count(*), total(duration_s), "
    f"{_OUTCOME_SUMS} "
    "FROM calls WHERE key >= :low AND key < :high AND +deleted = 0 {site} "
    "GROUP BY module_id, system_id, category_id"
)
# a directory unit's id, or "~" and the unit typed on a call without one (an id never starts so)
UNITS_BY_DAY = (
    "SELECT coalesce(org_id, '~' || trim(unit_name)) AS unit, count(*) "
    "FROM calls WHERE key >= :low AND key < :high AND +deleted = 0 {site} GROUP BY unit"
)
# The keys of the live calls of a key range with a site and/or an outcome, from the full-text index's
# facet tokens (``calls_fts`` holds live calls only; ``calls.facet_token``) and from the calls still
# queued for it (never in both). {filters}: "AND c.site_id = :site", "AND c.outcome = :outcome".
INDEX_KEYS = (
    "SELECT rowid AS k FROM calls_fts WHERE calls_fts MATCH :match AND rowid >= :low AND rowid < :high "
    "UNION ALL SELECT u.key AS k FROM calls_unindexed u CROSS JOIN calls c ON c.key = u.key "
    "WHERE u.key >= :low AND u.key < :high AND +c.deleted = 0 {filters}"
)
# Counting only: all sites from the index (deleted, key) alone, one site from its index keys.
CALLS_PER_DAY = (
    f"SELECT (key / {CALL_KEY_SLOTS} + {_SHIFT_MS}) / {_DAY_MS} AS day, count(*) FROM calls "
    "WHERE key >= :low AND key < :high AND deleted = 0 GROUP BY day"
)
SITE_CALLS_PER_DAY = (
    f"SELECT (k / {CALL_KEY_SLOTS} + {_SHIFT_MS}) / {_DAY_MS} AS day, count(*) "
    f"FROM ({INDEX_KEYS.format(filters='AND c.site_id = :site')}) GROUP BY day"
)
# Call-backs read only the rows of calls that needed one: a few percent, found through the index.
_CALLBACK_FIGURES = (
    "SELECT count(called_back_at), "
    "sum(round((julianday(called_back_at) - julianday(started_at)) * 86400.0) <= :callback_s) FROM calls "
)
CALLBACKS = _CALLBACK_FIGURES + "WHERE key IN ({keys}) AND +deleted = 0 AND outcome = :outcome {site}"
LATEST_QUESTION = (
    "SELECT question FROM calls WHERE key >= :low AND key < :high AND +deleted = 0 {site} "
    "AND system_id IS :system AND module_id IS :module AND category_id IS :category "
    "AND question != '' ORDER BY key DESC LIMIT 1"
)
ARTICLES_OF_CALLS = (
    "SELECT l.article_id, count(DISTINCT c.key) FROM kb_links l CROSS JOIN calls c ON c.id = l.call_id "
    "WHERE l.deleted = 0 AND c.key >= :low AND c.key < :high AND +c.deleted = 0 {site} {categories} "
    "GROUP BY l.article_id"
)
FAULT_CALLS_BY_MODULE = (
    "SELECT system_id, module_id, count(*) FROM calls "
    "WHERE key >= :low AND key < :high AND +deleted = 0 {site} AND category_id IN ({categories}) "
    "GROUP BY system_id, module_id"
)
PERIOD_TICKETS = (
    "SELECT t.id, t.number, t.title, t.unit_name, t.org_id, t.system_id, t.module_id, t.category_id, "
    "t.handling, t.created_at, s.status, s.severity, s.policy_id, s.outcomes, "
    "(SELECT json_extract(e.data, '$.reported_at') FROM ticket_events e "
    " WHERE e.ticket_id = t.id AND e.kind = 'created' AND e.deleted = 0 "
    " ORDER BY e.hlc, e.origin, e.id LIMIT 1) AS reported {more} "
    "FROM tickets t LEFT JOIN ticket_state s ON s.ticket_id = t.id "
    "WHERE t.deleted = 0 AND t.created_at >= :floor {site}"
)
ARRIVALS = (
    "SELECT e.ticket_id, e.at, t.number, t.unit_name, t.title, s.outcomes FROM ticket_events e "
    "JOIN tickets t ON t.id = e.ticket_id LEFT JOIN ticket_state s ON s.ticket_id = t.id "
    "WHERE e.kind = 'arrived_on_site' AND e.deleted = 0 AND t.deleted = 0 "
    "AND e.at >= :start AND e.at < :end {site} ORDER BY e.at"
)


def _fetch(session: Session, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """The rows of ``sql`` straight from the driver, in the session's transaction: the per-day
    statements return a few hundred thousand groups a year, and SQLAlchemy's result rows would cost
    more than the query."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        return list(cursor.execute(sql, params).fetchall())
    finally:
        cursor.close()


def _site_clause(site_id: str | None, column: str = "site_id") -> str:
    return "" if site_id is None else f"AND {column} = :site"


class _Steps:
    """Progress and cancellation over a known number of steps."""

    def __init__(self, total: int, progress: ProgressFn | None, cancelled: CancelledFn | None) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled

    def check(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ReportCancelled

    def step(self) -> None:
        self.done += 1
        if self._progress is not None:
            self._progress(min(self.done, self.total), self.total)


class _Names:
    """Names of the reference rows (every one, retired too: old calls name them)."""

    def __init__(self, session: Session) -> None:
        self.systems: dict[str, str] = {i: n for i, n in session.execute(select(System.id, System.name))}
        self.modules: dict[str, tuple[str, str]] = {
            module_id: (name, system_id)
            for module_id, name, system_id in session.execute(
                select(Module.id, Module.name, Module.system_id)
            )
        }
        self.categories: dict[str, str] = {
            i: n for i, n in session.execute(select(Category.id, Category.name))
        }

    def system(self, system_id: str | None) -> str:
        if not system_id:
            return _("No system given")
        return self.systems.get(system_id) or _("Unknown system")

    def module(self, module_id: str | None) -> str:
        if not module_id or module_id.startswith(_NO_MODULE):
            return _("No module given")
        found = self.modules.get(module_id)
        return found[0] if found is not None else _("Unknown module")

    def system_of_module(self, key: str) -> str:
        """The system of a module's breakdown key (a module id, or no module of a system)."""
        if key.startswith(_NO_MODULE):
            return self.system(key[len(_NO_MODULE) :] or None)
        found = self.modules.get(key)
        return self.system(found[1]) if found is not None else ""

    def category(self, category_id: str | None) -> str:
        if not category_id:
            return _("No category given")
        return self.categories.get(category_id) or _("Unknown category")


def _site_name(session: Session, site_id: str | None) -> str:
    if site_id is None:
        return _("All sites")
    site = session.get(Site, site_id)
    return site.name if site is not None else site_id


def _site_policy(session: Session, site_id: str | None) -> Policy | None:
    if site_id is None:
        return None
    policy_id = sla_config.site_policy_id(session, site_id)
    return sla_config.load_policies(session).get(policy_id) if policy_id else None


def _aware_now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now: a naive datetime cannot be placed in time")
    return now


def _breakdown(
    counts: Mapping[str, int], label: Callable[[str], str], parent: Callable[[str], str]
) -> Breakdown:
    rows = [Count(key, label(key), n, parent(key)) for key, n in counts.items() if n]
    rows.sort(key=lambda c: (-c.count, c.label))
    return Breakdown(sum(counts.values()), tuple(rows))


def _first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- tickets (shared by both reports) -------------------------------------------------------------


@dataclass(slots=True)
class _TicketRow:
    id: str
    number: str
    title: str
    unit: str
    org_id: str | None
    system_id: str | None
    module_id: str | None
    category_id: str | None
    handling: str
    status: str
    severity: str
    policy_id: str | None
    outcomes: list[dict[str, Any]]
    reported_at: dt.datetime
    description: str = ""
    notes: str = ""


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _period_tickets(
    session: Session, site_id: str | None, period: SummaryPeriod, *, texts: bool = False
) -> list[_TicketRow]:
    """The tickets of the site reported in the period (see the module docstring), by report time."""
    floor = period.start - _FUTURE_TOLERANCE  # reported <= created + tolerance
    more = ", t.description, t.notes" if texts else ""
    sql = PERIOD_TICKETS.format(more=more, site=_site_clause(site_id, "t.site_id"))
    params: dict[str, Any] = {"floor": _utc_text(floor)}
    if site_id is not None:
        params["site"] = site_id
    found: list[_TicketRow] = []
    start, end = period.start, period.end
    for row in session.connection().exec_driver_sql(sql, params):
        reported = _moment(row.reported) or _moment(row.created_at)
        if reported is None or not start <= reported < end:
            continue
        try:
            outcomes = json.loads(row.outcomes or "[]")
        except ValueError:
            outcomes = []
        found.append(
            _TicketRow(
                id=row.id,
                number=row.number,
                title=row.title or "",
                unit=row.unit_name or "",
                org_id=row.org_id,
                system_id=row.system_id,
                module_id=row.module_id,
                category_id=row.category_id,
                handling=row.handling or "",
                status=row.status or TicketStatus.NEW.value,
                severity=row.severity or "",
                policy_id=row.policy_id,
                outcomes=[o for o in outcomes if isinstance(o, dict)],
                reported_at=reported.astimezone(SHANGHAI),
                description=(row.description or "") if texts else "",
                notes=(row.notes or "") if texts else "",
            )
        )
    found.sort(key=lambda t: (t.reported_at, t.number))
    return found


def target_result(record: Mapping[str, Any], now: dt.datetime) -> TargetResult:
    """A stored target outcome (``ticket_state.outcomes``) judged at ``now``, by the rule of
    ``tickets.outcome_report``: met in time, breached (late, or open past its due time), running."""
    due, met_at = _moment(record.get("due")), _moment(record.get("met_at"))
    if due is None:
        mode = record.get("mode")
        if mode == DeadlineMode.NOT_STARTED.value:
            return TargetResult.NOT_STARTED
        if mode in (DeadlineMode.BY_AGREEMENT.value, DeadlineMode.MANUAL.value):
            return TargetResult.BY_AGREEMENT
        return TargetResult.OPEN
    if met_at is not None:
        return TargetResult.MET if met_at <= due else TargetResult.BREACHED
    return TargetResult.BREACHED if now > due else TargetResult.OPEN


def _target_of(ticket_outcomes: Iterable[Mapping[str, Any]], kind: TargetKind) -> Mapping[str, Any] | None:
    return next((o for o in ticket_outcomes if o.get("target") == kind.value), None)


def _compliance(tickets: Sequence[_TicketRow], now: dt.datetime) -> tuple[TargetCompliance, ...]:
    counts: dict[TargetKind, Counter[TargetResult]] = {kind: Counter() for kind in TargetKind}
    for ticket in tickets:
        for kind in TargetKind:
            record = _target_of(ticket.outcomes, kind)
            if record is not None:
                counts[kind][target_result(record, now)] += 1
    return tuple(
        TargetCompliance(
            kind,
            met=c[TargetResult.MET],
            breached=c[TargetResult.BREACHED],
            running=c[TargetResult.OPEN],
            by_agreement=c[TargetResult.BY_AGREEMENT],
            not_started=c[TargetResult.NOT_STARTED],
        )
        for kind, c in counts.items()
    )


def _is_resolved(status: str) -> bool:
    return status in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)


def _on_site(ticket: _TicketRow) -> bool:
    return ticket.handling == "on_site"


def _chunks(ids: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


# --- the service report ---------------------------------------------------------------------------


def summary_stats(
    session: Session,
    site_id: str | None,
    period: SummaryPeriod,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    *,
    now: dt.datetime | None = None,
    compare: bool = True,
) -> SummaryStats:
    """The figures of the service report of one site (None: every site) for ``period``.

    ``now`` judges deadlines still running (None: the clock); ``compare`` adds the previous period
    to the trend. Raises ``ReportCancelled`` when ``cancelled()`` says so.
    """
    now = _aware_now(now)
    days = period.each_day()
    steps = _Steps(len(days) + 4, progress, cancelled)
    names = _Names(session)
    site = _site_clause(site_id)
    policy = _site_policy(session, site_id)
    callback_minutes = policy.callback.minutes if policy is not None and policy.callback else None
    minutes = callback_minutes or DEFAULT_CALLBACK_MINUTES
    base: dict[str, Any] = {} if site_id is None else {"site": site_id}

    calls_sql = CALLS_BY_DAY.format(site=site)
    units_sql = UNITS_BY_DAY.format(site=site)
    per_bucket: dict[dt.date, int] = dict.fromkeys(period.buckets(), 0)
    # (system, module, category) → calls, talk seconds, then calls per outcome (Outcome's order)
    topics: dict[tuple[str | None, str | None, str | None], list[float]] = {}
    unit_counts: Counter[str] = Counter()
    width = 2 + len(Outcome)
    for day in days:
        steps.check()
        low, high = _key_range(day, day)
        params = {**base, "low": low, "high": high}
        day_calls = 0
        for row in _fetch(session, calls_sql, params):
            module_id, system_id, category_id = row[0], row[1], row[2]
            day_calls += row[3]
            sums = topics.get((system_id, module_id, category_id))
            if sums is None:
                sums = topics[(system_id, module_id, category_id)] = [0.0] * width
            for index in range(width):
                sums[index] += row[3 + index] or 0
        per_bucket[period.bucket_of(day)] += day_calls
        if day_calls:
            for unit, n in _fetch(session, units_sql, {**base, "low": low, "high": high}):
                unit_counts[unit] += n
        steps.step()
    total = sum(per_bucket.values())
    outcomes: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    systems: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    duration = 0.0
    for (system_id, module_id, category_id), sums in topics.items():
        n = int(sums[0])
        duration += sums[1]
        categories[category_id or ""] += n
        systems[system_id or ""] += n
        modules[module_id or f"{_NO_MODULE}{system_id or ''}"] += n
        for index, outcome in enumerate(Outcome):
            outcomes[outcome.value] += int(sums[2 + index])

    steps.check()
    low, high = _key_range(period.first, period.last)
    due = outcomes.get(Outcome.CALLBACK.value, 0)
    callbacks_done, callbacks_within = _callbacks(session, site_id, low, high, minutes) if due else (0, 0)
    previous_buckets: dict[dt.date, int] | None = None
    previous_calls: int | None = None
    if compare:
        previous = period.previous()
        previous_buckets = _calls_per_bucket(session, site_id, previous)
        previous_calls = sum(previous_buckets.values())
    steps.step()

    trend = _trend(period, per_bucket, previous_buckets, compare)

    steps.check()
    problems = _problems(session, site_id, topics, names, low, high)
    units = _units(session, unit_counts)
    steps.step()

    steps.check()
    tickets = _period_tickets(session, site_id, period)
    visits = _visits(session, site_id, period, now)
    ticket_counts = TicketCounts(
        opened=len(tickets),
        resolved=sum(1 for t in tickets if _is_resolved(t.status)),
        on_site=sum(1 for t in tickets if _on_site(t)),
        visits=len(visits),
    )
    steps.step()

    steps.check()
    articles = _articles(session, site_id, low, high, [t.id for t in tickets]) if total or tickets else []
    steps.step()

    outcome_rows = tuple(Count(o.value, _(OUTCOME_LABELS[o]), outcomes.get(o.value, 0)) for o in Outcome)
    return SummaryStats(
        site_id=site_id,
        site_name=_site_name(session, site_id),
        period=period,
        made_at=now,
        calls=total,
        duration_s=round(duration),
        outcomes=outcome_rows,
        callbacks=CallbackStats(
            due=outcomes.get(Outcome.CALLBACK.value, 0),
            done=callbacks_done,
            within=callbacks_within,
            minutes=minutes,
        ),
        categories=_breakdown(categories, names.category, lambda _k: ""),
        systems=_breakdown(systems, names.system, lambda _k: ""),
        modules=_breakdown(modules, names.module, names.system_of_module),
        units=units,
        trend=trend,
        previous_calls=previous_calls,
        compliance=_compliance(tickets, now),
        tickets=ticket_counts,
        visits=tuple(visits),
        problems=tuple(problems),
        articles=tuple(articles),
    )


def _index_keys(site_id: str | None, outcome: str | None, low: int, high: int) -> tuple[str, dict[str, Any]]:
    """``INDEX_KEYS`` for a site and/or an outcome (at least one), with its parameters."""
    tokens = [facet_token(kind, value) for kind, value in (("s", site_id), ("o", outcome)) if value]
    filters = "".join(
        f" AND c.{column} = :{column.split('_')[0]}"
        for column, value in (("site_id", site_id), ("outcome", outcome))
        if value
    )
    params: dict[str, Any] = {
        "match": " AND ".join(f'"{token}"' for token in tokens), "low": low, "high": high,
        "site": site_id, "outcome": outcome,
    }  # fmt: skip
    return INDEX_KEYS.format(filters=filters), params


def _callbacks(session: Session, site_id: str | None, low: int, high: int, minutes: int) -> tuple[int, int]:
    """Calls of the range that were called back, and how many within ``minutes`` of the call."""
    keys, params = _index_keys(site_id, Outcome.CALLBACK.value, low, high)
    sql = CALLBACKS.format(keys=keys, site=_site_clause(site_id))
    done, within = session.connection().exec_driver_sql(sql, {**params, "callback_s": minutes * 60}).one()
    return int(done or 0), int(within or 0)


def _calls_per_bucket(session: Session, site_id: str | None, period: SummaryPeriod) -> dict[dt.date, int]:
    """Calls of ``period`` per trend bucket, the Shanghai day computed in SQL from the key (its UTC
    start in ms, + 8 h), read from indexes only: a whole year of the previous period costs a tenth of
    a second."""
    low, high = _key_range(period.first, period.last)
    buckets: dict[dt.date, int] = dict.fromkeys(period.buckets(), 0)
    if site_id is None:
        sql, params = CALLS_PER_DAY, {"low": low, "high": high}
    else:
        sql, params = SITE_CALLS_PER_DAY, _index_keys(site_id, None, low, high)[1]
    for day_number, n in session.connection().exec_driver_sql(sql, params):
        day = _EPOCH_DAY + dt.timedelta(days=int(day_number))
        bucket = period.bucket_of(day)
        if bucket in buckets:
            buckets[bucket] += n
    return buckets


def _trend(
    period: SummaryPeriod,
    current: Mapping[dt.date, int],
    previous: Mapping[dt.date, int] | None,
    compare: bool,
) -> tuple[TrendPoint, ...]:
    """The buckets, each with the bucket of the previous period in the same place (day 1 with day 1,
    March with March of the year before)."""
    before = list(previous.values()) if previous is not None else []
    points = []
    for index, (start, calls) in enumerate(current.items()):
        previous_calls = before[index] if compare and index < len(before) else None
        points.append(TrendPoint(start, period.bucket_label(start), calls, previous_calls))
    return tuple(points)


def _problems(
    session: Session,
    site_id: str | None,
    topics: Mapping[tuple[str | None, str | None, str | None], list[float]],
    names: _Names,
    low: int,
    high: int,
) -> list[Problem]:
    answered = 2 + list(Outcome).index(Outcome.ANSWERED)
    ranked = sorted(topics.items(), key=lambda item: -item[1][0])[:TOP_PROBLEMS]
    sql = LATEST_QUESTION.format(site=_site_clause(site_id))
    conn = session.connection()
    problems = []
    for (system_id, module_id, category_id), sums in ranked:
        params: dict[str, Any] = {
            "low": low, "high": high, "system": system_id, "module": module_id, "category": category_id,
        }  # fmt: skip
        if site_id is not None:
            params["site"] = site_id
        question = conn.exec_driver_sql(sql, params).scalar()
        problems.append(
            Problem(
                system=names.system(system_id),
                module=names.module(module_id) if module_id else "",
                category=names.category(category_id),
                count=int(sums[0]),
                answered=int(sums[answered]),
                example=_first_line(str(question or ""), 60),
            )
        )
    return problems


def _units(session: Session, unit_counts: Mapping[str, int]) -> Breakdown:
    """Calls per unit: a directory unit under its current name (a unit merged into another counts as
    that one), the rest by the unit typed on the call (``UNITS_BY_DAY``)."""
    org_counts = {key: n for key, n in unit_counts.items() if not key.startswith("~")}
    typed = {key[1:]: n for key, n in unit_counts.items() if key.startswith("~")}
    names: dict[str, str] = {}
    merged: dict[str, str] = {}
    wanted = list(org_counts)
    seen: set[str] = set()
    while wanted:  # follow merges (a chain is rare and short)
        batch = [org_id for org_id in wanted if org_id not in seen]
        seen.update(batch)
        wanted = []
        for chunk in _chunks(batch):
            rows = session.execute(
                select(Organisation.id, Organisation.name, Organisation.merged_into).where(
                    Organisation.id.in_(chunk)
                )
            )
            for org_id, name, into in rows:
                names[org_id] = name
                if into and into != org_id:
                    merged[org_id] = into
                    wanted.append(into)

    def survivor(org_id: str) -> str:
        hops = 0
        while org_id in merged and hops < 20:
            org_id, hops = merged[org_id], hops + 1
        return org_id

    counts: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for org_id, n in org_counts.items():
        final = survivor(org_id)
        key = f"org:{final}"
        counts[key] += n
        labels[key] = names.get(final) or names.get(org_id) or _("Unknown unit")
    for text, n in typed.items():
        key = f"text:{text}"
        counts[key] += n
        labels[key] = text or _("No unit given")
    # a typed unit with a directory unit's name is that unit
    by_name = {label: key for key, label in labels.items() if key.startswith("org:")}
    for key in [k for k in counts if k.startswith("text:")]:
        target = by_name.get(labels[key])
        if target is not None:
            counts[target] += counts.pop(key)
    return _breakdown(counts, lambda key: labels[key], lambda _k: "")


def _visits(
    session: Session, site_id: str | None, period: SummaryPeriod, now: dt.datetime
) -> list[OnSiteVisit]:
    params: dict[str, Any] = {"start": _utc_text(period.start), "end": _utc_text(period.end)}
    if site_id is not None:
        params["site"] = site_id
    sql = ARRIVALS.format(site=_site_clause(site_id, "t.site_id"))
    visits = []
    for _ticket_id, at, number, unit, title, outcomes in session.connection().exec_driver_sql(sql, params):
        arrived = _moment(at)
        if arrived is None:
            continue
        try:
            records = json.loads(outcomes or "[]")
        except ValueError:
            records = []
        record = _target_of([r for r in records if isinstance(r, dict)], TargetKind.ON_SITE)
        result = target_result(record, now).label() if record is not None else ""
        visits.append(OnSiteVisit(number, arrived.astimezone(SHANGHAI), unit or "", title or "", result))
    return visits


def _articles(
    session: Session, site_id: str | None, low: int, high: int, ticket_ids: Sequence[str]
) -> list[ArticleUse]:
    """The articles used most in the period: in its calls' answers and linked to its tickets."""
    params: dict[str, Any] = {"low": low, "high": high}
    if site_id is not None:
        params["site"] = site_id
    sql = ARTICLES_OF_CALLS.format(site=_site_clause(site_id, "c.site_id"), categories="")
    in_calls = {str(a): int(n) for a, n in session.connection().exec_driver_sql(sql, params)}
    in_tickets = _ticket_links(session, ticket_ids)
    ids = set(in_calls) | set(in_tickets)
    if not ids:
        return []
    titles = _article_fields(session, ids)
    uses = [
        ArticleUse(
            article_id, titles[article_id][0], in_calls.get(article_id, 0), in_tickets.get(article_id, 0)
        )
        for article_id in ids
        if article_id in titles  # a deleted article is no longer shown
    ]
    uses.sort(key=lambda u: (-u.total, -u.calls, u.title))
    return uses[:TOP_ARTICLES]


def _ticket_links(session: Session, ticket_ids: Sequence[str]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for chunk in _chunks(list(ticket_ids)):
        rows = session.execute(
            select(KbLink.article_id, KbLink.ticket_id).where(
                KbLink.ticket_id.in_(chunk), KbLink.deleted.is_(False)
            )
        )
        for article_id, _ticket in rows:
            found[article_id] += 1
    return dict(found)


def _ticket_articles(session: Session, ticket_ids: Sequence[str]) -> dict[str, list[str]]:
    """The articles linked to each ticket, in the order linked."""
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(list(ticket_ids)):
        rows = session.execute(
            select(KbLink.ticket_id, KbLink.article_id)
            .where(KbLink.ticket_id.in_(chunk), KbLink.deleted.is_(False))
            .order_by(KbLink.linked_at)
        )
        for ticket_id, article_id in rows:
            found[str(ticket_id)].append(article_id)
    return found


def _article_fields(session: Session, ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """Title, cause and solution of live articles."""
    found: dict[str, tuple[str, str, str]] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.execute(
            select(KbArticle.id, KbArticle.title, KbArticle.cause, KbArticle.solution).where(
                KbArticle.id.in_(chunk), KbArticle.deleted.is_(False)
            )
        )
        for article_id, title, cause, solution in rows:
            found[article_id] = (title or "", plain_text(cause or ""), plain_text(solution or ""))
    return found


_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)")


def plain_text(markdown: str) -> str:
    """An article's Markdown as plain text for a table cell: no emphasis marks, code ticks, images,
    link targets, headings, quotes or list markers."""
    text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", markdown))
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return "\n".join(_MD_LINE_MARK.sub("", line) for line in text.splitlines())


# --- the fault analysis ---------------------------------------------------------------------------

_CAUSE_LABEL = re.compile(r"(?:故障)?原因(?:分析)?\s*[:：]\s*(.+)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[。；;！!？?\n]")
_TRAILING = "。.，,；;：:！!？? \t"


def cause_key(text: str) -> str:
    """A cause text normalised for grouping (see the module docstring)."""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    first = "".join(first.split()).strip(_TRAILING)
    return "".join(ch.lower() if ch.isascii() else ch for ch in first)[:80]


def _first_sentence(text: str, limit: int = 80) -> str:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    first = " ".join(first.split()).strip(_TRAILING)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _stated_cause(*texts: str) -> str:
    """A "原因：…" written in one of ``texts`` (the first found), else ""."""
    for text in texts:
        for line in text.splitlines():
            found = _CAUSE_LABEL.search(line)
            if found and _first_sentence(found.group(1)):
                return _first_sentence(found.group(1))
    return ""


def fault_category_ids(session: Session) -> dict[str, str]:
    """The categories counted as faults (their name holds 故障, e.g. 故障报修): id → name."""
    rows = session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.name))
    return {category_id: name for category_id, name in rows if _FAULT_WORD in name}


def fault_stats(
    session: Session,
    site_id: str | None,
    period: SummaryPeriod,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    *,
    now: dt.datetime | None = None,
    fault_categories: Collection[str] | None = None,
) -> FaultStats:
    """The fault records of one site (None: every site) for ``period``: its tickets with their causes
    and resolutions, grouped by system/module and by cause, and the calls of a fault category
    (``fault_categories``: category ids; None: ``fault_category_ids``). Raises ``ReportCancelled``."""
    now = _aware_now(now)
    names = _Names(session)
    categories = (
        fault_category_ids(session)
        if fault_categories is None
        else {c: names.category(c) for c in fault_categories}
    )
    months = _month_slices(period)
    steps = _Steps(len(months) + 3, progress, cancelled)
    site = _site_clause(site_id)
    conn = session.connection()
    base: dict[str, Any] = {} if site_id is None else {"site": site_id}

    calls_by_module: Counter[tuple[str | None, str | None]] = Counter()
    if categories:
        placeholders = ", ".join(f":c{n}" for n in range(len(categories)))
        sql = FAULT_CALLS_BY_MODULE.format(site=site, categories=placeholders)
        category_params = {f"c{n}": c for n, c in enumerate(categories)}
        for first, last in months:
            steps.check()
            low, high = _key_range(first, last)
            for system_id, module_id, n in conn.exec_driver_sql(
                sql, {**base, **category_params, "low": low, "high": high}
            ):
                calls_by_module[(system_id, module_id)] += n
            steps.step()
    else:
        steps.done += len(months)

    steps.check()
    tickets = _period_tickets(session, site_id, period, texts=True)
    resolved = _resolutions(session, [t.id for t in tickets])
    linked = _ticket_articles(session, [t.id for t in tickets])
    steps.step()

    steps.check()
    low, high = _key_range(period.first, period.last)
    call_causes: Counter[str] = Counter()
    if categories:
        placeholders = ", ".join(f":c{n}" for n in range(len(categories)))
        sql = ARTICLES_OF_CALLS.format(
            site=_site_clause(site_id, "c.site_id"), categories=f"AND c.category_id IN ({placeholders})"
        )
        params = {**base, "low": low, "high": high, **{f"c{n}": c for n, c in enumerate(categories)}}
        call_causes.update({str(a): int(n) for a, n in conn.exec_driver_sql(sql, params)})
    article_ids = set(call_causes) | {a for ids in linked.values() for a in ids}
    articles = _article_fields(session, article_ids) if article_ids else {}
    steps.step()

    steps.check()
    policies = sla_config.load_policies(session)
    records = [
        _record(t, resolved.get(t.id), linked.get(t.id, []), articles, names, policies, now) for t in tickets
    ]
    by_module = _fault_groups(records, tickets, calls_by_module, names)
    by_cause = _cause_groups(records, call_causes, articles)
    steps.step()
    return FaultStats(
        site_id=site_id,
        site_name=_site_name(session, site_id),
        period=period,
        made_at=now,
        fault_categories=tuple(categories.values()),
        fault_calls=sum(calls_by_module.values()),
        records=tuple(records),
        by_module=tuple(by_module),
        by_cause=tuple(by_cause),
    )


def _month_slices(period: SummaryPeriod) -> list[tuple[dt.date, dt.date]]:
    """The period cut at month ends (the steps of progress and cancellation)."""
    slices = []
    first = period.first
    while first <= period.last:
        month_end = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        last = min(month_end, period.last)
        slices.append((first, last))
        first = last + dt.timedelta(days=1)
    return slices


def _resolutions(session: Session, ticket_ids: Sequence[str]) -> dict[str, tuple[dt.datetime, str]]:
    """Each ticket's last "resolved" event: when, and the summary written with it."""
    found: dict[str, tuple[dt.datetime, str]] = {}
    for chunk in _chunks(list(ticket_ids)):
        rows = session.execute(
            select(TicketEventRow.ticket_id, TicketEventRow.at, TicketEventRow.data)
            .where(
                TicketEventRow.ticket_id.in_(chunk),
                TicketEventRow.kind == "resolved",
                TicketEventRow.deleted.is_(False),
            )
            .order_by(TicketEventRow.hlc, TicketEventRow.origin, TicketEventRow.id)
        )
        for ticket_id, at, data in rows:
            try:
                values = json.loads(data or "{}")
            except ValueError:
                values = {}
            summary = values.get("summary") if isinstance(values, dict) else None
            found[ticket_id] = (at, str(summary or "").strip())
    return found


def _record(
    ticket: _TicketRow,
    resolution: tuple[dt.datetime, str] | None,
    article_ids: Sequence[str],
    articles: Mapping[str, tuple[str, str, str]],
    names: _Names,
    policies: Mapping[str, Policy],
    now: dt.datetime,
) -> FaultRecord:
    known = [articles[a] for a in article_ids if a in articles]
    summary = resolution[1] if resolution is not None else ""
    cause = next((_first_sentence(c) for _t, c, _s in known if _first_sentence(c)), "")
    cause = cause or _stated_cause(summary, ticket.notes)
    solved = _is_resolved(ticket.status)
    solution = summary or next((_first_line(s, 120) for _t, _c, s in known if s.strip()), "")
    policy = policies.get(ticket.policy_id or "")
    record = _target_of(ticket.outcomes, TargetKind.RESOLUTION)
    try:
        status = TicketStatus(ticket.status).label()
    except ValueError:
        status = ticket.status
    return FaultRecord(
        ticket_id=ticket.id,
        number=ticket.number,
        reported_at=ticket.reported_at,
        unit=ticket.unit,
        system=names.system(ticket.system_id),
        module=names.module(ticket.module_id) if ticket.module_id else "",
        category=names.category(ticket.category_id) if ticket.category_id else "",
        severity=policy.severity_name(ticket.severity) if policy is not None else ticket.severity,
        symptom=ticket.title or _first_line(ticket.description, 120),
        cause=cause or _("Cause not recorded"),
        resolution=solution if solved else "",
        resolved_at=resolution[0].astimezone(SHANGHAI) if solved and resolution is not None else None,
        status=status,
        on_site=_on_site(ticket),
        resolution_result=target_result(record, now) if record is not None else None,
    )


def _fault_groups(
    records: Sequence[FaultRecord],
    tickets: Sequence[_TicketRow],
    calls_by_module: Mapping[tuple[str | None, str | None], int],
    names: _Names,
) -> list[FaultGroup]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (system_id, module_id), n in calls_by_module.items():
        groups[(names.system(system_id), names.module(module_id) if module_id else "")][0] += n
    for record in records:
        group = groups[(record.system, record.module)]
        group[1] += 1
        if record.duration is not None:
            group[2] += 1
            group[4] += int(record.duration.total_seconds())
        if record.resolution_result is TargetResult.BREACHED:
            group[3] += 1
    rows = [
        FaultGroup(system, module, calls, n_tickets, resolved, breached, seconds)
        for (system, module), (calls, n_tickets, resolved, breached, seconds) in groups.items()
    ]
    rows.sort(key=lambda g: (-(g.tickets + g.calls), -g.tickets, g.system, g.module))
    return rows


def _cause_groups(
    records: Sequence[FaultRecord],
    call_causes: Mapping[str, int],
    articles: Mapping[str, tuple[str, str, str]],
) -> list[CauseGroup]:
    shown: dict[str, Counter[str]] = defaultdict(Counter)  # key → the texts seen, for the label
    tickets: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    where: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        key = cause_key(record.cause)
        shown[key][record.cause] += 1
        tickets[key] += 1
        where[key][" / ".join(p for p in (record.system, record.module) if p)] += 1
    for article_id, n in call_causes.items():
        fields = articles.get(article_id)
        text = _first_sentence(fields[1]) if fields is not None else ""
        if not text:
            continue  # a call's article that names no cause tells none
        key = cause_key(text)
        shown[key][text] += n
        calls[key] += n
    groups = [
        CauseGroup(
            cause=shown[key].most_common(1)[0][0],
            tickets=tickets[key],
            calls=calls[key],
            systems="、".join(name for name, _n in where[key].most_common(3)),
        )
        for key in shown
    ]
    unknown = cause_key(_("Cause not recorded"))
    groups.sort(key=lambda g: (cause_key(g.cause) == unknown, -g.total, -g.tickets, g.cause))
    return groups
