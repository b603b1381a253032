"""Rate-limit counters in this process's memory (the default backend).

Each counter keeps the calls in flight (with a lease) and the finished calls still
inside their window, so the total in use is always known and a refusal can say when
enough will have freed. Methods never await, which makes each one atomic in asyncio.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence

from llmrelay.limits.leases import expire
from llmrelay.limits.ratelimit import Slot


class _Counter:
    __slots__ = ("done", "flying", "total")

    def __init__(self) -> None:
        self.flying: dict[str, tuple[int, float]] = {}  # permit id -> (amount, lease expiry)
        self.done: list[tuple[float, int]] = []  # heap of (expiry, amount)
        self.total = 0

    def purge(self, now: float) -> None:
        done = self.done
        while done and done[0][0] <= now:
            self.total -= heapq.heappop(done)[1]
        self.total -= expire(self.flying, now)

    def wait_for(self, need: int, hold: float, now: float) -> float:
        """Seconds until ``need`` more fits: finished calls free at their expiry, calls in
        flight no earlier than ``hold`` from now (they still have to finish)."""
        flying = sum(amount for amount, _ in self.flying.values())
        freed = 0
        in_flight_counted = False
        for expiry, amount in sorted(self.done):
            if not in_flight_counted and expiry >= now + hold:
                freed += flying
                in_flight_counted = True
                if freed >= need:
                    return hold
            freed += amount
            if freed >= need:
                return expiry - now
        return hold


class MemoryLimiterBackend:
    """Counters for one process; give the same instance to everything that shares limits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counters: dict[str, _Counter] = {}

    async def try_acquire(
        self, slots: Sequence[Slot], permit_id: str, lease: float
    ) -> tuple[int, float] | None:
        now = self._clock()
        counters = [self._counter(s.bucket) for s in slots]
        worst: tuple[int, float] | None = None
        for i, (slot, counter) in enumerate(zip(slots, counters, strict=True)):
            counter.purge(now)
            over = counter.total + slot.amount - slot.limit
            if over > 0:
                after = counter.wait_for(over, slot.hold, now)
                if worst is None or after > worst[1]:
                    worst = (i, after)
        if worst is not None:
            for slot, counter in zip(slots, counters, strict=True):
                if not counter.flying and not counter.done:
                    self._counters.pop(slot.bucket, None)
            return worst
        for slot, counter in zip(slots, counters, strict=True):
            counter.flying[permit_id] = (slot.amount, now + lease)
            counter.total += slot.amount
        return None

    async def settle(self, slots: Sequence[Slot], permit_id: str, amounts: Sequence[int]) -> None:
        now = self._clock()
        for slot, amount in zip(slots, amounts, strict=True):
            counter = self._counter(slot.bucket)
            held = counter.flying.pop(permit_id, None)
            if held is not None:
                counter.total -= held[0]
            if amount > 0 and slot.hold > 0:
                heapq.heappush(counter.done, (now + slot.hold, amount))
                counter.total += amount
            counter.purge(now)
            if not counter.flying and not counter.done:
                del self._counters[slot.bucket]

    def usage(self, bucket: str) -> int:
        """What a counter holds now (for tests and reports)."""
        counter = self._counters.get(bucket)
        if counter is None:
            return 0
        counter.purge(self._clock())
        return counter.total

    def _counter(self, bucket: str) -> _Counter:
        counter = self._counters.get(bucket)
        if counter is None:
            counter = self._counters[bucket] = _Counter()
        return counter
