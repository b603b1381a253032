"""Fallbacks across aliases, by kind of failure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from tests.resilience.sims import Canned, deployment, relay

from llmrelay import errors
from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.types.report import FallbackStep

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openai"
RETRY = {"base_delay": 0.01, "max_delay": 0.02, "max_attempts": 2}
PROMPT = "a question of some length " * 8


def content_filter_refusal() -> tuple[int, dict[str, str], object]:
    fixture = json.loads((FIXTURES / "error_azure_content_filter.json").read_text())
    return fixture["status"], fixture["headers"], fixture["body"]


def aliases(**chains: dict[str, object]) -> dict[str, object]:
    return {name: {"deployments": [deployment(name)], **cfg} for name, cfg in chains.items()}


async def test_context_window_goes_to_the_larger_model(caplog: pytest.LogCaptureFixture) -> None:
    apps = {"small": Simulator(SimulatorConfig(context_window=20)), "large": Simulator()}
    models = aliases(small={"context_window_fallback": "large"}, large={})
    async with relay(apps, models=models, retry=RETRY) as client:
        with caplog.at_level(logging.WARNING, logger="llmrelay.route"):
            reply = await client.chat(PROMPT)
    assert reply.text == expected_text(PROMPT, seed=0)
    assert reply.meta.alias == "large" and reply.meta.deployment == "large"
    assert reply.meta.fallbacks == [
        FallbackStep("small", "large", "context_window", "ContextWindowExceededError")
    ]
    assert apps["small"].stats.statuses[400] == 1  # refused once, never retried
    events = [r for r in caplog.records if getattr(r, "event", None) == "fallback"]
    assert [(r.from_alias, r.to_alias, r.reason) for r in events] == [("small", "large", "context_window")]  # type: ignore[attr-defined]


async def test_content_filter_goes_to_the_configured_alternative() -> None:
    apps = {"strict": Canned(Simulator().app, [content_filter_refusal()]), "lenient": Simulator()}
    models = aliases(strict={"content_filter_fallback": "lenient", "fallbacks": []}, lenient={})
    async with relay(apps, models=models, retry=RETRY) as client:
        reply = await client.chat("hi")
    assert reply.meta.fallbacks[0].reason == "content_filter"
    assert len(apps["strict"].arrivals) == 1


async def test_without_a_rule_a_content_filter_refusal_surfaces() -> None:
    apps = {"strict": Canned(Simulator().app, [content_filter_refusal()]), "other": Simulator()}
    models = aliases(strict={"fallbacks": ["other"]}, other={})
    async with relay(apps, models=models, retry=RETRY) as client:
        with pytest.raises(errors.ContentFilterError):
            await client.chat("hi")
    assert apps["other"].stats.total_requests == 0


async def test_rate_limited_and_unavailable_go_down_the_chain() -> None:
    apps = {"first": Simulator(), "second": Simulator(), "third": Simulator()}
    apps["first"].faults = FaultSequence([Fault.rate_limited(retry_after=0.01)] * 10)
    apps["second"].faults = FaultSequence([Fault.error(502)] * 10)
    models = aliases(first={"fallbacks": ["second", "third"]}, second={}, third={})
    async with relay(apps, models=models, retry=RETRY) as client:
        reply = await client.chat("hi")
    assert [(f.from_alias, f.to_alias, f.reason) for f in reply.meta.fallbacks] == [
        ("first", "second", "rate_limited"),
        ("second", "third", "unavailable"),
    ]
    assert reply.meta.attempts == 5  # two on each failing alias, one on the last
    assert reply.meta.deployments_tried == ["first", "first", "second", "second", "third"]
    assert (apps["first"].stats.total_requests, apps["second"].stats.total_requests) == (2, 2)


async def test_a_bad_request_does_not_fall_back() -> None:
    apps = {"first": Simulator(), "second": Simulator()}
    apps["first"].faults = FaultSequence([Fault.error(400)])
    async with relay(apps, models=aliases(first={"fallbacks": ["second"]}, second={}), retry=RETRY) as client:
        with pytest.raises(errors.InvalidRequestError):
            await client.chat("hi")
    assert apps["second"].stats.total_requests == 0


async def test_when_every_alias_fails_each_failure_is_listed() -> None:
    apps = {"first": Simulator(), "second": Simulator()}
    apps["first"].faults = FaultSequence([Fault.error(503)] * 10)
    apps["second"].faults = FaultSequence([Fault.rate_limited(retry_after=0.01)] * 10)
    async with relay(apps, models=aliases(first={"fallbacks": ["second"]}, second={}), retry=RETRY) as client:
        with pytest.raises(errors.AllDeploymentsFailedError) as info:
            await client.chat("hi")
    err = info.value
    assert "first: OverloadedError (503)" in err.message and "second: RateLimitError (429)" in err.message
    assert [type(e) for e in err.errors] == [errors.OverloadedError, errors.RateLimitError]
    assert err.status == 429 and isinstance(err.__cause__, errors.RateLimitError)


async def test_a_stream_falls_back_before_its_first_event_only() -> None:
    apps = {"first": Simulator(), "second": Simulator()}
    apps["first"].faults = FaultSequence([Fault.error(503)] * 2 + [Fault("cut_stream", after_pieces=2)] * 2)
    models = aliases(first={"fallbacks": ["second"]}, second={})
    async with relay(apps, models=models, retry=RETRY) as client:
        stream = client.stream("a story")
        reply = await stream.final()
        assert reply.meta.alias == "second" and reply.text == expected_text("a story", seed=0)
        with pytest.raises(errors.StreamTruncatedError):
            await client.stream("a story").final()
    assert apps["second"].stats.total_requests == 1


async def test_the_fallback_first_attempt_is_paid_from_the_budget() -> None:
    apps = {"first": Simulator(), "second": Simulator()}
    apps["first"].faults = FaultSequence([Fault.error(503)] * 100)
    retry = {**RETRY, "max_attempts": 1, "budget": {"ratio": 0, "min_retries": 1, "window": 60}}
    models = aliases(first={"fallbacks": ["second"]}, second={})
    async with relay(apps, models=models, retry=retry, circuit={"enabled": False}) as client:
        assert (await client.chat("hi")).meta.alias == "second"
        with pytest.raises(errors.AllDeploymentsFailedError):
            await client.chat("hi")
    assert apps["second"].stats.total_requests == 1


async def test_a_reply_stopped_by_the_filter_goes_to_the_alternative_when_there_is_one() -> None:
    filtered = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5},
    }
    apps = {"strict": Canned(Simulator().app, [(200, {}, filtered)] * 2), "lenient": Simulator()}
    models = aliases(strict={"content_filter_fallback": "lenient"}, lenient={})
    async with relay(apps, models=models, retry=RETRY) as client:
        reply = await client.chat("hi")
        assert reply.meta.alias == "lenient" and reply.text == expected_text("hi", seed=0)
        assert reply.meta.fallbacks[0].error == "finish_reason=content_filter"
    async with relay(apps, models=aliases(strict={}, lenient={}), retry=RETRY) as client:
        assert (await client.chat("hi")).finish_reason == "content_filter"  # no rule: the reply as it is
