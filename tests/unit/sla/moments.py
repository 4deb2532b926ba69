"""Moments for SLA tests: Shanghai wall time written as text, and the same instants in other zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def sh(text: str) -> dt.datetime:
    """ "2026-03-06 19:00" as an aware Asia/Shanghai datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def minutes(count: float) -> dt.timedelta:
    return dt.timedelta(minutes=count)


def hours(count: float) -> dt.timedelta:
    return dt.timedelta(hours=count)
