"""The in-memory limiter backend on a controlled clock: expiry, leases, wake-up estimates."""

from __future__ import annotations

from llmrelay.limits.ratelimit import Slot
from llmrelay.limits.ratelimit_memory import MemoryLimiterBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rpm(limit: int, window: float = 60.0) -> Slot:
    return Slot("k:rpm", limit, 1, window, "rpm")


async def test_entries_expire_one_window_after_settling() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    assert await be.try_acquire([rpm(1)], "a", lease=600) is None
    clock.now += 5
    await be.settle([rpm(1)], "a", [1])
    clock.now += 59.9
    denied = await be.try_acquire([rpm(1)], "b", lease=600)
    assert denied is not None and abs(denied[1] - 0.1) < 1e-6
    clock.now += 0.1
    assert await be.try_acquire([rpm(1)], "b", lease=600) is None


async def test_wait_estimate_counts_calls_in_flight_as_at_least_a_window_away() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    slot = Slot("k:tpm", 100, 40, 60.0, "tpm")
    assert await be.try_acquire([slot], "done", lease=600) is None
    await be.settle([slot], "done", [40])  # frees at +60
    clock.now += 30
    assert await be.try_acquire([slot], "flying", lease=600) is None  # in flight: frees >= +90
    ask = Slot("k:tpm", 100, 50, 60.0, "tpm")  # 80 used: needs 30 freed
    denied = await be.try_acquire([ask], "x", lease=600)
    assert denied is not None and abs(denied[1] - 30.0) < 1e-6  # the finished call is enough
    ask = Slot("k:tpm", 100, 70, 60.0, "tpm")  # needs 50: the one in flight must finish too
    denied = await be.try_acquire([ask], "x", lease=600)
    assert denied is not None and abs(denied[1] - 60.0) < 1e-6


async def test_concurrency_frees_on_settle_and_gives_no_wake_time() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    slot = Slot("k:concurrency", 1, 1, 0.0, "concurrency")
    assert await be.try_acquire([slot], "a", lease=600) is None
    assert await be.try_acquire([slot], "b", lease=600) == (0, 0.0)
    await be.settle([slot], "a", [0])
    assert be.usage("k:concurrency") == 0
    assert await be.try_acquire([slot], "b", lease=600) is None


async def test_a_lease_bounds_an_unsettled_call_and_a_late_settle_still_counts() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    assert await be.try_acquire([rpm(1)], "a", lease=10) is None
    clock.now += 10
    assert be.usage("k:rpm") == 0
    await be.settle([rpm(1)], "a", [1])  # it did finish after all: count it for a window
    assert be.usage("k:rpm") == 1


async def test_the_worst_refusal_is_reported_and_nothing_is_taken() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    a, b = Slot("a:rpm", 1, 1, 10.0, "rpm"), Slot("b:rpm", 1, 1, 20.0, "rpm")
    assert await be.try_acquire([a, b], "p", lease=600) is None
    await be.settle([a, b], "p", [1, 1])
    free = Slot("c:rpm", 5, 1, 10.0, "rpm")
    denied = await be.try_acquire([free, a, b], "q", lease=600)
    assert denied is not None and denied[0] == 2 and abs(denied[1] - 20.0) < 1e-6
    assert be.usage("c:rpm") == 0


async def test_idle_counters_are_forgotten() -> None:
    clock = Clock()
    be = MemoryLimiterBackend(clock)
    for i in range(50):
        slot = Slot(f"user{i}:concurrency", 1, 1, 0.0, "concurrency")
        assert await be.try_acquire([slot], "p", lease=600) is None
        await be.settle([slot], "p", [0])
    assert be._counters == {}
