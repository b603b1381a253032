"""How processes share semantic-cache vectors: one Redis stream per partition, or a table
beside the SQLite backend's entries.

A replica that stores an answer appends its question's vector (with the entry's key and
deadline) to the partition's stream, ``prefix + "sem:" + partition``; the others read the
stream from where they last stopped before searching that partition, so a paraphrase asked
on any replica finds an answer made on another. The answers themselves are the exact
cache's entries in the same Redis. A stream is capped (approximately) at ``max_entries``
records and expires when no answer has been added to it for the longest time an entry is
kept, so abandoned partitions leave nothing behind. Any Redis error becomes
``CacheBackendError``; the semantic index then simply sees no new vectors.

With the SQLite backend the vectors are rows of ``llmrelay_cache_vectors`` in the same
file, so that the next run (``llmrelay chat`` is one process per question) finds the
questions earlier runs stored; the backend's ``prune`` and ``clear`` remove them too.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from llmrelay.cache.backend import CacheBackendError
from llmrelay.cache.sqlite_thread import SQLiteThread
from llmrelay.errors import ConfigError

if TYPE_CHECKING:
    from llmrelay.cache.minilm import Floats

T = TypeVar("T")

VECTORS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS llmrelay_cache_vectors (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "partition TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, expires REAL NOT NULL)"
)
VECTORS_INDEX = (
    "CREATE INDEX IF NOT EXISTS llmrelay_cache_vectors_partition ON llmrelay_cache_vectors (partition, id)"
)


@dataclass(frozen=True, slots=True)
class VectorRecord:
    key: str
    vector: Floats
    expires: float


class VectorLog(Protocol):
    #: most records one ``read`` returns
    batch: int

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


def _vectors_setup(conn: sqlite3.Connection) -> None:
    conn.execute(VECTORS_SCHEMA)
    conn.execute(VECTORS_INDEX)


class SQLiteVectorLog:
    """The vectors in the SQLite backend's file (its own connection, on a worker thread)."""

    def __init__(self, path: Path, *, batch: int = 5000, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.batch = batch
        self._db = SQLiteThread(
            path, name="llmrelay-vectors", setup=_vectors_setup, busy_timeout=busy_timeout
        )
        self._run = self._db.run
        self._connection = self._db.connection

    async def append(self, partition: str, key: str, vector: Floats, expires: float, ttl: float) -> None:
        raw = vector.astype("<f4").tobytes()
        await self._run(
            lambda: self._connection().execute(
                "INSERT INTO llmrelay_cache_vectors (partition, key, vector, expires) VALUES (?, ?, ?, ?)",
                (partition, key, raw, expires),
            )
        )

    async def read(self, partition: str, after: str) -> tuple[list[VectorRecord], str]:
        import numpy as np

        rows = await self._run(
            lambda: (
                self._connection()
                .execute(
                    "SELECT id, key, vector, expires FROM llmrelay_cache_vectors "
                    + "WHERE partition = ? AND id > ? AND expires > ? ORDER BY id LIMIT ?",
                    (partition, int(after), time.time(), self.batch),
                )
                .fetchall()
            )
        )
        out = [VectorRecord(k, np.frombuffer(v, dtype="<f4"), float(e)) for _, k, v, e in rows]
        return out, str(rows[-1][0]) if rows else after

    async def aclose(self) -> None:
        await self._db.aclose()
