"""The official openai SDK (retries off) parses the simulator, and llmrelay's OpenAI
adapter gets the same answers from it over real TCP."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from tests.conformance.conftest import SECRET_KEY, Server, read_as_llmrelay, relay_settings, sse_json

import llmrelay
from llmrelay.settings import CatalogSettings
from llmrelay.simulator import Fault, FaultSequence

pytestmark = pytest.mark.sdk

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER}}
]
FILM = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
    },
    "required": ["title", "year"],
    "additionalProperties": False,
}
HELLO = [{"role": "user", "content": "Hello there, simulator"}]


@pytest.fixture
def sdk(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture
async def relay(server: Server):
    async with llmrelay.Client(relay_settings(server.base)) as client:
        yield client


async def test_non_streaming_text(sdk, relay, server: Server) -> None:
    r = await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=60)
    sdk_call = server.last()
    assert r.object == "chat.completion"
    text = r.choices[0].message.content
    assert text and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage is not None and r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens

    # The SDK's very answer, read by llmrelay's adapter: the same ids as the SDK read.
    ours, request_id = read_as_llmrelay("openai", sdk_call, "gpt-4o-mini")
    assert ours.id == r.id and ours.text == text
    assert r._request_id and request_id == r._request_id

    mine = await relay.chat(HELLO, model="oa", max_tokens=60)
    relay_call = server.last()
    assert mine.text == text
    assert mine.finish_reason == r.choices[0].finish_reason
    assert mine.usage == llmrelay.Usage(r.usage.prompt_tokens, r.usage.completion_tokens)
    # llmrelay's report of its own call against what the server sent for that call
    assert mine.id == relay_call.json()["id"]
    assert mine.request_id == relay_call.headers["x-request-id"]
    # every call has ids of its own, so the checks above cannot pass with the other call's
    assert (mine.id, mine.request_id) != (r.id, r._request_id)


async def test_streaming_text_matches_non_streaming(sdk, relay, server: Server) -> None:
    full = await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=60)
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        max_tokens=60,
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, finish, usage, ids = [], None, None, set()
    async for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        ids.add(chunk.id)
        for choice in chunk.choices:
            if choice.delta.content:
                parts.append(choice.delta.content)
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert "".join(parts) == full.choices[0].message.content
    assert len(parts) > 1
    assert finish == full.choices[0].finish_reason
    assert usage is not None and usage.completion_tokens == full.usage.completion_tokens
    parser, request_id = read_as_llmrelay("openai", server.last(), "gpt-4o-mini")
    assert parser.done and ids == {parser.response_id}
    assert request_id == stream.response.headers["x-request-id"]

    s = relay.stream(HELLO, model="oa", max_tokens=60)
    deltas = [t async for t in s.text_stream()]
    relay_call = server.last()
    assert deltas == parts
    assert s.response is not None and s.response.usage is not None
    assert s.response.usage.output_tokens == usage.completion_tokens
    assert {c["id"] for c in sse_json(relay_call)} == {s.response.id}
    assert s.response.request_id == relay_call.headers["x-request-id"]
    assert s.response.id not in ids


async def test_truncation_by_max_tokens(sdk, relay) -> None:
    r = await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3
    mine = await relay.chat(HELLO, model="oa", max_tokens=3)
    assert mine.finish_reason == "length" and mine.text == r.choices[0].message.content


async def test_tool_calls_round_trip(sdk, relay) -> None:
    q = [{"role": "user", "content": "Weather in Oslo?"}]
    r = await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=q, tools=TOOLS, tool_choice="required"
    )
    assert r.choices[0].finish_reason == "tool_calls"
    calls = r.choices[0].message.tool_calls
    assert calls
    for call in calls:
        assert call.function.name == "get_weather"
        jsonschema.validate(json.loads(call.function.arguments), WEATHER)

    mine = await relay.chat(q, model="oa", tools=TOOLS, tool_choice="required")
    assert mine.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in mine.tool_calls] == [
        (c.function.name, json.loads(c.function.arguments)) for c in calls
    ]

    follow = [*q, mine.message, *(llmrelay.Message.tool(c.id, '{"temp": 21}') for c in mine.tool_calls)]
    answer = await relay.chat(follow, model="oa", tools=TOOLS)
    assert answer.finish_reason == "stop" and answer.text and not answer.tool_calls


async def test_streamed_tool_calls(sdk, relay) -> None:
    q = [{"role": "user", "content": "Weather in Bergen?"}]
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini", messages=q, tools=TOOLS, tool_choice="required", stream=True
    )
    args: dict[int, str] = {}
    names: dict[int, str] = {}
    async for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or ():
                if tc.function and tc.function.name:
                    names[tc.index] = tc.function.name
                args[tc.index] = args.get(tc.index, "") + ((tc.function and tc.function.arguments) or "")
    assert names and set(names.values()) == {"get_weather"}
    for a in args.values():
        jsonschema.validate(json.loads(a), WEATHER)

    final = await relay.stream(q, model="oa", tools=TOOLS, tool_choice="required").final()
    assert final.finish_reason == "tool_calls"
    assert [json.loads(c.arguments) for c in final.tool_calls] == [json.loads(args[i]) for i in sorted(args)]


async def test_json_schema_output(sdk, relay) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "film", "schema": FILM, "strict": True}}
    r = await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, response_format=fmt)
    jsonschema.validate(json.loads(r.choices[0].message.content), FILM)
    mine = await relay.chat(HELLO, model="oa", response_format=llmrelay.ResponseFormat.json_schema(FILM))
    jsonschema.validate(json.loads(mine.text), FILM)
    obj = await relay.chat("Answer in JSON please", model="oa", response_format="json_object")
    assert isinstance(json.loads(obj.text), dict)


async def test_invalid_request_and_context_window(sdk, relay, server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=3)
    assert info.value.status_code == 400
    with pytest.raises(llmrelay.InvalidRequestError) as ours:
        read_as_llmrelay("openai", server.last(), "gpt-4o-mini")
    assert info.value.request_id and ours.value.request_id == info.value.request_id
    huge = "word " * 200_000
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": huge}])
    assert info.value.code == "context_length_exceeded"
    with pytest.raises(llmrelay.ContextWindowExceededError) as local:
        await relay.chat(huge, model="oa")
    assert local.value.status is None  # the preflight check refused it; nothing was sent
    unchecked = relay_settings(server.base).model_copy(update={"catalog": CatalogSettings(preflight=False)})
    async with llmrelay.Client(unchecked) as direct:
        with pytest.raises(llmrelay.ContextWindowExceededError) as mine:
            await direct.chat(huge, model="oa")
    assert mine.value.status == 400
    assert mine.value.request_id == server.last().headers["x-request-id"]


async def test_authentication(keyed_server: Server) -> None:
    bad = openai.AsyncOpenAI(base_url=f"{keyed_server.base}/v1", api_key="sk-wrong-key-123456", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    good = openai.AsyncOpenAI(base_url=f"{keyed_server.base}/v1", api_key=SECRET_KEY, max_retries=0)
    assert (await good.chat.completions.create(model="gpt-4o-mini", messages=HELLO)).choices

    settings = llmrelay.Settings.load(
        models={
            "k": {
                "deployments": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "base_url": f"{keyed_server.base}/v1",
                        "api_key": "sk-wrong-key-123456",
                    }
                ]
            }
        }
    )
    async with llmrelay.Client(settings) as client:
        with pytest.raises(llmrelay.AuthenticationError) as info:
            await client.chat(HELLO, model="k")
    assert info.value.status == 401
    assert "sk-wrong-key-123456" not in str(info.value) and "sk-wrong-key-123456" not in repr(info.value)


async def test_rate_limit_and_server_errors(server: Server, sdk, relay) -> None:
    server.sim.faults = FaultSequence([Fault.rate_limited(retry_after=2), Fault.error(503)] * 2)
    with pytest.raises(openai.RateLimitError) as rl:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert rl.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.InternalServerError):
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    with pytest.raises(llmrelay.RateLimitError) as mine:
        await relay.chat(HELLO, model="oa")
    assert mine.value.retry_after == pytest.approx(2.0) and mine.value.status == 429
    with pytest.raises(llmrelay.ServiceUnavailableError) as unavailable:
        await relay.chat(HELLO, model="oa")
    assert unavailable.value.status == 503 and unavailable.value.retryable


async def test_stream_faults(server: Server, relay) -> None:
    server.sim.faults = FaultSequence(
        [Fault(kind="cut_stream", after_pieces=4), None, Fault(kind="stream_error", after_pieces=3)]
    )
    s = relay.stream(HELLO, model="oa", max_tokens=60)
    with pytest.raises(llmrelay.StreamTruncatedError) as cut:
        async for _ in s:
            pass
    assert cut.value.partial_text and len(cut.value.partial_text) == len(s.text)
    full = await relay.chat(HELLO, model="oa", max_tokens=60)
    assert full.text.startswith(cut.value.partial_text) and full.text != cut.value.partial_text

    with pytest.raises(llmrelay.StreamTruncatedError) as err:  # one error type after delivery
        await relay.stream(HELLO, model="oa", max_tokens=60).final()
    assert isinstance(err.value.__cause__, llmrelay.ServiceUnavailableError)  # the provider's, as the cause


async def test_transport_faults(server: Server) -> None:
    server.sim.faults = FaultSequence([Fault(kind="malformed"), Fault(kind="reset"), Fault(kind="hang")])
    async with llmrelay.Client(relay_settings(server.base, connect=2, read=0.5)) as relay:
        with pytest.raises(llmrelay.MalformedResponseError):
            await relay.chat(HELLO, model="oa")
        with pytest.raises(llmrelay.ConnectionError):
            await relay.chat(HELLO, model="oa")
        with pytest.raises(llmrelay.TimeoutError):
            await relay.chat(HELLO, model="oa")


async def test_embeddings(sdk, relay) -> None:
    r = await sdk.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=16)
    assert [len(d.embedding) for d in r.data] == [16, 16]
    mine = await relay.embed(["alpha", "beta"], model="oe", dimensions=16)
    # the SDK asks for base64 float32; llmrelay asks for JSON floats: equal to float32 precision
    for mine_vec, theirs in zip(mine.vectors, r.data, strict=True):
        assert list(mine_vec) == pytest.approx(theirs.embedding, rel=1e-6, abs=1e-7)
    assert mine.usage is not None and mine.usage.input_tokens == r.usage.prompt_tokens
