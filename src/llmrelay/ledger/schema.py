"""The ledger's tables and their migrations, for each dialect.

A version table holds one row with the schema version. On start a backend takes a lock
(PostgreSQL: an advisory lock, so replicas starting together migrate once; SQLite: an
immediate transaction), reads the version and applies the missing steps. Each step is
a tuple of statements; append new steps, never edit released ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from llmrelay.errors import ConfigError
from llmrelay.ledger.query import Dialect
from llmrelay.ledger.record import GuardMark, UsageRecord

#: the columns of schema version 1 (the table as step 1 creates it)
V1_COLUMNS: tuple[str, ...] = (
    "id",
    "ts",
    "status",
    "stream",
    "request_id",
    "response_id",
    "key",
    "user_id",
    "tags",
    "metadata",
    "alias",
    "deployment",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "latency",
    "ttft",
    "http_status",
    "cache_hit",
    "attempts",
)
#: columns added by step 2: reasoning and cache detail, tier, the response cache's verdict,
#: what caches saved, the guard's decisions (added to an existing table, so every one is
#: nullable and old rows read as unknown)
V2_COLUMNS: tuple[str, ...] = (
    "cache_write_1h_tokens",
    "service_tier",
    "cache",
    "saved_provider_cache",
    "saved_response_cache",
    "guard",
)
#: columns in the order backends insert them (matches ``UsageRecord``'s fields)
COLUMNS: tuple[str, ...] = V1_COLUMNS + V2_COLUMNS

_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "text": "TEXT",
        "ts": "REAL NOT NULL",
        "bool": "INTEGER NOT NULL",
        "int": "INTEGER",
        "float": "REAL",
        "tags": "TEXT NOT NULL DEFAULT '[]'",
        "json": "TEXT",
    },
    "postgres": {
        "text": "TEXT",
        "ts": "TIMESTAMPTZ NOT NULL",
        "bool": "BOOLEAN NOT NULL",
        "int": "INTEGER",
        "float": "DOUBLE PRECISION",
        "tags": "TEXT[] NOT NULL DEFAULT '{}'",
        "json": "JSONB",
    },
}

_KINDS = {
    "ts": "ts",
    "stream": "bool",
    "cache_hit": "bool",
    "tags": "tags",
    "metadata": "json",
    "cost": "float",
    "latency": "float",
    "ttft": "float",
    "saved_provider_cache": "float",
    "saved_response_cache": "float",
    "guard": "json",
}
_INTS = {
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "http_status",
    "cache_write_1h_tokens",
}


def usage_table(prefix: str) -> str:
    return f"{prefix}usage"


def version_table(prefix: str) -> str:
    return f"{prefix}ledger_version"


def _create_usage(prefix: str, dialect: Dialect) -> tuple[str, ...]:
    types = _TYPES[dialect]
    cols = []
    for c in V1_COLUMNS:
        if c == "id":
            cols.append("id TEXT PRIMARY KEY")
        elif c == "status":
            cols.append("status TEXT NOT NULL")
        elif c == "attempts":
            cols.append("attempts INTEGER NOT NULL DEFAULT 1")
        else:
            kind = _KINDS.get(c, "int" if c in _INTS else "text")
            cols.append(f"{c} {types[kind]}")
    table = usage_table(prefix)
    return (
        f"CREATE TABLE {table} ({', '.join(cols)})",
        f"CREATE INDEX {prefix}usage_ts ON {table} (ts)",
    )


def _add_v2(prefix: str, dialect: Dialect) -> tuple[str, ...]:
    types = _TYPES[dialect]
    table = usage_table(prefix)
    return tuple(
        f"ALTER TABLE {table} ADD COLUMN {c} {types[_KINDS.get(c, 'int' if c in _INTS else 'text')]}"
        for c in V2_COLUMNS
    )


def migrations(prefix: str, dialect: Dialect) -> tuple[tuple[str, ...], ...]:
    """Step ``i`` takes the schema from version ``i`` to ``i + 1``."""
    return (_create_usage(prefix, dialect), _add_v2(prefix, dialect))


def create_version_table(prefix: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {version_table(prefix)} (version INTEGER NOT NULL)"


def pending(current: int, prefix: str, dialect: Dialect) -> tuple[tuple[str, ...], ...]:
    """The steps still to apply to a database at version ``current``."""
    steps = migrations(prefix, dialect)
    if current > len(steps):
        raise ConfigError(
            f"the ledger tables ({usage_table(prefix)}) are at schema version {current}, newer than this "
            f"llmrelay knows ({len(steps)}): upgrade llmrelay, or use another ledger.table_prefix"
        )
    return steps[current:]


def record_values(rec: UsageRecord, dialect: Dialect) -> tuple[Any, ...]:
    """``rec`` as a row in ``COLUMNS`` order, in the dialect's column types."""
    sqlite = dialect == "sqlite"
    meta = dict(rec.metadata) if rec.metadata else None
    return (
        rec.id,
        rec.ts if sqlite else datetime.fromtimestamp(rec.ts, UTC),
        rec.status,
        int(rec.stream) if sqlite else rec.stream,
        rec.request_id,
        rec.response_id,
        rec.key,
        rec.user,
        json.dumps(list(rec.tags)) if sqlite else list(rec.tags),
        json.dumps(meta) if meta is not None else None,
        rec.alias,
        rec.deployment,
        rec.provider,
        rec.model,
        rec.input_tokens,
        rec.output_tokens,
        rec.cached_input_tokens,
        rec.cache_write_tokens,
        rec.reasoning_tokens,
        rec.cost,
        rec.latency,
        rec.ttft,
        rec.http_status,
        int(rec.cache_hit) if sqlite else rec.cache_hit,
        rec.attempts,
        rec.cache_write_1h_tokens,
        rec.service_tier,
        rec.cache,
        rec.saved_provider_cache,
        rec.saved_response_cache,
        json.dumps([[g.kind, g.action, g.where, g.count] for g in rec.guard]) if rec.guard else None,
    )


def record_from_values(values: Sequence[Any], dialect: Dialect) -> UsageRecord:
    """The inverse of ``record_values`` (a row selected as ``COLUMNS``)."""
    row = dict(zip(COLUMNS, values, strict=True))
    ts = row["ts"]
    tags = row["tags"]
    meta = row["metadata"]
    return UsageRecord(
        id=row["id"],
        ts=float(ts) if dialect == "sqlite" else ts.timestamp(),
        status=row["status"],
        stream=bool(row["stream"]),
        request_id=row["request_id"],
        response_id=row["response_id"],
        key=row["key"],
        user=row["user_id"],
        tags=tuple(json.loads(tags) if isinstance(tags, str) else tags),
        metadata=json.loads(meta) if isinstance(meta, str) else meta,
        alias=row["alias"],
        deployment=row["deployment"],
        provider=row["provider"],
        model=row["model"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cached_input_tokens=row["cached_input_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
        cost=row["cost"],
        latency=row["latency"],
        ttft=row["ttft"],
        http_status=row["http_status"],
        cache_hit=bool(row["cache_hit"]),
        attempts=row["attempts"],
        cache_write_1h_tokens=row["cache_write_1h_tokens"],
        service_tier=row["service_tier"],
        cache=row["cache"],
        saved_provider_cache=row["saved_provider_cache"],
        saved_response_cache=row["saved_response_cache"],
        guard=_guard_in(row["guard"]),
    )


def _guard_in(raw: Any) -> tuple[GuardMark, ...]:
    marks = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(marks, list):
        return ()
    return tuple(GuardMark(str(k), str(a), str(w), int(n)) for k, a, w, n in marks)
