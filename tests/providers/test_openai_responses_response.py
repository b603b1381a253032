"""Responses API ``response`` objects -> ChatResponse, and the reasoning state they leave."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_responses_response import parse_chat
from llmrelay.providers.openai_responses_state import state_from
from llmrelay.types import ToolCall, Usage
from llmrelay.wire import Endpoint

EP = Endpoint("responses", "gpt-5-mini", "https://api.openai.com/v1", host="openai-responses")
USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 100},
    "output_tokens": 90,
    "output_tokens_details": {"reasoning_tokens": 64},
    "total_tokens": 210,
}
REASONING = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Then."}],
    "encrypted_content": "gAAAA-sealed",
}


def response(*output: dict[str, Any], **top: Any) -> bytes:
    payload = {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-5-mini-2025-08-07",
        "status": "completed",
        "output": list(output),
        "usage": USAGE,
        "service_tier": "default",
        **top,
    }
    return json.dumps(payload).encode()


def message(*parts: dict[str, Any], item_id: str = "msg_1") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": list(parts),
    }


def text(t: str) -> dict[str, Any]:
    return {"type": "output_text", "text": t, "annotations": []}


def call(call_id: str, name: str, arguments: str, item_id: str = "fc_1") -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def test_text_usage_and_details() -> None:
    r = parse_chat(response(REASONING, message(text("Hello "), text("world"))), EP, include_raw=True)
    assert (r.id, r.model, r.provider) == ("resp_1", "gpt-5-mini-2025-08-07", "openai-responses")
    assert r.text == "Hello world"
    assert (r.finish_reason, r.native_finish_reason) == ("stop", "completed")
    assert r.usage == Usage(120, 90, cached_input_tokens=100, reasoning_tokens=64)
    assert r.reasoning == "First.\n\nThen."
    assert r.details == {"service_tier": "default"}
    assert r.raw["id"] == "resp_1"
    assert parse_chat(response(message(text("x"))), EP).raw is None


def test_function_calls_finish_with_tool_calls_and_keep_the_call_id() -> None:
    r = parse_chat(response(REASONING, call("call_a", "f", '{"x":1}'), call("call_b", "g", "", "fc_2")), EP)
    assert r.tool_calls == (ToolCall("call_a", "f", '{"x":1}'), ToolCall("call_b", "g", "{}"))
    assert r.finish_reason == "tool_calls"


def test_reasoning_items_become_provider_state_with_markers() -> None:
    r = parse_chat(response(REASONING, message(text("ok")), call("call_a", "f", "{}")), EP)
    assert r.provider_state == {
        "responses": {
            "items": [
                REASONING,
                {"type": "message", "id": "msg_1"},
                {"type": "function_call", "call_id": "call_a", "id": "fc_1"},
            ]
        }
    }
    assert r.message.provider_state == r.provider_state
    assert parse_chat(response(message(text("ok"))), EP).provider_state is None


def test_an_unstored_reasoning_item_without_encrypted_content_is_not_kept() -> None:
    bare = {"id": "rs_2", "type": "reasoning", "summary": []}
    assert state_from([bare, message(text("x"))], stored=False) is None
    assert state_from([bare], stored=True) == {"responses": {"items": [bare]}}
    r = parse_chat(response(bare, message(text("x")), store=False), EP)
    assert r.provider_state is None


@pytest.mark.parametrize(
    ("status", "details", "finish", "native"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, "length", "max_output_tokens"),
        ("incomplete", {"reason": "content_filter"}, "content_filter", "content_filter"),
        ("incomplete", None, "length", "incomplete"),
        ("cancelled", None, "error", "cancelled"),
    ],
)
def test_status_and_incomplete_details_map_to_finish_reasons(
    status: str, details: Any, finish: str, native: str
) -> None:
    r = parse_chat(response(message(text("cut")), status=status, incomplete_details=details), EP)
    assert (r.finish_reason, r.native_finish_reason) == (finish, native)


def test_a_refusal_is_text_with_a_content_filter_finish() -> None:
    r = parse_chat(response(message({"type": "refusal", "refusal": "I can't help."})), EP)
    assert (r.text, r.finish_reason, r.details["refusal"]) == (
        "I can't help.",
        "content_filter",
        "I can't help.",
    )


def test_raw_reasoning_text_is_read_when_there_is_no_summary() -> None:
    raw = {
        "id": "rs_3",
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "hm"}],
    }
    assert parse_chat(response(raw, message(text("a"))), EP).reasoning == "hm"


def test_a_failed_response_raises_its_error() -> None:
    failed = response(status="failed", error={"code": "server_error", "message": "boom"})
    with pytest.raises(errors.ServiceUnavailableError, match="boom") as info:
        parse_chat(failed, EP)
    assert info.value.code == "server_error"
    limited = response(status="failed", error={"code": "rate_limit_exceeded", "message": "slow down"})
    with pytest.raises(errors.RateLimitError):
        parse_chat(limited, EP)
    policy = response(status="failed", error={"code": "invalid_prompt", "message": "flagged"})
    with pytest.raises(errors.InvalidRequestError):
        parse_chat(policy, EP)


def test_background_responses_are_refused_clearly() -> None:
    with pytest.raises(errors.UnsupportedFeatureError, match="background"):
        parse_chat(response(status="queued"), EP)


@pytest.mark.parametrize(
    ("body", "match"),
    [(b"<html>", "not valid JSON"), (b"[]", "not a JSON object"), (b'{"id": "resp_1"}', "no output list")],
)
def test_malformed_bodies(body: bytes, match: str) -> None:
    with pytest.raises(errors.MalformedResponseError, match=match):
        parse_chat(body, EP)


def test_an_error_body_with_a_2xx_status_is_typed() -> None:
    with pytest.raises(errors.AuthenticationError):
        parse_chat(b'{"error": {"message": "bad key", "code": "invalid_api_key"}}', EP)
