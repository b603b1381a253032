"""The semantic cache shared through the machine's real Redis (a key prefix of the test's own,
removed afterwards): two Clients — two replicas — answer each other's paraphrases, tenants
stay apart, and the vectors live in one stream per partition that expires."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.cache.semantic_support import model_or_skip
from tests.limits.redis_support import REDIS_URL, clean, redis_or_skip, unique_prefix

from llmrelay.client import Client
from llmrelay.settings import Settings
from llmrelay.types import Subject


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Any, str]]:
    model_or_skip()
    client: Any = await redis_or_skip()
    prefix = unique_prefix() + "cache:"
    try:
        yield client, prefix
    finally:
        await clean(client, prefix)
        await client.aclose()


def replica(prefix: str) -> Client:
    return Client(
        Settings(
            cache={
                "enabled": True,
                "backend": "redis",
                "redis_url": REDIS_URL,
                "prefix": prefix,
                "semantic": {"enabled": True, "threshold": 0.8, "sync_interval": 0},
            },
            ledger={"enabled": False},
        )
    )


async def test_two_clients_share_semantic_entries(redis: tuple[Any, str]) -> None:
    server, prefix = redis
    async with replica(prefix) as a, replica(prefix) as b:
        first = await a.chat("How do I cancel my subscription?", temperature=0)
        second = await b.chat("How can I cancel my subscription?", temperature=0)
        assert (first.meta.cache, second.meta.cache) == ("miss", "hit")
        assert second.text == first.text and second.meta.cache_similarity is not None
        assert b.simulator.stats.total_requests == 0
        # and back: b's own answer to a new question reaches a
        await b.chat("Who wrote Pride and Prejudice?", temperature=0)
        back = await a.chat("Who is the author of Pride and Prejudice?", temperature=0)
        assert back.meta.cache == "hit"
    streams = [k async for k in server.scan_iter(match=prefix + "sem:*")]
    # one partition (the same model, parameters and no earlier turns), two questions in it
    assert len(streams) == 1
    assert await server.type(streams[0]) == b"stream" and await server.xlen(streams[0]) == 2
    assert 0 < await server.pttl(streams[0]) <= 3_600_000


async def test_tenants_stay_apart_in_redis(redis: tuple[Any, str]) -> None:
    _, prefix = redis
    ann, bob = Subject(key_id="k1", user="ann"), Subject(key_id="k2", user="bob")
    async with replica(prefix) as a, replica(prefix) as b:
        await a.chat("How do I reset my password?", temperature=0, subject=ann)
        other = await b.chat("How can I reset my password?", temperature=0, subject=bob)
        same = await b.chat("How can I reset my password?", temperature=0, subject=ann)
        assert (other.meta.cache, same.meta.cache) == ("miss", "hit")


async def test_redis_down_costs_only_the_semantic_hit() -> None:
    model_or_skip()
    settings = Settings(
        cache={
            "enabled": True,
            "backend": "redis",
            "redis_url": "redis://127.0.0.1:1/0",  # nothing listens there
            "prefix": unique_prefix(),
            "semantic": {"enabled": True, "threshold": 0.8},
        },
        ledger={"enabled": False},
    )
    async with Client(settings) as client:
        a = await client.chat("How do I reset my password?", temperature=0)
        b = await client.chat("How can I reset my password?", temperature=0)
        assert a.text and b.text and client.simulator.stats.total_requests == 2


async def test_records_a_replica_cannot_use_are_skipped(redis: tuple[Any, str]) -> None:
    server, prefix = redis
    async with replica(prefix) as a, replica(prefix) as b:
        await a.chat("How do I delete my account?", temperature=0)
        (stream,) = [k async for k in server.scan_iter(match=prefix + "sem:*")]
        # another model's vector (3 numbers), and a record without its fields
        await server.xadd(stream, {"k": "x" * 32, "v": b"\0" * 12, "e": "9e99"})
        await server.xadd(stream, {"junk": "1"})
        para = await b.chat("How can I delete my account?", temperature=0)
        assert para.meta.cache == "hit" and b.simulator.stats.total_requests == 0
