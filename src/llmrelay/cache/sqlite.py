"""The SQLite backend: answers kept in one file, so that separate runs reuse them.

SQLite calls block, so each runs on one worker thread owned by the backend (its
connection is used only there); the event loop only awaits the result. WAL mode lets
several processes read while one writes. Expired rows are skipped on read and removed
by ``prune``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from llmrelay.cache.backend import BackendStats, CacheBackendError
from llmrelay.cache.entry import Entry

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS llmrelay_cache ("
    "key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL, size INTEGER NOT NULL)"
)


def default_path() -> Path:
    """``cache.sqlite3`` in the user data directory (``$XDG_DATA_HOME/llmrelay`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("llmrelay", appauthor=False) / "cache.sqlite3"


class SQLiteBackend:
    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.description = f"sqlite:///{path}"
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the executor's thread

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-cache")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise CacheBackendError(f"cache database {self.path}: {type(exc).__name__}: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    async def get(self, key: str) -> bytes | None:
        return await self._run(self._get, key)

    def _get(self, key: str) -> bytes | None:
        row = (
            self._connection()
            .execute("SELECT value FROM llmrelay_cache WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float) -> None:
        await self._run(self._set, key, raw, ttl)

    def _set(self, key: str, raw: bytes, ttl: float) -> None:
        self._connection().execute(
            "INSERT OR REPLACE INTO llmrelay_cache (key, value, expires, size) VALUES (?, ?, ?, ?)",
            (key, raw, time.time() + ttl, len(raw)),
        )

    async def delete(self, key: str) -> None:
        await self._run(
            lambda: self._connection().execute("DELETE FROM llmrelay_cache WHERE key = ?", (key,))
        )

    async def clear(self) -> int:
        return await self._run(lambda: self._connection().execute("DELETE FROM llmrelay_cache").rowcount)

    async def prune(self) -> int:
        def prune() -> int:
            cur = self._connection().execute("DELETE FROM llmrelay_cache WHERE expires <= ?", (time.time(),))
            return cur.rowcount

        return await self._run(prune)

    async def stats(self) -> BackendStats:
        def stats() -> BackendStats:
            n, size = (
                self._connection()
                .execute("SELECT count(*), coalesce(sum(size), 0) FROM llmrelay_cache")
                .fetchone()
            )
            return BackendStats(self.description, int(n), int(size))

        return await self._run(stats)

    async def aclose(self) -> None:
        if self._executor is None:
            return
        conn = self._conn

        def close() -> None:
            if conn is not None:
                conn.close()

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None
