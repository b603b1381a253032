"""The simulator's Anthropic Messages endpoints, driven over an in-process ASGI transport."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import jsonschema
import pytest

from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.simulator.responses import SimulatedReset

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-5"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Hello there"}],
        **extra,
    }


def client_for(sim: Simulator) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim")


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(Simulator()) as c:
        yield c


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, decoded data) of every SSE event; fails on an event without both lines."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


def assert_error(response: httpx2.Response, status: int, kind: str, message: str | None = None) -> None:
    assert response.status_code == status
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == kind
    assert payload["request_id"] == response.headers["request-id"]
    assert response.headers["request-id"].startswith("req_")
    if message is not None:
        assert payload["error"]["message"] == message


# --------------------------------------------------------------------------- messages


async def test_message_is_the_engines_deterministic_reply(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, json=body())
    assert response.status_code == 200
    message = response.json()
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", MODEL)
    assert message["content"] == [{"type": "text", "text": expected_text("Hello there", seed=0)}]
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None
    usage = message["usage"]
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert response.headers["request-id"].startswith("req_")
    assert int(response.headers["anthropic-ratelimit-requests-remaining"]) > 0
    again = await client.post("/v1/messages", headers=HEADERS, json=body())
    assert again.json()["content"] == message["content"]


async def test_max_tokens_stops_for_length(client: httpx2.AsyncClient) -> None:
    message = (await client.post("/v1/messages", headers=HEADERS, json=body(max_tokens=3))).json()
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["output_tokens"] == 3
    assert message["content"][0]["text"] == expected_text("Hello there", seed=0, max_tokens=3)


async def test_stop_sequence_is_reported(client: httpx2.AsyncClient) -> None:
    full = expected_text("Hello there", seed=0)
    word = full.split()[2]
    message = (await client.post("/v1/messages", headers=HEADERS, json=body(stop_sequences=[word]))).json()
    assert message["stop_reason"] == "stop_sequence"
    assert message["stop_sequence"] == word
    assert message["content"][0]["text"] == full[: full.index(word)]


async def test_system_and_history_shape_the_reply(client: httpx2.AsyncClient) -> None:
    plain = (await client.post("/v1/messages", headers=HEADERS, json=body())).json()
    with_system = (await client.post("/v1/messages", headers=HEADERS, json=body(system="Be brief."))).json()
    assert with_system["content"] != plain["content"]
    assert with_system["usage"]["input_tokens"] > plain["usage"]["input_tokens"]


async def test_tool_use_block_has_schema_valid_input(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, json=body(tools=[WEATHER]))
    message = response.json()
    assert message["stop_reason"] == "tool_use"
    uses = [b for b in message["content"] if b["type"] == "tool_use"]
    assert uses and all(u["id"].startswith("toolu_") and u["name"] == "get_weather" for u in uses)
    for use in uses:
        jsonschema.validate(use["input"], WEATHER["input_schema"])


async def test_tool_choice_none_and_tool_results_get_text(client: httpx2.AsyncClient) -> None:
    none = await client.post(
        "/v1/messages", headers=HEADERS, json=body(tools=[WEATHER], tool_choice={"type": "none"})
    )
    assert none.json()["stop_reason"] == "end_turn"
    first = (await client.post("/v1/messages", headers=HEADERS, json=body(tools=[WEATHER]))).json()
    use_ids = [b["id"] for b in first["content"] if b["type"] == "tool_use"]
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": i, "content": "Sunny"} for i in use_ids],
        },
    ]
    answer = await client.post("/v1/messages", headers=HEADERS, json=body(tools=[WEATHER], messages=history))
    assert answer.status_code == 200
    assert answer.json()["stop_reason"] == "end_turn"
    assert answer.json()["content"][0]["type"] == "text"


async def test_structured_output_follows_the_schema(client: httpx2.AsyncClient) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    output = {"format": {"type": "json_schema", "schema": schema}}
    message = (await client.post("/v1/messages", headers=HEADERS, json=body(output_config=output))).json()
    jsonschema.validate(json.loads(message["content"][0]["text"]), schema)


async def test_count_tokens_matches_message_usage(client: httpx2.AsyncClient) -> None:
    request = body(system="You are terse.", tools=[WEATHER], tool_choice={"type": "none"})
    counted = await client.post("/v1/messages/count_tokens", headers=HEADERS, json=request)
    assert counted.status_code == 200
    used = (await client.post("/v1/messages", headers=HEADERS, json=request)).json()["usage"]["input_tokens"]
    assert counted.json() == {"input_tokens": used}


async def test_images_are_billed_as_prompt_tokens(client: httpx2.AsyncClient) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    text = {"type": "text", "text": "Hello there"}
    plain = await client.post(
        "/v1/messages/count_tokens",
        headers=HEADERS,
        json=body(messages=[{"role": "user", "content": [text]}]),
    )
    pictured = await client.post(
        "/v1/messages/count_tokens",
        headers=HEADERS,
        json=body(messages=[{"role": "user", "content": [image, text]}]),
    )
    assert pictured.json()["input_tokens"] == plain.json()["input_tokens"] + 85


async def test_count_tokens_validates_without_max_tokens(client: httpx2.AsyncClient) -> None:
    request = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert (await client.post("/v1/messages/count_tokens", headers=HEADERS, json=request)).status_code == 200
    bad = await client.post(
        "/v1/messages/count_tokens", headers=HEADERS, json={"model": MODEL, "messages": []}
    )
    assert_error(bad, 400, "invalid_request_error", "messages: at least one message is required")


# --------------------------------------------------------------------------- streaming


async def test_stream_event_sequence_for_text(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, json=body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert all(name == data["type"] for name, data in events)
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["id"].startswith("msg_")
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == expected_text("Hello there", seed=0)
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == len(names) - 6


async def test_stream_tool_use_sends_json_fragments(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, json=body(stream=True, tools=[WEATHER]))
    events = sse_events(response.text)
    starts = [d for n, d in events if n == "content_block_start"]
    assert starts and all(s["content_block"]["type"] == "tool_use" for s in starts)
    for start in starts:
        index = start["index"]
        fragments = [
            d["delta"]["partial_json"]
            for n, d in events
            if n == "content_block_delta" and d["index"] == index
        ]
        assert fragments[0] == "" and len(fragments) > 2
        assert all(d["delta"]["type"] == "input_json_delta" for n, d in events if n == "content_block_delta")
        jsonschema.validate(json.loads("".join(fragments)), WEATHER["input_schema"])
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_stream_is_paced_by_tokens_per_second() -> None:
    sim = Simulator(SimulatorConfig(tokens_per_second=400.0))
    async with client_for(sim) as c:
        started = time.perf_counter()
        response = await c.post("/v1/messages", headers=HEADERS, json=body(stream=True, max_tokens=20))
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 19 / 400
    assert sim.stats.streams_completed == 1


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
        (body(max_tokens=0), "max_tokens: Input should be greater than or equal to 1"),
        (body(messages=[]), "messages: at least one message is required"),
        (body(temperature=1.5), "temperature: Input should be less than or equal to 1"),
        (body(top_p=-0.1), "top_p: Input should be greater than or equal to 0"),
        (body(top_k=-1), "top_k: Input should be greater than or equal to 0"),
        (body(messages=[{"role": "user", "content": ""}]), None),
        (
            body(messages=[{"role": "tool", "content": "x"}]),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (body(tools=[WEATHER], tool_choice={"type": "tool", "name": "nope"}), None),
        (body(tools=[{"name": "bad name!", "input_schema": {"type": "object"}}]), None),
    ],
)
async def test_invalid_requests_are_refused_like_the_api(
    client: httpx2.AsyncClient, request_body: dict[str, Any], message: str | None
) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, json=request_body)
    assert_error(response, 400, "invalid_request_error", message)


MODERN = {**HEADERS, "anthropic-version": "2026-10-21"}


@pytest.mark.parametrize("name", ["temperature", "top_p", "top_k"])
async def test_version_2026_10_21_refuses_sampling_parameters(client: httpx2.AsyncClient, name: str) -> None:
    response = await client.post("/v1/messages", headers=MODERN, json=body(**{name: 1}))
    assert_error(response, 400, "invalid_request_error", f"{name}: Extra inputs are not permitted")
    assert (await client.post("/v1/messages", headers=HEADERS, json=body(**{name: 1}))).status_code == 200
    assert (await client.post("/v1/messages", headers=MODERN, json=body())).status_code == 200


async def test_version_2026_10_21_content_rules(client: httpx2.AsyncClient) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
    in_assistant = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [document]}]
    assert (
        await client.post("/v1/messages", headers=HEADERS, json=body(messages=in_assistant))
    ).status_code == 200
    refused = await client.post("/v1/messages", headers=MODERN, json=body(messages=in_assistant))
    assert_error(refused, 400, "invalid_request_error")
    assert "messages.1.content.0" in refused.json()["error"]["message"]
    cited = {"type": "text", "text": "hi", "citations": [{"type": "char_location", "cited_text": "h"}]}
    refused = await client.post(
        "/v1/messages", headers=MODERN, json=body(messages=[{"role": "user", "content": [cited]}])
    )
    assert_error(refused, 400, "invalid_request_error")
    assert refused.json()["error"]["message"].startswith("messages.0.content.0.citations:")


async def test_system_role_in_messages_is_explained(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/messages", headers=HEADERS, json=body(messages=[{"role": "system", "content": "x"}])
    )
    assert_error(response, 400, "invalid_request_error")
    assert "top-level `system` parameter" in response.json()["error"]["message"]


async def test_tool_result_must_answer_a_tool_use(client: httpx2.AsyncClient) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}]},
    ]
    response = await client.post("/v1/messages", headers=HEADERS, json=body(messages=messages))
    assert_error(response, 400, "invalid_request_error")
    assert "messages.2: unexpected `tool_use_id`" in response.json()["error"]["message"]


async def test_tool_use_needs_its_result_next(client: httpx2.AsyncClient) -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": "and?"},
    ]
    response = await client.post(
        "/v1/messages", headers=HEADERS, json=body(tools=[WEATHER], messages=messages)
    )
    assert_error(response, 400, "invalid_request_error")
    assert "`tool_use` ids were found without `tool_result` blocks" in response.json()["error"]["message"]


async def test_tool_use_ids_must_be_unique(client: httpx2.AsyncClient) -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [use, use]}]
    response = await client.post(
        "/v1/messages", headers=HEADERS, json=body(tools=[WEATHER], messages=messages)
    )
    assert_error(
        response, 400, "invalid_request_error", "messages.1.content.1: `tool_use` ids must be unique"
    )


async def test_prompt_over_the_context_window() -> None:
    async with client_for(Simulator(SimulatorConfig(context_window=50))) as c:
        long = body(messages=[{"role": "user", "content": "word " * 80}], max_tokens=1)
        response = await c.post("/v1/messages", headers=HEADERS, json=long)
        assert_error(response, 400, "invalid_request_error")
        assert response.json()["error"]["message"].startswith("prompt is too long: ")
        assert response.json()["error"]["message"].endswith(" tokens > 50 maximum")
        room = await c.post("/v1/messages", headers=HEADERS, json=body(max_tokens=49))
        assert_error(room, 400, "invalid_request_error")
        assert "exceed context limit" in room.json()["error"]["message"]


async def test_broken_json_body(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers=HEADERS, content=b"{not json")
    assert_error(response, 400, "invalid_request_error")


async def test_unknown_model_is_not_found() -> None:
    async with client_for(Simulator(SimulatorConfig(models={MODEL}))) as c:
        response = await c.post("/v1/messages", headers=HEADERS, json=body(model="claude-nope"))
    assert_error(response, 404, "not_found_error", "model: claude-nope")


# --------------------------------------------------------------------------- headers and auth


async def test_anthropic_version_header_is_required(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/messages", headers={"x-api-key": "k"}, json=body())
    assert_error(response, 400, "invalid_request_error", "anthropic-version: header is required")
    bad = await client.post(
        "/v1/messages", headers={**HEADERS, "anthropic-version": "yesterday"}, json=body()
    )
    assert_error(bad, 400, "invalid_request_error", 'anthropic-version: "yesterday" is not a valid version')


async def test_keys_are_enforced_when_configured() -> None:
    sim = Simulator(SimulatorConfig(api_keys={"sk-ant-good"}))
    async with client_for(sim) as c:
        missing = await c.post("/v1/messages", headers={"anthropic-version": "2023-06-01"}, json=body())
        assert_error(missing, 401, "authentication_error", "x-api-key header is required")
        wrong = await c.post("/v1/messages", headers={**HEADERS, "x-api-key": "sk-ant-bad"}, json=body())
        assert_error(wrong, 401, "authentication_error", "invalid x-api-key")
        assert "sk-ant-bad" not in wrong.text
        good = await c.post("/v1/messages", headers={**HEADERS, "x-api-key": "sk-ant-good"}, json=body())
        assert good.status_code == 200
        bearer = {"authorization": "Bearer sk-ant-good", "anthropic-version": "2023-06-01"}
        assert (await c.post("/v1/messages", headers=bearer, json=body())).status_code == 200
    assert sim.stats.requests["anthropic"] == 2  # refusals are not counted as served requests


# --------------------------------------------------------------------------- faults


async def _faulty(
    fault: Fault, request_body: dict[str, Any], **config: Any
) -> tuple[Simulator, httpx2.Response]:
    sim = Simulator(SimulatorConfig(**config), faults=FaultSequence([fault]))
    async with client_for(sim) as c:
        return sim, await c.post("/v1/messages", headers=HEADERS, json=request_body)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error"), (403, "permission_error")],
)
async def test_status_faults_use_anthropic_error_types(status: int, kind: str) -> None:
    _, response = await _faulty(Fault.error(status), body())
    assert_error(response, status, kind)


async def test_rate_limit_fault_carries_retry_after() -> None:
    _, response = await _faulty(Fault.rate_limited(retry_after=2.5, message="slow down"), body())
    assert_error(response, 429, "rate_limit_error", "slow down")
    assert response.headers["retry-after"] == "3"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_hang_fault_answers_only_after_hang_seconds() -> None:
    started = time.perf_counter()
    _, response = await _faulty(Fault("hang"), body(), hang_seconds=0.2)
    assert time.perf_counter() - started >= 0.2
    assert response.status_code == 200


async def test_reset_fault_drops_the_connection() -> None:
    sim = Simulator(faults=FaultSequence([Fault("reset")]))
    async with client_for(sim) as c:
        with pytest.raises(SimulatedReset):
            await c.post("/v1/messages", headers=HEADERS, json=body())


async def test_malformed_fault_unary_body_is_not_json() -> None:
    _, response = await _faulty(Fault("malformed"), body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_cut_stream_ends_without_message_stop() -> None:
    sim, response = await _faulty(Fault("cut_stream", after_pieces=4), body(stream=True))
    events = sse_events(response.text)
    names = [n for n, _ in events]
    assert names.count("content_block_delta") == 4
    assert "message_stop" not in names and "message_delta" not in names
    assert sim.stats.streams_cut == 1


async def test_stream_error_fault_sends_an_error_event() -> None:
    _, response = await _faulty(Fault("stream_error", after_pieces=2), body(stream=True))
    events = sse_events(response.text)
    assert [n for n, _ in events].count("content_block_delta") == 2
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )


async def test_malformed_fault_garbles_one_stream_event() -> None:
    _, response = await _faulty(Fault("malformed", after_pieces=1), body(stream=True))
    broken = 0
    for block in response.text.strip().split("\n\n"):
        try:
            json.loads(block.split("\n")[1][6:])
        except json.JSONDecodeError:
            broken += 1
    assert broken == 1
    assert response.text.rstrip().endswith('data: {"type":"message_stop"}')


async def test_stream_error_on_unary_call_is_a_status_error() -> None:
    _, response = await _faulty(Fault("stream_error", status=529), body())
    assert_error(response, 529, "overloaded_error")


# --------------------------------------------------------------------------- the official SDK


def sdk_client(sim: Simulator) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url="http://sim", http_client=client_for(sim), max_retries=0
    )


@pytest.mark.sdk
async def test_sdk_parses_messages_and_count_tokens() -> None:
    sdk = sdk_client(Simulator())
    message = await sdk.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "Hello there"}],
        tools=[WEATHER],
    )
    assert message.stop_reason == "tool_use"
    tool_uses = [b for b in message.content if b.type == "tool_use"]
    assert tool_uses and tool_uses[0].name == "get_weather"
    counted = await sdk.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "Hello there"}]
    )
    assert counted.input_tokens > 0


@pytest.mark.sdk
async def test_sdk_accumulates_the_stream() -> None:
    sdk = sdk_client(Simulator())
    async with sdk.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hello there"}]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == expected_text("Hello there", seed=0)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.sdk
async def test_sdk_maps_errors() -> None:
    sim = Simulator(faults=FaultSequence([Fault.overloaded(), Fault.rate_limited(retry_after=1)]))
    sdk = sdk_client(sim)
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=messages)
    assert overloaded.value.status_code == 529
    with pytest.raises(anthropic.RateLimitError) as limited:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=messages)
    assert limited.value.response.headers["retry-after"] == "1"
    # The SDK speaks anthropic-version 2026-10-21, which has no sampling parameters.
    with pytest.raises(anthropic.BadRequestError) as refused:
        await sdk.messages.create(
            model=MODEL, max_tokens=10, messages=messages, extra_body={"temperature": 1.0}
        )
    assert refused.value.body["error"]["message"] == "temperature: Extra inputs are not permitted"


async def test_a_final_assistant_turn_is_a_prefill_the_reply_continues() -> None:
    import llmrelay
    from llmrelay.settings import Settings
    from llmrelay.simulator import expected_text
    from llmrelay.types import Message

    full = expected_text("tell me a story", seed=0)
    model = "simulator-anthropic/claude-haiku-4-5"
    async with llmrelay.Client(Settings.load(), environ={}) as client:
        for cut in (5, 23, 60):
            prefill = full[:cut].rstrip()
            reply = await client.chat(
                [Message.user("tell me a story"), Message.assistant(prefill)], model=model
            )
            assert prefill + reply.text == full  # the continuation, not the prefill again
            whole = await client.chat("tell me a story", model=model)
            assert reply.usage is not None and whole.usage is not None
            assert reply.usage.output_tokens < whole.usage.output_tokens  # only what follows is generated
        with pytest.raises(llmrelay.InvalidRequestError, match="trailing whitespace"):
            await client.chat(
                [Message.user("tell me a story"), Message.assistant(full[:6] + " ")], model=model
            )
