"""The SQLite ledger: one file, written from a private thread.

SQLite calls block, so every one runs on a single worker thread owned by the backend
(one connection, used only there); the event loop only awaits the result. WAL mode
lets ``llmrelay usage`` read while a process writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from llmrelay.errors import ConfigError
from llmrelay.ledger.backend import LedgerError
from llmrelay.ledger.query import UsageQuery, UsageRow, summary_sql
from llmrelay.ledger.record import UsageRecord
from llmrelay.ledger.schema import (
    COLUMNS,
    create_version_table,
    pending,
    record_from_values,
    record_values,
    usage_table,
    version_table,
)

T = TypeVar("T")


class SQLiteBackend:
    def __init__(self, path: Path, table_prefix: str = "llmrelay_", *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self._prefix = table_prefix
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the executor's thread
        self._insert = (
            f"INSERT OR IGNORE INTO {usage_table(table_prefix)} ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})"
        )

    @property
    def description(self) -> str:
        return f"sqlite:///{self.path}"

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-ledger")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger database {self.path}: {type(exc).__name__}: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(
                    f"cannot open the ledger database {self.path}: {exc}; set ledger.url to a writable "
                    "location (LLMRELAY_LEDGER__URL=sqlite:///path/to/ledger.sqlite3)"
                ) from None
            _enable_wal(conn)
            # WAL with NORMAL sync survives a process crash; only an OS crash can lose the last batch.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    def _migrate(self) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(create_version_table(self._prefix))
            row = conn.execute(f"SELECT version FROM {version_table(self._prefix)}").fetchone()
            current = int(row[0]) if row else 0
            steps = pending(current, self._prefix, "sqlite")
            for step in steps:
                for statement in step:
                    conn.execute(statement)
            if row is None:
                conn.execute(f"INSERT INTO {version_table(self._prefix)} (version) VALUES (?)", (len(steps),))
            elif steps:
                conn.execute(f"UPDATE {version_table(self._prefix)} SET version = ?", (current + len(steps),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write(self, records: Sequence[UsageRecord]) -> None:
        conn = self._connection()
        rows = [record_values(r, "sqlite") for r in records]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(self._insert, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _select(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self._connection().execute(sql, params).fetchall())

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def start(self) -> None:
        await self._run(self._migrate)

    async def write(self, records: Sequence[UsageRecord]) -> None:
        await self._run(self._write, records)

    async def summarize(self, query: UsageQuery) -> list[UsageRow]:
        sql, params = summary_sql(query, "sqlite", usage_table(self._prefix))
        return [UsageRow.from_values(tuple(r)) for r in await self._run(self._select, sql, params)]

    async def fetch(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRecord]:
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {usage_table(self._prefix)} "
            "WHERE ts >= ? AND ts < ? ORDER BY ts"
        )
        lo = since.timestamp() if since else float("-inf")
        hi = until.timestamp() if until else float("inf")
        rows = await self._run(self._select, sql, (lo, hi))
        return [record_from_values(r, "sqlite") for r in rows]

    async def aclose(self) -> None:
        if self._executor is None:
            return
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None


def _enable_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL, waiting out other processes doing the same.

    The switch takes an exclusive lock and SQLite may answer "database is locked" at
    once instead of waiting for the busy timeout, when several replicas open a new
    database together.
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (1 + attempt % 10))
