"""GeminiAdapter against golden fixtures transcribed from Google's public Gemini API
reference and from error bodies reported publicly (each fixture names its source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter
from llmrelay.providers.base import Adapter, StreamParser
from llmrelay.providers.gemini import GeminiAdapter
from llmrelay.secrets import Secret
from llmrelay.types import (
    ChatRequest,
    EmbeddingRequest,
    FinishEvent,
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from llmrelay.wire import Endpoint, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gemini"
KEY = "AIzaSyTESTKEY-0123456789abcdefghij"


def endpoint(**kw: Any) -> Endpoint:
    base: dict[str, Any] = {
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "base_url": "https://generativelanguage.googleapis.com",
        "api_key": Secret(KEY),
        "host": "gemini",
    }
    base.update(kw)
    return Endpoint(**base)


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert doc["_source"], f"{name} must name its source"
    return doc


def body_of(name: str) -> bytes:
    return json.dumps(fixture(name)["body"]).encode()


def sse_events(name: str) -> list[SSEEvent]:
    """A tiny SSE splitter for fixtures (the real decoder lives in llmrelay.transport)."""
    text = (FIXTURES / name).read_text().replace("\r\n", "\n")
    assert text.startswith(": source "), f"{name} must open with a ': source' comment"
    events = []
    for block in text.split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append(SSEEvent(data="\n".join(data)))
    return events


def run_stream(name: str, ep: Endpoint | None = None) -> tuple[list[StreamEvent], StreamParser]:
    parser = GeminiAdapter().stream_parser(ep or endpoint())
    out: list[StreamEvent] = []
    for ev in sse_events(name):
        out.extend(parser.feed(ev))
    return out, parser


# --------------------------------------------------------------------------- protocol


def test_registered_and_fulfils_protocol() -> None:
    adapter: Adapter = load_adapter("gemini")
    assert isinstance(adapter, GeminiAdapter)
    assert adapter.name == "gemini"


def test_every_fixture_names_its_source() -> None:
    names = sorted(p.name for p in FIXTURES.iterdir())
    assert len(names) >= 20
    for name in names:
        if name.endswith(".json"):
            fixture(name)
        else:
            sse_events(name)


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in FIXTURES.glob("generate_content_*.json")),
)
def test_response_fixtures_are_valid_for_the_official_sdk(name: str) -> None:
    """The google-genai SDK's models forbid unknown fields: a typo in a fixture fails here."""
    from google.genai import types

    types.GenerateContentResponse.model_validate_json(body_of(name))


# --------------------------------------------------------------------------- request


def test_chat_request_url_headers_and_body() -> None:
    req = ChatRequest(model="x", messages=[Message.system("Be brief."), Message.user("How does AI work?")])
    http = GeminiAdapter().chat_request(req, endpoint(), stream=False)
    assert http.method == "POST"
    assert (
        http.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert http.headers["x-goog-api-key"] == KEY
    assert http.headers["content-type"] == "application/json"
    assert KEY not in http.url and KEY not in repr(http)
    assert json.loads(http.body or b"") == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "How does AI work?"}]}],
    }


def test_stream_request_uses_alt_sse() -> None:
    req = ChatRequest(model="x", messages=[Message.user("hi")])
    http = GeminiAdapter().chat_request(req, endpoint(query={"trace": "1"}), stream=True)
    assert http.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&trace=1"
    )


def test_request_body_fields_exist_in_the_official_sdk_types() -> None:
    """Every key we emit must be a real field: the SDK's models reject unknown names."""
    from google.genai import types

    from llmrelay.types import ForcedTool, ImagePart, ResponseFormat, TextPart, Tool

    req = ChatRequest(
        model="x",
        messages=[
            Message.system("sys"),
            Message.user(
                [
                    TextPart("look"),
                    ImagePart(url="https://example.com/a.png"),
                    ImagePart.from_bytes(b"\x89PNG", "image/png"),
                ]
            ),
            Message.assistant("calling", [ToolCall("c1", "get_weather", '{"city": "Paris"}')]),
            Message.tool("c1", '{"temp": 21}'),
        ],
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        stop=["END"],
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        tools=[
            Tool(
                "get_weather",
                "Weather for a city",
                {"type": "object", "properties": {"city": {"type": "string"}}},
            )
        ],
        tool_choice=ForcedTool("get_weather"),
        response_format=ResponseFormat.json_schema(
            {"type": "object", "properties": {"a": {"type": "integer"}}}
        ),
    )
    body = json.loads(
        GeminiAdapter().chat_request(req, endpoint(model="gemini-3-pro-preview"), stream=False).body or b""
    )
    for content in body["contents"]:
        types.Content.model_validate_json(json.dumps(content))
    types.Content.model_validate_json(json.dumps(body["systemInstruction"]))
    for tool in body["tools"]:
        types.Tool.model_validate_json(json.dumps(tool))
    types.ToolConfig.model_validate_json(json.dumps(body["toolConfig"]))
    types.GenerationConfig.model_validate_json(json.dumps(body["generationConfig"]))
    assert set(body) == {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}


# --------------------------------------------------------------------------- parse_chat


def test_parse_text_response() -> None:
    ep = endpoint()
    resp = GeminiAdapter().parse_chat(body_of("generate_content_text.json"), ep)
    assert resp.text == "AI learns patterns from data and uses them to make predictions."
    assert resp.finish_reason == "stop" and resp.native_finish_reason == "STOP"
    assert resp.id == "aH1MaO6gFf3ZjMcPvNq4gAQ"
    assert resp.model == "gemini-2.5-flash"
    assert resp.provider == "gemini"
    assert resp.tool_calls == ()
    assert resp.reasoning is None
    # output counts the 28 hidden thought tokens too
    assert resp.usage == Usage(input_tokens=8, output_tokens=40, reasoning_tokens=28)
    assert resp.raw is None


def test_parse_keeps_raw_only_when_asked() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_text.json"), endpoint(), include_raw=True)
    assert resp.raw == fixture("generate_content_text.json")["body"]


def test_parse_thinking_and_cached_usage() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_thinking.json"), endpoint())
    assert resp.text == "The sum of the primes below 10 is 17."
    assert resp.reasoning == "**Comparing the primes** I list the primes below 10 and add them."
    assert resp.usage == Usage(
        input_tokens=1230, output_tokens=151, cached_input_tokens=1024, reasoning_tokens=140
    )
    assert resp.model == "gemini-2.5-pro"


def test_parse_function_call() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_function_call.json"), endpoint())
    assert resp.finish_reason == "tool_calls"
    assert resp.native_finish_reason == "STOP"
    assert resp.text == ""
    (call,) = resp.tool_calls
    assert call.name == "schedule_meeting"
    assert call.id == "call_fc-resp-7Qx_0"
    assert call.parsed_arguments() == {
        "attendees": ["Bob", "Alice"],
        "date": "2025-03-14",
        "time": "10:00",
        "topic": "Q3 planning",
    }
    assert resp.provider_state == {"gemini": {"calls": {call.id: "CiQBVKhc7sDa1XPVXV0Rm5WfAg=="}}}
    assert "thought_signatures" not in resp.details  # the old meta spelling is gone


def test_parse_parallel_calls_keep_order_and_given_ids() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_parallel_calls.json"), endpoint())
    assert [c.name for c in resp.tool_calls] == ["power_disco_ball", "start_music", "dim_lights"]
    assert [c.id for c in resp.tool_calls] == ["call_party01_0", "fc_start_music_1", "call_party01_2"]
    assert [c.parsed_arguments() for c in resp.tool_calls] == [
        {"power": True},
        {"energetic": True, "loud": True},
        {"brightness": 0.5},
    ]
    assert resp.finish_reason == "tool_calls"


def test_parsed_calls_round_trip_into_the_next_request() -> None:
    adapter = GeminiAdapter()
    ep = endpoint()
    first = adapter.parse_chat(body_of("generate_content_parallel_calls.json"), ep)
    history = [
        Message.user("Turn this place into a party!"),
        first.message,
        *(Message.tool(c.id, json.dumps({"ok": True})) for c in first.tool_calls),
    ]
    body = json.loads(
        adapter.chat_request(ChatRequest(model="x", messages=history), ep, stream=False).body or b""
    )
    model_turn, results = body["contents"][1], body["contents"][2]
    assert [p["functionCall"]["name"] for p in model_turn["parts"]] == [
        "power_disco_ball",
        "start_music",
        "dim_lights",
    ]
    assert results["role"] == "user"
    assert [p["functionResponse"]["name"] for p in results["parts"]] == [
        "power_disco_ball",
        "start_music",
        "dim_lights",
    ]


def test_parse_prompt_blocked_is_a_content_filter_answer() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_prompt_blocked.json"), endpoint())
    assert resp.text == ""
    assert resp.finish_reason == "content_filter"
    assert resp.native_finish_reason == "PROHIBITED_CONTENT"
    assert resp.usage == Usage(input_tokens=9)


def test_parse_safety_stop_without_content() -> None:
    resp = GeminiAdapter().parse_chat(body_of("generate_content_safety_stop.json"), endpoint())
    assert resp.text == ""
    assert resp.finish_reason == "content_filter"
    assert resp.native_finish_reason == "SAFETY"


# --------------------------------------------------------------------------- streaming


def test_stream_text() -> None:
    events, parser = run_stream("stream_text.sse")
    assert events == [
        TextDelta("AI learns"),
        TextDelta(" patterns from data"),
        TextDelta(" to predict."),
        UsageEvent(Usage(input_tokens=8, output_tokens=29, reasoning_tokens=20)),
        FinishEvent("stop", "STOP"),
    ]
    assert parser.done
    assert parser.response_id == "sTrEaM01"
    assert parser.model == "gemini-2.5-flash"


def test_stream_function_calls_are_whole_deltas_indexed_by_ordinal() -> None:
    events, parser = run_stream("stream_function_call.sse")
    assert events == [
        ReasoningDelta("Setting the mood: lights, music, disco ball."),
        ToolCallDelta(index=0, id="call_pArTy02_0", name="power_disco_ball", arguments='{"power":true}'),
        ToolCallDelta(
            index=1, id="call_pArTy02_1", name="start_music", arguments='{"energetic":true,"loud":true}'
        ),
        ToolCallDelta(index=2, id="call_pArTy02_2", name="dim_lights", arguments='{"brightness":0.5}'),
        UsageEvent(Usage(input_tokens=150, output_tokens=80, reasoning_tokens=50)),
        FinishEvent("tool_calls", "STOP"),
    ]
    assert parser.done


def test_stream_and_unary_give_the_same_call_ids() -> None:
    """A cached unary answer and a streamed one must name calls alike."""
    events, _ = run_stream("stream_function_call.sse")
    streamed = [e.id for e in events if isinstance(e, ToolCallDelta)]
    whole = {"candidates": [], "responseId": "pArTy02"}
    parts = []
    for ev in sse_events("stream_function_call.sse"):
        chunk = json.loads(ev.data)
        parts.extend(p for p in chunk["candidates"][0]["content"]["parts"] if "functionCall" in p)
    whole["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]
    resp = GeminiAdapter().parse_chat(json.dumps(whole).encode(), endpoint())
    assert [c.id for c in resp.tool_calls] == streamed


def test_stream_error_chunk_raises_mapped_error() -> None:
    parser = GeminiAdapter().stream_parser(endpoint())
    first, second = sse_events("stream_error.sse")
    assert parser.feed(first) == [TextDelta("Once upon")]
    with pytest.raises(errors.OverloadedError) as info:
        parser.feed(second)
    assert info.value.status == 503
    assert info.value.code == "UNAVAILABLE"
    assert info.value.retryable
    assert not parser.done


def test_stream_prompt_blocked_ends_with_content_filter() -> None:
    events, parser = run_stream("stream_prompt_blocked.sse")
    assert events == [UsageEvent(Usage(input_tokens=11)), FinishEvent("content_filter", "SAFETY")]
    assert parser.done


def test_stream_cut_before_finish_is_not_done() -> None:
    parser = GeminiAdapter().stream_parser(endpoint())
    for ev in sse_events("stream_text.sse")[:-1]:
        parser.feed(ev)
    assert not parser.done


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [
        ("error_api_key_invalid.json", errors.AuthenticationError, "INVALID_ARGUMENT"),
        ("error_api_key_debuginfo.json", errors.AuthenticationError, "INVALID_ARGUMENT"),
        ("error_rate_limit.json", errors.RateLimitError, "RESOURCE_EXHAUSTED"),
        ("error_daily_quota.json", errors.QuotaExceededError, "RESOURCE_EXHAUSTED"),
        ("error_context_window.json", errors.ContextWindowExceededError, "INVALID_ARGUMENT"),
        ("error_overloaded.json", errors.OverloadedError, "UNAVAILABLE"),
        ("error_not_found.json", errors.NotFoundError, "NOT_FOUND"),
        ("error_internal.json", errors.ServiceUnavailableError, "INTERNAL"),
        ("error_key_service_blocked.json", errors.PermissionDeniedError, "PERMISSION_DENIED"),
        ("error_deadline.json", errors.RequestTimeoutError, "DEADLINE_EXCEEDED"),
    ],
)
def test_error_fixtures_map_to_the_taxonomy(name: str, kind: type[errors.APIError], code: str) -> None:
    doc = fixture(name)
    err = GeminiAdapter().parse_error(doc["http_status"], {}, body_of(name), endpoint())
    assert type(err) is kind
    assert err.status == doc["http_status"]
    assert err.code == code
    assert err.provider == "gemini"
    assert err.model == "gemini-2.5-flash"
    assert err.message  # the provider's own words are kept


def test_rate_limit_retry_delay_from_retry_info() -> None:
    err = GeminiAdapter().parse_error(429, {}, body_of("error_rate_limit.json"), endpoint())
    assert err.retry_after == 15.0
    assert err.retryable
    daily = GeminiAdapter().parse_error(429, {}, body_of("error_daily_quota.json"), endpoint())
    assert daily.retry_after == 53.0
    assert not daily.retryable


def test_echoed_key_never_survives_in_the_error() -> None:
    ep = endpoint(api_key=Secret("AIzaFAKE_not_a_real_key"))
    err = GeminiAdapter().parse_error(400, {}, body_of("error_api_key_debuginfo.json"), ep)
    dumped = json.dumps(err.body) + str(err) + repr(err)
    assert "AIzaFAKE_not_a_real_key" not in dumped
    assert all("DebugInfo" not in d["@type"] for d in err.body["details"])


def test_context_window_message_is_kept() -> None:
    err = GeminiAdapter().parse_error(400, {}, body_of("error_context_window.json"), endpoint())
    assert "exceeds the maximum number of tokens allowed (65536)" in err.message
    assert isinstance(err, errors.InvalidRequestError)
    assert not err.retryable


# --------------------------------------------------------------------------- embeddings


def test_embed_request_and_parse() -> None:
    adapter = GeminiAdapter()
    ep = endpoint(model="gemini-embedding-001")
    req = EmbeddingRequest(model="x", inputs=["hello", "world"], dimensions=768)
    http = adapter.embed_request(req, ep)
    assert http.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    )
    assert http.headers["x-goog-api-key"] == KEY
    assert json.loads(http.body or b"") == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "hello"}]},
                "outputDimensionality": 768,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "world"}]},
                "outputDimensionality": 768,
            },
        ]
    }
    resp = adapter.parse_embed(body_of("batch_embed_contents.json"), ep)
    assert resp.vectors == [[0.0123, -0.0456, 0.0789, 0.001], [-0.5, 0.25, 0.125, 0.0]]
    assert resp.model == "gemini-embedding-001"
    assert resp.provider == "gemini"


def test_stream_details_keep_the_finish_message_like_the_unary_parser() -> None:
    chunk = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "print("}]},
                "finishReason": "MALFORMED_FUNCTION_CALL",
                "finishMessage": "Malformed function call: print(default_api.f(x=))",
            }
        ],
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    }
    parser = GeminiAdapter().stream_parser(endpoint())
    parser.feed(SSEEvent(data=json.dumps(chunk)))
    assert parser.done
    unary = GeminiAdapter().parse_chat(json.dumps(chunk).encode(), endpoint())
    unary_details = getattr(unary, "details", None) or unary.meta  # details: pipeline v2 name
    assert dict(parser.details) == dict(unary_details)
    assert parser.details["finish_message"].startswith("Malformed function call")
    _, plain = run_stream("stream_text.sse")
    assert plain.details == {}
