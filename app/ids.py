"""Identifiers and clocks every synced row carries: UUIDv7 ids and hybrid logical clock stamps.

UUIDv7 (RFC 9562) ids are made on the desktop, sort by creation time and never collide between
desktops that were offline. An HLC stamp is wall-clock milliseconds plus a counter plus the node id,
formatted so that comparing the strings compares the stamps (see ../shared/design/sync.md).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable

_uuid_lock = threading.Lock()
_last_uuid_ms = 0
_uuid_seq = 0


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 string; monotonic within this process even when several are made in one millisecond."""
    global _last_uuid_ms, _uuid_seq
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        if ms <= _last_uuid_ms:
            ms = _last_uuid_ms
            _uuid_seq += 1
            if _uuid_seq > 0xFFF:  # 12-bit counter exhausted: borrow the next millisecond
                ms += 1
                _uuid_seq = 0
        else:
            _uuid_seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # random start, room to count up
        _last_uuid_ms = ms
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= _uuid_seq << 64
        value |= 0b10 << 62
        value |= rand_b
        return str(uuid.UUID(int=value))


def uuid7_time_ms(value: str) -> int:
    return uuid.UUID(value).int >> 80


# An HLC stamp: 13-digit wall ms, 6-digit counter, node id. Fixed widths keep string order = stamp order.
HLC_WALL_DIGITS = 13
HLC_COUNTER_DIGITS = 6
MAX_COUNTER = 10**HLC_COUNTER_DIGITS - 1


def format_hlc(wall_ms: int, counter: int, node: str) -> str:
    return f"{wall_ms:0{HLC_WALL_DIGITS}d}-{counter:0{HLC_COUNTER_DIGITS}d}-{node}"


def parse_hlc(stamp: str) -> tuple[int, int, str]:
    wall, counter, node = stamp.split("-", 2)
    return int(wall), int(counter), node


class HybridLogicalClock:
    """Thread-safe HLC. ``now()`` stamps a local event; ``observe()`` folds in a stamp seen from elsewhere.

    ``max_drift_ms`` bounds how far a remote stamp may run ahead of our wall clock before it is clamped,
    so one desktop with a clock an hour fast cannot drag everyone's stamps into the future.
    """

    def __init__(
        self,
        node: str,
        wall_clock_ms: Callable[[], int] | None = None,
        max_drift_ms: int = 5 * 60 * 1000,
    ) -> None:
        self.node = node
        self._wall = wall_clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._max_drift_ms = max_drift_ms
        self._last_wall = 0
        self._counter = 0
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            wall = self._wall()
            if wall > self._last_wall:
                self._last_wall, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter > MAX_COUNTER:
                    self._last_wall, self._counter = self._last_wall + 1, 0
            return format_hlc(self._last_wall, self._counter, self.node)

    def observe(self, stamp: str) -> None:
        remote_wall, remote_counter, _node = parse_hlc(stamp)
        with self._lock:
            wall = self._wall()
            remote_wall = min(remote_wall, wall + self._max_drift_ms)
            if remote_wall > self._last_wall:
                self._last_wall, self._counter = remote_wall, remote_counter
            elif remote_wall == self._last_wall:
                self._counter = max(self._counter, remote_counter)
