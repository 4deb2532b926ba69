"""The two contracts the app ships with, as ``Policy`` values (every number stays editable).

Changzhou Finance Bureau (常州市财政局, site ``changzhou``) — 7x24 service, clock time:

- general fault (一般): respond within 30 min, resolve within 1 h of the report;
- major fault (重大): respond within 30 min, resolve within 2 h of the report
  ("对一般故障，在半小时内响应并在1小时内解决；重大故障在2小时内解决");
- hotline: answered live on working days; a missed or after-hours call on a non-working day becomes
  a call-back task due within 30 min ("非工作日 30 分钟内回复客户电话").

Zhanjiang Finance Bureau (湛江市财政局, site ``zhanjiang``) — response by report time, clock time
("周一至周五8:00～18:00期间为1小时，其它时间为3小时（公休假除外，需要双方事先沟通）"):

1. reported on a statutory public holiday: response by agreement (按约定, no automatic deadline);
2. reported inside working hours (a working day, 08:00 <= t < 18:00): respond within 1 h;
3. reported at any other time (outside working hours): respond within 3 h;

and in every case, if remote handling fails, an engineer on site within 8 h of that decision. The
holiday rule comes first because a holiday is also outside working hours; the three rules together
cover every moment. The contract names no
resolution time and no call-back time for Zhanjiang, so its policy has neither.

The ``site`` values are the seeded site codes.
"""

from __future__ import annotations

from app.sla.calendar import DEFAULT_WORKING_HOURS
from app.sla.policy import (
    Anchor,
    CallbackRule,
    Counting,
    Policy,
    Rule,
    Severity,
    Target,
    TargetKind,
    TimeWindow,
    WarningThresholds,
)

GENERAL = "general"
MAJOR = "major"
DEFAULT_SEVERITIES = (Severity(GENERAL, "一般"), Severity(MAJOR, "重大"))


def _response(minutes: int | None) -> Target:
    return Target(TargetKind.RESPONSE, minutes, Counting.CLOCK, Anchor.REPORTED, pausable=False)


def _resolution(minutes: int) -> Target:
    return Target(TargetKind.RESOLUTION, minutes, Counting.CLOCK, Anchor.REPORTED, pausable=True)


def changzhou_policy() -> Policy:
    return Policy(
        site="changzhou",
        name="常州市财政局运维服务",
        working_hours=DEFAULT_WORKING_HOURS,
        severities=DEFAULT_SEVERITIES,
        rules=(
            Rule("重大故障", (_response(30), _resolution(120)), severities=frozenset({MAJOR})),
            Rule("一般故障", (_response(30), _resolution(60)), severities=frozenset({GENERAL})),
        ),
        callback=CallbackRule(30, Counting.CLOCK, TimeWindow.NON_WORKING_DAY),
        warnings=WarningThresholds(percent_left=(25,), minutes_left=(10,)),
    )


def zhanjiang_policy() -> Policy:
    on_site = Target(TargetKind.ON_SITE, 8 * 60, Counting.CLOCK, Anchor.ON_SITE_DECISION, pausable=False)
    return Policy(
        site="zhanjiang",
        name="湛江市财政局运维服务",
        working_hours=DEFAULT_WORKING_HOURS,
        severities=DEFAULT_SEVERITIES,
        rules=(
            Rule("法定节假日报修", (_response(None), on_site), window=TimeWindow.HOLIDAY),
            Rule("工作时间内报修", (_response(60), on_site), window=TimeWindow.WORKING_HOURS),
            Rule("其他时间报修", (_response(180), on_site), window=TimeWindow.OUTSIDE_WORKING_HOURS),
        ),
        callback=None,
        warnings=WarningThresholds(percent_left=(25,), minutes_left=(10,)),
    )


def default_policies() -> tuple[Policy, ...]:
    """The policies a new installation starts with, one per seeded site."""
    return (changzhou_policy(), zhanjiang_policy())
