"""The SQLite backend: answers kept in one file, so that separate runs reuse them.

SQLite calls block, so each runs on one worker thread owned by the backend (its
connection is used only there); the event loop only awaits the result. WAL mode lets
several processes read while one writes. Expired rows are skipped on read and removed
by ``prune``. Each row keeps its namespace and alias (so ``llmrelay cache clear`` can
remove one tenant's or one alias's answers) and its creation time; hit and miss counts
that processes ``record`` are kept in a table beside it. A file made by an earlier
version gains the new columns when opened.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TypeVar

from llmrelay.cache.backend import ANY_SCOPE, BackendStats, Scope
from llmrelay.cache.entry import Entry
from llmrelay.cache.sqlite_thread import SQLiteThread
from llmrelay.cache.vectorlog import VECTORS_INDEX, VECTORS_SCHEMA

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS llmrelay_cache ("
    "key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL, size INTEGER NOT NULL)"
)
#: columns added after the first version (name, declaration)
_ADDED = (
    ("created", "REAL NOT NULL DEFAULT 0"),
    ("space", "TEXT NOT NULL DEFAULT ''"),
    ("alias", "TEXT NOT NULL DEFAULT ''"),
)
_COUNTS = "CREATE TABLE IF NOT EXISTS llmrelay_cache_counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_SCHEMA)
    have = {row[1] for row in conn.execute("PRAGMA table_info(llmrelay_cache)")}
    for name, decl in _ADDED:
        if name not in have:
            conn.execute(f"ALTER TABLE llmrelay_cache ADD COLUMN {name} {decl}")
    conn.execute(_COUNTS)
    conn.execute(VECTORS_SCHEMA)
    conn.execute(VECTORS_INDEX)


def default_path() -> Path:
    """``cache.sqlite3`` in the user cache directory (``$XDG_CACHE_HOME/llmrelay``, by
    default ``~/.cache/llmrelay``, on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("llmrelay", appauthor=False) / "cache.sqlite3"


class SQLiteBackend:
    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.description = f"sqlite:///{path}"
        self._db = SQLiteThread(path, name="llmrelay-cache", setup=_setup, busy_timeout=busy_timeout)
        self._run = self._db.run
        self._connection = self._db.connection

    async def get(self, key: str) -> bytes | None:
        return await self._run(self._get, key)

    def _get(self, key: str) -> bytes | None:
        row = (
            self._connection()
            .execute("SELECT value FROM llmrelay_cache WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    async def set(self, key: str, entry: Entry, raw: bytes, ttl: float, scope: Scope = ANY_SCOPE) -> None:
        await self._run(self._set, key, raw, ttl, entry.created, scope)

    def _set(self, key: str, raw: bytes, ttl: float, created: float, scope: Scope) -> None:
        self._connection().execute(
            "INSERT OR REPLACE INTO llmrelay_cache (key, value, expires, size, created, space, alias) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, raw, time.time() + ttl, len(raw), created, scope.space or "", scope.alias or ""),
        )

    async def delete(self, key: str) -> None:
        await self._run(
            lambda: self._connection().execute("DELETE FROM llmrelay_cache WHERE key = ?", (key,))
        )

    async def clear(self, scope: Scope = ANY_SCOPE) -> int:
        where, args = [], []
        if scope.space is not None:
            where.append("space = ?")
            args.append(scope.space)
        if scope.alias is not None:
            where.append("alias = ?")
            args.append(scope.alias)
        sql = "DELETE FROM llmrelay_cache" + (" WHERE " + " AND ".join(where) if where else "")

        def clear() -> int:
            conn = self._connection()
            n = int(conn.execute(sql, args).rowcount)
            if not where:  # a scoped clear leaves vectors, forgotten when their answer is missing
                conn.execute("DELETE FROM llmrelay_cache_vectors")
            return n

        return await self._run(clear)

    async def prune(self, max_bytes: int | None = None) -> int:
        def prune() -> int:
            conn = self._connection()
            now = time.time()
            n = int(conn.execute("DELETE FROM llmrelay_cache WHERE expires <= ?", (now,)).rowcount)
            conn.execute("DELETE FROM llmrelay_cache_vectors WHERE expires <= ?", (now,))
            if max_bytes is not None:
                # keep the newest answers whose sizes add up to at most max_bytes
                n += conn.execute(
                    "DELETE FROM llmrelay_cache WHERE key IN (SELECT key FROM (SELECT key, "
                    + "sum(size) OVER (ORDER BY created DESC, key) AS running FROM llmrelay_cache) "
                    + "WHERE running > ?)",
                    (max_bytes,),
                ).rowcount
            return n

        return await self._run(prune)

    async def record(self, hits: int, misses: int) -> None:
        def record() -> None:
            conn = self._connection()
            for name, value in (("hits", hits), ("misses", misses)):
                if value:
                    conn.execute(
                        "INSERT INTO llmrelay_cache_counts (name, value) VALUES (?, ?) "
                        + "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        (name, value),
                    )

        await self._run(record)

    async def stats(self) -> BackendStats:
        def stats() -> BackendStats:
            conn = self._connection()
            n, size, expired, oldest, newest = conn.execute(
                "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(expires <= ?), 0), "
                + "min(nullif(created, 0)), max(nullif(created, 0)) FROM llmrelay_cache",
                (time.time(),),
            ).fetchone()
            counts = dict(conn.execute("SELECT name, value FROM llmrelay_cache_counts").fetchall())
            (vectors,) = conn.execute("SELECT count(*) FROM llmrelay_cache_vectors").fetchone()
            return BackendStats(
                self.description,
                int(n),
                int(size),
                expired=int(expired),
                oldest=oldest,
                newest=newest,
                hits=int(counts.get("hits", 0)),
                misses=int(counts.get("misses", 0)),
                vectors=int(vectors),
            )

        return await self._run(stats)

    async def aclose(self) -> None:
        await self._db.aclose()
