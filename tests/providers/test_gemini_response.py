"""Gemini response JSON -> llmrelay: finish reasons, usage, ids and malformed bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.gemini import GeminiAdapter
from llmrelay.providers.gemini_response import call_id, chat_response, map_finish, parse_usage
from llmrelay.types import FinishEvent, TextDelta, Usage
from llmrelay.wire import Endpoint, SSEEvent

EP = Endpoint(
    provider="gemini", model="gemini-2.5-flash", base_url="https://generativelanguage.googleapis.com"
)


def reply(
    finish: str | None = "STOP", parts: list[dict[str, Any]] | None = None, **top: Any
) -> dict[str, Any]:
    cand: dict[str, Any] = {
        "content": {"role": "model", "parts": parts if parts is not None else [{"text": "hi"}]}
    }
    if finish is not None:
        cand["finishReason"] = finish
    return {"candidates": [cand], **top}


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("CONTINUATION", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("UNEXPECTED_TOOL_CALL", "error"),
        ("MISSING_THOUGHT_SIGNATURE", "error"),
        ("OTHER", "error"),
        ("FINISH_REASON_UNSPECIFIED", "error"),
        ("SOMETHING_NEW", "error"),
    ],
)
def test_finish_mapping_keeps_native(native: str, expected: str) -> None:
    resp = chat_response(reply(native), EP, include_raw=False)
    assert resp.finish_reason == expected
    assert resp.native_finish_reason == native


def test_stop_with_calls_is_tool_calls_but_other_reasons_win() -> None:
    assert map_finish("STOP", True) == "tool_calls"
    assert map_finish("MAX_TOKENS", True) == "length"
    assert map_finish(None, True) == "tool_calls"
    assert map_finish(None, False) == "stop"


def test_usage_sums_tool_prompt_and_thoughts() -> None:
    assert parse_usage(
        {
            "promptTokenCount": 100,
            "toolUsePromptTokenCount": 7,
            "cachedContentTokenCount": 64,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 5,
            "totalTokenCount": 132,
        }
    ) == Usage(input_tokens=107, output_tokens=25, cached_input_tokens=64, reasoning_tokens=5)
    assert parse_usage({}) == Usage()
    assert parse_usage(None) is None
    assert parse_usage({"promptTokenCount": "12", "candidatesTokenCount": True}) == Usage()


def test_missing_ids_fall_back_to_endpoint_model_and_empty_id() -> None:
    resp = chat_response(reply(), EP, include_raw=False)
    assert resp.id == ""
    assert resp.model == "gemini-2.5-flash"
    assert resp.usage is None
    assert resp.provider == "gemini"
    hosted = Endpoint(provider="gemini", model="m", base_url="http://x", host="simulator")
    assert chat_response(reply(), hosted, include_raw=False).provider == "simulator"


def test_call_ids() -> None:
    assert call_id({"id": "abc"}, "r1", 4) == "abc"
    assert call_id({"id": ""}, "r1", 4) == "call_r1_4"
    assert call_id({}, None, 2) == "call_2"


def test_function_call_without_args() -> None:
    resp = chat_response(reply(parts=[{"functionCall": {"name": "now"}}]), EP, include_raw=False)
    assert resp.tool_calls[0].arguments == "{}"
    assert resp.tool_calls[0].id == "call_0"


def test_text_parts_concatenate_and_unknown_parts_are_skipped() -> None:
    parts = [
        {"text": "a"},
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"text": "b", "thoughtSignature": "c2ln"},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
        {"text": ""},
        "junk",
    ]
    resp = chat_response(reply(parts=parts), EP, include_raw=False)
    assert resp.text == "ab"


def test_finish_message_is_kept_in_meta() -> None:
    body = reply("MALFORMED_FUNCTION_CALL", parts=[])
    body["candidates"][0]["finishMessage"] = "Malformed function call: print(default_api.f(x=))"
    resp = chat_response(body, EP, include_raw=False)
    assert resp.finish_reason == "error"
    assert resp.details["finish_message"].startswith("Malformed function call")


def test_only_the_first_candidate_is_read() -> None:
    body = reply()
    body["candidates"].append({"content": {"parts": [{"text": "second"}]}, "finishReason": "STOP"})
    assert chat_response(body, EP, include_raw=False).text == "hi"


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2]", b'{"candidates": []}', b"{}", b'"text"'],
)
def test_malformed_bodies_raise_typed_error(payload: bytes) -> None:
    with pytest.raises(errors.MalformedResponseError) as info:
        GeminiAdapter().parse_chat(payload, EP)
    assert info.value.retryable


def test_error_object_in_a_2xx_body_raises_mapped_error() -> None:
    payload = json.dumps(
        {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}
    ).encode()
    with pytest.raises(errors.RateLimitError) as info:
        GeminiAdapter().parse_chat(payload, EP)
    assert info.value.status == 429


def test_embed_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError, match="embeddings"):
        GeminiAdapter().parse_embed(b'{"nope": 1}', EP)
    with pytest.raises(errors.MalformedResponseError, match=r"embeddings\[1\]"):
        GeminiAdapter().parse_embed(b'{"embeddings": [{"values": [1]}, {}]}', EP)
    with pytest.raises(errors.PermissionDeniedError):
        GeminiAdapter().parse_embed(
            b'{"error": {"code": 403, "message": "no", "status": "PERMISSION_DENIED"}}', EP
        )


# --------------------------------------------------------------------------- stream parser edge cases


def feed_all(*chunks: Any) -> tuple[list[Any], Any]:
    parser = GeminiAdapter().stream_parser(EP)
    out: list[Any] = []
    for c in chunks:
        out.extend(parser.feed(SSEEvent(data=c if isinstance(c, str) else json.dumps(c))))
    return out, parser


def test_stream_ignores_blank_data_and_chunks_after_finish() -> None:
    out, parser = feed_all("", "  ", reply("STOP"), reply("STOP", parts=[{"text": "late"}]))
    assert out == [TextDelta("hi"), FinishEvent("stop", "STOP")]
    assert parser.done


def test_stream_reports_only_the_last_usage_once() -> None:
    first = reply(None, usageMetadata={"promptTokenCount": 5, "totalTokenCount": 5})
    last = reply("MAX_TOKENS", usageMetadata={"promptTokenCount": 5, "candidatesTokenCount": 3})
    out, _ = feed_all(first, last)
    usage_events = [e for e in out if e.type == "usage"]
    assert [e.usage for e in usage_events] == [Usage(input_tokens=5, output_tokens=3)]
    assert out[-1] == FinishEvent("length", "MAX_TOKENS")


def test_stream_without_usage_emits_no_usage_event() -> None:
    out, _ = feed_all(reply("STOP"))
    assert [e.type for e in out] == ["text", "finish"]


def test_stream_chunk_with_no_candidates_and_no_block_is_ignored() -> None:
    out, parser = feed_all({"usageMetadata": {"promptTokenCount": 1}, "responseId": "r"})
    assert out == [] and not parser.done
    assert parser.response_id == "r"


def test_stream_bad_json_and_non_object_raise() -> None:
    with pytest.raises(errors.MalformedResponseError):
        feed_all("{oops")
    with pytest.raises(errors.MalformedResponseError, match="list"):
        feed_all("[]")
