"""OpenAI chat.completion.chunk SSE streams -> llmrelay stream events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_stream import OpenAIStreamParser
from llmrelay.types import (
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from llmrelay.wire import Endpoint, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai"
EP = Endpoint(provider="openai", model="gpt-4o", base_url="https://api.openai.com/v1", host="openai")


def sse_events(name: str) -> list[SSEEvent]:
    """A deliberately tiny SSE splitter for fixtures (blank-line separated events,
    ``data:``/``event:`` fields, ``:`` comments); the real decoder lives in transport."""
    events = []
    for block in (FIXTURES / name).read_text().split("\n\n"):
        data, event = [], "message"
        for line in block.splitlines():
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
        if data:
            events.append(SSEEvent(data="\n".join(data), event=event))
    return events


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> SSEEvent:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return SSEEvent(json.dumps({"id": "c-1", "object": "chat.completion.chunk", "choices": choices, **top}))


def run(events: list[SSEEvent], parser: OpenAIStreamParser | None = None) -> list[StreamEvent]:
    parser = parser or OpenAIStreamParser(EP)
    out: list[StreamEvent] = []
    for e in events:
        out.extend(parser.feed(e))
    return out


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --------------------------------------------------------------------------- golden fixtures


def test_reference_stream() -> None:
    parser = OpenAIStreamParser(EP)
    events = run(sse_events("chat_stream.sse"), parser)
    assert events == [TextDelta("Hello"), FinishEvent("stop", "stop")]
    assert parser.done is True
    assert parser.response_id == "chatcmpl-123"
    assert parser.model == "gpt-4o-mini"


def test_done_only_after_the_done_marker() -> None:
    events = sse_events("chat_stream.sse")
    assert events[-1].data == "[DONE]"
    parser = OpenAIStreamParser(EP)
    for e in events[:-1]:
        parser.feed(e)
        assert parser.done is False  # a finish_reason is not the end of the stream
    assert parser.feed(events[-1]) == []
    assert parser.done is True


def test_recorded_stream_with_usage_null_on_every_chunk() -> None:
    parser = OpenAIStreamParser(EP)
    events = run(sse_events("chat_stream_usage.sse"), parser)
    assert text_of(events) == "Hi, how are you?"
    assert [e for e in events if not isinstance(e, TextDelta)] == [
        FinishEvent("stop", "stop"),
        UsageEvent(Usage(input_tokens=10, output_tokens=5)),
    ]
    assert parser.response_id == "chatcmpl-CVFjOTBIgA3kuQLnIXXxtg7Ge7hbs"
    assert parser.done is True


def test_tool_call_stream() -> None:
    events = run(sse_events("chat_stream_tool_calls.sse"))
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0] == ToolCallDelta(index=0, id="call_DdmO9pD3xa9XTPNJ32zg2hcA", name="get_weather")
    assert all(c.id is None and c.name is None and c.index == 0 for c in calls[1:])
    assert "".join(c.arguments for c in calls) == '{"location":"Paris, France"}'
    assert events[-2:] == [
        FinishEvent("tool_calls", "tool_calls"),
        UsageEvent(Usage(input_tokens=68, output_tokens=15, cached_input_tokens=64)),
    ]
    assert text_of(events) == ""


def test_recorded_stream_error_chunk_raises_typed_error() -> None:
    parser = OpenAIStreamParser(EP)
    events = sse_events("chat_stream_error.sse")
    seen = run(events[:-1], parser)
    assert text_of(seen) == 'The question "'
    with pytest.raises(errors.ServiceUnavailableError) as info:
        parser.feed(events[-1])
    assert "The server had an error" in info.value.message
    assert info.value.code == "server_error"
    assert info.value.retryable is True
    assert parser.done is False


# --------------------------------------------------------------------------- deltas


def test_reasoning_deltas_of_deepseek_and_openrouter() -> None:
    events = run(
        [
            chunk({"role": "assistant", "content": None, "reasoning_content": "Let me "}),
            chunk({"reasoning": "think."}),
            chunk({"content": "42"}),
            chunk({}, finish="stop"),
        ]
    )
    assert events == [
        ReasoningDelta("Let me "),
        ReasoningDelta("think."),
        TextDelta("42"),
        FinishEvent("stop", "stop"),
    ]


def test_refusal_deltas_finish_as_content_filter() -> None:
    events = run(
        [chunk({"refusal": "I'm sorry, "}), chunk({"refusal": "I can't."}), chunk({}, finish="stop")]
    )
    assert text_of(events) == "I'm sorry, I can't."
    assert events[-1] == FinishEvent("content_filter", "stop")


def test_parallel_tool_calls_interleaved() -> None:
    events = run(
        [
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "b",
                            "type": "function",
                            "function": {"name": "g", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"y":2}'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x":1}'}}]}),
            chunk({}, finish="tool_calls"),
        ]
    )
    assert events == [
        ToolCallDelta(0, "a", "f"),
        ToolCallDelta(1, "b", "g"),
        ToolCallDelta(1, arguments='{"y":2}'),
        ToolCallDelta(0, arguments='{"x":1}'),
        FinishEvent("tool_calls", "tool_calls"),
    ]


def test_whole_tool_calls_without_index_get_distinct_indexes() -> None:
    # Some compatible servers send each complete call in one delta, without "index".
    events = run(
        [
            chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}]}),
            chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
            chunk({}, finish="stop"),
        ]
    )
    assert events == [
        ToolCallDelta(0, "a", "f", '{"x":1}'),
        ToolCallDelta(1, "b", "g", "{}"),
        FinishEvent("tool_calls", "stop"),
    ]


def test_repeated_id_and_name_are_not_announced_twice() -> None:
    tc = {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}}
    again = {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": '{"k":'}}
    events = run([chunk({"tool_calls": [tc]}), chunk({"tool_calls": [again]}), chunk({"tool_calls": [tc]})])
    assert events == [ToolCallDelta(0, "a", "f"), ToolCallDelta(0, arguments='{"k":')]


def test_legacy_function_call_deltas() -> None:
    events = run(
        [
            chunk({"function_call": {"name": "lookup", "arguments": ""}}),
            chunk({"function_call": {"arguments": '{"q":1}'}}),
            chunk({}, finish="function_call"),
        ]
    )
    assert events == [
        ToolCallDelta(0, "function_call", "lookup"),
        ToolCallDelta(0, arguments='{"q":1}'),
        FinishEvent("tool_calls", "function_call"),
    ]


def test_finish_is_reported_once() -> None:
    events = run([chunk({"content": "a"}, finish="length"), chunk({}, finish="length")])
    assert [e for e in events if isinstance(e, FinishEvent)] == [FinishEvent("length", "length")]


def test_only_the_first_choice_is_followed() -> None:
    payload = {
        "choices": [
            {"index": 1, "delta": {"content": "other"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "mine"}, "finish_reason": None},
        ]
    }
    assert run([SSEEvent(json.dumps(payload))]) == [TextDelta("mine")]


# --------------------------------------------------------------------------- usage dialects


def test_usage_on_the_finish_chunk_and_repeated_is_reported_once() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = run([chunk({"content": "hi"}, finish="stop", usage=usage), chunk(None, usage=usage)])
    assert events == [TextDelta("hi"), FinishEvent("stop", "stop"), UsageEvent(Usage(3, 2))]


def test_groq_x_groq_usage() -> None:
    events = run(
        [
            chunk(
                {},
                finish="stop",
                x_groq={"id": "req_1", "usage": {"prompt_tokens": 7, "completion_tokens": 1}},
            )
        ]
    )
    assert events == [FinishEvent("stop", "stop"), UsageEvent(Usage(7, 1))]


def test_azure_prompt_filter_chunk_with_empty_choices_and_model() -> None:
    parser = OpenAIStreamParser(EP)
    first = SSEEvent(
        json.dumps(
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [{"prompt_index": 0}],
            }
        )
    )
    assert parser.feed(first) == []
    assert parser.response_id is None
    parser.feed(chunk({"content": "x"}, model="gpt-4o-2024-11-20"))
    assert parser.response_id == "c-1"
    assert parser.model == "gpt-4o-2024-11-20"


# --------------------------------------------------------------------------- errors and robustness


def test_openrouter_error_chunk_with_numeric_code() -> None:
    payload = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "error": {"code": 502, "message": "Provider disconnected unexpectedly"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    with pytest.raises(errors.ServiceUnavailableError) as info:
        OpenAIStreamParser(EP).feed(SSEEvent(json.dumps(payload)))
    assert info.value.status == 502
    assert info.value.provider == "openai"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            {"message": "slow down", "type": "rate_limit_error", "code": "rate_limit_exceeded"},
            errors.RateLimitError,
        ),
        ({"message": "too long", "code": "context_length_exceeded"}, errors.ContextWindowExceededError),
        ({"message": "filtered", "code": "content_filter"}, errors.ContentFilterError),
        ({"message": "The engine is currently overloaded"}, errors.OverloadedError),
        ({"message": "???"}, errors.ServiceUnavailableError),
    ],
)
def test_mid_stream_errors_are_classified_without_status(
    error: dict[str, Any], kind: type[Exception]
) -> None:
    with pytest.raises(kind):
        OpenAIStreamParser(EP).feed(SSEEvent(json.dumps({"error": error})))


def test_sse_error_event() -> None:
    with pytest.raises(errors.RateLimitError):
        OpenAIStreamParser(EP).feed(SSEEvent('{"message": "busy", "code": 429}', event="error"))
    with pytest.raises(errors.ServiceUnavailableError, match="upstream went away"):
        OpenAIStreamParser(EP).feed(SSEEvent("upstream went away", event="error"))


def test_malformed_chunk() -> None:
    with pytest.raises(errors.MalformedResponseError, match="stream chunk"):
        OpenAIStreamParser(EP).feed(SSEEvent('{"choices": [{"delta": '))
    with pytest.raises(errors.MalformedResponseError, match="not a JSON object"):
        OpenAIStreamParser(EP).feed(SSEEvent("[1]"))


def test_keepalives_sloppy_chunks_and_trailing_data_are_harmless() -> None:
    parser = OpenAIStreamParser(EP)
    assert parser.feed(SSEEvent("")) == []
    assert parser.feed(SSEEvent('{"choices": null, "usage": null}')) == []
    assert parser.feed(SSEEvent('{"choices": [{"index": 0, "delta": null}]}')) == []
    assert (
        parser.feed(SSEEvent('{"choices": [{"index": 0, "delta": {"content": "", "tool_calls": null}}]}'))
        == []
    )
    assert parser.feed(SSEEvent(" [DONE] ")) == []
    assert parser.done is True
    assert parser.feed(SSEEvent('{"choices": [{"index": 0, "delta": {"content": "late"}}]}')) == []


# --------------------------------------------------------------------------- details


def test_details_keep_the_fingerprint_like_the_unary_parser() -> None:
    parser = OpenAIStreamParser(EP)
    run(sse_events("chat_stream.sse"), parser)
    assert parser.details == {"system_fingerprint": "fp_44709d6fcb"}


def test_details_from_the_last_chunk_win_and_refusals_are_joined() -> None:
    parser = OpenAIStreamParser(EP)
    run(
        [
            chunk({"role": "assistant", "content": ""}, system_fingerprint="fp_a", service_tier="default"),
            chunk({"refusal": "I'm sorry, "}),
            chunk({"refusal": "I can't."}),
            chunk({}, finish="stop", system_fingerprint="fp_b", service_tier="default"),
        ],
        parser,
    )
    assert parser.details == {
        "system_fingerprint": "fp_b",
        "service_tier": "default",
        "refusal": "I'm sorry, I can't.",
    }


def test_details_ignore_null_and_non_string_values() -> None:
    parser = OpenAIStreamParser(EP)
    run([chunk({"content": "hi"}, system_fingerprint=None, service_tier=3), chunk({}, finish="stop")], parser)
    assert parser.details == {}
