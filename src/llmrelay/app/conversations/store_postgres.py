"""Conversations in PostgreSQL, shared by any number of processes and replicas (asyncpg).

A small connection pool serves the store. An append is one transaction: it increments the
conversation's ``length`` (which locks its row until commit, so concurrent appends to one
conversation queue there) and inserts the turns at the positions that reserved. Tables are
created or migrated on first use under an advisory lock, so replicas starting together
migrate once.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from llmrelay.app.conversations import codec
from llmrelay.app.conversations import store_sql as sql
from llmrelay.app.conversations.errors import (
    ConversationExistsError,
    ConversationNotFoundError,
    ConversationStoreError,
)
from llmrelay.app.conversations.store import (
    ConversationInfo,
    StoredConversation,
    check_id,
    display_url,
    fork_summary,
    fork_upto,
    table_prefix,
)
from llmrelay.errors import ConfigError, LLMRelayError
from llmrelay.secrets import redact
from llmrelay.types import Message

T = TypeVar("T")


class PostgresStore:
    def __init__(
        self,
        dsn: str,
        prefix: str = "llmrelay_",
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
        command_timeout: float = 60.0,
    ) -> None:
        self._dsn = dsn
        self._password = urlsplit(dsn).password
        self._prefix = table_prefix(prefix)
        self._sizes = (min_size, max_size)
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: Any = None
        self._starting = asyncio.Lock()
        self._conv = sql.conversations(prefix)
        self._turns = sql.turns(prefix)
        # one advisory lock per table prefix: unrelated stores in one database do not wait on each other
        self._lock_id = zlib.crc32(f"llmrelay-conversations:{prefix}".encode())

    def __repr__(self) -> str:
        return f"PostgresStore({self.description!r})"

    @property
    def description(self) -> str:
        return display_url(self._dsn)

    # ------------------------------------------------------------------ plumbing

    def _error(self, exc: BaseException) -> ConversationStoreError:
        text = redact(f"{type(exc).__name__}: {exc}")
        if self._password:
            text = text.replace(self._password, "***")
        return ConversationStoreError(f"conversation store {self.description}: {text}")

    async def _get_pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._starting:
            if self._pool is None:
                try:
                    asyncpg = importlib.import_module("asyncpg")
                except ImportError:
                    raise ConfigError(
                        "a PostgreSQL conversation store needs asyncpg: pip install 'llmrelay[postgres]'"
                    ) from None
                pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self._sizes[0],
                    max_size=self._sizes[1],
                    timeout=self._connect_timeout,
                    command_timeout=self._command_timeout,
                )
                try:
                    async with pool.acquire() as conn:
                        await self._migrate(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def _migrate(self, conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock_id)
            await conn.execute(sql.create_version_table(self._prefix))
            current = await conn.fetchval(f"SELECT version FROM {sql.version_table(self._prefix)}")
            steps = sql.pending(int(current or 0), self._prefix, "postgres")
            for step in steps:
                for statement in step:
                    await conn.execute(statement)
            if steps:
                if current is None:
                    await conn.execute(
                        f"INSERT INTO {sql.version_table(self._prefix)} VALUES ($1)", len(steps)
                    )
                else:
                    await conn.execute(
                        f"UPDATE {sql.version_table(self._prefix)} SET version = $1",
                        int(current) + len(steps),
                    )

    async def _tx(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn(connection)`` in one transaction; driver failures become ConversationStoreError."""
        try:
            pool = await self._get_pool()
            async with pool.acquire() as conn, conn.transaction():
                return await fn(conn)
        except (LLMRelayError, asyncio.CancelledError):
            raise
        except (TimeoutError, OSError) as exc:
            raise self._error(exc) from None
        except Exception as exc:
            if type(exc).__module__.startswith("asyncpg"):
                raise self._error(exc) from None
            raise

    async def _info(self, conn: Any, conversation_id: str) -> ConversationInfo:
        row = await conn.fetchrow(
            f"SELECT {sql.INFO_COLUMNS} FROM {self._conv} WHERE id = $1", conversation_id
        )
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")
        return sql.info_from_row(row)

    async def _turns_from(self, conn: Any, conversation_id: str, start: int) -> list[Message]:
        rows = await conn.fetch(
            f"SELECT message FROM {self._turns} "
            "WHERE conversation_id = $1 AND position >= $2 ORDER BY position",
            conversation_id,
            start,
        )
        return [codec.loads(r[0]) for r in rows]

    async def _insert_turns(self, conn: Any, conversation_id: str, first: int, texts: Sequence[str]) -> None:
        if texts:
            await conn.executemany(
                f"INSERT INTO {self._turns} (conversation_id, position, message) VALUES ($1, $2, $3::jsonb)",
                [(conversation_id, first + i, text) for i, text in enumerate(texts)],
            )

    # ------------------------------------------------------------------ the store

    async def create(
        self,
        conversation_id: str,
        *,
        model: str | None = None,
        system: str | None = None,
        metadata: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> ConversationInfo:
        check_id(conversation_id)
        now = time.time()

        async def run(conn: Any) -> ConversationInfo:
            status = await conn.execute(
                f"INSERT INTO {self._conv} (id, model, system, created, updated, metadata) "
                "VALUES ($1, $2, $3, $4, $4, $5::jsonb) ON CONFLICT (id) DO NOTHING",
                conversation_id,
                model,
                system,
                now,
                sql.metadata_json(metadata),
            )
            if status.endswith(" 0") and not exist_ok:
                raise ConversationExistsError(f"conversation {conversation_id!r} already exists")
            return await self._info(conn, conversation_id)

        return await self._tx(run)

    async def info(self, conversation_id: str) -> ConversationInfo:
        return await self._tx(lambda conn: self._info(conn, conversation_id))

    async def load(self, conversation_id: str) -> StoredConversation:
        async def run(conn: Any) -> StoredConversation:
            info = await self._info(conn, conversation_id)
            return StoredConversation(info, tuple(await self._turns_from(conn, conversation_id, 0)))

        return await self._tx(run)

    async def messages(self, conversation_id: str, start: int = 0) -> list[Message]:
        async def run(conn: Any) -> list[Message]:
            await self._info(conn, conversation_id)
            return await self._turns_from(conn, conversation_id, start)

        return await self._tx(run)

    async def append(self, conversation_id: str, messages: Sequence[Message]) -> int:
        texts = [codec.dumps(m) for m in messages]
        now = time.time()

        async def run(conn: Any) -> int:
            end = await conn.fetchval(
                f"UPDATE {self._conv} SET length = length + $1, updated = $2 WHERE id = $3 RETURNING length",
                len(texts),
                now,
                conversation_id,
            )
            if end is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")
            await self._insert_turns(conn, conversation_id, int(end) - len(texts), texts)
            return int(end)

        return await self._tx(run)

    async def save(self, conversation: StoredConversation) -> None:
        info = conversation.info
        check_id(info.id)
        texts = [codec.dumps(m) for m in conversation.messages]
        now = time.time()

        async def run(conn: Any) -> None:
            await conn.execute(
                f"INSERT INTO {self._conv} ({sql.INFO_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) "
                "ON CONFLICT (id) DO UPDATE SET model = excluded.model, system = excluded.system, "
                "length = excluded.length, summary = excluded.summary, summary_upto = excluded.summary_upto, "
                "updated = excluded.updated, metadata = excluded.metadata",
                info.id,
                info.model,
                info.system,
                len(texts),
                info.summary,
                info.summary_upto,
                info.created or now,
                now,
                sql.metadata_json(info.metadata),
            )
            await conn.execute(f"DELETE FROM {self._turns} WHERE conversation_id = $1", info.id)
            await self._insert_turns(conn, info.id, 0, texts)

        await self._tx(run)

    async def update(
        self, conversation_id: str, *, model: str | None = None, system: str | None = None
    ) -> None:
        now = time.time()

        async def run(conn: Any) -> None:
            status = await conn.execute(
                f"UPDATE {self._conv} SET model = COALESCE($1, model), system = COALESCE($2, system), "
                "updated = $3 WHERE id = $4",
                model,
                system,
                now,
                conversation_id,
            )
            if status.endswith(" 0"):
                raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")

        await self._tx(run)

    async def set_summary(self, conversation_id: str, summary: str, upto: int) -> bool:
        async def run(conn: Any) -> bool:
            status = await conn.execute(
                f"UPDATE {self._conv} SET summary = $1, summary_upto = $2 "
                "WHERE id = $3 AND summary_upto < $2",
                summary,
                upto,
                conversation_id,
            )
            if status.endswith(" 0"):
                await self._info(conn, conversation_id)
                return False
            return True

        return await self._tx(run)

    async def list(self, limit: int | None = None) -> list[ConversationInfo]:
        async def run(conn: Any) -> list[ConversationInfo]:
            rows = await conn.fetch(
                f"SELECT {sql.INFO_COLUMNS} FROM {self._conv} ORDER BY updated DESC, id LIMIT $1", limit
            )
            return [sql.info_from_row(r) for r in rows]

        return await self._tx(run)

    async def delete(self, conversation_id: str) -> bool:
        async def run(conn: Any) -> bool:
            await conn.execute(f"DELETE FROM {self._turns} WHERE conversation_id = $1", conversation_id)
            status = await conn.execute(f"DELETE FROM {self._conv} WHERE id = $1", conversation_id)
            return not status.endswith(" 0")

        return await self._tx(run)

    async def fork(self, conversation_id: str, new_id: str, *, upto: int | None = None) -> ConversationInfo:
        check_id(new_id)
        now = time.time()

        async def run(conn: Any) -> ConversationInfo:
            # FOR SHARE: appends to the source wait until the copy is taken
            row = await conn.fetchrow(
                f"SELECT {sql.INFO_COLUMNS} FROM {self._conv} WHERE id = $1 FOR SHARE", conversation_id
            )
            if row is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")
            src = sql.info_from_row(row)
            n = fork_upto(upto, src.length)
            summary, summary_upto = fork_summary(src, n)
            status = await conn.execute(
                f"INSERT INTO {self._conv} ({sql.INFO_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8::jsonb) "
                "ON CONFLICT (id) DO NOTHING",
                new_id,
                src.model,
                src.system,
                n,
                summary,
                summary_upto,
                now,
                sql.metadata_json(src.metadata),
            )
            if status.endswith(" 0"):
                raise ConversationExistsError(
                    f"cannot fork into {new_id!r}: that conversation already exists"
                )
            await conn.execute(
                f"INSERT INTO {self._turns} (conversation_id, position, message) "
                f"SELECT $1, position, message FROM {self._turns} "
                "WHERE conversation_id = $2 AND position < $3",
                new_id,
                conversation_id,
                n,
            )
            return await self._info(conn, new_id)

        return await self._tx(run)

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
