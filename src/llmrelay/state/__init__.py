"""Shared state for counters, buckets, breakers and caches.

In memory by default (one process); in Redis when ``settings.state.redis_url`` is set,
so that any number of replicas behave as one. Each concern (circuit breakers, rate
limits, budgets…) has its own backend classes with atomic server-side scripts; this
module only owns the connection, created on first use and closed with the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from llmrelay.errors import ConfigError

if TYPE_CHECKING:
    from redis.asyncio import Redis

_T = TypeVar("_T")


class StateContext:
    """The shared-state connection of one Client; ``redis`` is None in memory mode."""

    def __init__(self, redis_url: str | None = None, prefix: str = "llmrelay:") -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._redis: Any = None
        self._shared: dict[str, Any] = {}

    @property
    def distributed(self) -> bool:
        return self.redis_url is not None

    def redis(self) -> Redis:
        """The shared redis.asyncio client (requires the ``redis`` extra)."""
        if self.redis_url is None:
            raise ConfigError("no shared state configured: set state.redis_url (LLMRELAY_STATE__REDIS_URL)")
        if self._redis is None:
            try:
                from redis.asyncio import Redis
            except ImportError:
                raise ConfigError(
                    "state.redis_url is set but the redis client is not installed: "
                    + "pip install 'llmrelay[redis]'"
                ) from None
            self._redis = Redis.from_url(self.redis_url)
        client: Redis = self._redis
        return client

    def shared(self, name: str, factory: Callable[[], _T]) -> _T:
        """One object per name and client, made by ``factory`` on first use: how the
        middleware of one client share in-process state (a router, a breaker store)."""
        if name not in self._shared:
            self._shared[name] = factory()
        value: _T = self._shared[name]
        return value

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
