"""The official openai SDK's ``client.responses`` (retries off) parses the simulator's
``/v1/responses`` over real TCP, and llmrelay's Responses adapter gets the same text,
tool arguments, reasoning and usage from it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import openai
import pytest
from pydantic import BaseModel
from tests.conformance.conftest import Server, read_as_llmrelay, sse_json

import llmrelay
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence

pytestmark = pytest.mark.sdk

CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
SDK_TOOLS: list[Any] = [
    {"type": "function", "name": "get_weather", "description": "Weather", "parameters": CITY, "strict": True}
]
RELAY_TOOLS = [llmrelay.Tool("get_weather", "Weather", CITY, strict=True)]
HELLO = "Hello there, simulator"
REASONING = {"effort": "low", "summary": "auto"}


class Film(BaseModel):
    title: str
    year: int


@pytest.fixture
def sdk(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture
async def relay(server: Server) -> AsyncIterator[llmrelay.Client]:
    settings = Settings.load(
        models={
            "or": {
                "deployments": [
                    {
                        "provider": "simulator-responses",
                        "model": "gpt-4o-mini",
                        "base_url": f"{server.base}/v1",
                    }
                ]
            },
            "reasoner": {
                "deployments": [
                    {
                        "provider": "simulator-responses",
                        "model": "gpt-5-mini",
                        "base_url": f"{server.base}/v1",
                    }
                ]
            },
        },
        timeouts={"connect": 5, "read": 30},
        retry={"enabled": False},
    )
    async with llmrelay.Client(settings) as client:
        yield client


async def test_non_streaming_text(sdk: openai.AsyncOpenAI, relay: llmrelay.Client, server: Server) -> None:
    r = await sdk.responses.create(model="gpt-4o-mini", input=HELLO, max_output_tokens=60)
    sdk_call = server.last()
    assert r.object == "response" and r.status == "completed" and r.output_text
    assert r.usage is not None and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens

    ours, request_id = read_as_llmrelay("responses", sdk_call, "gpt-4o-mini")
    assert (ours.id, ours.text) == (r.id, r.output_text)
    assert r._request_id and request_id == r._request_id

    mine = await relay.chat(HELLO, model="or", max_tokens=60)
    relay_call = server.last()
    assert mine.text == r.output_text and mine.finish_reason == "stop"
    assert mine.usage == llmrelay.Usage(r.usage.input_tokens, r.usage.output_tokens)
    assert mine.id == relay_call.json()["id"] != r.id
    assert mine.request_id == relay_call.headers["x-request-id"]
    assert mine.cost is not None and mine.cost > 0  # priced through the simulator's catalog section


async def test_streaming_matches_unary(
    sdk: openai.AsyncOpenAI, relay: llmrelay.Client, server: Server
) -> None:
    full = await sdk.responses.create(model="gpt-4o-mini", input=HELLO, max_output_tokens=60)
    stream = await sdk.responses.create(model="gpt-4o-mini", input=HELLO, max_output_tokens=60, stream=True)
    deltas, kinds, completed = [], [], None
    async for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        if event.type == "response.completed":
            completed = event.response
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(deltas) == full.output_text and len(deltas) > 1
    assert completed is not None and completed.usage == full.usage
    parser, request_id = read_as_llmrelay("responses", server.last(), "gpt-4o-mini")
    assert parser.done and parser.response_id == completed.id
    assert request_id == stream.response.headers["x-request-id"]

    s = relay.stream(HELLO, model="or", max_tokens=60)
    mine = [t async for t in s.text_stream()]
    assert mine == deltas
    assert s.response is not None and s.response.usage is not None
    assert s.response.usage.output_tokens == full.usage.output_tokens
    assert {e["response"]["id"] for e in sse_json(server.last()) if "response" in e} == {s.response.id}


async def test_stream_helper_accumulates_the_final_response(
    sdk: openai.AsyncOpenAI, relay: llmrelay.Client
) -> None:
    async with sdk.responses.stream(model="gpt-4o-mini", input=HELLO, tools=SDK_TOOLS) as stream:
        arguments = [e.delta async for e in stream if e.type == "response.function_call_arguments.delta"]
        final = await stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    assert calls and "".join(arguments).startswith(calls[0].arguments)
    mine = await relay.chat(HELLO, model="or", tools=RELAY_TOOLS)
    assert [(c.id, c.name, c.arguments) for c in mine.tool_calls] == [
        (c.call_id, c.name, c.arguments) for c in calls
    ]


async def test_function_tool_loop(sdk: openai.AsyncOpenAI, relay: llmrelay.Client) -> None:
    first = await sdk.responses.create(model="gpt-4o-mini", input="Weather in Oslo?", tools=SDK_TOOLS)
    calls = [o for o in first.output if o.type == "function_call"]
    assert calls and first.output_text == ""
    for call in calls:
        jsonschema.validate(json.loads(call.arguments), CITY)
    outputs: list[Any] = [
        {"type": "function_call_output", "call_id": c.call_id, "output": "sunny"} for c in calls
    ]
    follow: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}, *calls, *outputs]
    second = await sdk.responses.create(model="gpt-4o-mini", input=follow, tools=SDK_TOOLS)
    assert second.output_text

    mine = await relay.chat("Weather in Oslo?", model="or", tools=RELAY_TOOLS)
    assert mine.finish_reason == "tool_calls"
    assert [c.arguments for c in mine.tool_calls] == [c.arguments for c in calls]
    turn = [
        llmrelay.Message.user("Weather in Oslo?"),
        mine.message,
        *[llmrelay.Message.tool(c.id, "sunny") for c in mine.tool_calls],
    ]
    reply = await relay.chat(turn, model="or", tools=RELAY_TOOLS)
    assert reply.text == second.output_text


async def test_structured_output(sdk: openai.AsyncOpenAI, relay: llmrelay.Client) -> None:
    parsed = await sdk.responses.parse(model="gpt-4o-mini", input="Name a film", text_format=Film)
    assert isinstance(parsed.output_parsed, Film)
    schema = Film.model_json_schema() | {"additionalProperties": False}
    mine = await relay.chat(
        "Name a film", model="or", response_format=llmrelay.ResponseFormat.json_schema(schema, "Film")
    )
    assert Film.model_validate_json(mine.text)
    with pytest.raises(openai.BadRequestError, match="json"):
        await sdk.responses.create(model="gpt-4o-mini", input="hi", text={"format": {"type": "json_object"}})


async def test_reasoning_replayed_byte_identical(
    sdk: openai.AsyncOpenAI, relay: llmrelay.Client, server: Server
) -> None:
    first = await sdk.responses.create(
        model="gpt-5-mini",
        input="Weather in Oslo?",
        tools=SDK_TOOLS,
        reasoning=REASONING,  # type: ignore[arg-type]
        include=["reasoning.encrypted_content"],
        store=False,
    )
    [reasoning] = [o for o in first.output if o.type == "reasoning"]
    assert reasoning.encrypted_content and reasoning.summary[0].text
    assert first.usage is not None and first.usage.output_tokens_details.reasoning_tokens > 0

    extra = {"reasoning": REASONING, "store": False}  # the adapter asks for the encrypted content
    mine = await relay.chat("Weather in Oslo?", model="reasoner", tools=RELAY_TOOLS, extra=extra)
    sent = server.last().json()["output"][0]
    assert mine.reasoning == reasoning.summary[0].text
    assert (
        mine.usage is not None
        and mine.usage.reasoning_tokens == first.usage.output_tokens_details.reasoning_tokens
    )
    assert mine.provider_state is not None
    stored = mine.provider_state["responses"]["items"][0]
    assert stored == sent and stored["encrypted_content"]  # kept exactly as the server sent it
    turn = [
        llmrelay.Message.user("Weather in Oslo?"),
        mine.message,
        *[llmrelay.Message.tool(c.id, "sunny") for c in mine.tool_calls],
    ]
    # the simulator refuses a reasoning item whose encrypted content changed, as OpenAI does
    reply = await relay.chat(turn, model="reasoner", tools=RELAY_TOOLS, extra=extra)
    assert reply.text and reply.finish_reason == "stop"

    changed = {**stored, "encrypted_content": stored["encrypted_content"][:-3] + "abc"}
    state = {"responses": {"items": [changed, *mine.provider_state["responses"]["items"][1:]]}}
    tampered = [turn[0], llmrelay.Message(**{**_fields(mine.message), "provider_state": state}), *turn[2:]]
    with pytest.raises(llmrelay.InvalidRequestError) as info:
        await relay.chat(tampered, model="reasoner", tools=RELAY_TOOLS, extra=extra)
    assert info.value.code == "invalid_encrypted_content"
    assert info.value.request_id == server.last().headers["x-request-id"]

    s = relay.stream("Weather in Oslo?", model="reasoner", tools=RELAY_TOOLS, extra=extra)
    await s.final()
    done = [e["item"] for e in sse_json(server.last()) if e["type"] == "response.output_item.done"]
    assert s.response is not None and s.response.provider_state is not None
    streamed = s.response.provider_state["responses"]["items"]
    assert streamed[0] == done[0] and done[0]["type"] == "reasoning" and done[0]["encrypted_content"]
    assert [i["type"] for i in streamed] == [i["type"] for i in mine.provider_state["responses"]["items"]]


def _fields(m: llmrelay.Message) -> dict[str, Any]:
    return {k: getattr(m, k) for k in ("role", "content", "tool_calls", "tool_call_id", "name")}


async def test_counts_agree(sdk: openai.AsyncOpenAI, relay: llmrelay.Client) -> None:
    counted = await sdk.responses.input_tokens.count(model="gpt-4o-mini", input=HELLO, tools=SDK_TOOLS)
    mine = await relay.count_tokens(HELLO, model="or", tools=RELAY_TOOLS)
    assert mine.exact and mine.method == "responses:input_tokens"
    assert mine.tokens == counted.input_tokens


async def test_errors_map_with_request_ids(
    sdk: openai.AsyncOpenAI, relay: llmrelay.Client, server: Server
) -> None:
    server.sim.faults = FaultSequence([Fault.rate_limited(retry_after=2)] * 2)
    with pytest.raises(openai.RateLimitError):
        await sdk.responses.create(model="gpt-4o-mini", input=HELLO)
    with pytest.raises(llmrelay.RateLimitError) as mine:
        await relay.chat(HELLO, model="or")
    assert mine.value.status == 429 and mine.value.retry_after == pytest.approx(2.0)
    assert mine.value.request_id == server.last().headers["x-request-id"]
    with pytest.raises(openai.BadRequestError, match="Unknown parameter"):
        await sdk.responses.create(model="gpt-4o-mini", input=HELLO, extra_body={"stop": ["x"]})
    with pytest.raises(llmrelay.UnsupportedFeatureError, match="stop"):
        await relay.chat(HELLO, model="or", stop=["x"])


async def test_mid_stream_failures(sdk: openai.AsyncOpenAI, relay: llmrelay.Client, server: Server) -> None:
    server.sim.faults = FaultSequence(
        [Fault("stream_error", after_pieces=2)] * 2 + [Fault("cut_stream", after_pieces=2)]
    )
    stream = await sdk.responses.create(model="gpt-4o-mini", input=HELLO, stream=True)
    kinds = [event.type async for event in stream]
    assert kinds[-1] == "response.failed"
    with pytest.raises(llmrelay.StreamTruncatedError) as failed:
        await relay.stream(HELLO, model="or").final()
    assert isinstance(failed.value.__cause__, llmrelay.ServiceUnavailableError)
    with pytest.raises(llmrelay.StreamTruncatedError) as cut:
        await relay.stream(HELLO, model="or").final()
    assert cut.value.partial_text
