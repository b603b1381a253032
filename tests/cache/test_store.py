"""The store never fails a call: a backend fault is a miss and a warning, then a cool-down."""

from __future__ import annotations

import asyncio
import logging

import pytest

from llmrelay.cache import BackendStats, CacheBackendError, Entry, MemoryBackend, Scope, Store, encode
from llmrelay.cache.backend import ANY_SCOPE
from llmrelay.cache.flight import Flights

E = Entry("r", "m", "p", None, "hello", (), "stop", None, None, None, None, None, created=1.0)


class Broken:
    description = "broken://"

    def __init__(self) -> None:
        self.calls = 0

    async def get(self, key: str) -> bytes | None:
        self.calls += 1
        raise CacheBackendError("down")

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        self.calls += 1
        raise ConnectionRefusedError("refused")

    async def delete(self, key: str) -> None: ...

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        return 0

    async def prune(self, max_bytes: int | None = None) -> int:
        return 0

    async def record(self, hits: int, misses: int) -> None:
        self.calls += 1
        raise ConnectionRefusedError("refused")

    async def stats(self) -> BackendStats:
        return BackendStats(self.description, 0, 0)

    async def aclose(self) -> None:
        raise OSError("already gone")


class Raw(MemoryBackend):
    """A backend that hands back bytes, like SQLite and Redis."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw

    async def get(self, key: str) -> bytes | None:  # type: ignore[override]
        return self.raw


async def test_a_failing_backend_is_a_miss_with_a_warning_then_a_cool_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Broken()
    store = Store(backend, cooldown=60)
    with caplog.at_level(logging.WARNING, logger="llmrelay.cache"):
        assert await store.lookup("k") is None
    assert "read failed on broken://" in caplog.text
    # skipped while it cools down: no more time spent on a dead server
    assert await store.lookup("k") is None and not await store.save("k", E, 1)
    assert backend.calls == 1 and not store.available
    await store.aclose()  # a failing close is logged, not raised


async def test_a_failing_write_is_not_stored_and_not_raised() -> None:
    store = Store(Broken(), cooldown=0)
    assert not await store.save("k", E, 60)
    assert store.counters.failures == 1 and store.available


async def test_oversized_entries_are_neither_stored_nor_served() -> None:
    raw = encode(E)
    store = Store(MemoryBackend(), max_entry_bytes=len(raw) - 1)
    assert not await store.save("k", E, 60) and store.counters.too_large == 1
    reading = Store(Raw(raw), max_entry_bytes=len(raw) - 1)
    assert await reading.lookup("k") is None and reading.counters.rejected == 1
    assert await Store(Raw(raw)).lookup("k") == E


async def test_single_flight_hands_the_leaders_entry_to_waiters() -> None:
    flights = Flights()
    assert flights.join("k") is None  # leads
    waiters = [flights.join("k") for _ in range(3)]
    assert all(w is waiters[0] for w in waiters) and waiters[0] is not None
    fut = waiters[0]
    got = asyncio.gather(*(Flights.wait(fut, 5) for _ in range(3)))
    await asyncio.sleep(0)
    flights.land("k", E)
    assert await got == [E, E, E] and len(flights) == 0
    assert flights.join("k") is None  # a new flight


async def test_a_waiter_gives_up_after_its_bound() -> None:
    flights = Flights()
    flights.join("k")
    fut = flights.join("k")
    assert fut is not None
    assert await Flights.wait(fut, 0.01) is None
    flights.land("k", E)  # the leader finishing later harms nobody
    assert fut.result() == E


async def test_hit_and_miss_counts_reach_the_backend_once() -> None:
    backend = MemoryBackend()
    store = Store(backend)
    await store.save("k", E, 60)
    await store.lookup("k")
    await store.lookup("k")
    await store.lookup("missing")
    await store.record()
    await store.record()  # nothing new: nothing added
    await store.lookup("missing")
    await store.aclose()  # closing adds what is left
    stats = await backend.stats()
    assert (stats.hits, stats.misses) == (2, 2)
