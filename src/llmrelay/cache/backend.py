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
class BackendStats:
    """How much a backend holds: ``entries`` and their encoded ``bytes``."""

    backend: str
    entries: int
    bytes: int


class Backend(Protocol):
    #: for messages and stats (``memory``, ``sqlite:///path``, ``redis://host:port/db``)
    description: str

    async def get(self, key: str) -> Entry | bytes | None:
        """The entry under ``key`` (decoded, where the backend keeps objects, else its
        bytes), or None when there is none or it has expired."""
        ...

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float) -> None:
        """Keep ``entry`` (encoded as ``raw``) under ``key`` for ``ttl`` seconds."""
        ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> int:
        """Remove every entry; returns how many there were (-1: unknown)."""
        ...

    async def prune(self) -> int:
        """Remove expired entries; returns how many."""
        ...

    async def stats(self) -> BackendStats: ...

    async def aclose(self) -> None: ...
