"""Where conversations are kept: what a store does, and choosing one from a URL.

Stores hold, per conversation id, its settings (model, system prompt), its running summary
and an append-only list of turns. ``append`` is atomic and safe under concurrency: any
number of tasks, processes or replicas may append to one conversation and no turn is lost;
each batch lands contiguously.

| URL | store |
| --- | --- |
| ``memory://`` | ``MemoryStore`` (this process only) |
| ``sqlite:///path`` or none | ``SQLiteStore`` (default: ``conversations.sqlite3``, user data dir) |
| ``postgresql://…`` | ``PostgresStore`` (asyncpg, the ``postgres`` extra) |
| ``redis://…`` / ``rediss://…`` | ``RedisStore`` (redis-py asyncio, the ``redis`` extra) |
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from llmrelay.errors import ConfigError
from llmrelay.types import Message

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """A stored conversation without its turns. ``length`` counts turns; ``summary``
    covers the turns before ``summary_upto``; times are seconds since the epoch."""

    id: str
    model: str | None = None
    system: str | None = None
    length: int = 0
    summary: str | None = None
    summary_upto: int = 0
    created: float = 0.0
    updated: float = 0.0
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    info: ConversationInfo
    messages: tuple[Message, ...]


class ConversationStore(Protocol):
    """A place to keep conversations. Methods raise ``ConversationNotFoundError`` for an
    unknown id and ``ConversationStoreError`` when the backend fails."""

    @property
    def description(self) -> str:
        """Where conversations go, safe to print (no password)."""
        ...

    async def create(
        self,
        conversation_id: str,
        *,
        model: str | None = None,
        system: str | None = None,
        metadata: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> ConversationInfo:
        """Make an empty conversation; with ``exist_ok`` an existing one is returned as is
        (raises ``ConversationExistsError`` otherwise)."""
        ...

    async def info(self, conversation_id: str) -> ConversationInfo: ...

    async def load(self, conversation_id: str) -> StoredConversation: ...

    async def messages(self, conversation_id: str, start: int = 0) -> list[Message]:
        """The turns from index ``start`` on."""
        ...

    async def append(self, conversation_id: str, messages: Sequence[Message]) -> int:
        """Add ``messages`` at the end, atomically and contiguously; returns the new length."""
        ...

    async def save(self, conversation: StoredConversation) -> None:
        """Write a whole conversation, replacing any stored under its id."""
        ...

    async def update(
        self, conversation_id: str, *, model: str | None = None, system: str | None = None
    ) -> None:
        """Change the model or system prompt (None leaves a field as it is)."""
        ...

    async def set_summary(self, conversation_id: str, summary: str, upto: int) -> bool:
        """Store a summary of the turns before ``upto`` unless one covering as many or more
        is stored already (two writers summarizing at once keep the further one)."""
        ...

    async def list(self, limit: int | None = None) -> list[ConversationInfo]:
        """Conversations, most recently updated first."""
        ...

    async def delete(self, conversation_id: str) -> bool:
        """Remove a conversation; False when there was none."""
        ...

    async def fork(self, conversation_id: str, new_id: str, *, upto: int | None = None) -> ConversationInfo:
        """Copy a conversation (its first ``upto`` turns, default all) under ``new_id``."""
        ...

    async def aclose(self) -> None: ...


def check_id(conversation_id: str) -> str:
    """The id if it is valid, else a ConfigError saying what is allowed."""
    if not isinstance(conversation_id, str) or not _ID.match(conversation_id):
        raise ConfigError(
            f"conversation id {conversation_id!r} is not valid: 1-128 characters, "
            "letters, digits and . _ : @ -, "
            "starting with a letter or digit"
        )
    return conversation_id


def fork_upto(upto: int | None, length: int) -> int:
    if upto is None:
        return length
    if upto < 0 or upto > length:
        raise ConfigError(f"fork upto={upto} is outside the conversation's 0..{length} turns")
    return upto


def fork_summary(info: ConversationInfo, upto: int) -> tuple[str | None, int]:
    """A fork keeps the summary only when it covers no turn the fork leaves out."""
    if info.summary is not None and info.summary_upto <= upto:
        return info.summary, info.summary_upto
    return None, 0


def default_path() -> Path:
    """``conversations.sqlite3`` in the user data directory."""
    from platformdirs import user_data_path

    return user_data_path("llmrelay", appauthor=False) / "conversations.sqlite3"


def display_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def table_prefix(value: str) -> str:
    if not _PREFIX.match(value):
        raise ConfigError(
            f"table prefix {value!r} must be letters, digits and _ (at most 41), e.g. llmrelay_"
        )
    return value


def open_store(url: str | None = None, *, prefix: str | None = None) -> ConversationStore:
    """The store for ``url`` (None: the default SQLite file). ``prefix`` is the table prefix
    (SQL, default ``llmrelay_``) or key prefix (Redis, default ``llmrelay:``); a URL can
    also carry it as ``?prefix=…``. No I/O happens here."""
    if url is not None and "?" in url:
        base, _, query = url.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        given = [v for k, v in pairs if k == "prefix"]
        if given:
            prefix = prefix or given[-1]
            rest = urlencode([(k, v) for k, v in pairs if k != "prefix"])
            url = f"{base}?{rest}" if rest else base
    if url is None or url.startswith("sqlite:///"):
        from llmrelay.app.conversations.store_sqlite import SQLiteStore

        path = default_path() if url is None else Path(url[len("sqlite:///") :]).expanduser()
        if url is not None and not url[len("sqlite:///") :]:
            raise ConfigError("sqlite:/// names no file: use e.g. sqlite:///conversations.sqlite3")
        return SQLiteStore(path, table_prefix(prefix or "llmrelay_"))
    if url.startswith("memory://"):
        from llmrelay.app.conversations.store_memory import MemoryStore

        return MemoryStore()
    if url.startswith(("postgresql://", "postgres://")):
        from llmrelay.app.conversations.store_postgres import PostgresStore

        return PostgresStore(url, table_prefix(prefix or "llmrelay_"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        from llmrelay.app.conversations.store_redis import RedisStore

        return RedisStore.from_url(url, prefix=prefix or "llmrelay:")
    raise ConfigError(
        f"unsupported conversation store {display_url(url)!r}: use memory://, sqlite:///path, "
        "postgresql://host/db or redis://host:6379/0"
    )
