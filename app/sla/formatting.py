"""How SLA moments and durations are written for people, in the current language.

All texts go through ``app.i18n`` when they are rendered, not when a deadline is derived: a derived
state keeps ``Phrase`` objects (a marked template plus its values) and renders them on request, so the
same state shows correctly after the user switches language.

Formats (English / Simplified Chinese):

=====================  =======================  ==========================
function               English                  中文
=====================  =======================  ==========================
``format_moment``      ``Fri 10-02 19:00``      ``10月2日 周五 19:00``
  (same day as ref.)   ``22:00``                ``22:00``
  (within 6 days)      ``Mon 08:00``            ``周一 08:00``
``format_hms``         ``00:23:15``             ``00:23:15``
  (a day or more)      ``3 d 04:05:02``         ``3天 04:05:02``
``format_amount``      ``1 h 30 min``           ``1小时30分钟``
  (a day or more)      ``2 d 15 h 40 min``      ``2天15小时40分钟``
=====================  =======================  ==========================

Moments are shown in Asia/Shanghai wall time whatever zone they carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from app.i18n import N_, _
from app.sla.wall_time import SHANGHAI

WEEKDAY_NAMES: tuple[str, ...] = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def weekday_name(day: dt.date) -> str:
    """The short weekday name of ``day``: "Fri" / "周五"."""
    return _(WEEKDAY_NAMES[day.weekday()])


def format_moment(moment: dt.datetime, reference: dt.datetime | None = None) -> str:
    """A moment in Shanghai time, as short as the ``reference`` moment allows (see the module table).

    Without a reference the weekday and date are always shown; on the reference's date only the time;
    in the six days after it the weekday and time.
    """
    local = moment.astimezone(SHANGHAI)
    clock = f"{local:%H:%M}"
    if reference is not None:
        days_after = (local.date() - reference.astimezone(SHANGHAI).date()).days
        if days_after == 0:
            return clock
        if 0 < days_after <= 6:
            return _("{weekday} {time}").format(weekday=weekday_name(local), time=clock)
    return _("{weekday} {month:02d}-{day:02d} {time}").format(
        weekday=weekday_name(local), month=local.month, day=local.day, time=clock
    )


def format_hms(delta: dt.timedelta) -> str:
    """A countdown amount as ``HH:MM:SS`` (whole seconds, sign dropped); from a day on, the days in
    front ("3天 04:05:02"), as "8160:16:36" says nothing at a glance."""
    seconds = abs(int(delta.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return _("{days} d {clock}").format(days=days, clock=clock) if days else clock


def format_amount(delta: dt.timedelta) -> str:
    """A duration in words, largest units first, zero parts left out: "1 h 30 min", "2 d 15 h"."""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts: list[str] = []
    if days:
        parts.append(_("{days} d").format(days=days))
    if hours:
        parts.append(_("{hours} h").format(hours=hours))
    if minutes:
        parts.append(_("{minutes} min").format(minutes=minutes))
    if secs:
        parts.append(_("{seconds} s").format(seconds=secs))
    if not parts:
        return _("{minutes} min").format(minutes=0)
    text = parts[0]
    for part in parts[1:]:
        text = _("{first} {second}").format(first=text, second=part)
    return text


@dataclass(frozen=True, slots=True)
class Moment:
    """A moment inside a phrase, rendered relative to ``reference`` (see ``format_moment``)."""

    at: dt.datetime
    reference: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """A translatable template (marked with ``N_``) and its values, rendered on demand.

    Values may be plain text (data such as a holiday's name, shown as is), numbers, ``timedelta``
    (written with ``format_amount``), ``Moment`` or another ``Phrase``.
    """

    template: str
    values: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, template: str, **values: object) -> Phrase:
        return cls(template, tuple(sorted(values.items())))

    def render(self) -> str:
        rendered = {name: _render_value(value) for name, value in self.values}
        return _(self.template).format(**rendered)


def _render_value(value: object) -> object:
    if isinstance(value, Phrase):
        return value.render()
    if isinstance(value, Moment):
        return format_moment(value.at, value.reference)
    if isinstance(value, dt.timedelta):
        return format_amount(value)
    return value


def join_phrases(phrases: Iterable[Phrase]) -> str:
    """Render phrases as one sentence: "…; …" / "…；…"."""
    return _("; ").join(p.render() for p in phrases)


def join_labels(labels: Iterable[str]) -> str:
    """Join already rendered labels into a list: "a, b" / "a，b"."""
    return _(", ").join(labels)
