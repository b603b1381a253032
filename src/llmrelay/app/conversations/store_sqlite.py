"""Conversations in a SQLite file: the default store.

SQLite calls block, so each store runs them on one worker thread of its own, with one
connection used only there; the event loop awaits the result. Writes are ``BEGIN
IMMEDIATE`` transactions, so several stores, threads or processes on one file take turns
(waiting up to ``busy_timeout``) instead of losing each other's turns. WAL mode lets readers
work while a writer writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
    fork_summary,
    fork_upto,
)
from llmrelay.app.conversations.store import table_prefix as table_prefix_checked
from llmrelay.errors import ConfigError
from llmrelay.types import Message

T = TypeVar("T")


class SQLiteStore:
    def __init__(
        self, path: str | Path, table_prefix: str = "llmrelay_", *, busy_timeout: float = 30.0
    ) -> None:
        self.path = Path(path)
        self._prefix = table_prefix_checked(table_prefix)
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the executor's thread
        self._conv = sql.conversations(table_prefix)
        self._turns = sql.turns(table_prefix)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.description!r})"

    @property
    def description(self) -> str:
        return f"sqlite:///{self.path}"

    # ------------------------------------------------------------------ plumbing

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-conversations")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise ConversationStoreError(
                f"conversation store {self.path}: {type(exc).__name__}: {exc}"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(
                    f"cannot open the conversation store {self.path}: {exc}; "
                    "give a writable location (--store sqlite:///path/to/conversations.sqlite3)"
                ) from None
            # a file system without shared memory (some network mounts) keeps the rollback journal
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate(conn)
            self._conn = conn
        return self._conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(sql.create_version_table(self._prefix))
            row = conn.execute(f"SELECT version FROM {sql.version_table(self._prefix)}").fetchone()
            current = int(row[0]) if row else 0
            steps = sql.pending(current, self._prefix, "sqlite")
            for step in steps:
                for statement in step:
                    conn.execute(statement)
            if steps:
                if row:
                    conn.execute(
                        f"UPDATE {sql.version_table(self._prefix)} SET version = ?", (current + len(steps),)
                    )
                else:
                    conn.execute(f"INSERT INTO {sql.version_table(self._prefix)} VALUES (?)", (len(steps),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in an immediate (write-locked) transaction."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (a consistent snapshot)."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    def _info(self, conn: sqlite3.Connection, conversation_id: str) -> ConversationInfo:
        row = conn.execute(
            f"SELECT {sql.INFO_COLUMNS} FROM {self._conv} WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")
        return sql.info_from_row(row)

    def _turns_from(self, conn: sqlite3.Connection, conversation_id: str, start: int) -> list[Message]:
        rows = conn.execute(
            f"SELECT message FROM {self._turns} "
            "WHERE conversation_id = ? AND position >= ? ORDER BY position",
            (conversation_id, start),
        ).fetchall()
        return [codec.loads(r[0]) for r in rows]

    def _insert_turns(
        self, conn: sqlite3.Connection, conversation_id: str, first: int, texts: Sequence[str]
    ) -> None:
        conn.executemany(
            f"INSERT INTO {self._turns} (conversation_id, position, message) VALUES (?, ?, ?)",
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

        def run(conn: sqlite3.Connection) -> ConversationInfo:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO {self._conv} (id, model, system, created, updated, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, model, system, now, now, sql.metadata_json(metadata)),
            )
            if cur.rowcount == 0 and not exist_ok:
                raise ConversationExistsError(f"conversation {conversation_id!r} already exists")
            return self._info(conn, conversation_id)

        return await self._run(self._write, run)

    async def info(self, conversation_id: str) -> ConversationInfo:
        return await self._run(self._read, lambda conn: self._info(conn, conversation_id))

    async def load(self, conversation_id: str) -> StoredConversation:
        def run(conn: sqlite3.Connection) -> StoredConversation:
            info = self._info(conn, conversation_id)
            return StoredConversation(info, tuple(self._turns_from(conn, conversation_id, 0)))

        return await self._run(self._read, run)

    async def messages(self, conversation_id: str, start: int = 0) -> list[Message]:
        def run(conn: sqlite3.Connection) -> list[Message]:
            self._info(conn, conversation_id)
            return self._turns_from(conn, conversation_id, start)

        return await self._run(self._read, run)

    async def append(self, conversation_id: str, messages: Sequence[Message]) -> int:
        texts = [codec.dumps(m) for m in messages]
        now = time.time()

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                f"UPDATE {self._conv} SET length = length + ?, updated = ? WHERE id = ? RETURNING length",
                (len(texts), now, conversation_id),
            ).fetchone()
            if row is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")
            end = int(row[0])
            self._insert_turns(conn, conversation_id, end - len(texts), texts)
            return end

        return await self._run(self._write, run)

    async def save(self, conversation: StoredConversation) -> None:
        info = conversation.info
        check_id(info.id)
        texts = [codec.dumps(m) for m in conversation.messages]
        now = time.time()

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(f"DELETE FROM {self._turns} WHERE conversation_id = ?", (info.id,))
            conn.execute(
                f"INSERT INTO {self._conv} ({sql.INFO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET model = excluded.model, system = excluded.system, "
                "length = excluded.length, summary = excluded.summary, summary_upto = excluded.summary_upto, "
                "updated = excluded.updated, metadata = excluded.metadata",
                (
                    info.id,
                    info.model,
                    info.system,
                    len(texts),
                    info.summary,
                    info.summary_upto,
                    info.created or now,
                    now,
                    sql.metadata_json(info.metadata),
                ),
            )
            self._insert_turns(conn, info.id, 0, texts)

        await self._run(self._write, run)

    async def update(
        self, conversation_id: str, *, model: str | None = None, system: str | None = None
    ) -> None:
        now = time.time()

        def run(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                f"UPDATE {self._conv} SET model = COALESCE(?, model), system = COALESCE(?, system), "
                "updated = ? WHERE id = ?",
                (model, system, now, conversation_id),
            )
            if cur.rowcount == 0:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")

        await self._run(self._write, run)

    async def set_summary(self, conversation_id: str, summary: str, upto: int) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE {self._conv} SET summary = ?, summary_upto = ? WHERE id = ? AND summary_upto < ?",
                (summary, upto, conversation_id, upto),
            )
            if cur.rowcount == 0:
                self._info(conn, conversation_id)  # raises when it does not exist
                return False
            return True

        return await self._run(self._write, run)

    async def list(self, limit: int | None = None) -> list[ConversationInfo]:
        def run(conn: sqlite3.Connection) -> list[ConversationInfo]:
            rows = conn.execute(
                f"SELECT {sql.INFO_COLUMNS} FROM {self._conv} ORDER BY updated DESC, id LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
            return [sql.info_from_row(r) for r in rows]

        return await self._run(self._read, run)

    async def delete(self, conversation_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            conn.execute(f"DELETE FROM {self._turns} WHERE conversation_id = ?", (conversation_id,))
            return conn.execute(f"DELETE FROM {self._conv} WHERE id = ?", (conversation_id,)).rowcount > 0

        return await self._run(self._write, run)

    async def fork(self, conversation_id: str, new_id: str, *, upto: int | None = None) -> ConversationInfo:
        check_id(new_id)
        now = time.time()

        def run(conn: sqlite3.Connection) -> ConversationInfo:
            src = self._info(conn, conversation_id)
            n = fork_upto(upto, src.length)
            summary, summary_upto = fork_summary(src, n)
            cur = conn.execute(
                f"INSERT OR IGNORE INTO {self._conv} ({sql.INFO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    src.model,
                    src.system,
                    n,
                    summary,
                    summary_upto,
                    now,
                    now,
                    sql.metadata_json(src.metadata),
                ),
            )
            if cur.rowcount == 0:
                raise ConversationExistsError(
                    f"cannot fork into {new_id!r}: that conversation already exists"
                )
            conn.execute(
                f"INSERT INTO {self._turns} (conversation_id, position, message) "
                f"SELECT ?, position, message FROM {self._turns} WHERE conversation_id = ? AND position < ?",
                (new_id, conversation_id, n),
            )
            return self._info(conn, new_id)

        return await self._run(self._write, run)

    async def aclose(self) -> None:
        if self._executor is None:
            return
        conn = self._conn
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None
