"""ChatResponse.cost from actual usage, for unary calls and streams (client.py's terminal handlers)."""

from __future__ import annotations

import json

import httpx2
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


# --------------------------------------------------------------------------- the billed tier


ANTHROPIC_USAGE = {
    "input_tokens": 50,
    "cache_read_input_tokens": 10000,
    "cache_creation_input_tokens": 3000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 700,
    "service_tier": "standard",
}


def _anthropic_host(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    if not body.get("stream"):
        return httpx2.Response(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
                "usage": ANTHROPIC_USAGE,
            },
        )
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "type": "message",
                           "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
                           "usage": start_usage}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "ok"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 700}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return httpx2.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})


async def test_cache_writes_by_lifetime_the_tier_and_savings_reach_response_stream_and_ledger(
    tmp_path,
) -> None:
    from llmrelay.ledger import open_backend
    from llmrelay.transport.http import Transport

    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    settings = Settings.load(
        models={
            "claude": {
                "deployments": [
                    {
                        "provider": "anthropic",
                        "model": "claude-sonnet-4-5",
                        "base_url": "http://anthropic.test",
                        "api_key": "sk-ant-test-0000",
                    }
                ]
            }
        },
        ledger={"url": url, "flush_interval": 0.05},
    )
    transport = Transport(mounts={"http://anthropic.test": httpx2.MockTransport(_anthropic_host)})
    async with transport, llmrelay.Client(settings, transport=transport) as c:
        unary = await c.chat("hi", model="claude")
        stream = c.stream("hi", model="claude")
        events = [ev async for ev in stream]
        streamed = await stream.final()
    # 50 x 3 + 10000 x 0.30 + 1000 x 3.75 + 2000 x 6 + 700 x 15 = 29400 / 1e6 (see the golden table)
    for resp in (unary, streamed):
        assert resp.usage == llmrelay.Usage(13050, 700, 10000, 3000, 0, 2000)
        assert resp.details["service_tier"] == "standard"
        assert resp.cost == pytest.approx(0.0294, rel=1e-12)
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.cost == streamed.cost
    backend = open_backend(url)
    records = {r.id: r for r in await backend.fetch()}
    await backend.aclose()
    for resp in (unary, streamed):
        rec = records[resp.meta.ledger_id]
        assert (rec.cache_write_tokens, rec.cache_write_1h_tokens, rec.service_tier) == (
            3000,
            2000,
            "standard",
        )
        assert rec.saved_provider_cache == pytest.approx(0.027, rel=1e-12)  # 10000 x (3 - 0.30) / 1e6


def _openai_host(request: httpx2.Request) -> httpx2.Response:
    sent = json.loads(request.content)
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-5",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": 10000,
                "completion_tokens": 2000,
                "prompt_tokens_details": {"cached_tokens": 8000},
                "completion_tokens_details": {"reasoning_tokens": 1500},
            },
            # OpenAI answers with the tier that served the call
            "service_tier": sent.get("service_tier", "default"),
        },
    )


@pytest.mark.parametrize(("tier", "expected"), [(None, 0.0235), ("flex", 0.01175), ("priority", 0.047)])
async def test_the_cost_follows_the_tier_the_provider_reports(tier: str | None, expected: float) -> None:
    from llmrelay.transport.http import Transport

    settings = Settings.load(
        models={
            "g": {
                "deployments": [
                    {
                        "provider": "openai",
                        "model": "gpt-5",
                        "base_url": "http://openai.test",
                        "api_key": "sk-test",
                    }
                ]
            }
        },
        ledger={"enabled": False},
    )
    transport = Transport(mounts={"http://openai.test": httpx2.MockTransport(_openai_host)})
    extra = {"service_tier": tier} if tier else None
    async with transport, llmrelay.Client(settings, transport=transport) as c:
        resp = await c.chat("hi", model="g", extra=extra)
    # gpt-5: 2000 uncached + 8000 cached + 2000 output at standard 1.25/0.125/10, flex half of
    # that, priority 2.50/0.25/20: 5000 + 2000 + 40000 = 47000 / 1e6
    assert resp.details["service_tier"] == (tier or "default")
    assert resp.cost == pytest.approx(expected, rel=1e-12)
