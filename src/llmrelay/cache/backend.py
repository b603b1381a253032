"""What a cache backend does, and the errors it may raise.

A backend keeps opaque entries (their encoded bytes, plus the decoded ``Entry`` where
it can keep objects) under a key for a time to live. It raises ``CacheBackendError``
when it cannot do its job (a server down, a file unreadable); the cache layer turns
that into a miss and a logged warning, never a failed call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from llmrelay.cache.entry import Entry
from llmrelay.errors import LLMRelayError


class CacheBackendError(LLMRelayError):
    """The cache backend is unavailable or failed (the call goes on as a miss)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose answer an entry is (the namespace: ``llmrelay.cache.key.namespace``) and for
    which alias, kept beside it so that one tenant's or one alias's entries can be cleared.
    As a filter (``clear``), a None field matches any value."""

    space: str | None = None
    alias: str | None = None

    def matches(self, space: str, alias: str) -> bool:
        return (self.space is None or self.space == space) and (self.alias is None or self.alias == alias)


#: no scope: every entry (a frozen value, shared as a default)
ANY_SCOPE = Scope()


@dataclass(frozen=True, slots=True)
class BackendStats:
    """How much a backend holds: ``entries`` and their encoded ``bytes``; of those,
    ``expired`` ones not yet removed; the ``oldest`` and ``newest`` answer (wall-clock
    seconds); ``hits`` and ``misses`` recorded by the processes that used it. None: this
    backend cannot tell."""

    backend: str
    entries: int
    bytes: int
    expired: int | None = None
    oldest: float | None = None
    newest: float | None = None
    hits: int | None = None
    misses: int | None = None
    #: semantic-cache vectors kept with the entries (Redis: in its streams)
    vectors: int | None = None


class Backend(Protocol):
    #: for messages and stats (``memory``, ``sqlite:///path``, ``redis://host:port/db``)
    description: str

    async def get(self, key: str) -> Entry | bytes | None:
        """The entry under ``key`` (decoded, where the backend keeps objects, else its
        bytes), or None when there is none or it has expired."""
        ...

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        """Keep ``entry`` (encoded as ``raw``) under ``key`` for ``ttl`` seconds."""
        ...

    async def delete(self, key: str) -> None: ...

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        """Remove every entry (of ``scope``); returns how many there were (-1: unknown).
        Raises ``CacheBackendError`` when the backend cannot select by scope."""
        ...

    async def prune(self, max_bytes: int | None = None) -> int:
        """Remove expired entries, then the oldest until the rest fit in ``max_bytes``;
        returns how many."""
        ...

    async def record(self, hits: int, misses: int) -> None:
        """Add to the hit and miss counts kept with the entries (where there is room)."""
        ...

    async def stats(self) -> BackendStats: ...

    async def aclose(self) -> None: ...
