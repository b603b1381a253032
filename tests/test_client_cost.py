"""ChatResponse.cost from actual usage, for unary calls and streams (client.py's terminal handlers)."""

from __future__ import annotations

import pytest

import llmrelay
from llmrelay.settings import Settings
from llmrelay.types import StreamEnd


def expected(usage: llmrelay.Usage, input_price: float, output_price: float) -> float:
    return (usage.input_tokens * input_price + usage.output_tokens * output_price) / 1e6


async def test_unary_cost_from_usage():
    async with llmrelay.Client(Settings.load()) as c:
        r = await c.chat("hello")  # local: sim-1 at a notional 1.00 / 2.00 per million
        h = await c.chat("hello", model="simulator-anthropic/claude-haiku-4-5")  # 1.00 / 5.00
    assert r.usage is not None and r.cost == pytest.approx(expected(r.usage, 1.0, 2.0))
    assert h.usage is not None and h.cost == pytest.approx(expected(h.usage, 1.0, 5.0))


async def test_stream_cost_from_the_final_usage():
    async with llmrelay.Client(Settings.load()) as c:
        stream = c.stream("tell me something", model="simulator-gemini/gemini-2.5-flash")  # 0.30 / 2.50
        events = [ev async for ev in stream]
        final = await stream.final()
    assert final.usage is not None and final.usage.output_tokens > 0
    assert final.cost == pytest.approx(expected(final.usage, 0.30, 2.50))
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.cost == final.cost and end.usage == final.usage


async def test_unknown_price_is_none_and_overrides_apply():
    settings = Settings.load(
        catalog={"models": {"simulator/sim-1": {"input_price": 10.0, "output_price": 20.0}}},
        models={
            "mine": {
                "deployments": [
                    {
                        "provider": "simulator",
                        "model": "house-model",
                        "catalog": {"base": "openai/gpt-4o-mini"},
                    }
                ]
            }
        },
    )
    async with llmrelay.Client(settings) as c:
        unknown = await c.chat("hi", model="simulator/some-unlisted-model")
        priced = await c.chat("hi")
        by_deployment = await c.chat("hi", model="mine")
    assert unknown.usage is not None and unknown.cost is None
    assert priced.usage is not None and priced.cost == pytest.approx(expected(priced.usage, 10.0, 20.0))
    assert by_deployment.usage is not None
    assert by_deployment.cost == pytest.approx(expected(by_deployment.usage, 0.15, 0.60))


def test_bad_catalog_config_fails_at_load():
    with pytest.raises(llmrelay.ConfigError, match="simulator/sim-1: input_price"):
        llmrelay.Client(Settings.load(catalog={"models": {"simulator/sim-1": {"input_price": "free"}}}))
