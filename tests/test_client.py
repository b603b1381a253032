"""The Client against the in-process simulator (no network, no key)."""

from __future__ import annotations

import asyncio
import json

import pytest

import llmrelay
from llmrelay import ChatRequest, Message, Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.transport.http import Transport

KEY = "sk-live-do-not-print-0123456789"


@pytest.fixture
async def client():
    async with llmrelay.Client(Settings.load(), environ={}) as c:
        yield c


async def test_default_model_is_the_simulator(client) -> None:
    reply = await client.chat("Hello")
    assert reply.text and reply.finish_reason == "stop"
    assert reply.provider == "simulator" and reply.model
    assert reply.usage is not None and reply.usage.output_tokens > 0
    assert reply.latency is not None and reply.latency > 0
    assert reply.raw is None
    assert reply.meta.deployment == "simulator/sim-1"


async def test_replies_are_deterministic_and_prompt_dependent(client) -> None:
    a = await client.chat("Tell me about rivers")
    b = await client.chat("Tell me about rivers")
    c = await client.chat("Tell me about mountains")
    assert a.text == b.text != c.text


async def test_all_three_protocols_in_process(client) -> None:
    texts = set()
    for model in (
        "simulator/sim-1",
        "simulator-anthropic/claude-haiku-4-5",
        "simulator-gemini/gemini-2.5-flash",
    ):
        reply = await client.chat("Same prompt for all", model=model, max_tokens=30)
        streamed = await client.stream("Same prompt for all", model=model, max_tokens=30).final()
        assert streamed.text == reply.text
        assert streamed.usage == reply.usage
        texts.add(reply.text)
    assert len(texts) == 1  # one engine behind three wire formats


async def test_input_forms_are_equivalent(client) -> None:
    as_str = await client.chat("Hi there")
    as_msg = await client.chat([Message.user("Hi there")])
    as_dict = await client.chat([{"role": "user", "content": "Hi there"}])
    as_req = await client.chat(ChatRequest(model="local", messages=(Message.user("Hi there"),)))
    assert as_str.text == as_msg.text == as_dict.text == as_req.text


async def test_request_overrides_and_raw(client) -> None:
    req = ChatRequest(model="local", messages=(Message.user("Hi"),))
    short = await client.chat(req, max_tokens=2, include_raw=True)
    assert short.finish_reason == "length" and short.usage is not None and short.usage.output_tokens == 2
    assert isinstance(short.raw, dict) and short.raw["object"] == "chat.completion"


async def test_dict_tools_and_json_schema(client) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            },
        }
    ]
    reply = await client.chat(
        "find it", tools=tools, tool_choice={"type": "function", "function": {"name": "lookup"}}
    )
    assert reply.finish_reason == "tool_calls" and reply.tool_calls[0].name == "lookup"
    assert isinstance(reply.tool_calls[0].parsed_arguments()["q"], str)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    out = await client.chat(
        "number please", response_format={"type": "json_schema", "json_schema": {"schema": schema}}
    )
    assert isinstance(json.loads(out.text)["n"], int)


async def test_closing_a_stream_stops_it_upstream() -> None:
    # 20 tokens/s: a whole reply (20-60 tokens) takes 1-3 s; closing after 3 must not wait for it
    settings = Settings.load(simulator={"tokens_per_second": 20})
    async with llmrelay.Client(settings, environ={}) as client:
        sim = client.simulator
        t0 = asyncio.get_running_loop().time()
        stream = client.stream("A long story please")
        async with stream:
            seen = 0
            async for ev in stream:
                seen += isinstance(ev, llmrelay.TextDelta)
                if seen == 3:
                    break
        elapsed = asyncio.get_running_loop().time() - t0
        assert stream.response is None and stream.text
        assert elapsed < 0.8
        await asyncio.sleep(0.2)
        assert sim.stats.streams_completed == 0
        await client.stream("short", max_tokens=2).final()
        assert sim.stats.streams_completed == 1


async def test_errors_before_any_network_call() -> None:
    async with llmrelay.Client(Settings.load(), environ={"ANTHROPIC_API_KEY": KEY}) as c:
        sim = c.simulator
        with pytest.raises(llmrelay.MissingKeyError) as missing:
            await c.chat("hi", model="openai/gpt-4o-mini")
        assert missing.value.env_var == "OPENAI_API_KEY" and KEY not in str(missing.value)
        with pytest.raises(llmrelay.UnknownModelError):
            await c.chat("hi", model="gpt-4o")
        with pytest.raises(llmrelay.UnknownProviderError):
            c.stream("hi", model="nope/model")
        with pytest.raises(llmrelay.InvalidRequestError, match="temperature"):
            await c.chat("hi", temperature=9)
        with pytest.raises(llmrelay.InvalidRequestError, match="tool result"):
            await c.chat(
                [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c9", "content": "r"}]
            )
        assert sim.stats.total_requests == 0


async def test_provider_errors_are_typed() -> None:
    # retries off: the error must reach the caller as the provider sent it
    async with llmrelay.Client(Settings.load(retry={"enabled": False}), environ={}) as client:
        client.simulator.faults = FaultSequence([Fault.rate_limited(retry_after=1.5)])
        with pytest.raises(llmrelay.RateLimitError) as info:
            await client.chat("hi")
    assert info.value.retry_after == pytest.approx(1.5) and info.value.provider == "simulator"


async def test_embeddings(client) -> None:
    out = await client.embed(["one", "two", "three"], model="simulator/text-embedding-3-small", dimensions=8)
    assert len(out.vectors) == 3 and all(len(v) == 8 for v in out.vectors)
    with pytest.raises(llmrelay.UnsupportedFeatureError):
        await client.embed("x", model="simulator-anthropic/claude-haiku-4-5")


async def test_a_given_transport_is_not_closed_by_the_client() -> None:
    transport = Transport()
    async with llmrelay.Client(Settings.load(), environ={}, transport=transport):
        pass
    assert not transport.is_closed
    await transport.aclose()


def test_sync_client() -> None:
    with llmrelay.SyncClient(Settings.load(), environ={}) as c:
        reply = c.chat("Hello sync")
        text = "".join(c.stream_text("Hello sync"))
        assert text == reply.text
        events = c.stream("Hello sync", max_tokens=50)
        first = next(events)
        events.close()  # leaving early closes the stream
        assert isinstance(first, llmrelay.StreamEvent.__args__)  # type: ignore[attr-defined]
