"""The Redis limiter backend against the machine's Redis: the same behaviour as in memory,
shared by independent limiters (as separate processes would be)."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.limits.test_ratelimit import max_in_window

from llmrelay.errors import RateLimitError
from llmrelay.limits.ratelimit import Claim, Limiter, Limits, Slot
from llmrelay.limits.ratelimit_redis import RedisLimiterBackend

W = 0.4


async def test_fail_fast_and_retry_after(redis) -> None:
    client, prefix = redis
    limiter = Limiter(RedisLimiterBackend(client, prefix), limits=Limits(rpm=2, window=W), max_wait=0)
    for _ in range(2):
        async with limiter.acquire("dep"):
            pass
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("dep")
    assert err.value.code == "local_rpm_limit"
    assert err.value.retry_after is not None and 0.5 * W < err.value.retry_after <= W
    await asyncio.sleep(err.value.retry_after + 0.02)
    await (await limiter.acquire("dep")).settle()


async def test_tokens_settle_and_all_or_nothing(redis) -> None:
    client, prefix = redis
    backend = RedisLimiterBackend(client, prefix)
    limiter = Limiter(backend, max_wait=0)
    dep, user = Limits(tpm=1000, window=W), Limits(rpm=1, window=W)
    permit = await limiter.acquire_all([Claim("dep", dep, 900), Claim("user:a", user)])
    assert await backend.usage("dep:tpm") == 900
    await permit.settle(tokens=100)
    assert await backend.usage("dep:tpm") == 100
    with pytest.raises(RateLimitError, match="user:a"):
        await limiter.acquire_all([Claim("dep", dep, 10), Claim("user:a", user)])
    assert await backend.usage("dep:tpm") == 100


async def test_leases_and_concurrency(redis) -> None:
    client, prefix = redis
    backend = RedisLimiterBackend(client, prefix)
    limiter = Limiter(backend, limits=Limits(concurrency=1), max_wait=0, lease=0.2)
    await limiter.acquire("k")  # leaked
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("k")
    assert err.value.code == "local_concurrency_limit"
    await asyncio.sleep(0.25)
    await (await limiter.acquire("k")).settle()
    assert await backend.usage("k:concurrency") == 0


async def test_two_limiters_share_one_limit(redis) -> None:
    # Two Limiters on one Redis stand for two processes: neither sees the other's queue,
    # only the shared counters.
    client, prefix = redis
    limits = Limits(rpm=6, concurrency=4, window=W)
    limiters = [Limiter(RedisLimiterBackend(client, prefix), limits=limits, max_wait=10) for _ in range(2)]
    admitted: list[float] = []
    now_in, peak = 0, 0

    async def one(limiter: Limiter) -> None:
        nonlocal now_in, peak
        async with limiter.acquire("shared"):
            admitted.append(time.monotonic())
            now_in += 1
            peak = max(peak, now_in)
            await asyncio.sleep(0.01)
            now_in -= 1

    t0 = time.monotonic()
    await asyncio.gather(*(one(limiters[i % 2]) for i in range(24)))
    assert max_in_window(admitted, W) <= 6
    assert peak <= 4
    assert time.monotonic() - t0 < 4 * W + 0.5  # 24 at 6 per window: about three windows


async def test_keys_expire_when_idle(redis) -> None:
    client, prefix = redis
    backend = RedisLimiterBackend(client, prefix)
    slot = Slot("idle:rpm", 5, 1, 0.2, "rpm")
    assert await backend.try_acquire([slot], "p", lease=0.3) is None
    await backend.settle([slot], "p", [1])
    assert await client.exists(prefix + "rl:idle:rpm:t")
    await asyncio.sleep(1.6)  # max(lease, hold) + 1 s
    assert not [k async for k in client.scan_iter(match=prefix + "rl:idle:*")]


async def test_a_refusal_elsewhere_keeps_every_counter_exact(redis) -> None:
    # Expired entries dropped while looking at a counter must leave its total right even
    # when another counter refuses the call.
    client, prefix = redis
    backend = RedisLimiterBackend(client, prefix)
    a, full = Slot("a:rpm", 1, 1, 0.1, "rpm"), Slot("full:rpm", 1, 1, 30.0, "rpm")
    assert await backend.try_acquire([a, full], "p", lease=60) is None
    await backend.settle([a, full], "p", [1, 1])
    await asyncio.sleep(0.15)  # a's entry has expired, full's has not
    denied = await backend.try_acquire([a, full], "q", lease=60)
    assert denied is not None and denied[0] == 1
    assert await backend.usage("a:rpm") == 0
    assert await backend.try_acquire([a], "r", lease=60) is None
