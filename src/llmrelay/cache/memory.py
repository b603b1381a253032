"""The in-memory backend: least recently used, with a time to live and a byte bound.

One process only. Entries are kept decoded (a hit costs a dictionary look-up, not a
parse) with their encoded size, and the total of those sizes stays within
``max_bytes``: the least recently used entries go first. Expired entries are dropped
when met, and by ``prune``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import NamedTuple

from llmrelay.cache.backend import ANY_SCOPE, BackendStats, Scope
from llmrelay.cache.entry import Entry


class _Slot(NamedTuple):
    entry: Entry
    size: int
    expires: float  # time.monotonic()
    space: str
    alias: str


class MemoryBackend:
    description = "memory"

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0

    async def get(self, key: str) -> Entry | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if slot.expires <= time.monotonic():
            self._drop(key)
            return None
        self._slots.move_to_end(key)
        return slot.entry

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        size = len(raw) + len(key)
        if size > self.max_bytes:
            return
        if key in self._slots:
            self._drop(key)
        self._slots[key] = _Slot(entry, size, time.monotonic() + ttl, scope.space or "", scope.alias or "")
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._slots)))

    async def delete(self, key: str) -> None:
        if key in self._slots:
            self._drop(key)

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        old = [k for k, s in self._slots.items() if scope.matches(s.space, s.alias)]
        for k in old:
            self._drop(k)
        return len(old)

    async def prune(self, max_bytes: int | None = None) -> int:
        now = time.monotonic()
        old = [k for k, s in self._slots.items() if s.expires <= now]
        for k in old:
            self._drop(k)
        n = len(old)
        while max_bytes is not None and self._bytes > max_bytes and self._slots:
            self._drop(next(iter(self._slots)))
            n += 1
        return n

    async def record(self, hits: int, misses: int) -> None:
        self._hits += hits
        self._misses += misses

    async def stats(self) -> BackendStats:
        created = [s.entry.created for s in self._slots.values()]
        now = time.monotonic()
        return BackendStats(
            self.description,
            len(self._slots),
            self._bytes,
            expired=sum(1 for s in self._slots.values() if s.expires <= now),
            oldest=min(created, default=None),
            newest=max(created, default=None),
            hits=self._hits,
            misses=self._misses,
        )

    async def aclose(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key)
        self._bytes -= slot.size
