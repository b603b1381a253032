"""The Redis backend: answers shared by every replica that points at the same server.

Each entry is one string key (``prefix`` + the cache key) with a server-side expiry, so
Redis forgets expired answers by itself. Under the same prefix: ``counts`` (a hash of
the hit and miss counts processes record) and ``sem:…`` (the semantic cache's vector
streams, ``llmrelay.cache.vectorlog``), which ``clear`` removes too. Keys carry no
namespace or alias, so ``clear`` empties the prefix or nothing. The backend owns its connection, with short
connect and read timeouts: a cache that is down must cost a call little (the layer then
skips it for a cool-down). Any Redis error becomes ``CacheBackendError``.
"""

from __future__ import annotations

from typing import Any

from llmrelay.cache.backend import ANY_SCOPE, BackendStats, CacheBackendError, Scope
from llmrelay.cache.entry import Entry
from llmrelay.errors import ConfigError


class RedisBackend:
    def __init__(self, url: str, prefix: str = "llmrelay:cache:", *, timeout: float = 0.5) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigError(
                "cache.backend is redis but the redis client is not installed: pip install 'llmrelay[redis]'"
            ) from None
        self.prefix = prefix
        self._client: Any = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        pool = self._client.connection_pool.connection_kwargs
        self.description = f"redis://{pool.get('host', '?')}:{pool.get('port', '?')}/{pool.get('db', 0)}"

    async def get(self, key: str) -> bytes | None:
        try:
            raw = await self._client.get(self.prefix + key)
        except Exception as exc:
            raise self._error(exc) from None
        return None if raw is None else bytes(raw)

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        try:
            await self._client.set(self.prefix + key, raw, px=max(1, int(ttl * 1000)))
        except Exception as exc:
            raise self._error(exc) from None

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self.prefix + key)
        except Exception as exc:
            raise self._error(exc) from None

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        if scope != ANY_SCOPE:
            raise CacheBackendError(
                f"cache backend {self.description} keeps no namespace or alias with its entries: "
                + "clear the whole prefix instead (llmrelay cache clear --all)"
            )
        try:
            n = 0
            batch: list[Any] = []
            async for k in self._client.scan_iter(match=self._pattern(), count=500):
                batch.append(k)
                if len(batch) >= 500:
                    n += await self._client.delete(*batch)
                    batch = []
            if batch:
                n += await self._client.delete(*batch)
            return n
        except Exception as exc:
            raise self._error(exc) from None

    async def prune(self, max_bytes: int | None = None) -> int:
        return 0  # Redis expires keys by itself, and its maxmemory policy bounds the size

    async def record(self, hits: int, misses: int) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.hincrby(self.prefix + "counts", "hits", hits)
            pipe.hincrby(self.prefix + "counts", "misses", misses)
            await pipe.execute()
        except Exception as exc:
            raise self._error(exc) from None

    async def stats(self) -> BackendStats:
        counts_key = (self.prefix + "counts").encode()
        streams = (self.prefix + "sem:").encode()
        try:
            n = size = vectors = 0
            async for k in self._client.scan_iter(match=self._pattern(), count=500):
                if k == counts_key:
                    continue
                if k.startswith(streams):
                    vectors += int(await self._client.xlen(k))
                    continue
                n += 1
                size += int(await self._client.strlen(k))
            counts = await self._client.hgetall(counts_key)
            return BackendStats(
                self.description,
                n,
                size,
                expired=0,
                hits=int(counts.get(b"hits", 0)),
                misses=int(counts.get(b"misses", 0)),
                vectors=vectors,
            )
        except Exception as exc:
            raise self._error(exc) from None

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        except Exception as exc:
            raise self._error(exc) from None

    def _pattern(self) -> str:
        # the prefix is literal: escape glob characters in it
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in self.prefix)
        return escaped + "*"

    def _error(self, exc: Exception) -> CacheBackendError:
        return CacheBackendError(f"cache backend {self.description}: {type(exc).__name__}: {exc}")
