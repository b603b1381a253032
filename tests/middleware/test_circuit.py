"""Circuit breakers in a Client: an outage opens the circuit, traffic moves, one probe closes it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.limits.redis_support import REDIS_URL, redis_fixture
from tests.resilience.sims import relay, router_of

from llmrelay import errors
from llmrelay.simulator import Fault, FaultSequence, NoFaults, Simulator, SimulatorConfig, expected_text
from llmrelay.types.report import CircuitChange

# the outage phase must finish inside the cooldown, on a loaded machine too
CIRCUIT = {"min_volume": 5, "failure_rate": 0.5, "window": 30, "cooldown": 2.0}
RETRY = {"base_delay": 0.01, "max_delay": 0.02, "max_attempts": 3}


async def outage_then_recovery(
    a: Simulator, b: Simulator, clients: list, caplog: pytest.LogCaptureFixture
) -> list[CircuitChange]:
    """Drive ``clients`` (replicas) through an outage of ``a`` and its recovery; return transitions seen."""
    a.faults = FaultSequence([Fault.error(503)] * 1000)
    transitions: list[CircuitChange] = []
    for i in range(40):
        reply = await clients[i % len(clients)].chat(f"question {i}")
        assert reply.text == expected_text(f"question {i}", seed=0)  # every call still answered
        transitions += reply.meta.circuit
    # It opened after exactly the configured volume of failures, then a saw nothing more.
    assert a.stats.total_requests == CIRCUIT["min_volume"]
    assert transitions == [CircuitChange("a", "closed", "open")]
    opened = [r for r in caplog.records if getattr(r, "event", None) == "circuit_transition"]
    assert [(r.old_state, r.new_state) for r in opened] == [("closed", "open")]  # type: ignore[attr-defined]
    assert opened[0].levelno == logging.WARNING and opened[0].volume == 5  # type: ignore[attr-defined]

    a.faults = NoFaults()  # recovered; its answers take 0.3 s, so the probe is in flight a while
    await asyncio.sleep(CIRCUIT["cooldown"])
    replies = await asyncio.gather(*(clients[i % len(clients)].chat(f"burst {i}") for i in range(20)))
    assert a.stats.total_requests == CIRCUIT["min_volume"] + 1  # one probe, however many callers
    burst = [t for r in replies for t in r.meta.circuit]
    assert CircuitChange("a", "half_open", "closed") in burst
    served_by_a = [r for r in replies if r.meta.deployment == "a"]
    assert len(served_by_a) == 1 and served_by_a[0].meta.attempts == 1
    # closed again: a takes its share of traffic
    await asyncio.gather(*(clients[i % len(clients)].chat(f"after {i}") for i in range(30)))
    assert a.stats.total_requests > CIRCUIT["min_volume"] + 3
    return transitions


async def test_outage_opens_moves_traffic_and_one_probe_closes(caplog: pytest.LogCaptureFixture) -> None:
    a, b = Simulator(SimulatorConfig(latency=0.3)), Simulator()
    caplog.set_level(logging.INFO, logger="llmrelay.circuit")
    async with relay({"a": a, "b": b}, circuit=CIRCUIT, retry=RETRY) as client:
        await outage_then_recovery(a, b, [client], caplog)


async def test_replicas_share_circuits_through_redis(caplog: pytest.LogCaptureFixture) -> None:
    async for redis, prefix in redis_fixture():
        a, b = Simulator(SimulatorConfig(latency=0.3)), Simulator()
        state = {"redis_url": REDIS_URL, "prefix": prefix}
        caplog.set_level(logging.INFO, logger="llmrelay.circuit")
        async with (
            relay({"a": a, "b": b}, circuit=CIRCUIT, retry=RETRY, state=state) as one,
            relay({"a": a, "b": b}, circuit=CIRCUIT, retry=RETRY, state=state) as two,
        ):
            await outage_then_recovery(a, b, [one, two], caplog)
        assert await redis.exists(f"{prefix}circuit:a")  # type: ignore[attr-defined]


async def test_an_open_circuit_with_nowhere_else_to_go_fails_fast() -> None:
    a = Simulator()
    a.faults = FaultSequence([Fault.error(500)] * 100)
    async with relay({"a": a}, circuit={**CIRCUIT, "cooldown": 30}, retry=RETRY) as client:
        for _ in range(2):
            with pytest.raises(errors.ServiceUnavailableError):
                await client.chat("hi")
        assert a.stats.total_requests == 5  # the 5th failure opened it: no 6th attempt
        with pytest.raises(errors.CircuitOpenError, match=r"a: circuit open \(\d+\.\d s left\)") as info:
            await client.chat("hi")
        assert info.value.retry_after is not None and 29 < info.value.retry_after <= 30
        assert a.stats.total_requests == 5
        assert router_of(client).health("a").in_flight == 0


async def test_client_errors_do_not_open_a_circuit() -> None:
    a = Simulator()
    a.faults = FaultSequence([Fault.error(400)] * 10 + [Fault.rate_limited(retry_after=0)] * 10)
    async with relay({"a": a}, circuit=CIRCUIT, retry={**RETRY, "max_attempts": 1}) as client:
        for _ in range(20):
            with pytest.raises(errors.APIError):
                await client.chat("hi")
        assert (await client.chat("hi")).text


async def test_a_stream_that_breaks_counts_against_its_deployment() -> None:
    a = Simulator()
    a.faults = FaultSequence([Fault("cut_stream", after_pieces=2)] * 5)
    async with relay({"a": a}, circuit=CIRCUIT, retry=RETRY) as client:
        for _ in range(5):
            with pytest.raises(errors.StreamTruncatedError):
                await client.stream("a story").final()
        with pytest.raises(errors.CircuitOpenError):
            await client.stream("a story").final()
    assert a.stats.total_requests == 5
