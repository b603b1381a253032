from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import AsyncIterator

import jsonschema
import pytest
from tests.simulator.openai_harness import URL, USER, Harness, chat, chunks, harness

from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig
from llmrelay.simulator.engine import conversation_of, expected_text

PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": PARAMS}}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
async def api() -> AsyncIterator[Harness]:
    async with harness() as h:
        yield h


# --------------------------------------------------------------------------- chat, unary


async def test_chat_completion_shape_text_and_headers(api: Harness) -> None:
    r = await api.post(chat())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"].startswith("req_")
    assert int(r.headers["openai-processing-ms"]) >= 1
    assert int(r.headers["x-ratelimit-remaining-requests"]) < int(r.headers["x-ratelimit-limit-requests"])
    assert int(r.headers["x-ratelimit-remaining-tokens"]) < int(r.headers["x-ratelimit-limit-tokens"])
    body = r.json()
    assert set(body) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
        "system_fingerprint",
    }
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o"
    assert abs(body["created"] - time.time()) < 5
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["logprobs"] is None
    message = choice["message"]
    assert message["role"] == "assistant"
    assert message["content"] == expected_text(USER["content"], seed=0)
    assert message["refusal"] is None
    assert "tool_calls" not in message
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_reply_is_derived_from_all_message_texts(api: Harness) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]},
    ]
    body = (await api.post(chat(messages=messages))).json()
    want = expected_text(conversation_of(["Be brief.", "Hello", "there"]), seed=0)
    assert body["choices"][0]["message"]["content"] == want


async def test_seeds_change_the_reply() -> None:
    async with harness(SimulatorConfig(seed=3)) as h:
        text = (await h.post(chat())).json()["choices"][0]["message"]["content"]
        assert text == expected_text(USER["content"], seed=3)
        seeded = (await h.post(chat(seed=11))).json()["choices"][0]["message"]["content"]
        assert seeded == expected_text(USER["content"], seed=11)


async def test_max_tokens_and_stop(api: Harness) -> None:
    body = (await api.post(chat(max_tokens=4))).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"] == expected_text(USER["content"], seed=0, max_tokens=4)
    assert body["usage"]["completion_tokens"] == 4
    full = expected_text(USER["content"], seed=0)
    body = (await api.post(chat(stop=[full[10:14]]))).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == full[: full.index(full[10:14])]


async def test_tool_calls_unary(api: Harness) -> None:
    body = (await api.post(chat(tools=[WEATHER], tool_choice="required"))).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), PARAMS)


async def test_tool_result_turn_gets_text(api: Harness) -> None:
    first = (await api.post(chat(tools=[WEATHER]))).json()["choices"][0]["message"]
    messages = [USER, first] + [
        {"role": "tool", "tool_call_id": c["id"], "content": "sunny"} for c in first["tool_calls"]
    ]
    body = (await api.post(chat(messages=messages, tools=[WEATHER]))).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == expected_text(
        conversation_of([USER["content"], "sunny"]), seed=0
    )


async def test_json_modes(api: Harness) -> None:
    json_user = {"role": "user", "content": "Reply in JSON please"}
    body = (await api.post(chat(messages=[json_user], response_format={"type": "json_object"}))).json()
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    body = (await api.post(chat(response_format=fmt))).json()
    jsonschema.validate(json.loads(body["choices"][0]["message"]["content"]), schema)


async def test_unsatisfiable_schema_is_a_400(api: Harness) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "integer", "minimum": 3, "maximum": 1}},
    }
    r = await api.post(chat(response_format=fmt))
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "response_format"


async def test_n_choices(api: Harness) -> None:
    body = (await api.post(chat(n=3))).json()
    texts = [c["message"]["content"] for c in body["choices"]]
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert texts[0] == expected_text(USER["content"], seed=0)
    assert len(set(texts)) == 3
    # The prompt is billed once, the completions all together.
    single = (await api.post(chat())).json()["usage"]
    assert body["usage"]["prompt_tokens"] == single["prompt_tokens"]
    assert body["usage"]["completion_tokens"] > single["completion_tokens"]


async def test_image_parts_cost_prompt_tokens(api: Harness) -> None:
    text_only = (await api.post(chat())).json()["usage"]["prompt_tokens"]
    parts = [
        {"type": "text", "text": USER["content"]},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ]
    body = (await api.post(chat(messages=[{"role": "user", "content": parts}]))).json()
    assert body["usage"]["prompt_tokens"] == text_only + 85


# --------------------------------------------------------------------------- chat, streaming


async def test_stream_text_with_usage(api: Harness) -> None:
    r = await api.post(chat(stream=True, stream_options={"include_usage": True}))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = chunks(r.text)
    ids = {e["id"] for e in events}
    assert len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-")
    assert all(e["object"] == "chat.completion.chunk" and e["model"] == "gpt-4o" for e in events)
    assert all("usage" in e for e in events)
    first, *middle, finish, usage = events
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    pieces = [e["choices"][0]["delta"]["content"] for e in middle]
    assert "".join(pieces) == expected_text(USER["content"], seed=0)
    assert all(e["usage"] is None and e["choices"][0]["finish_reason"] is None for e in middle)
    assert finish["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == len(pieces)
    assert api.sim.stats.streams_completed == 1


async def test_stream_tool_calls_in_the_official_shape(api: Harness) -> None:
    # Find a conversation where the model calls both tools in parallel.
    for i in range(30):
        body = chat(messages=[{"role": "user", "content": f"q{i}"}], tools=[WEATHER, TIME], stream=True)
        events = chunks((await api.post(body)).text)
        deltas = [e["choices"][0]["delta"] for e in events]
        calls: dict[int, dict[str, str]] = {}
        for delta in deltas[1:-1]:
            [part] = delta["tool_calls"]
            if "id" in part:
                assert part["type"] == "function"
                assert part["function"]["arguments"] == ""
                assert part["index"] not in calls
                calls[part["index"]] = {"id": part["id"], "name": part["function"]["name"], "arguments": ""}
            else:
                assert set(part) == {"index", "function"}
                calls[part["index"]]["arguments"] += part["function"]["arguments"]
        assert deltas[0]["role"] == "assistant" and deltas[0]["content"] is None
        assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
        unary = (await api.post({**body, "stream": False})).json()["choices"][0]["message"]["tool_calls"]
        assert [c["function"]["arguments"] for c in unary] == [calls[k]["arguments"] for k in sorted(calls)]
        if len(calls) == 2:
            break
    else:
        pytest.fail("no parallel tool calls in 30 conversations")


async def test_stream_is_paced() -> None:
    async with harness(SimulatorConfig(ttft=0.05, tokens_per_second=200)) as h:
        start = time.perf_counter()
        r = await h.post(chat(stream=True, max_tokens=11))
        elapsed = time.perf_counter() - start
    assert r.status_code == 200
    assert elapsed >= 0.05 + 10 / 200


async def test_latency_delays_the_answer() -> None:
    async with harness(SimulatorConfig(latency=0.05)) as h:
        start = time.perf_counter()
        await h.post(chat())
        assert time.perf_counter() - start >= 0.05


# --------------------------------------------------------------------------- refusals over HTTP


async def test_invalid_json_body(api: Harness) -> None:
    r = await api.client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert "could not parse the JSON body" in error["message"]
    assert r.headers["x-request-id"].startswith("req_")


async def test_validation_error_over_http(api: Harness) -> None:
    r = await api.post(chat(top_p=2))
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "message": "Invalid 'top_p': decimal above maximum value. "
            "Expected a value <= 1, but got 2 instead.",
            "type": "invalid_request_error",
            "param": "top_p",
            "code": "decimal_above_max_value",
        }
    }
    assert api.sim.stats.total_requests == 0  # refused requests never reach the fault plan


async def test_keys_are_enforced_and_never_echoed() -> None:
    async with harness(SimulatorConfig(api_keys=frozenset({"sk-good-key-123"}))) as h:
        r = await h.post(chat())
        assert r.status_code == 401
        assert r.json()["error"]["code"] is None
        assert "didn't provide an API key" in r.json()["error"]["message"]
        r = await h.post(chat(), headers={"authorization": "Bearer sk-wrong-key-456"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong" not in r.text
        r = await h.post(chat(), headers={"authorization": "Bearer sk-good-key-123"})
        assert r.status_code == 200
        r = await h.client.get("/v1/models")
        assert r.status_code == 401


async def test_unknown_model_is_a_404() -> None:
    async with harness(SimulatorConfig(models=frozenset({"gpt-4o"}))) as h:
        r = await h.post({**chat(), "model": "gpt-9"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "model_not_found"
        assert "`gpt-9`" in r.json()["error"]["message"]


async def test_context_length_exceeded() -> None:
    async with harness(SimulatorConfig(context_window=50)) as h:
        r = await h.post(chat(messages=[{"role": "user", "content": "word " * 60}]))
        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "context_length_exceeded"
        assert error["param"] == "messages"
        assert "maximum context length is 50 tokens" in error["message"]
        r = await h.post(chat(max_tokens=45))
        assert r.json()["error"]["code"] == "context_length_exceeded"
        assert "in the completion" in r.json()["error"]["message"]
        assert (await h.post(chat(max_tokens=5))).status_code == 200


# --------------------------------------------------------------------------- embeddings and models


async def test_embeddings_float_and_base64(api: Harness) -> None:
    body = {"model": "text-embedding-3-small", "input": ["hello", "world"]}
    r = await api.post(body, url="/v1/embeddings")
    assert r.status_code == 200
    payload = r.json()
    assert payload["object"] == "list"
    assert payload["model"] == "text-embedding-3-small"
    assert [d["index"] for d in payload["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 1536 for d in payload["data"])
    assert payload["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    vector = payload["data"][0]["embedding"]
    assert abs(sum(v * v for v in vector) - 1) < 1e-5
    encoded = (await api.post({**body, "encoding_format": "base64"}, url="/v1/embeddings")).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, vector, strict=True))


async def test_embedding_dimensions_and_large_model(api: Harness) -> None:
    small = (
        await api.post(
            {"model": "text-embedding-3-large", "input": "x", "dimensions": 256}, url="/v1/embeddings"
        )
    ).json()
    assert len(small["data"][0]["embedding"]) == 256
    full = (await api.post({"model": "text-embedding-3-large", "input": "x"}, url="/v1/embeddings")).json()
    assert len(full["data"][0]["embedding"]) == 3072


async def test_embedding_refusals_and_faults() -> None:
    async with harness(faults=FaultSequence([Fault.rate_limited()])) as h:
        r = await h.post({"model": "m", "input": ""}, url="/v1/embeddings")
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith("'$.input' is invalid")
        r = await h.post({"model": "m", "input": "x"}, url="/v1/embeddings")
        assert r.status_code == 429
        r = await h.post({"model": "m", "input": "word " * 9000}, url="/v1/embeddings")
        assert r.status_code == 400
        assert "maximum context length is 8192" in r.json()["error"]["message"]


async def test_models(api: Harness) -> None:
    listing = (await api.client.get("/v1/models")).json()
    assert listing["object"] == "list"
    assert {"id": "gpt-4o", "object": "model", "created": 1_700_000_000, "owned_by": "system"} in listing[
        "data"
    ]
    assert (await api.client.get("/v1/models/anything")).json()["id"] == "anything"
    async with harness(SimulatorConfig(models=frozenset({"m1"}))) as h:
        assert [m["id"] for m in (await h.client.get("/v1/models")).json()["data"]] == ["m1"]
        r = await h.client.get("/v1/models/m2")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "model_not_found"


# --------------------------------------------------------------------------- official SDK (quick check)


@pytest.mark.sdk
async def test_official_openai_sdk_parses_the_simulator() -> None:
    import httpx
    import openai

    sim = Simulator()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app))
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://sim/v1", http_client=http, max_retries=0)
    try:
        done = await client.chat.completions.create(model="gpt-4o", messages=[USER])  # type: ignore[list-item]
        assert done.choices[0].message.content == expected_text(USER["content"], seed=0)
        assert done.usage is not None and done.usage.total_tokens > 0
        stream = await client.chat.completions.create(
            model="gpt-4o",
            messages=[USER],  # type: ignore[list-item]
            tools=[WEATHER],  # type: ignore[list-item]
            stream=True,
            stream_options={"include_usage": True},
        )
        names = [
            c.choices[0].delta.tool_calls[0].function.name
            async for c in stream
            if c.choices and c.choices[0].delta.tool_calls and c.choices[0].delta.tool_calls[0].function
        ]  # type: ignore[union-attr]
        assert "get_weather" in names
        emb = await client.embeddings.create(model="text-embedding-3-small", input=["a"], dimensions=8)
        assert len(emb.data[0].embedding) == 8
        sim.faults = FaultSequence([Fault.rate_limited(retry_after=0.5)])
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="gpt-4o", messages=[USER])  # type: ignore[list-item]
        assert caught.value.code == "rate_limit_exceeded"
        sim.faults = FaultSequence([Fault("stream_error", after_pieces=2)])
        with pytest.raises(openai.APIError):
            async for _ in await client.chat.completions.create(model="gpt-4o", messages=[USER], stream=True):  # type: ignore[list-item]
                pass
    finally:
        await client.close()
