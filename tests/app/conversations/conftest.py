"""Conversation stores on real backends, each under a name of its own and cleaned up afterwards.

``store_factory`` makes stores of one kind that share one database (several SQLite
connections on one file, PostgreSQL tables under one prefix, Redis keys under one prefix),
so tests can have several writers. PostgreSQL and Redis tests skip when the server is absent,
except under CI=true where that fails (see tests/conftest.py and tests/limits/redis_support.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tests.limits.redis_support import clean, redis_or_skip, unique_prefix

from llmrelay.app.conversations import ConversationStore, MemoryStore
from llmrelay.app.conversations.store_postgres import PostgresStore
from llmrelay.app.conversations.store_redis import RedisStore
from llmrelay.app.conversations.store_sqlite import SQLiteStore
from llmrelay.client import Client
from llmrelay.settings import Settings

KINDS = ["memory", "sqlite", "postgres", "redis"]

StoreFactory = Callable[[], ConversationStore]


async def _drop_pg(url: str, prefix: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(
            f"DROP TABLE IF EXISTS {prefix}conversations, {prefix}conversation_turns, "
            f"{prefix}conversations_version"
        )
    finally:
        await conn.close()


@pytest.fixture(params=KINDS)
async def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    kind: str = request.param
    made: list[ConversationStore] = []
    memory = MemoryStore()
    redis_client = None
    pg_url = request.getfixturevalue("pg_available") if kind == "postgres" else ""
    pg_prefix = f"t{uuid.uuid4().hex[:10]}_"
    if kind == "redis":
        redis_client = await redis_or_skip()
    redis_prefix = unique_prefix()

    def make() -> ConversationStore:
        store: ConversationStore
        if kind == "memory":
            return memory  # one process: every "writer" shares the one store
        if kind == "sqlite":
            store = SQLiteStore(tmp_path / "conversations.sqlite3")
        elif kind == "postgres":
            store = PostgresStore(pg_url, pg_prefix)
        else:
            store = RedisStore(redis_client, redis_prefix)
        made.append(store)
        return store

    try:
        yield make
    finally:
        for s in made:
            await s.aclose()
        if kind == "postgres":
            await _drop_pg(pg_url, pg_prefix)
        if redis_client is not None:
            await clean(redis_client, redis_prefix)
            await redis_client.aclose()


@pytest.fixture
def store(store_factory: StoreFactory) -> ConversationStore:
    return store_factory()


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with Client(Settings(ledger={"enabled": False})) as c:
        yield c
