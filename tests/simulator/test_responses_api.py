"""The simulator's Responses API: /v1/responses (unary, SSE), input_tokens, Azure paths."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest
from tests.simulator.openai_harness import Harness, harness

from llmrelay.simulator import Fault, FaultSequence, SimulatorConfig
from llmrelay.simulator.engine import expected_text
from llmrelay.simulator.responses_api_request import seal

URL = "/v1/responses"
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather",
    "parameters": CITY,
    "strict": True,
}


@pytest.fixture
async def api() -> AsyncIterator[Harness]:
    async with harness(url=URL) as h:
        yield h


def events(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE body, checking each ``event:`` name matches its ``type``."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        payload = json.loads(lines["data"])
        assert lines["event"] == payload["type"]
        out.append(payload)
    return out


async def error_of(api: Harness, body: dict[str, Any], status: int = 400) -> dict[str, Any]:
    r = await api.post(body)
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


# --------------------------------------------------------------------------- unary


async def test_a_text_response_has_the_real_shape(api: Harness) -> None:
    r = await api.post({"model": "gpt-4o", "instructions": "Be brief.", "input": "Hello", "temperature": 0.5})
    assert r.status_code == 200 and r.headers["x-request-id"].startswith("req_")
    body = r.json()
    assert body["object"] == "response" and body["id"].startswith("resp_")
    assert (body["status"], body["error"], body["incomplete_details"]) == ("completed", None, None)
    assert (body["instructions"], body["temperature"], body["store"]) == ("Be brief.", 0.5, True)
    [message] = body["output"]
    assert (
        message["type"] == "message" and message["id"].startswith("msg_") and message["role"] == "assistant"
    )
    [part] = message["content"]
    assert part["type"] == "output_text" and part["annotations"] == []
    # the instructions are part of the conversation the reply is derived from
    assert part["text"] == expected_text("Be brief.\nHello", seed=0)
    usage = body["usage"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_input_tokens_counts_what_create_bills(api: Harness) -> None:
    body = {"model": "gpt-4o", "instructions": "Be brief.", "input": [{"role": "user", "content": "Hi"}]}
    billed = (await api.post({**body, "tools": [WEATHER]})).json()["usage"]["input_tokens"]
    r = await api.post({**body, "tools": [WEATHER]}, url="/v1/responses/input_tokens")
    assert r.json() == {"object": "response.input_tokens", "input_tokens": billed}
    r = await api.post({**body, "max_output_tokens": 50}, url="/v1/responses/input_tokens")
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_output_tokens"


async def test_max_output_tokens_truncates_to_an_incomplete_response(api: Harness) -> None:
    body = (await api.post({"model": "gpt-4o", "input": "Hello", "max_output_tokens": 16})).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete" and body["usage"]["output_tokens"] == 16
    error = await error_of(api, {"model": "gpt-4o", "input": "Hello", "max_output_tokens": 5})
    assert error["code"] == "integer_below_min_value" and error["param"] == "max_output_tokens"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "gpt-4o", "input": "x", "stop": ["\n"]}, "stop", "unknown_parameter"),
        ({"input": "x"}, None, None),
        ({"model": "gpt-4o"}, "input", "missing_required_parameter"),
        ({"model": "gpt-4o", "input": "x", "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"model": "gpt-4o", "input": [{"type": "bogus"}]}, "input[0].type", "invalid_value"),
        ({"model": "gpt-4o", "input": "x", "include": ["nope"]}, "include[0]", "invalid_value"),
    ],
)
async def test_validation_errors(
    api: Harness, body: dict[str, Any], param: str | None, code: str | None
) -> None:
    error = await error_of(api, body)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


# --------------------------------------------------------------------------- tools and formats


async def test_function_calls_and_the_tool_loop(api: Harness) -> None:
    first = (await api.post({"model": "gpt-4o", "input": "Weather in Oslo?", "tools": [WEATHER]})).json()
    calls = [o for o in first["output"] if o["type"] == "function_call"]
    assert calls and all(c["call_id"].startswith("call_") and c["id"].startswith("fc_") for c in calls)
    jsonschema.validate(json.loads(calls[0]["arguments"]), CITY)
    assert first["tools"][0]["strict"] is True
    follow = [{"role": "user", "content": "Weather in Oslo?"}, *calls]
    follow += [{"type": "function_call_output", "call_id": c["call_id"], "output": "sunny"} for c in calls]
    second = (await api.post({"model": "gpt-4o", "input": follow, "tools": [WEATHER]})).json()
    assert [o["type"] for o in second["output"]] == ["message"]


async def test_tool_pairing_is_checked(api: Harness) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
    error = await error_of(api, {"model": "gpt-4o", "input": [{"role": "user", "content": "q"}, call]})
    assert error["message"] == "No tool output found for function call call_1."
    orphan = {"type": "function_call_output", "call_id": "call_9", "output": "x"}
    error = await error_of(api, {"model": "gpt-4o", "input": [orphan]})
    assert "No tool call found for function call output with call_id call_9" in error["message"]


async def test_function_tools_are_strict_unless_told_otherwise(api: Harness) -> None:
    loose = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}
    tool = {"type": "function", "name": "f", "parameters": loose}
    # strict omitted: the schema is normalised into strict mode, optional fields become required
    body = (await api.post({"model": "gpt-4o", "input": "q", "tools": [tool]})).json()
    assert body["tools"][0]["strict"] is True
    assert body["tools"][0]["parameters"]["additionalProperties"] is False
    assert body["tools"][0]["parameters"]["required"] == ["city", "days"]
    assert set(json.loads(body["output"][0]["arguments"])) == {"city", "days"}
    # strict: true demands a strict schema as sent
    error = await error_of(api, {"model": "gpt-4o", "input": "q", "tools": [{**tool, "strict": True}]})
    assert error["code"] == "invalid_function_parameters" and "additionalProperties" in error["message"]
    r = await api.post({"model": "gpt-4o", "input": "q", "tools": [{**tool, "strict": False}]})
    assert r.status_code == 200 and r.json()["tools"][0]["parameters"] == loose


async def test_tool_choice(api: Harness) -> None:
    time_tool = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
    time_tool["strict"] = False
    forced = {"type": "function", "name": "get_time"}
    body = (
        await api.post(
            {"model": "gpt-4o", "input": "q", "tools": [WEATHER, time_tool], "tool_choice": forced}
        )
    ).json()
    assert [o["name"] for o in body["output"]] == ["get_time"]
    none = (
        await api.post({"model": "gpt-4o", "input": "q", "tools": [WEATHER], "tool_choice": "none"})
    ).json()
    assert none["output"][0]["type"] == "message"
    error = await error_of(
        api,
        {
            "model": "gpt-4o",
            "input": "q",
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "name": "x"},
        },
    )
    assert error["param"] == "tool_choice"


async def test_structured_outputs(api: Harness) -> None:
    fmt = {"type": "json_schema", "name": "city", "schema": CITY, "strict": True}
    body = (await api.post({"model": "gpt-4o", "input": "q", "text": {"format": fmt}})).json()
    jsonschema.validate(json.loads(body["output"][0]["content"][0]["text"]), CITY)
    assert body["text"]["format"] == fmt
    error = await error_of(
        api, {"model": "gpt-4o", "input": "q", "text": {"format": {"type": "json_object"}}}
    )
    assert "must contain the word 'json'" in error["message"]
    ok = await api.post(
        {"model": "gpt-4o", "input": "reply in json", "text": {"format": {"type": "json_object"}}}
    )
    assert isinstance(json.loads(ok.json()["output"][0]["content"][0]["text"]), dict)


# --------------------------------------------------------------------------- reasoning


async def test_reasoning_items_tokens_summary_and_encrypted_content(api: Harness) -> None:
    body = {
        "model": "gpt-5-mini",
        "input": "Why?",
        "reasoning": {"effort": "high", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    r = (await api.post(body)).json()
    reasoning, message = r["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"][0]["type"] == "summary_text" and reasoning["summary"][0]["text"]
    assert reasoning["encrypted_content"] == seal(reasoning["id"], reasoning["summary"][0]["text"], 0)
    usage = r["usage"]
    visible = len(message["content"][0]["text"].split())  # at least one token per word
    assert usage["output_tokens_details"]["reasoning_tokens"] > 0
    assert usage["output_tokens"] >= usage["output_tokens_details"]["reasoning_tokens"] + visible
    plain = (await api.post({"model": "gpt-5-mini", "input": "Why?"})).json()
    assert plain["output"][0]["summary"] == [] and "encrypted_content" not in plain["output"][0]


async def test_replayed_reasoning_is_verified(api: Harness) -> None:
    first = (
        await api.post(
            {"model": "o4-mini", "input": "q", "tools": [WEATHER], "include": ["reasoning.encrypted_content"]}
        )
    ).json()
    outputs = [
        {"type": "function_call_output", "call_id": o["call_id"], "output": "ok"} for o in first["output"][1:]
    ]
    follow = [{"role": "user", "content": "q"}, *first["output"], *outputs]
    assert (await api.post({"model": "o4-mini", "input": follow, "tools": [WEATHER]})).status_code == 200
    tampered = dict(first["output"][0], encrypted_content=first["output"][0]["encrypted_content"][:-2] + "00")
    error = await error_of(
        api, {"model": "o4-mini", "input": [follow[0], tampered, *follow[2:]], "tools": [WEATHER]}
    )
    assert error["code"] == "invalid_encrypted_content"


async def test_reasoning_is_refused_by_models_without_it(api: Harness) -> None:
    error = await error_of(api, {"model": "gpt-4o", "input": "q", "reasoning": {"effort": "low"}})
    assert error["param"] == "reasoning.effort"
    error = await error_of(api, {"model": "gpt-4o", "input": "q", "include": ["reasoning.encrypted_content"]})
    assert error["message"] == "Encrypted content is not supported with this model."
    none = (await api.post({"model": "gpt-5", "input": "q", "reasoning": {"effort": "none"}})).json()
    assert [o["type"] for o in none["output"]] == ["message"]


async def test_reasoning_can_use_up_the_output_budget(api: Harness) -> None:
    body = (
        await api.post(
            {"model": "gpt-5", "input": "q", "reasoning": {"effort": "xhigh"}, "max_output_tokens": 16}
        )
    ).json()
    assert body["status"] == "incomplete" and [o["type"] for o in body["output"]] == ["reasoning"]
    assert body["usage"]["output_tokens"] == body["usage"]["output_tokens_details"]["reasoning_tokens"] == 16


# --------------------------------------------------------------------------- conversation state


async def test_previous_response_id_continues_a_stored_response(api: Harness) -> None:
    first = (await api.post({"model": "gpt-4o", "input": "Hello"})).json()
    second = (
        await api.post({"model": "gpt-4o", "input": "And then?", "previous_response_id": first["id"]})
    ).json()
    expected = expected_text(
        "\n".join(["Hello", first["output"][0]["content"][0]["text"], "And then?"]), seed=0
    )
    assert second["output"][0]["content"][0]["text"] == expected
    assert second["previous_response_id"] == first["id"]
    unstored = (await api.post({"model": "gpt-4o", "input": "x", "store": False})).json()
    error = await error_of(api, {"model": "gpt-4o", "input": "y", "previous_response_id": unstored["id"]})
    assert error["code"] == "previous_response_not_found"


async def test_a_chained_tool_loop_must_answer_the_previous_calls(api: Harness) -> None:
    first = (await api.post({"model": "gpt-4o", "input": "q", "tools": [WEATHER]})).json()
    call_ids = [o["call_id"] for o in first["output"]]
    error = await error_of(api, {"model": "gpt-4o", "input": "more", "previous_response_id": first["id"]})
    assert error["message"].startswith("No tool output found")
    answers = [{"type": "function_call_output", "call_id": c, "output": "sunny"} for c in call_ids]
    r = await api.post(
        {"model": "gpt-4o", "input": answers, "previous_response_id": first["id"], "tools": [WEATHER]}
    )
    assert r.status_code == 200 and r.json()["output"][0]["type"] == "message"


# --------------------------------------------------------------------------- streaming


async def test_stream_events_in_order_match_the_unary_answer(api: Harness) -> None:
    body = {"model": "gpt-5-mini", "input": "Hello", "reasoning": {"summary": "detailed"}}
    unary = (await api.post(body)).json()
    r = await api.post({**body, "stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    evs = events(r.text)
    assert [e["sequence_number"] for e in evs] == list(range(len(evs)))
    kinds = [e["type"] for e in evs]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed" and evs[0]["response"]["status"] == "in_progress"
    text = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
    summary = "".join(e["delta"] for e in evs if e["type"] == "response.reasoning_summary_text.delta")
    assert text == unary["output"][1]["content"][0]["text"]
    assert summary == unary["output"][0]["summary"][0]["text"]
    final = evs[-1]["response"]
    assert final["usage"] == unary["usage"] and final["output"][1]["content"] == unary["output"][1]["content"]


async def test_streamed_function_call_arguments(api: Harness) -> None:
    evs = events((await api.post({"model": "gpt-4o", "input": "q", "tools": [WEATHER], "stream": True})).text)
    added = [e for e in evs if e["type"] == "response.output_item.added"]
    assert added[0]["item"]["type"] == "function_call" and added[0]["item"]["arguments"] == ""
    first = added[0]["item"]["id"]
    done = next(
        e for e in evs if e["type"] == "response.function_call_arguments.done" and e["item_id"] == first
    )
    deltas = [
        e["delta"]
        for e in evs
        if e["type"] == "response.function_call_arguments.delta" and e["item_id"] == first
    ]
    assert len(deltas) > 1 and "".join(deltas) == done["arguments"]
    item_done = next(e for e in evs if e["type"] == "response.output_item.done" and e["item"]["id"] == first)
    assert item_done["item"]["arguments"] == done["arguments"] and item_done["item"]["status"] == "completed"


async def test_incomplete_streams_end_with_response_incomplete(api: Harness) -> None:
    evs = events(
        (await api.post({"model": "gpt-4o", "input": "q", "stream": True, "max_output_tokens": 16})).text
    )
    assert evs[-1]["type"] == "response.incomplete"
    assert evs[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


# --------------------------------------------------------------------------- faults, auth, Azure


async def test_status_faults_use_openai_error_bodies() -> None:
    async with harness(faults=FaultSequence([Fault.rate_limited(retry_after=2)]), url=URL) as h:
        r = await h.post({"model": "gpt-4o", "input": "q"})
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("fault", "last"),
    [
        (Fault("cut_stream", after_pieces=3), "response.output_text.delta"),
        (Fault("stream_error", after_pieces=3), "response.failed"),
        (Fault("stream_error", status=429, after_pieces=3), "error"),
    ],
)
async def test_mid_stream_faults(fault: Fault, last: str) -> None:
    async with harness(faults=FaultSequence([fault]), url=URL) as h:
        r = await h.post({"model": "gpt-4o", "input": "q", "stream": True})
        stats = h.sim.stats
    evs = events(r.text)
    assert evs[-1]["type"] == last
    assert sum(e["type"] == "response.output_text.delta" for e in evs) == 3
    assert stats.streams_cut == 1 and stats.streams_completed == 0
    if last == "response.failed":
        assert evs[-1]["response"]["error"]["code"] == "server_error"
    if last == "error":
        assert evs[-1]["code"] == "rate_limit_exceeded"


async def test_malformed_stream_event() -> None:
    async with harness(faults=FaultSequence([Fault("malformed", after_pieces=1)]), url=URL) as h:
        r = await h.post({"model": "gpt-4o", "input": "q", "stream": True})
    assert '"delta":"\n\n' in r.text and r.text.rstrip().endswith("}")


async def test_keys_and_azure_paths() -> None:
    async with harness(SimulatorConfig(api_keys={"k1"}), url=URL) as h:
        assert (await h.post({"model": "gpt-4o", "input": "q"})).status_code == 401
        ok = await h.post({"model": "gpt-4o", "input": "q"}, headers={"authorization": "Bearer k1"})
        assert ok.status_code == 200
        azure = await h.post(
            {"model": "dep", "input": "q"}, url="/openai/v1/responses", headers={"api-key": "k1"}
        )
        assert azure.status_code == 200 and azure.json()["model"] == "dep"
        preview = await h.post(
            {"model": "dep", "input": "q"}, url="/openai/responses", headers={"api-key": "k1"}
        )
        assert preview.status_code == 404
        dated = await h.post(
            {"model": "dep", "input": "q"},
            url="/openai/responses?api-version=2025-04-01-preview",
            headers={"api-key": "k1"},
        )
        assert dated.status_code == 200
