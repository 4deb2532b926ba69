"""UUIDv7 ids and hybrid logical clock stamps (app.ids)."""

from __future__ import annotations

import threading
import uuid

import pytest

from app import ids
from app.ids import (
    HybridLogicalClock,
    format_hlc,
    parse_hlc,
    uuid7,
    uuid7_time_ms,
)

HOUR_MS = 3600 * 1000


@pytest.fixture(autouse=True)
def _restore_uuid_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests below hand uuid7 future times; the process-wide monotonic state must not keep them."""
    monkeypatch.setattr(ids, "_last_uuid_ms", ids._last_uuid_ms)
    monkeypatch.setattr(ids, "_uuid_seq", ids._uuid_seq)


# --- uuid7 ----------------------------------------------------------------------------------------


def test_uuid7_is_version_7_with_rfc_variant() -> None:
    value = uuid.UUID(uuid7())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_given_time() -> None:
    far_future_ms = 4_102_444_800_000  # 2100-01-01: later than anything made so far in this process
    assert uuid7_time_ms(uuid7(far_future_ms)) == far_future_ms


def test_uuid7_sorts_by_creation_time() -> None:
    made = [uuid7() for _ in range(5000)]
    assert sorted(made) == made
    times = [uuid7_time_ms(v) for v in made]
    assert times == sorted(times)


def test_uuid7_strings_sort_like_their_times_across_milliseconds() -> None:
    base = 5_000_000_000_000  # later than any earlier call in this process, so the clock is ours
    made = [uuid7(base + step) for step in range(0, 50, 7)]
    assert made == sorted(made)
    assert [uuid7_time_ms(v) for v in made] == list(range(base, base + 50, 7))


def test_uuid7_unique_over_100k() -> None:
    made = [uuid7() for _ in range(100_000)]
    assert len(set(made)) == len(made)
    assert sorted(made) == made  # still monotonic while thousands share a millisecond


def test_uuid7_unique_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(4)]

    def work(bucket: list[str]) -> None:
        bucket.extend(uuid7() for _ in range(10_000))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [v for bucket in results for v in bucket]
    assert len(set(everything)) == 40_000
    for bucket in results:
        assert sorted(bucket) == bucket


def test_uuid7_stays_monotonic_when_the_clock_goes_back() -> None:
    later = uuid7(6_000_000_000_000)
    earlier_clock = uuid7(6_000_000_000_000 - 10_000)
    assert earlier_clock > later


# --- HLC ------------------------------------------------------------------------------------------


class FakeWall:
    """A wall clock the test moves by hand (it may also go backwards, like a real one)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_hlc_round_trips_through_text() -> None:
    stamp = format_hlc(1_767_225_600_000, 42, "a1b2c3d4e5f6")
    assert parse_hlc(stamp) == (1_767_225_600_000, 42, "a1b2c3d4e5f6")


def test_hlc_now_is_strictly_increasing_even_with_a_frozen_or_backward_clock() -> None:
    wall = FakeWall(1_767_225_600_000)
    clock = HybridLogicalClock("node1", wall)
    stamps = [clock.now() for _ in range(5)]
    wall.ms -= 60_000  # the desktop's clock is set back a minute
    stamps += [clock.now() for _ in range(5)]
    wall.ms += 120_000
    stamps += [clock.now() for _ in range(5)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert [parse_hlc(s) for s in stamps] == sorted(parse_hlc(s) for s in stamps)


def test_hlc_counter_overflow_moves_to_the_next_millisecond() -> None:
    wall = FakeWall(1_767_225_600_000)
    clock = HybridLogicalClock("n", wall)
    clock.observe(format_hlc(wall.ms, 999_999, "other"))
    stamp = clock.now()
    assert parse_hlc(stamp)[:2] == (wall.ms + 1, 0)
    assert stamp > format_hlc(wall.ms, 999_999, "other")


def test_hlc_is_after_an_observed_remote_stamp() -> None:
    wall = FakeWall(1_767_225_600_000)
    clock = HybridLogicalClock("local", wall)
    remote = format_hlc(wall.ms + 30_000, 7, "remote")  # 30 s ahead: within the allowed drift
    clock.observe(remote)
    assert clock.now() > remote


def test_hlc_clamps_a_remote_stamp_an_hour_ahead() -> None:
    wall = FakeWall(1_767_225_600_000)
    max_drift = 5 * 60 * 1000
    clock = HybridLogicalClock("local", wall, max_drift_ms=max_drift)
    clock.observe(format_hlc(wall.ms + HOUR_MS, 3, "fast-desktop"))
    wall_ms, _counter, node = parse_hlc(clock.now())
    assert node == "local"
    assert wall_ms <= wall.ms + max_drift  # not dragged an hour into the future
    assert wall_ms >= wall.ms


def test_hlc_observe_of_an_old_stamp_changes_nothing() -> None:
    wall = FakeWall(1_767_225_600_000)
    clock = HybridLogicalClock("local", wall)
    first = clock.now()
    clock.observe(format_hlc(wall.ms - HOUR_MS, 500, "slow-desktop"))
    second = clock.now()
    assert parse_hlc(second)[:2] == (wall.ms, 1)
    assert second > first


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((1_000, 0, "n"), (1_001, 0, "n")),
        ((999, 5, "n"), (1_000, 0, "n")),  # fewer digits in the wall part: padding keeps order
        ((1_000, 9, "n"), (1_000, 10, "n")),
        ((1_000, 99_999, "z"), (1_000, 100_000, "a")),
        ((1_767_225_600_000, 1, "a"), (1_767_225_600_000, 1, "b")),
    ],
)
def test_hlc_string_order_is_stamp_order(a: tuple[int, int, str], b: tuple[int, int, str]) -> None:
    assert a < b
    assert format_hlc(*a) < format_hlc(*b)


def test_hlc_string_order_matches_tuple_order_for_many_stamps() -> None:
    stamps = [(w, c, n) for w in (5, 50, 1_767_225_600_000) for c in (0, 9, 10, 999_999) for n in ("a", "b")]
    by_text = sorted(stamps, key=lambda s: format_hlc(*s))
    assert by_text == sorted(stamps)


def test_hlc_is_thread_safe() -> None:
    clock = HybridLogicalClock("node")
    buckets: list[list[str]] = [[] for _ in range(4)]

    def work(bucket: list[str]) -> None:
        bucket.extend(clock.now() for _ in range(5000))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in buckets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [s for bucket in buckets for s in bucket]
    assert len(set(everything)) == len(everything)
