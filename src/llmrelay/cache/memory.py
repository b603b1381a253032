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

from llmrelay.cache.backend import BackendStats
from llmrelay.cache.entry import Entry


class _Slot(NamedTuple):
    entry: Entry
    size: int
    expires: float  # time.monotonic()


class MemoryBackend:
    description = "memory"

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> Entry | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if slot.expires <= time.monotonic():
            self._drop(key)
            return None
        self._slots.move_to_end(key)
        return slot.entry

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float) -> None:
        size = len(raw) + len(key)
        if size > self.max_bytes:
            return
        if key in self._slots:
            self._drop(key)
        self._slots[key] = _Slot(entry, size, time.monotonic() + ttl)
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._slots)))

    async def delete(self, key: str) -> None:
        if key in self._slots:
            self._drop(key)

    async def clear(self) -> int:
        n = len(self._slots)
        self._slots.clear()
        self._bytes = 0
        return n

    async def prune(self) -> int:
        now = time.monotonic()
        old = [k for k, s in self._slots.items() if s.expires <= now]
        for k in old:
            self._drop(k)
        return len(old)

    async def stats(self) -> BackendStats:
        return BackendStats(self.description, len(self._slots), self._bytes)

    async def aclose(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key)
        self._bytes -= slot.size
