"""The Redis backend: answers shared by every replica that points at the same server.

Each entry is one hash (``prefix`` + the cache key) with a server-side expiry, so Redis
forgets expired answers by itself: ``e`` holds the encoded entry, ``s`` and ``a`` the
namespace and alias it was stored for, so that ``clear`` can remove one tenant's or one
alias's answers (a SCAN over the prefix reading those two fields, then UNLINK in
batches). Under the same prefix: ``counts`` (a hash of the hit and miss counts processes
record) and ``sem:…`` (the semantic cache's vector streams, ``llmrelay.cache.vectorlog``),
which a full ``clear`` removes too; a scoped one leaves the vectors (a partition's stream
is not one tenant's or alias's to cut), and a vector whose answer is gone is a miss that
the semantic index then forgets. The backend owns its connection, with short connect and
read timeouts: a cache that is down must cost a call little (the layer then skips it for
a cool-down). Any Redis error becomes ``CacheBackendError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmrelay.cache.backend import ANY_SCOPE, BackendStats, CacheBackendError, Scope
from llmrelay.cache.entry import Entry
from llmrelay.errors import ConfigError

#: keys read (or removed) per round trip when scanning the prefix
BATCH = 500


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
            raw = await self._client.hget(self.prefix + key, "e")
        except Exception as exc:
            raise self._error(exc) from None
        return None if raw is None else bytes(raw)

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        try:
            # one transaction: an entry never exists without its expiry
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(self.prefix + key, mapping={"e": raw, "s": scope.space or "", "a": scope.alias or ""})
            pipe.pexpire(self.prefix + key, max(1, int(ttl * 1000)))
            await pipe.execute()
        except Exception as exc:
            raise self._error(exc) from None

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self.prefix + key)
        except Exception as exc:
            raise self._error(exc) from None

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        """Remove every key under the prefix, or (with a scope) the entries stored for it."""
        try:
            n = 0
            async for batch in self._batches():
                if scope != ANY_SCOPE:
                    batch = await self._in_scope(batch, scope)
                if batch:
                    n += int(await self._client.unlink(*batch))
            return n
        except Exception as exc:
            raise self._error(exc) from None

    async def _batches(self) -> AsyncIterator[list[bytes]]:
        """The keys under the prefix, ``BATCH`` at a time (SCAN may repeat a key: UNLINK
        of a key already gone counts nothing)."""
        batch: list[bytes] = []
        async for k in self._client.scan_iter(match=self._pattern(), count=BATCH):
            batch.append(k)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def _in_scope(self, keys: list[bytes], scope: Scope) -> list[bytes]:
        """The entries among ``keys`` stored for ``scope`` (the counts, the vector streams
        and entries written before entries kept their scope are not anyone's)."""
        entries = [k for k in keys if not self._special(k)]
        if not entries:
            return []
        pipe = self._client.pipeline(transaction=False)
        for k in entries:
            pipe.hmget(k, "s", "a")
        fields = await pipe.execute(raise_on_error=False)
        out = []
        for k, got in zip(entries, fields, strict=True):
            if isinstance(got, Exception) or got[0] is None:
                continue  # not an entry hash, or expired between SCAN and HMGET
            if scope.matches(got[0].decode(), (got[1] or b"").decode()):
                out.append(k)
        return out

    def _special(self, key: bytes) -> bool:
        return key == (self.prefix + "counts").encode() or key.startswith((self.prefix + "sem:").encode())

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
            async for batch in self._batches():
                pipe = self._client.pipeline(transaction=False)
                for k in batch:
                    if k.startswith(streams):
                        pipe.xlen(k)
                    elif k != counts_key:
                        pipe.hstrlen(k, "e")
                kinds = [k for k in batch if k != counts_key]
                # an entry written before entries were hashes fails HSTRLEN: not counted
                for k, got in zip(kinds, await pipe.execute(raise_on_error=False), strict=True):
                    if isinstance(got, Exception):
                        continue
                    if k.startswith(streams):
                        vectors += int(got)
                    elif got:
                        n += 1
                        size += int(got)
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
