"""The retry layer against in-process simulators: what is retried, how long it waits, and when it stops."""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import fields

import pytest
from tests.resilience.sims import Canned, deployment, relay, router_of

import llmrelay
from llmrelay import errors
from llmrelay.providers.base import parse_retry_after
from llmrelay.secrets import Secret
from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.transport.http import Timeouts
from llmrelay.types.report import Report, RoutingEvent

FAST = {"base_delay": 0.01, "max_delay": 0.05}


def sims(*names: str, faults: list[Fault | None] | None = None) -> dict[str, Simulator]:
    out = {n: Simulator() for n in names}
    if faults is not None:
        out[names[0]].faults = FaultSequence(faults)
    return out


async def test_transient_failures_are_retried_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    s = sims("a", faults=[Fault.error(503), Fault.overloaded(), Fault("reset"), Fault("malformed")])
    async with relay(s, retry={"max_attempts": 5, **FAST}) as client:
        with caplog.at_level(logging.INFO, logger="llmrelay.retry"):
            reply = await client.chat("hello there")
    assert reply.text == expected_text("hello there", seed=0)
    assert s["a"].stats.total_requests == 5
    assert reply.meta.attempts == 5 and reply.meta.deployments_tried == ["a"] * 5
    assert reply.meta.deployment == "a" and reply.meta.alias == "chat"
    assert reply.meta.errors == [
        "a: OverloadedError (503)",  # OpenAI's 503 says "overloaded"
        "a: OverloadedError (529)",
        "a: ConnectionError",
        "a: MalformedResponseError",
    ]
    retries = [r for r in caplog.records if getattr(r, "event", None) == "retry"]
    assert [r.attempt for r in retries] == [1, 2, 3, 4]  # type: ignore[attr-defined]
    assert all(r.deployment == "a" and r.delay <= 0.05 for r in retries)  # type: ignore[attr-defined]
    assert set(reply.meta.as_dict()) == {f.name for f in fields(Report)}  # documented fields only


async def test_max_attempts() -> None:
    s = sims("a", faults=[Fault.error(500)] * 10)
    async with relay(s, retry={"max_attempts": 3, **FAST}) as client:
        with pytest.raises(errors.ServiceUnavailableError):
            await client.chat("hi")
    assert s["a"].stats.total_requests == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_never_retried(status: int) -> None:
    s = sims("a", faults=[Fault.error(status)] * 3)
    async with relay(s, retry=FAST) as client:
        with pytest.raises(errors.APIError) as info:
            await client.chat("hi")
    assert info.value.status == status
    assert s["a"].stats.total_requests == 1


async def test_a_bad_key_is_never_retried_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    sim = Simulator(SimulatorConfig(api_keys={"sk-the-right-key-000000"}))
    dep = deployment("a", api_key_env="SIM_KEY")
    async with relay({"a": sim}, deployments=[dep], environ={"SIM_KEY": "sk-the-wrong-key-111111"}) as client:
        with caplog.at_level(logging.INFO):
            with pytest.raises(errors.AuthenticationError) as info:
                await client.chat("hi")
            assert sim.stats.statuses[401] == 1
            # the key is out of the pool now: the next call fails without sending anything
            with pytest.raises(errors.AuthenticationError, match="refused"):
                await client.chat("hi")
    assert sim.stats.statuses[401] == 1
    assert "sk-the-wrong" not in caplog.text + str(info.value) + repr(info.value)
    removed = [r for r in caplog.records if getattr(r, "event", None) == "key_removed"]
    assert len(removed) == 1 and removed[0].key == Secret("sk-the-wrong-key-111111").fingerprint  # type: ignore[attr-defined]


async def test_key_pool_moves_past_a_refused_key() -> None:
    sim = Simulator(SimulatorConfig(api_keys={"sk-good-key-2222222"}))
    dep = deployment("a", api_key_env=["KEY_ONE", "KEY_TWO"])
    env = {"KEY_ONE": "sk-revoked-key-11111", "KEY_TWO": "sk-good-key-2222222"}
    async with relay({"a": sim}, deployments=[dep], environ=env) as client:
        first = await client.chat("hi")
        assert first.meta.attempts == 2
        assert first.meta.routing == [
            RoutingEvent(
                "key_removed", "a", key=Secret("sk-revoked-key-11111").fingerprint, status=401, keys_left=1
            )
        ]
        for _ in range(3):
            assert (await client.chat("hi")).meta.attempts == 1  # only the good key from now on
    assert sim.stats.statuses[401] == 1 and sim.stats.statuses[200] == 4


def _openai_429(headers: dict[str, str]) -> tuple[int, dict[str, str], object]:
    return (
        429,
        headers,
        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after-ms": "700"},
        {"retry-after": "1"},
        {"retry-after": "date"},
        {"x-ratelimit-reset-requests": "800ms"},
    ],
    ids=["retry-after-ms", "seconds", "http-date", "x-ratelimit-reset"],
)
async def test_retry_after_is_honoured_within_ten_percent(headers: dict[str, str]) -> None:
    if headers.get("retry-after") == "date":
        # whole seconds only: somewhere between 1 and 2 s from now
        headers = {"retry-after": email.utils.formatdate(time.time() + 2, usegmt=True)}
    canned = Canned(Simulator().app, [_openai_429(headers)])
    async with relay({"a": canned}, retry=FAST) as client:
        reply = await client.chat("hi")
    (first, first_wall), (second, _) = canned.arrivals
    expected = parse_retry_after(headers, now=first_wall)
    assert expected is not None and expected >= 0.7
    assert expected <= second - first <= expected * 1.1
    assert reply.meta.attempts == 2 and reply.meta.waited == pytest.approx(expected, rel=0.1)


async def test_a_retry_after_beyond_the_cap_surfaces_at_once() -> None:
    canned = Canned(Simulator().app, [_openai_429({"retry-after": "120"})])
    async with relay({"a": canned}, retry={"max_retry_after": 60, **FAST}) as client:
        t0 = time.monotonic()
        with pytest.raises(errors.RateLimitError) as info:
            await client.chat("hi")
    assert time.monotonic() - t0 < 0.5 and info.value.retry_after == 120


async def test_a_rate_limited_deployment_is_skipped_while_it_cools_down() -> None:
    s = sims("a", "b")
    s["a"].faults = FaultSequence([Fault.rate_limited(retry_after=30)])
    async with relay(
        s, deployments=[deployment("a", weight=1000), deployment("b", weight=0.001)], retry=FAST
    ) as client:
        t0 = time.monotonic()
        first = await client.chat("hi")
        assert first.meta.deployments_tried == ["a", "b"]
        assert first.meta.routing == [RoutingEvent("cooldown", "a", seconds=30.0)]
        for _ in range(5):
            assert (await client.chat("hi")).meta.deployments_tried == ["b"]
    assert time.monotonic() - t0 < 1  # nobody waited for the 30 s
    assert s["a"].stats.total_requests == 1


async def test_deadline_is_not_exceeded_by_more_than_one_backoff_step() -> None:
    s = sims("a", faults=[Fault.error(503)] * 100)
    retry = {"max_attempts": 100, "base_delay": 0.1, "max_delay": 0.2, "deadline": 0.75}
    async with relay(s, retry=retry) as client:
        t0 = time.monotonic()
        with pytest.raises(errors.ServiceUnavailableError):
            await client.chat("hi")
        elapsed = time.monotonic() - t0
    assert elapsed <= 0.75 + 0.2
    assert s["a"].stats.total_requests >= 3


async def test_deadline_cuts_a_hanging_attempt() -> None:
    s = {"a": Simulator(SimulatorConfig(hang_seconds=30))}
    s["a"].faults = FaultSequence([Fault("hang")] * 5)
    async with relay(s, retry={"deadline": 0.5, **FAST}, timeouts=Timeouts(connect=2, read=30)) as client:
        t0 = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="deadline"):
            await client.chat("hi")
        assert time.monotonic() - t0 < 0.7
        with pytest.raises(errors.TimeoutError, match="deadline"):
            await client.stream("hi").final()
        assert router_of(client).health("a").in_flight == 0


async def test_the_retry_budget_bounds_an_outage() -> None:
    s = sims("a", faults=[Fault.error(503)] * 1000)
    retry = {"max_attempts": 5, **FAST, "budget": {"ratio": 0.2, "min_retries": 2, "window": 60}}
    async with relay(s, retry=retry, circuit={"enabled": False}) as client:
        for _ in range(20):
            with pytest.raises(errors.ServiceUnavailableError):
                await client.chat("hi")
        budget = router_of(client).budget
    assert s["a"].stats.total_requests == 20 + 6  # 0.2 * 20 + 2 retries, however many were wanted
    assert (budget.calls_total, budget.retries_total) == (20, 6) and budget.denied_total > 0


async def test_retries_off_means_one_attempt() -> None:
    s = sims("a", faults=[Fault.error(503)])
    async with relay(s, retry={"enabled": False}) as client:
        with pytest.raises(errors.ServiceUnavailableError):
            await client.chat("hi")
    assert s["a"].stats.total_requests == 1


# ---------------------------------------------------------------------- streams


@pytest.mark.parametrize(
    "fault",
    [
        Fault.error(503),
        Fault("reset"),
        Fault("cut_stream", after_pieces=0),
        Fault("stream_error", after_pieces=0),
        Fault("malformed", after_pieces=0),
    ],
    ids=lambda f: f.label,
)
async def test_a_stream_failing_before_its_first_event_is_retried(fault: Fault) -> None:
    s = sims("a", faults=[fault])
    async with relay(s, retry=FAST) as client:
        stream = client.stream("tell me a story")
        reply = await stream.final()
    assert reply.text == expected_text("tell me a story", seed=0)
    assert reply.meta.attempts == 2 and s["a"].stats.total_requests == 2
    assert router_of(client).health("a").ttft is not None


async def test_a_stream_cut_after_its_first_event_surfaces_with_the_partial_text() -> None:
    s = sims("a", faults=[Fault("cut_stream", after_pieces=4)])
    full = expected_text("tell me a story", seed=0)
    async with relay(s, retry=FAST) as client:
        stream = client.stream("tell me a story")
        seen: list[llmrelay.StreamEvent] = []

        async def read() -> None:
            async for ev in stream:
                seen.append(ev)

        with pytest.raises(errors.StreamTruncatedError) as info:
            await read()
    assert (
        info.value.partial_text
        and full.startswith(info.value.partial_text)
        and info.value.partial_text != full
    )
    assert info.value.partial_text == "".join(ev.text for ev in seen if isinstance(ev, llmrelay.TextDelta))
    assert s["a"].stats.total_requests == 1  # never retried: the caller had seen text


async def test_an_error_event_mid_stream_is_a_truncation_caused_by_the_providers_error() -> None:
    s = sims("a", faults=[Fault("stream_error", after_pieces=3)])
    async with relay(s, retry=FAST) as client:
        with pytest.raises(errors.StreamTruncatedError) as info:
            await client.stream("tell me a story").final()  # not deterministic: not resumed
    partial = info.value.partial_text
    assert partial and expected_text("tell me a story", seed=0).startswith(partial)
    assert isinstance(info.value.__cause__, errors.ServiceUnavailableError)
    assert s["a"].stats.total_requests == 1


async def test_a_reset_mid_stream_is_a_truncated_stream() -> None:
    from llmrelay.middleware.resume import Delivered, truncated

    delivered = Delivered(text="Once upon")
    cause = errors.ConnectionError("reset by peer", provider="p")
    err = truncated(cause, delivered, "not resumed")
    assert isinstance(err, errors.StreamTruncatedError) and err.partial_text == "Once upon"
    assert "ConnectionError" in err.message and err.provider == "p" and err.__cause__ is cause


async def test_closing_a_stream_early_releases_its_deployment() -> None:
    s = sims("a")
    async with relay(s) as client:
        async with client.stream("tell me a long story") as stream:
            async for _ in stream:
                break
        r = router_of(client)
        assert r.health("a").in_flight == 0
        assert r.health("a").ttft is None  # an abandoned stream teaches nothing about speed


async def test_a_call_may_carry_its_own_deadline() -> None:
    from llmrelay.pipeline import Call
    from llmrelay.types import ChatRequest, Message

    s = {"a": Simulator(SimulatorConfig(hang_seconds=30))}
    s["a"].faults = FaultSequence([Fault("hang")])
    async with relay(s, timeouts=Timeouts(connect=2, read=30)) as client:
        call = Call(ChatRequest(model="chat", messages=(Message.user("hi"),)), deadline=0.2)
        t0 = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="deadline"):
            await client.send(call)
        assert time.monotonic() - t0 < 0.4
