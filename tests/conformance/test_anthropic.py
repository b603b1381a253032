"""The official anthropic SDK (retries off) parses the simulator, and llmrelay's
Anthropic adapter gets the same answers from it over real TCP."""

from __future__ import annotations

import json

import anthropic
import jsonschema
import pytest
from tests.conformance.conftest import SECRET_KEY, Server, read_as_llmrelay, relay_settings, sse_json
from tests.conformance.test_openai import FILM, WEATHER

import llmrelay
from llmrelay.simulator import Fault, FaultSequence

pytestmark = pytest.mark.sdk

HELLO = [{"role": "user", "content": "Hello there, simulator"}]
TOOLS = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}]
MODEL = "claude-haiku-4-5"


@pytest.fixture
def sdk(server: Server) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base, api_key="sk-ant-test", max_retries=0)


@pytest.fixture
async def relay(server: Server):
    async with llmrelay.Client(relay_settings(server.base)) as client:
        yield client


async def test_non_streaming_text(sdk, relay, server: Server) -> None:
    r = await sdk.messages.create(model=MODEL, max_tokens=60, messages=HELLO, system="Be brief.")
    sdk_call = server.last()
    assert r.type == "message" and r.role == "assistant"
    text = "".join(b.text for b in r.content if b.type == "text")
    assert text and r.stop_reason in ("end_turn", "max_tokens")
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0

    # The SDK's very answer, read by llmrelay's adapter: the same ids as the SDK read.
    ours, request_id = read_as_llmrelay("anthropic", sdk_call, MODEL)
    assert ours.id == r.id and ours.text == text
    assert r._request_id and request_id == r._request_id

    mine = await relay.chat([{"role": "system", "content": "Be brief."}, *HELLO], model="an", max_tokens=60)
    relay_call = server.last()
    assert mine.text == text
    assert mine.native_finish_reason == r.stop_reason
    assert mine.usage is not None
    assert (mine.usage.input_tokens, mine.usage.output_tokens) == (
        r.usage.input_tokens,
        r.usage.output_tokens,
    )
    # llmrelay's report of its own call against what the server sent for that call
    assert mine.id == relay_call.json()["id"]
    assert mine.request_id == relay_call.headers["request-id"]
    # every call has ids of its own, so the checks above cannot pass with the other call's
    assert (mine.id, mine.request_id) != (r.id, r._request_id)


async def test_streaming_matches_non_streaming(sdk, relay, server: Server) -> None:
    full = await sdk.messages.create(model=MODEL, max_tokens=60, messages=HELLO)
    parts = []
    async with sdk.messages.stream(model=MODEL, max_tokens=60, messages=HELLO) as stream:
        async for text in stream.text_stream:
            parts.append(text)
        final = await stream.get_final_message()
    sdk_call = server.last()
    assert "".join(parts) == "".join(b.text for b in full.content if b.type == "text")
    assert len(parts) > 1
    assert final.stop_reason == full.stop_reason and final.usage.output_tokens == full.usage.output_tokens
    parser, request_id = read_as_llmrelay("anthropic", sdk_call, MODEL)
    assert parser.done and parser.response_id == final.id
    assert request_id == stream.response.headers["request-id"]

    s = relay.stream(HELLO, model="an", max_tokens=60)
    assert [t async for t in s.text_stream()] == parts
    relay_call = server.last()
    assert s.response is not None and s.response.usage is not None
    assert s.response.usage.output_tokens == full.usage.output_tokens
    assert s.response.finish_reason == ("length" if full.stop_reason == "max_tokens" else "stop")
    start = next(e for e in sse_json(relay_call) if e["type"] == "message_start")
    assert s.response.id == start["message"]["id"] != final.id
    assert s.response.request_id == relay_call.headers["request-id"]


async def test_stream_keeps_the_stop_sequence_the_sdk_reports(sdk, server: Server) -> None:
    full = await sdk.messages.create(model=MODEL, max_tokens=60, messages=HELLO)
    words = "".join(b.text for b in full.content if b.type == "text").split()
    assert len(words) > 4
    stop = words[len(words) // 2]
    async with sdk.messages.stream(model=MODEL, max_tokens=60, messages=HELLO, stop_sequences=[stop]) as s:
        final = await s.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == stop
    parser, _ = read_as_llmrelay("anthropic", server.last(), MODEL)
    # and the service tier that served it, as the SDK reads it from usage
    assert parser.details == {"stop_sequence": final.stop_sequence, "service_tier": final.usage.service_tier}


async def test_tool_use_round_trip(sdk, relay) -> None:
    q = [{"role": "user", "content": "Weather in Oslo?"}]
    r = await sdk.messages.create(
        model=MODEL, max_tokens=200, messages=q, tools=TOOLS, tool_choice={"type": "any"}
    )
    assert r.stop_reason == "tool_use"
    uses = [b for b in r.content if b.type == "tool_use"]
    assert uses
    for use in uses:
        assert use.name == "get_weather"
        jsonschema.validate(use.input, WEATHER)

    oa_tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    mine = await relay.chat(q, model="an", max_tokens=200, tools=oa_tools, tool_choice="required")
    assert mine.finish_reason == "tool_calls"
    assert [json.loads(c.arguments) for c in mine.tool_calls] == [u.input for u in uses]

    follow = [*q, mine.message, *(llmrelay.Message.tool(c.id, "21 degrees") for c in mine.tool_calls)]
    answer = await relay.chat(follow, model="an", max_tokens=200, tools=oa_tools)
    assert answer.finish_reason == "stop" and answer.text

    streamed = await relay.stream(
        q, model="an", max_tokens=200, tools=oa_tools, tool_choice="required"
    ).final()
    assert [json.loads(c.arguments) for c in streamed.tool_calls] == [u.input for u in uses]


async def test_structured_output(relay) -> None:
    mine = await relay.chat(
        HELLO, model="an", max_tokens=300, response_format=llmrelay.ResponseFormat.json_schema(FILM)
    )
    jsonschema.validate(json.loads(mine.text), FILM)


async def test_errors(server: Server, sdk, relay) -> None:
    with pytest.raises(anthropic.BadRequestError) as sdk_bad:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[])
    assert sdk_bad.value.status_code == 400
    with pytest.raises(llmrelay.InvalidRequestError) as ours:
        read_as_llmrelay("anthropic", server.last(), MODEL)
    assert sdk_bad.value.request_id and ours.value.request_id == sdk_bad.value.request_id
    # 1.5 is a valid temperature for OpenAI and Gemini, so llmrelay sends it; Anthropic's 400 maps back
    with pytest.raises(llmrelay.InvalidRequestError) as bad:
        await relay.chat(HELLO, model="an", temperature=1.5)
    assert bad.value.status == 400
    assert bad.value.request_id == server.last().headers["request-id"] != sdk_bad.value.request_id

    server.sim.faults = FaultSequence([Fault.overloaded(), Fault.rate_limited(retry_after=3)] * 2)
    with pytest.raises(anthropic.APIStatusError) as over:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    assert over.value.status_code == 529
    with pytest.raises(anthropic.RateLimitError):
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    with pytest.raises(llmrelay.OverloadedError) as mine_over:
        await relay.chat(HELLO, model="an")
    assert mine_over.value.status == 529
    with pytest.raises(llmrelay.RateLimitError) as mine_rl:
        await relay.chat(HELLO, model="an")
    assert mine_rl.value.retry_after == pytest.approx(3.0)


async def test_stream_faults(server: Server, relay) -> None:
    server.sim.faults = FaultSequence(
        [Fault(kind="cut_stream", after_pieces=5), None, Fault(kind="stream_error", after_pieces=2)]
    )
    with pytest.raises(llmrelay.StreamTruncatedError) as cut:
        await relay.stream(HELLO, model="an", max_tokens=60).final()
    full = await relay.chat(HELLO, model="an", max_tokens=60)
    assert cut.value.partial_text and full.text.startswith(cut.value.partial_text)
    with pytest.raises(llmrelay.StreamTruncatedError) as broken:  # one error type after delivery
        await relay.stream(HELLO, model="an", max_tokens=60).final()
    assert isinstance(broken.value.__cause__, llmrelay.OverloadedError)  # the provider's, as the cause


async def test_authentication(keyed_server: Server) -> None:
    bad = anthropic.AsyncAnthropic(base_url=keyed_server.base, api_key="sk-ant-wrong-123456", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        await bad.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    good = anthropic.AsyncAnthropic(base_url=keyed_server.base, api_key=SECRET_KEY, max_retries=0)
    assert (await good.messages.create(model=MODEL, max_tokens=10, messages=HELLO)).content
    for auth in ("x-api-key", "bearer"):
        settings = llmrelay.Settings.load(
            models={
                "k": {
                    "deployments": [
                        {
                            "provider": "anthropic",
                            "model": MODEL,
                            "base_url": keyed_server.base,
                            "api_key": SECRET_KEY,
                            "options": {"auth": auth},
                        }
                    ]
                }
            }
        )
        async with llmrelay.Client(settings) as client:
            assert (await client.chat(HELLO, model="k", max_tokens=10)).text
