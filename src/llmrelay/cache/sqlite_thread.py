"""One SQLite connection on one worker thread, for the cache's SQLite files.

SQLite calls block, so they run on a single thread the owner starts on first use; the
connection is made and used only there, and the event loop only awaits results. A SQLite
or file error becomes ``CacheBackendError`` (a miss for the cache, never a failed call).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from llmrelay.cache.backend import CacheBackendError

T = TypeVar("T")


class SQLiteThread:
    """``run`` calls a function on the worker thread; ``connection`` (only on that thread)
    opens the file on first use in WAL mode and lets ``setup`` create its tables."""

    def __init__(
        self, path: Path, *, name: str, setup: Callable[[sqlite3.Connection], None], busy_timeout: float
    ) -> None:
        self.path = path
        self._name = name
        self._setup = setup
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the executor's thread

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise CacheBackendError(f"cache database {self.path}: {type(exc).__name__}: {exc}") from None

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._setup(conn)
            self._conn = conn
        return self._conn

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
