"""The cache as the layer sees it: a backend behind a guard that never fails a call.

``lookup`` and ``save`` turn every backend failure into a miss (or a skipped write) and
a logged warning, then skip the backend for ``cooldown`` seconds so that a server that
is down costs the calls after it nothing. An entry larger than ``max_entry_bytes``, of
another format version, or corrupt is a miss; an oversized answer is not stored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from llmrelay.cache.backend import ANY_SCOPE, Backend, BackendStats, Scope
from llmrelay.cache.entry import Entry, decode, encode

log = logging.getLogger("llmrelay.cache")

#: seconds between two additions of a long-running process's hit counts to the backend's
RECORD_EVERY = 60.0


@dataclass(slots=True)
class Counters:
    """What this process's store has seen (``llmrelay cache stats`` shows them)."""

    lookups: int = 0
    found: int = 0
    rejected: int = 0  # corrupt, old-format or oversized entries
    stored: int = 0
    too_large: int = 0
    failures: int = 0


class Store:
    def __init__(self, backend: Backend, *, max_entry_bytes: int = 2**20, cooldown: float = 1.0) -> None:
        self.backend = backend
        self.max_entry_bytes = max_entry_bytes
        self.cooldown = cooldown
        self.counters = Counters()
        self._down_until = 0.0
        self._recorded = (0, 0)  # hits and misses already added to the backend's counts
        self._recorded_at = time.monotonic()

    @property
    def available(self) -> bool:
        return self._down_until <= time.monotonic()

    async def lookup(self, key: str) -> Entry | None:
        """The entry under ``key`` if the backend has a sound one, else None."""
        if not self.available:
            return None
        c = self.counters
        c.lookups += 1
        try:
            got = await self.backend.get(key)
        except Exception as exc:  # any backend fault is a miss: the call must go on
            self._failed("read", exc)
            return None
        if got is None:
            return None
        if isinstance(got, Entry):
            c.found += 1
            return got
        if len(got) > self.max_entry_bytes:
            c.rejected += 1
            log.warning("cache: ignoring an entry of %d bytes (over max_entry_bytes)", len(got))
            return None
        entry = decode(got)
        if entry is None:
            c.rejected += 1
            log.warning("cache: ignoring an entry that is corrupt or of another format version")
            return None
        c.found += 1
        return entry

    async def save(self, key: str, entry: Entry, ttl: float, scope: Scope = ANY_SCOPE) -> bool:
        """Keep ``entry`` for ``ttl`` seconds; False when it was not stored."""
        if not self.available:
            return False
        try:
            raw = encode(entry)
        except (TypeError, ValueError):
            log.debug("cache: an answer with provider data JSON cannot carry is not stored")
            return False
        if len(raw) > self.max_entry_bytes:
            self.counters.too_large += 1
            return False
        try:
            await self.backend.set(key, entry, raw, ttl, scope)
        except Exception as exc:  # a write that fails only loses a future hit
            self._failed("write", exc)
            return False
        self.counters.stored += 1
        if time.monotonic() - self._recorded_at > RECORD_EVERY:
            await self.record()
        return True

    async def record(self) -> None:
        """Add this process's hits and misses since the last time to the backend's counts
        (on close, and at most every ``RECORD_EVERY`` seconds as answers are stored)."""
        c = self.counters
        hits, misses = c.found, c.lookups - c.found
        delta = (hits - self._recorded[0], misses - self._recorded[1])
        self._recorded_at = time.monotonic()
        if delta == (0, 0) or not self.available:
            return
        try:
            await self.backend.record(*delta)
        except Exception as exc:
            self._failed("record", exc)
            return
        self._recorded = (hits, misses)

    async def stats(self) -> BackendStats:
        return await self.backend.stats()

    async def aclose(self) -> None:
        await self.record()
        try:
            await self.backend.aclose()
        except Exception as exc:
            log.warning("cache: closing %s failed: %s", self.backend.description, type(exc).__name__)

    def _failed(self, what: str, exc: Exception) -> None:
        self.counters.failures += 1
        self._down_until = time.monotonic() + self.cooldown
        log.warning(
            "cache: %s failed on %s (%s); calls are misses for %.1fs",
            what,
            self.backend.description,
            exc,
            self.cooldown,
            extra={"event": "cache_backend_down", "backend": self.backend.description},
        )
