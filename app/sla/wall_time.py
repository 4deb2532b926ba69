"""Asia/Shanghai wall time, the only time the SLA core computes in.

Contracts speak of Beijing time; the desktop's own zone must not matter. Every public function of the
package takes aware datetimes in any zone and converts them with ``to_shanghai``; a naive datetime is
refused, because guessing its zone is exactly the bug this rule prevents. China has had no daylight
saving time since 1991, so arithmetic on these datetimes is plain wall-clock arithmetic.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the SLA core (a bug in the caller)."""


def to_shanghai(moment: dt.datetime) -> dt.datetime:
    """``moment`` as Asia/Shanghai wall time; raises ``NaiveDatetimeError`` for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            f"naive datetime {moment.isoformat()} given to the SLA core; pass an aware datetime "
            "(e.g. datetime.now(SHANGHAI) or a UTC time), its zone cannot be guessed"
        )
    return moment.astimezone(SHANGHAI)
