"""OpenAI chat completion and embedding bodies -> ChatResponse / EmbeddingResponse, from
golden fixtures transcribed from the public API reference and from hand-made edge cases."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_response import map_finish, parse_chat, parse_embed, usage_from
from llmrelay.types import ToolCall, Usage
from llmrelay.wire import Endpoint

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai"
EP = Endpoint(provider="openai", model="gpt-4o", base_url="https://api.openai.com/v1", host="openai")


def fixture_body(name: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / name).read_text())["body"]).encode()


def completion(message: dict[str, Any], finish: str | None = "stop", **top: Any) -> bytes:
    payload = {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "model": "m-1",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        **top,
    }
    return json.dumps(payload).encode()


# --------------------------------------------------------------------------- golden fixtures


def test_reference_chat_completion() -> None:
    resp = parse_chat(fixture_body("chat_completion.json"), EP)
    assert resp.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert resp.model == "gpt-5.4"
    assert resp.provider == "openai"
    assert resp.text == "Hello! How can I assist you today?"
    assert resp.tool_calls == ()
    assert resp.finish_reason == "stop"
    assert resp.native_finish_reason == "stop"
    assert resp.usage == Usage(input_tokens=19, output_tokens=10)
    assert resp.reasoning is None
    assert resp.raw is None
    assert resp.details == {"service_tier": "default"}


def test_include_raw_keeps_the_decoded_payload() -> None:
    resp = parse_chat(fixture_body("chat_completion.json"), EP, include_raw=True)
    assert resp.raw["object"] == "chat.completion"
    assert resp.raw["choices"][0]["message"]["content"] == resp.text


def test_provider_is_the_host_name() -> None:
    ep = Endpoint(provider="openai", model="llama", base_url="https://api.groq.com/openai/v1", host="groq")
    assert parse_chat(fixture_body("chat_completion.json"), ep).provider == "groq"
    bare = Endpoint(provider="openai", model="llama", base_url="http://x")
    assert parse_chat(fixture_body("chat_completion.json"), bare).provider == "openai"


def test_reference_tool_calls() -> None:
    resp = parse_chat(fixture_body("chat_tool_calls.json"), EP)
    assert resp.text == ""
    assert resp.finish_reason == "tool_calls"
    assert resp.tool_calls == (
        ToolCall(id="call_abc123", name="get_current_weather", arguments='{\n"location": "Boston, MA"\n}'),
    )
    assert resp.tool_calls[0].parsed_arguments() == {"location": "Boston, MA"}
    assert resp.usage == Usage(input_tokens=82, output_tokens=17)
    assert resp.message.tool_calls == resp.tool_calls


def test_reference_refusal_is_a_content_filter_finish() -> None:
    resp = parse_chat(fixture_body("chat_refusal.json"), EP)
    assert resp.text == "I'm sorry, I cannot assist with that request."
    assert resp.finish_reason == "content_filter"
    assert resp.native_finish_reason == "stop"
    assert resp.details["refusal"] == "I'm sorry, I cannot assist with that request."
    assert resp.details["system_fingerprint"] == "fp_3407719c7f"


def test_deepseek_reasoning_content_and_reasoning_tokens() -> None:
    resp = parse_chat(fixture_body("chat_reasoning_deepseek.json"), EP)
    assert resp.text == "9.11 is smaller than 9.8."
    assert resp.reasoning is not None
    assert resp.reasoning.startswith("Compare the integer parts")
    assert resp.usage == Usage(input_tokens=19, output_tokens=142, reasoning_tokens=120)


# --------------------------------------------------------------------------- dialects and edge cases


def test_reasoning_field_of_openrouter_and_ollama() -> None:
    resp = parse_chat(completion({"content": "4", "reasoning": "2+2 is 4"}), EP)
    assert resp.reasoning == "2+2 is 4"


def test_usage_cached_written_and_reasoning_details() -> None:
    raw = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "cache_write_tokens": 50, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 192},
    }
    assert usage_from(raw) == Usage(
        input_tokens=2006,
        output_tokens=300,
        cached_input_tokens=1920,
        cache_write_tokens=50,
        reasoning_tokens=192,
    )


def test_usage_deepseek_cache_hits_and_sloppy_values() -> None:
    raw = {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64}
    assert usage_from(raw) == Usage(input_tokens=100, output_tokens=5, cached_input_tokens=64)
    sloppy = {"prompt_tokens": None, "completion_tokens": 3.0, "prompt_tokens_details": None}
    assert usage_from(sloppy) == Usage(input_tokens=0, output_tokens=3)
    assert usage_from(None) is None


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("content_filter", "content_filter"),
        ("error", "error"),
        ("eos", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reason_mapping(native: str | None, expected: str) -> None:
    assert map_finish(native) == expected
    resp = parse_chat(completion({"content": "x"}, finish=native), EP)
    assert resp.finish_reason == expected
    assert resp.native_finish_reason == native


def test_tool_calls_finishing_with_stop_count_as_tool_calls() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    resp = parse_chat(completion({"content": None, "tool_calls": calls}, finish="stop"), EP)
    assert resp.finish_reason == "tool_calls"
    assert resp.native_finish_reason == "stop"


def test_parallel_tool_calls_and_object_arguments() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "a", "arguments": '{"x":1}'}},
        {"type": "function", "function": {"name": "b", "arguments": {"y": [1, 2]}}},
        "garbage",
    ]
    resp = parse_chat(completion({"content": None, "tool_calls": calls}, finish="tool_calls"), EP)
    assert resp.tool_calls == (
        ToolCall(id="c1", name="a", arguments='{"x":1}'),
        ToolCall(id="call_1", name="b", arguments='{"y":[1,2]}'),
    )


def test_legacy_function_call() -> None:
    fc = {"name": "lookup", "arguments": '{"q":"x"}'}
    resp = parse_chat(completion({"content": None, "function_call": fc}, finish="function_call"), EP)
    assert resp.tool_calls == (ToolCall(id="function_call", name="lookup", arguments='{"q":"x"}'),)
    assert resp.finish_reason == "tool_calls"


def test_content_as_list_of_parts() -> None:
    content = [
        {"type": "text", "text": "Hello "},
        {"type": "thinking", "thinking": "hm"},
        {"type": "text", "text": "there"},
    ]
    assert parse_chat(completion({"content": content}), EP).text == "Hello there"


def test_missing_id_and_model_fall_back() -> None:
    body = json.dumps({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}).encode()
    resp = parse_chat(body, EP)
    assert resp.id == ""
    assert resp.model == "gpt-4o"
    assert resp.text == "hi"


def test_first_choice_is_the_answer() -> None:
    payload = {
        "id": "x",
        "choices": [
            {"index": 1, "message": {"content": "second"}, "finish_reason": "stop"},
            {"index": 0, "message": {"content": "first"}, "finish_reason": "length"},
        ],
    }
    resp = parse_chat(json.dumps(payload).encode(), EP)
    assert resp.text == "first"
    assert resp.finish_reason == "length"


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "x"}', "no choices"),
        (b'{"id": "x", "choices": []}', "no choices"),
        (b'{"id": "x", "choices": ["nope"]}', "no choices"),
        (b'{"id": "x", "choices": [{"index": 0, "finish_reason": "stop"}]}', "no message"),
    ],
)
def test_malformed_bodies(body: bytes, match: str) -> None:
    with pytest.raises(errors.MalformedResponseError, match=match) as info:
        parse_chat(body, EP)
    assert info.value.provider == "openai"
    assert info.value.retryable is True


def test_error_object_in_a_200_body_raises_the_typed_error() -> None:
    body = b'{"error": {"message": "Rate limit exceeded: free-models-per-day", "code": 429}}'
    with pytest.raises(errors.RateLimitError) as info:
        parse_chat(body, EP)
    assert info.value.status == 429
    assert "free-models-per-day" in info.value.message


# --------------------------------------------------------------------------- embeddings


def test_reference_embeddings() -> None:
    resp = parse_embed(fixture_body("embeddings.json"), EP)
    assert resp.model == "text-embedding-ada-002"
    assert resp.provider == "openai"
    assert resp.vectors == [[0.0023064255, -0.009327292, -0.0028842222]]
    assert resp.embeddings[0].index == 0
    assert resp.usage == Usage(input_tokens=8)


def test_embeddings_ordered_by_index_and_base64_decoded() -> None:
    packed = base64.b64encode(struct.pack("<2f", 0.5, -0.25)).decode()
    payload = {
        "data": [{"index": 1, "embedding": packed}, {"index": 0, "embedding": [1, 2]}],
        "model": "e",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    resp = parse_embed(json.dumps(payload).encode(), EP)
    assert resp.vectors == [[1.0, 2.0], [0.5, -0.25]]


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"data": [{"index": 0}]}',
        b'{"data": [{"embedding": ["a"]}]}',
        b'{"data": [{"embedding": "@@"}]}',
    ],
)
def test_malformed_embeddings(body: bytes) -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_embed(body, EP)


def test_embeddings_without_usage() -> None:
    resp = parse_embed(b'{"data": [{"embedding": [0.1]}]}', EP)
    assert resp.usage is None
    assert resp.model == "gpt-4o"
