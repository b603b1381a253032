"""Anthropic Message objects -> ChatResponse, against golden fixtures from the API docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.anthropic import JSON_TOOL_NAME, AnthropicAdapter
from llmrelay.types import ToolCall, Usage
from llmrelay.wire import Endpoint

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
EP = Endpoint(
    provider="anthropic", model="claude-sonnet-4-5", base_url="https://api.anthropic.com", host="anthropic"
)


def fixture_body(name: str) -> bytes:
    doc = json.loads((FIXTURES / name).read_text())
    assert doc["_source"]
    return json.dumps(doc["body"]).encode()


def parse(payload: dict[str, Any] | bytes, ep: Endpoint = EP, **kw: Any) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return AnthropicAdapter().parse_chat(raw, ep, **kw)


def test_basic_message() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_basic.json"), EP)
    assert r.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert r.model == "claude-sonnet-4-5-20250929"
    assert r.provider == "anthropic"
    assert r.text == "Hi! My name is Claude."
    assert r.tool_calls == ()
    assert (r.finish_reason, r.native_finish_reason) == ("stop", "end_turn")
    assert r.usage == Usage(input_tokens=2095, output_tokens=503)
    assert r.reasoning is None
    assert r.raw is None


def test_include_raw_keeps_the_payload() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_basic.json"), EP, include_raw=True)
    assert r.raw["id"] == "msg_013Zva2CMHLNnXjNJJKqJ2EF"


def test_provider_is_the_host_or_anthropic() -> None:
    sim = Endpoint(
        provider="anthropic", model="m", base_url="http://simulator.local", host="simulator-anthropic"
    )
    assert (
        AnthropicAdapter().parse_chat(fixture_body("message_basic.json"), sim).provider
        == "simulator-anthropic"
    )
    bare = Endpoint(provider="anthropic", model="m", base_url="https://api.anthropic.com")
    assert AnthropicAdapter().parse_chat(fixture_body("message_basic.json"), bare).provider == "anthropic"


def test_tool_use_message() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_tool_use.json"), EP)
    assert r.text == "I'll check the current weather in San Francisco for you."
    assert r.tool_calls == (
        ToolCall(
            "toolu_01A09q90qw90lq917835lq9",
            "get_weather",
            '{"location": "San Francisco, CA", "unit": "celsius"}',
        ),
    )
    assert r.tool_calls[0].parsed_arguments() == {"location": "San Francisco, CA", "unit": "celsius"}
    assert (r.finish_reason, r.native_finish_reason) == ("tool_calls", "tool_use")
    assert r.message.tool_calls == r.tool_calls


def test_parallel_tool_use_keeps_order() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_parallel_tools.json"), EP)
    assert [(c.id, c.name) for c in r.tool_calls] == [("toolu_01", "get_weather"), ("toolu_02", "get_time")]
    assert r.tool_calls[1].parsed_arguments() == {"timezone": "America/New_York"}


def test_thinking_becomes_reasoning_and_redacted_thinking_is_dropped() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_thinking.json"), EP)
    assert r.reasoning == "Let me analyze this step by step..."
    assert r.text == "Based on my analysis..."
    assert r.usage is not None
    assert r.usage.reasoning_tokens == 1100
    assert r.usage.output_tokens == 1290


def test_prompt_cache_usage_counts_reads_and_writes_as_input() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_prompt_cache.json"), EP)
    assert r.usage == Usage(
        input_tokens=21 + 188086 + 3000,
        output_tokens=393,
        cached_input_tokens=3000,
        cache_write_tokens=188086,
    )
    assert r.finish_reason == "stop"
    assert r.native_finish_reason == "stop_sequence"
    assert r.details["stop_sequence"] == "\n\nHuman:"


def test_refusal_is_a_content_filter_finish() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_refusal.json"), EP)
    assert (r.finish_reason, r.native_finish_reason) == ("content_filter", "refusal")


def test_native_structured_output_is_plain_json_text() -> None:
    r = AnthropicAdapter().parse_chat(fixture_body("message_structured_output.json"), EP)
    assert json.loads(r.text)["plan_interest"] == "Enterprise"
    assert r.finish_reason == "stop"


@pytest.mark.parametrize(
    ("native", "mapped"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("some_future_reason", "stop"),
    ],
)
def test_stop_reason_mapping(native: str, mapped: str) -> None:
    r = parse({"id": "m", "model": "x", "content": [], "stop_reason": native})
    assert (r.finish_reason, r.native_finish_reason) == (mapped, native)


def test_json_tool_reply_is_turned_back_into_text() -> None:
    payload = {
        "id": "msg_1",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "tool_use", "id": "toolu_9", "name": JSON_TOOL_NAME, "input": {"answer": 42}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    r = parse(payload)
    assert json.loads(r.text) == {"answer": 42}
    assert r.tool_calls == ()
    assert (r.finish_reason, r.native_finish_reason) == ("stop", "tool_use")


def test_json_tool_with_a_real_tool_call_stays_a_tool_call() -> None:
    payload = {
        "id": "msg_1",
        "model": "m",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
            {"type": "tool_use", "id": "toolu_2", "name": JSON_TOOL_NAME, "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
    }
    r = parse(payload)
    assert [c.name for c in r.tool_calls] == ["get_weather"]
    assert r.finish_reason == "tool_calls"
    assert json.loads(r.text) == {"a": 1}


def test_missing_usage_and_model_fall_back() -> None:
    r = parse({"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": "end_turn"})
    assert r.usage is None
    assert r.model == "claude-sonnet-4-5"


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"id": "x"}', b'{"content": "text"}'])
def test_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse(raw)


def test_an_error_object_in_a_2xx_body_raises_the_mapped_error() -> None:
    with pytest.raises(errors.OverloadedError):
        parse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


def test_cache_writes_split_by_lifetime_and_the_tier() -> None:
    from llmrelay.providers.anthropic_response import service_tier_from, usage_from

    raw = {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens": 5,
        "service_tier": "priority",
    }
    assert usage_from(raw) == Usage(410, 5, 100, 300, 0, cache_write_1h_tokens=200)
    assert service_tier_from(raw) == "priority"
    # the split without the total (some proxies drop it) still counts every write
    split_only = {k: v for k, v in raw.items() if k != "cache_creation_input_tokens"}
    assert usage_from(split_only) == Usage(410, 5, 100, 300, 0, cache_write_1h_tokens=200)
    # an older response without the split: every write had the default lifetime
    plain = {k: v for k, v in raw.items() if k != "cache_creation"}
    assert usage_from(plain) == Usage(410, 5, 100, 300, 0)
    assert service_tier_from({"input_tokens": 1}) is None
