"""The conversation tables, shared by the SQLite and PostgreSQL stores.

``<prefix>conversations`` holds one row per conversation, with ``length`` (the number of
turns) as the counter that serializes appends: an append increments it and inserts its
turns at the positions it reserved, in one transaction, so concurrent appends queue on
that row and none can take another's positions. ``<prefix>conversation_turns`` holds the
turns as JSON, keyed by (conversation, position). Times are seconds since the epoch.

A version table records the schema version; steps are appended, never edited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from llmrelay.app.conversations.store import ConversationInfo
from llmrelay.errors import ConfigError

Dialect: TypeAlias = Literal["sqlite", "postgres"]

#: the columns of the conversations table, in ``ConversationInfo`` order
INFO_COLUMNS = "id, model, system, length, summary, summary_upto, created, updated, metadata"


def conversations(prefix: str) -> str:
    return f"{prefix}conversations"


def turns(prefix: str) -> str:
    return f"{prefix}conversation_turns"


def version_table(prefix: str) -> str:
    return f"{prefix}conversations_version"


def migrations(prefix: str, dialect: Dialect) -> tuple[tuple[str, ...], ...]:
    """Step ``i`` takes the schema from version ``i`` to ``i + 1``."""
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    json_type = "TEXT" if dialect == "sqlite" else "JSONB"
    conv, turn = conversations(prefix), turns(prefix)
    return (
        (
            f"CREATE TABLE {conv} (id TEXT PRIMARY KEY, model TEXT, system TEXT, "
            f"length INTEGER NOT NULL DEFAULT 0, summary TEXT, summary_upto INTEGER NOT NULL DEFAULT 0, "
            f"created {real} NOT NULL, updated {real} NOT NULL, metadata {json_type})",
            f"CREATE INDEX {prefix}conversations_updated ON {conv} (updated)",
            f"CREATE TABLE {turn} (conversation_id TEXT NOT NULL, position INTEGER NOT NULL, "
            f"message {json_type} NOT NULL, PRIMARY KEY (conversation_id, position))",
        ),
    )


def create_version_table(prefix: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {version_table(prefix)} (version INTEGER NOT NULL)"


def pending(current: int, prefix: str, dialect: Dialect) -> tuple[tuple[str, ...], ...]:
    steps = migrations(prefix, dialect)
    if current > len(steps):
        raise ConfigError(
            f"the conversation tables ({conversations(prefix)}) are at schema version {current}, newer than "
            f"this llmrelay knows ({len(steps)}): upgrade llmrelay, or use another table prefix"
        )
    return steps[current:]


def info_from_row(row: Any) -> ConversationInfo:
    """A ``ConversationInfo`` from a row selected as ``INFO_COLUMNS``."""
    cid, model, system, length, summary, upto, created, updated, meta = tuple(row)
    return ConversationInfo(
        id=cid,
        model=model,
        system=system,
        length=int(length),
        summary=summary,
        summary_upto=int(upto),
        created=float(created),
        updated=float(updated),
        metadata=json.loads(meta) if meta else {},
    )


def metadata_json(metadata: Mapping[str, str] | None) -> str | None:
    return json.dumps(dict(metadata), separators=(",", ":")) if metadata else None
