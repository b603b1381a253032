"""How replicas share semantic-cache vectors: one Redis stream per partition.

A replica that stores an answer appends its question's vector (with the entry's key and
deadline) to the partition's stream, ``prefix + "sem:" + partition``; the others read the
stream from where they last stopped before searching that partition, so a paraphrase asked
on any replica finds an answer made on another. The answers themselves are the exact
cache's entries in the same Redis. A stream is capped (approximately) at ``max_entries``
records and expires when no answer has been added to it for the longest time an entry is
kept, so abandoned partitions leave nothing behind. Any Redis error becomes
``CacheBackendError``; the semantic index then simply sees no new vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from llmrelay.cache.backend import CacheBackendError
from llmrelay.errors import ConfigError

if TYPE_CHECKING:
    from llmrelay.cache.minilm import Floats


@dataclass(frozen=True, slots=True)
class VectorRecord:
    key: str
    vector: Floats
    expires: float


class VectorLog(Protocol):
    async def append(self, partition: str, key: str, vector: Floats, expires: float, ttl: float) -> None: ...

    async def read(self, partition: str, after: str) -> tuple[list[VectorRecord], str]:
        """Records added after the id ``after`` ("0": all), and the id to read from next."""
        ...

    async def aclose(self) -> None: ...


class RedisVectorLog:
    def __init__(
        self, url: str, prefix: str, *, max_entries: int, batch: int = 1000, timeout: float = 0.5
    ) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigError(
                "cache.backend is redis but the redis client is not installed: pip install 'llmrelay[redis]'"
            ) from None
        self.prefix = prefix + "sem:"
        self.max_entries = max_entries
        self.batch = batch
        self._client: Any = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)

    async def append(self, partition: str, key: str, vector: Floats, expires: float, ttl: float) -> None:
        name = self.prefix + partition
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.xadd(
                name,
                {"k": key, "v": vector.astype("<f4").tobytes(), "e": repr(expires)},
                maxlen=self.max_entries,
                approximate=True,
            )
            pipe.pexpire(name, max(1, int(ttl * 1000)), gt=True)
            pipe.pexpire(name, max(1, int(ttl * 1000)), nx=True)
            await pipe.execute()
        except Exception as exc:
            raise CacheBackendError(f"semantic cache stream {name}: {type(exc).__name__}: {exc}") from None

    async def read(self, partition: str, after: str) -> tuple[list[VectorRecord], str]:
        import numpy as np

        name = self.prefix + partition
        try:
            rows = await self._client.xrange(name, min="(" + after if after != "0" else "-", count=self.batch)
        except Exception as exc:
            raise CacheBackendError(f"semantic cache stream {name}: {type(exc).__name__}: {exc}") from None
        out: list[VectorRecord] = []
        last = after
        for rid, fields in rows:
            last = rid.decode() if isinstance(rid, bytes) else str(rid)
            try:
                vec = np.frombuffer(fields[b"v"], dtype="<f4")
                out.append(VectorRecord(fields[b"k"].decode(), vec, float(fields[b"e"])))
            except (KeyError, ValueError, UnicodeDecodeError):
                continue  # a record this version cannot read is skipped, never fatal
        return out, last

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        except Exception as exc:
            raise CacheBackendError(f"semantic cache stream: {type(exc).__name__}: {exc}") from None
