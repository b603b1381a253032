"""Hedged requests: after the primary's p95, race another deployment; the loser is cancelled."""

from __future__ import annotations

import time

from tests.resilience.sims import deployment, relay, router_of

from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.types.report import HedgeInfo

HEDGE = {"hedge": {"enabled": True, "min_samples": 3, "min_delay": 0.05}}


def fleet(slow_latency: float, other_latency: float) -> dict[str, Simulator]:
    return {
        "slow": Simulator(SimulatorConfig(latency=slow_latency)),
        "other": Simulator(SimulatorConfig(latency=other_latency)),
    }


DEPS = [deployment("slow", weight=1e6), deployment("other", weight=1e-6)]


async def test_a_slow_primary_is_beaten_by_the_hedge() -> None:
    sims = fleet(1.0, 0.0)
    async with relay(sims, deployments=DEPS, routing=HEDGE) as client:
        router = router_of(client)
        for _ in range(3):
            router.health("slow").observe(latency=0.1)  # its p95 so far
        t0 = time.monotonic()
        reply = await client.chat("hurry")
        elapsed = time.monotonic() - t0
        assert reply.text == expected_text("hurry", seed=0)
        assert 0.1 <= elapsed < 0.5
        assert reply.meta.hedged == HedgeInfo("other", 0.1, "hedge")
        assert reply.meta.deployment == "other"
        assert reply.meta.attempts == 2 and reply.meta.deployments_tried == ["slow", "other"]
        assert router.budget.retries_total == 1
        assert router.health("slow").in_flight == router.health("other").in_flight == 0
        assert router.health("slow").samples == 3  # the loser's time is not a latency sample
        assert router.health("other").latency is not None
    assert sims["slow"].stats.total_requests == 1 and sims["other"].stats.total_requests == 1


async def test_the_primary_can_still_win() -> None:
    sims = fleet(0.2, 1.0)
    async with relay(sims, deployments=DEPS, routing=HEDGE) as client:
        router = router_of(client)
        for _ in range(3):
            router.health("slow").observe(latency=0.05)
        t0 = time.monotonic()
        reply = await client.chat("hurry")
        assert 0.2 <= time.monotonic() - t0 < 0.6
        assert (
            reply.meta.hedged is not None
            and reply.meta.hedged.winner == "primary"
            and reply.meta.deployment == "slow"
        )
        assert router.health("other").in_flight == 0 and router.health("other").latency is None


async def test_a_failing_primary_leaves_the_hedge_to_answer() -> None:
    sims = fleet(0.3, 0.0)
    sims["slow"].faults = FaultSequence([Fault.rate_limited(retry_after=10)])
    async with relay(sims, deployments=DEPS, routing=HEDGE) as client:
        router = router_of(client)
        for _ in range(3):
            router.health("slow").observe(latency=0.5)
        reply = await client.chat("hurry")  # the 429 arrives at 0.3 s, before the hedge at 0.5 s
        assert reply.meta.deployments_tried == ["slow", "other"] and reply.meta.hedged is None
        assert reply.meta.routing[0].kind == "cooldown"


async def test_no_hedge_without_samples_budget_or_for_streams() -> None:
    sims = fleet(0.3, 0.0)
    budget = {"ratio": 0, "min_retries": 0}
    async with relay(sims, deployments=DEPS, routing=HEDGE, retry={"budget": budget}) as client:
        router = router_of(client)
        reply = await client.chat("first")  # no latency known yet
        assert reply.meta.hedged is None
        for _ in range(3):
            router.health("slow").observe(latency=0.05)
        reply = await client.chat("second")  # the budget has nothing to spare
        assert reply.meta.hedged is None and reply.meta.deployment == "slow"
        streamed = await client.stream("third").final()
        assert streamed.meta.hedged is None
    assert sims["other"].stats.total_requests == 0


async def test_hedging_is_opt_in_per_alias() -> None:
    sims = fleet(0.3, 0.0)
    models = {"chat": {"deployments": DEPS, "hedge": False}}
    async with relay(sims, models=models, routing=HEDGE) as client:
        for _ in range(3):
            router_of(client).health("slow").observe(latency=0.05)
        assert (await client.chat("x")).meta.hedged is None
