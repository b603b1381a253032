"""The PostgreSQL ledger, for several processes or replicas sharing one record of usage.

Uses asyncpg (the ``postgres`` extra). One connection serves the single flusher;
it is reopened after a failure. Migrations run under an advisory lock, so replicas
that start together migrate once.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from llmrelay.errors import ConfigError
from llmrelay.ledger.backend import LedgerError, display_url
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
from llmrelay.secrets import redact


class PostgresBackend:
    def __init__(
        self,
        dsn: str,
        table_prefix: str = "llmrelay_",
        *,
        connect_timeout: float = 10.0,
        command_timeout: float = 60.0,
    ) -> None:
        self._dsn = dsn
        self._password = urlsplit(dsn).password
        self._prefix = table_prefix
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._conn: Any = None
        self._insert = (
            f"INSERT INTO {usage_table(table_prefix)} ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) ON CONFLICT (id) DO NOTHING"
        )
        # one advisory lock per table prefix, so unrelated ledgers in one database do not wait on each other
        self._lock_id = zlib.crc32(f"llmrelay-ledger:{table_prefix}".encode())

    def __repr__(self) -> str:
        return f"PostgresBackend({self.description!r})"

    @property
    def description(self) -> str:
        return display_url(self._dsn)

    def _error(self, exc: BaseException, doing: str) -> LedgerError:
        secrets = [self._password] if self._password else []
        detail = redact(f"{type(exc).__name__}: {exc}", secrets)
        return LedgerError(f"ledger database {self.description}: {doing} failed: {detail}")

    async def _connection(self) -> Any:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        try:
            asyncpg: Any = importlib.import_module("asyncpg")
        except ImportError:
            raise ConfigError(
                "ledger.url names PostgreSQL but asyncpg is not installed: pip install 'llmrelay[postgres]'"
            ) from None
        try:
            self._conn = await asyncpg.connect(
                self._dsn, timeout=self._connect_timeout, command_timeout=self._command_timeout
            )
        except Exception as exc:
            raise self._error(exc, "connecting") from None
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    async def start(self) -> None:
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock_id)
                await conn.execute(create_version_table(self._prefix))
                current = await conn.fetchval(f"SELECT version FROM {version_table(self._prefix)}")
                steps = pending(int(current or 0), self._prefix, "postgres")
                for step in steps:
                    for statement in step:
                        await conn.execute(statement)
                if current is None:
                    await conn.execute(
                        f"INSERT INTO {version_table(self._prefix)} (version) VALUES ($1)", len(steps)
                    )
                elif steps:
                    await conn.execute(
                        f"UPDATE {version_table(self._prefix)} SET version = $1", int(current) + len(steps)
                    )
        except ConfigError:
            raise
        except Exception as exc:
            await self._drop_connection()
            raise self._error(exc, "creating the ledger tables") from None

    async def write(self, records: Sequence[UsageRecord]) -> None:
        conn = await self._connection()
        rows = [record_values(r, "postgres") for r in records]
        try:
            async with conn.transaction():
                await conn.executemany(self._insert, rows)
        except Exception as exc:
            await self._drop_connection()
            raise self._error(exc, f"writing {len(rows)} records") from None

    async def summarize(self, query: UsageQuery) -> list[UsageRow]:
        sql, params = summary_sql(query, "postgres", usage_table(self._prefix))
        conn = await self._connection()
        try:
            rows = await conn.fetch(sql, *params)
        except Exception as exc:
            await self._drop_connection()
            raise self._error(exc, "reading usage totals") from None
        return [UsageRow.from_values(tuple(r)) for r in rows]

    async def fetch(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRecord]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM {usage_table(self._prefix)}"
        where, params = [], []
        if since is not None:
            params.append(since)
            where.append(f"ts >= ${len(params)}")
        if until is not None:
            params.append(until)
            where.append(f"ts < ${len(params)}")
        if where:
            sql += " WHERE " + " AND ".join(where)
        conn = await self._connection()
        try:
            rows = await conn.fetch(sql + " ORDER BY ts", *params)
        except Exception as exc:
            await self._drop_connection()
            raise self._error(exc, "reading records") from None
        return [record_from_values(tuple(r), "postgres") for r in rows]

    async def aclose(self) -> None:
        await self._drop_connection()
