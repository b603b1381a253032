"""The response cache's engines: canonical keys, the entry format, backends, single flight.

Knows nothing of the pipeline: ``llmrelay.middleware.cache`` adapts it to the call
contract. See docs/caching.md.
"""

from __future__ import annotations

from llmrelay.cache.backend import Backend, BackendStats, CacheBackendError, Scope
from llmrelay.cache.entry import FORMAT_VERSION, Entry, decode, encode, from_response
from llmrelay.cache.flight import Flights
from llmrelay.cache.key import Keys, cache_key, namespace
from llmrelay.cache.memory import MemoryBackend
from llmrelay.cache.policy import CACHE_MODES, CacheMode, CacheOptions, Plan, deterministic, plan
from llmrelay.cache.store import Store
from llmrelay.errors import ConfigError
from llmrelay.settings.cache import CacheSettings

__all__ = [
    "CACHE_MODES",
    "FORMAT_VERSION",
    "Backend",
    "BackendStats",
    "CacheBackendError",
    "CacheMode",
    "CacheOptions",
    "Entry",
    "Flights",
    "Keys",
    "MemoryBackend",
    "Plan",
    "Scope",
    "Store",
    "cache_key",
    "decode",
    "deterministic",
    "encode",
    "from_response",
    "namespace",
    "open_backend",
    "open_store",
    "plan",
]


def open_backend(settings: CacheSettings, state_redis_url: str | None = None) -> Backend:
    """The backend the settings name (Redis and SQLite are imported only when used)."""
    if settings.backend == "memory":
        return MemoryBackend(settings.max_bytes)
    if settings.backend == "sqlite":
        from llmrelay.cache.sqlite import SQLiteBackend, default_path

        return SQLiteBackend(settings.path.expanduser() if settings.path is not None else default_path())
    url = settings.redis_url or state_redis_url
    if url is None:
        raise ConfigError(
            "cache.backend is redis but no server is named: set cache.redis_url or state.redis_url "
            + "(e.g. redis://127.0.0.1:6379/0)"
        )
    from llmrelay.cache.redis import RedisBackend

    return RedisBackend(url, settings.prefix)


def open_store(settings: CacheSettings, state_redis_url: str | None = None) -> Store:
    return Store(
        open_backend(settings, state_redis_url),
        max_entry_bytes=settings.max_entry_bytes,
        cooldown=settings.backend_cooldown,
    )
