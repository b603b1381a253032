"""The ratelimit middleware through a Client and the in-process simulator."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

import llmrelay
from llmrelay import Settings
from llmrelay.errors import ConfigError, RateLimitError
from llmrelay.limits.ratelimit_memory import MemoryLimiterBackend
from llmrelay.middleware.ratelimit import RateLimitMiddleware
from llmrelay.pipeline import Attempt, Call
from llmrelay.types import ChatRequest, Message, Subject

DEP = "simulator/sim-1"  # the deployment behind the default alias


def client(**limits: Any) -> llmrelay.Client:
    return llmrelay.Client(Settings.load(limits=limits), environ={})


def middleware(c: llmrelay.Client) -> RateLimitMiddleware:
    found = [m for m in c._middleware if isinstance(m, RateLimitMiddleware)]
    assert len(found) == 1
    return found[0]


async def test_no_limits_configured_means_no_middleware() -> None:
    async with client() as c:
        assert not any(isinstance(m, RateLimitMiddleware) for m in c._middleware)


async def test_fail_mode_refuses_locally_with_retry_after() -> None:
    async with client(mode="fail", window=10, deployments={DEP: {"rpm": 2}}) as c:
        await c.chat("one")
        await c.chat("two")
        with pytest.raises(RateLimitError) as err:
            await c.chat("three")
        assert err.value.code == "local_rpm_limit" and err.value.status is None
        assert err.value.retry_after is not None and 9 < err.value.retry_after <= 10
        assert c.simulator.stats.total_requests == 2  # the third never left


async def test_wait_mode_keeps_the_provider_under_its_own_limit() -> None:
    window = 0.3
    async with client(mode="wait", window=window, deployments={DEP: {"rpm": 4}}) as c:
        sim = c.simulator
        sim.config = replace(sim.config, rpm_limit=4, rate_window=window)
        t0 = time.monotonic()
        replies = await asyncio.gather(*(c.chat(f"call {i}") for i in range(12)))
        elapsed = time.monotonic() - t0
    assert len(replies) == 12
    assert sim.stats.rate_limited == 0 and sim.stats.statuses.get(429, 0) == 0
    assert sim.stats.peak_window_requests <= 4
    assert 2 * window <= elapsed < 3 * window + 0.5  # 12 calls at 4 per window


async def test_users_and_keys_have_their_own_limits() -> None:
    async with client(mode="fail", window=10, users={"*": {"rpm": 1}}, keys={"vip": {"rpm": 2}}) as c:
        await c.chat("hi", user="alice")
        await c.chat("hi", user="bob")
        with pytest.raises(RateLimitError, match="user:alice"):
            await c.chat("again", user="alice")
        vip = Subject(key_id="vip")
        for _ in range(2):
            await c.chat("hi", subject=vip)
        with pytest.raises(RateLimitError, match="key:vip"):
            await c.chat("hi", subject=vip)
        for _ in range(3):  # metadata is the caller's to write: it names no key
            await c.chat("hi", metadata={"key": "vip"})
        await c.chat("no key, no user: unlimited")


async def test_tokens_are_settled_at_actual_usage() -> None:
    async with client(mode="fail", window=10, deployments={DEP: {"tpm": 5000}}) as c:
        mw = middleware(c)
        backend = mw.limiter.backend
        assert isinstance(backend, MemoryLimiterBackend)
        reply = await c.chat("Hello there", max_tokens=50)
        assert reply.usage is not None
        assert backend.usage(f"deployment:{DEP}:tpm") == reply.usage.total_tokens
        final = await c.stream("Hello there", max_tokens=50).final()
        assert final.usage is not None
        assert backend.usage(f"deployment:{DEP}:tpm") == reply.usage.total_tokens + final.usage.total_tokens


async def test_the_token_claim_is_prompt_plus_output_bound() -> None:
    async with client(deployments={DEP: {"tpm": 1000}}) as c:
        mw = middleware(c)
        req = ChatRequest(model="local", messages=(Message.user("Hello there"),), max_tokens=300)
        [claim] = mw.claims(Call(req))
        assert claim.key == f"deployment:{DEP}" and 300 < claim.tokens < 330
        # no max_tokens: the catalog's max output (16384) is capped at the tpm limit
        [claim] = mw.claims(Call(replace(req, max_tokens=None)))
        assert claim.tokens == 1000
        with pytest.raises(ConfigError, match="lower max_tokens"):
            await c.chat(replace(req, max_tokens=5000))


async def test_a_stream_holds_its_place_in_flight_until_it_ends() -> None:
    async with client(mode="fail", deployments={DEP: {"concurrency": 1}}) as c:
        stream = c.stream("Tell me a story", max_tokens=40)
        it = stream.__aiter__()
        await it.__anext__()
        with pytest.raises(RateLimitError, match="at most 1 calls in flight"):
            await c.chat("meanwhile")
        async for _ in it:
            pass
        await c.chat("afterwards")


async def test_routing_choice_picks_the_deployment_limits() -> None:
    models = {
        "pair": {
            "deployments": [
                {"provider": "simulator", "model": "sim-1"},
                {"provider": "simulator", "model": "sim-2"},
            ]
        }
    }
    s = Settings.load(models=models, limits={"deployments": {"simulator/sim-2": {"rpm": 1}}})
    async with llmrelay.Client(s, environ={}) as c:
        mw = middleware(c)
        req = ChatRequest(model="pair", messages=(Message.user("x"),))
        route = c.route("pair")
        assert mw.claims(Call(req, route=route)) == []  # the first deployment is unlimited
        [claim] = mw.claims(Call(req, route=route, attempt=Attempt(route.deployments[1], 1)))
        assert claim.key == "deployment:simulator/sim-2"


@pytest.mark.parametrize(
    ("limits", "needle"),
    [
        ({"deployments": {DEP: {"rpm": -5}}}, f"limits.deployments.{DEP}.rpm"),
        ({"users": {"*": {"tpm": "lots"}}}, "limits.users.*.tpm"),
        ({"keys": {"k": {"concurrency": 1.5}}}, "limits.keys.k.concurrency"),
        ({"window": -1}, "limits.window"),
        ({"mode": "sometimes"}, "limits.mode"),
        ({"max_wait": "soon"}, "limits.max_wait"),
    ],
)
def test_bad_limits_fail_at_load_naming_the_entry(limits, needle) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(limits=limits)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("budgets", "needle"),
    [
        ({"rules": [{"scope": "user", "period": "day", "hard": -1}]}, "budgets.rules.0.hard"),
        ({"rules": [{"scope": "user", "period": "day", "soft": "ten"}]}, "budgets.rules.0.soft"),
        ({"rules": [{"scope": "user", "period": "day", "hard": True}]}, "budgets.rules.0.hard"),
        ({"rules": [{"scope": "user", "period": "day", "hard": float("inf")}]}, "budgets.rules.0.hard"),
        ({"rules": [{"scope": "org", "period": "day", "hard": 1}]}, "budgets.rules.0.scope"),
        ({"rules": [{"scope": "user", "period": "day", "hard": 1, "soft": 2}]}, "above the hard limit"),
        ({"rules": [{"scope": "global", "period": "day", "hard": 1, "name": "x"}]}, "has no name"),
        ({"rules": [{"scope": "user", "period": "day"}]}, "a hard limit, a soft limit or both"),
        ({"estimate_margin": -0.1}, "budgets.estimate_margin"),
    ],
)
def test_bad_budgets_fail_at_load_naming_the_entry(budgets, needle) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(budgets=budgets)
    assert needle in str(err.value)


def test_limits_from_a_yaml_file(tmp_path) -> None:
    path = tmp_path / "llmrelay.yaml"
    path.write_text("limits:\n  deployments:\n    openai/gpt-4o: {rpm: -3}\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    assert str(path) in str(err.value) and "limits.deployments.openai/gpt-4o.rpm" in str(err.value)


async def test_each_attempt_is_charged_to_its_deployment_and_a_refusal_moves_on_without_waiting() -> None:
    models = {
        "pair": {
            "deployments": [
                {"provider": "simulator", "model": "sim-1"},
                {"provider": "simulator", "model": "sim-2"},
            ]
        }
    }
    limits = {
        "mode": "fail",
        "window": 10,
        "deployments": {"simulator/sim-1": {"rpm": 1}, "simulator/sim-2": {"rpm": 1}},
    }
    async with llmrelay.Client(Settings.load(models=models, limits=limits), environ={}) as c:
        first = await c.chat("one", model="pair")
        second = await c.chat("two", model="pair")
        # whichever deployment the router picked second, the limit sent it to the other one
        assert {first.meta.deployment, second.meta.deployment} == {"simulator/sim-1", "simulator/sim-2"}
        t0 = time.monotonic()
        with pytest.raises(RateLimitError) as err:
            await c.chat("three", model="pair")
        assert time.monotonic() - t0 < 1.0  # fail mode: refused at once, not waited out
        assert err.value.status is None and err.value.retry_after is not None
        assert c.simulator.stats.total_requests == 2
