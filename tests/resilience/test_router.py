from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

import pytest

from llmrelay import errors
from llmrelay.resilience.breaker import BreakerConfig, MemoryBreakers
from llmrelay.resilience.router import Lease, Router, Unavailable
from llmrelay.resolve import Deployment, Route
from llmrelay.secrets import Secret
from llmrelay.settings import Settings
from llmrelay.types import ChatRequest, Message
from llmrelay.types.report import RoutingEvent
from llmrelay.wire import Endpoint

REQ = ChatRequest(model="m", messages=(Message.user("hello"),))
K1, K2 = Secret("sk-pool-key-one-111"), Secret("sk-pool-key-two-222")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def dep(
    name: str, *, weight: float = 1.0, keys: tuple[Secret, ...] = (), price: tuple[float, float] | None = None
) -> Deployment:
    ep = Endpoint("openai", "m", f"http://{name}", api_key=keys[0] if keys else None, host="h")
    return Deployment("alias", ep, weight, name, keys, price)


def router(clock: Clock, **settings: object) -> Router:
    breakers = MemoryBreakers(BreakerConfig(min_volume=2, cooldown=10), clock=clock)
    return Router(Settings.load(**settings), breakers=breakers, clock=clock, rng=random.Random(0))


async def take(r: Router, route: Route, **kw: object) -> Lease:
    got = await r.acquire(route, request=REQ, stream=False, **kw)  # type: ignore[arg-type]
    assert isinstance(got, Lease), got
    return got


async def test_weights_and_avoid() -> None:
    clock = Clock()
    r = router(clock)
    route = Route("alias", (dep("a", weight=3), dep("b", weight=1)))
    counts = Counter()
    for _ in range(2000):
        lease = await take(r, route)
        counts[lease.name] += 1
        r.release(lease)
    assert 0.72 < counts["a"] / 2000 < 0.78
    assert {(await take(r, route, avoid={"a"})).name for _ in range(20)} == {"b"}
    # avoiding everything still gives an answer: better the same deployment than none
    assert (await take(r, route, avoid={"a", "b"})).name in ("a", "b")


async def test_in_flight_and_latency_are_tracked() -> None:
    clock = Clock()
    r = router(clock, routing={"strategy": "least_in_flight"})
    route = Route("alias", (dep("a"), dep("b")))
    first = await take(r, route)
    second = await take(r, route)
    assert {first.name, second.name} == {"a", "b"}  # the busy one is passed over
    assert r.health("a").in_flight == r.health("b").in_flight == 1
    clock.now += 0.25
    r.release(first)
    assert r.health(first.name).latency == pytest.approx(0.25) and r.health(first.name).in_flight == 0
    r.release(second, asyncio.CancelledError())
    assert r.health(second.name).latency is None  # a cancelled attempt teaches nothing


async def test_lowest_latency_uses_ttft_for_streams() -> None:
    clock = Clock()
    r = router(clock, routing={"strategy": "lowest_latency", "explore": 0})
    route = Route("alias", (dep("a"), dep("b")))
    r.health("a").observe(latency=0.5, ttft=0.4)
    r.health("b").observe(latency=2.0, ttft=0.1)
    assert (await take(r, route)).name == "a"
    assert (await r.acquire(route, request=REQ, stream=True)).name == "b"  # type: ignore[union-attr]


async def test_lowest_cost_with_configured_and_catalog_prices() -> None:
    clock = Clock()
    r = Router(
        Settings.load(routing={"strategy": "lowest_cost"}),
        clock=clock,
        price_of=lambda d: (0.01, 0.01) if d.name == "c" else None,
    )
    route = Route("alias", (dep("a", price=(5.0, 15.0)), dep("b", price=(0.15, 0.6)), dep("c")))
    assert {(await take(r, route)).name for _ in range(10)} == {"c"}
    r2 = Router(Settings.load(routing={"strategy": "lowest_cost"}), clock=clock)
    assert {(await take(r2, route)).name for _ in range(10)} == {"b"}


async def test_rate_limit_cools_a_deployment_for_its_retry_after() -> None:
    clock = Clock()
    r = router(clock)
    route = Route("alias", (dep("a"), dep("b")))
    lease = await take(r, route, avoid={"b"})
    events = r.release(lease, errors.RateLimitError("slow", status=429, retry_after=3))
    assert events == [RoutingEvent("cooldown", "a", seconds=3)]
    assert {(await take(r, route)).name for _ in range(10)} == {"b"}
    only_a = Route("alias", (dep("a"),))
    got = await r.acquire(only_a, request=REQ, stream=False)
    assert isinstance(got, Unavailable) and got.wait == pytest.approx(3)
    assert isinstance(got.error, errors.RateLimitError) and "a: rate limited (3.0 s left)" in str(got.error)
    clock.now += 3
    assert (await take(r, only_a)).name == "a"


async def test_rate_limit_without_retry_after_uses_the_default_and_quota_a_long_one() -> None:
    clock = Clock()
    r = router(clock, routing={"rate_limit_cooldown": 2, "quota_cooldown": 600})
    route = Route("alias", (dep("a"),))
    r.release(await take(r, route), errors.RateLimitError("slow"))
    clock.now += 2
    lease = await take(r, route)
    r.release(lease, errors.QuotaExceededError("no credit", retry_after=1))
    got = await r.acquire(route, request=REQ, stream=False)
    assert isinstance(got, Unavailable) and got.wait == pytest.approx(600)


async def test_key_pool_rotates_cools_and_removes(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    r = router(clock)
    d = dep("a", keys=(K1, K2))
    route = Route("alias", (d,))
    leases = [await take(r, route) for _ in range(4)]
    assert [lease.deployment.endpoint.api_key for lease in leases] == [K1, K2, K1, K2]
    for lease in leases:
        r.release(lease)
    lease = await take(r, route)  # K1
    ev = r.release(lease, errors.RateLimitError("slow", retry_after=5))
    assert ev[0].key == K1.fingerprint
    assert {(await take(r, route)).deployment.endpoint.api_key for _ in range(3)} == {K2}
    clock.now += 5
    lease = await take(r, route)
    assert lease.deployment.endpoint.api_key == K1
    with caplog.at_level(logging.WARNING, logger="llmrelay.keys"):
        ev = r.release(lease, errors.AuthenticationError("bad key", status=401))
    assert ev == [RoutingEvent("key_removed", "a", key=K1.fingerprint, status=401, keys_left=1)]
    record = next(rec for rec in caplog.records if getattr(rec, "event", None) == "key_removed")
    assert record.key == K1.fingerprint  # type: ignore[attr-defined]
    assert "sk-pool" not in caplog.text
    assert {(await take(r, route)).deployment.endpoint.api_key for _ in range(4)} == {K2}
    r.release(await take(r, route), errors.PermissionDeniedError("no", status=403))
    got = await r.acquire(route, request=REQ, stream=False)
    assert isinstance(got, Unavailable) and got.wait is None
    assert isinstance(got.error, errors.AuthenticationError) and "sk-pool" not in str(got.error)


async def test_open_circuits_are_skipped_and_not_waited_for() -> None:
    clock = Clock()
    r = router(clock)
    assert r.breakers is not None
    route = Route("alias", (dep("a"), dep("b")))
    for _ in range(2):
        await r.breakers.record("a", "failure", False)
    assert {(await take(r, route)).name for _ in range(20)} == {"b"}
    got = await r.acquire(route, request=REQ, stream=False, exclude={"b"})
    assert isinstance(got, Unavailable) and got.wait is None  # circuits: go elsewhere, don't sit
    assert isinstance(got.error, errors.CircuitOpenError) and got.error.retry_after == pytest.approx(10)
    clock.now += 10
    assert "a" in {(await take(r, route)).name for _ in range(40)}  # cool-down over: a probe may go


async def test_hedge_delay_needs_samples_and_stays_in_bounds() -> None:
    r = router(
        Clock(), routing={"hedge": {"enabled": True, "min_samples": 5, "min_delay": 0.2, "max_delay": 1.0}}
    )
    for _ in range(4):
        r.health("a").observe(latency=0.5)
    assert r.hedge_delay("a") is None
    r.health("a").observe(latency=0.5)
    assert r.hedge_delay("a") == 0.5
    for _ in range(200):  # the recent samples are all quick now
        r.health("a").observe(latency=0.01)
    assert r.hedge_delay("a") == 0.2
    for _ in range(100):
        r.health("a").observe(latency=9.0)
    assert r.hedge_delay("a") == 1.0
    assert r.hedging("anything")


async def test_same_named_deployments_with_different_keys_never_share_a_pool() -> None:
    r = router(Clock())
    tenant_a = Route("a", (dep("shared", keys=(K1,)),))
    tenant_b = Route("b", (dep("shared", keys=(K2,)),))
    assert tenant_a.deployments[0].name == tenant_b.deployments[0].name  # the same upstream name
    for _ in range(3):
        assert (await take(r, tenant_a)).deployment.endpoint.api_key == K1
        assert (await take(r, tenant_b)).deployment.endpoint.api_key == K2


async def test_excluded_deployments_are_named_for_why_they_were_excluded() -> None:
    from llmrelay.resilience.router import LOCAL_LIMIT, TOO_SMALL, Exclusions

    r = router(Clock())
    route = Route("alias", (dep("small"), dep("limited")))
    exclude = Exclusions()
    exclude.exclude("small", TOO_SMALL)
    exclude.exclude("limited", LOCAL_LIMIT)
    got = await r.acquire(route, request=REQ, stream=False, exclude=exclude)
    assert isinstance(got, Unavailable)
    message = got.error.message
    assert "small: context window too small" in message and "limited: refused by llmrelay" in message
    assert "circuit open" not in message  # neither was skipped for its circuit
    assert isinstance(got.error, errors.RateLimitError)  # a local limit is a rate limit, not an outage
