"""The breaker rules against a real Redis (127.0.0.1:6379), and sharing between replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from tests.limits.redis_support import redis_fixture
from tests.resilience.test_breaker import CFG, SCENARIOS, Clock, Make

from llmrelay.resilience.breaker import BreakerConfig
from llmrelay.resilience.breaker_redis import RedisBreakers


@pytest.fixture
async def redis():
    async for pair in redis_fixture():
        yield pair


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
async def test_redis_breakers(redis, scenario: Callable[[Make], Awaitable[None]]) -> None:
    client, prefix = redis
    await scenario(lambda cfg, clock: RedisBreakers(client, prefix, cfg, clock=clock))


async def test_replicas_share_state_and_one_probe(redis) -> None:
    client, prefix = redis
    clock = Clock()
    one, two = (RedisBreakers(client, prefix, CFG, clock=clock) for _ in range(2))
    for store in (one, two):
        await store.record("east", "failure", False)
        await store.record("east", "failure", False)
    assert not (await one.acquire("east")).allowed  # opened by the two replicas' results together
    assert not (await two.views(["east"]))["east"].available
    clock.now += 5
    permits = await asyncio.gather(*(s.acquire("east") for s in (one, two, one, two)))
    assert sum(p.allowed for p in permits) == 1  # exactly one probe across replicas
    assert await client.ttl(f"{prefix}east") > 0  # idle breakers expire


async def test_windows_survive_fractional_times(redis) -> None:
    client, prefix = redis
    clock = Clock()
    clock.now += 0.123456
    store = RedisBreakers(client, prefix, BreakerConfig(min_volume=2, window=0.5, cooldown=0.25), clock=clock)
    await store.record("a", "failure", False)
    t = await store.record("a", "failure", False)
    assert t is not None and t.new == "open"
    permit = await store.acquire("a")
    assert permit.retry_in == pytest.approx(0.25, abs=1e-6)


async def test_an_unreachable_redis_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    store = RedisBreakers(client, "x:", CFG)
    try:
        assert (await store.acquire("a")).allowed
        assert await store.record("a", "failure", False) is None
        assert (await store.views(["a"]))["a"].available
    finally:
        await client.aclose()
    assert any(getattr(r, "event", None) == "circuit_state_unavailable" for r in caplog.records)
