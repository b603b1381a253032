"""Anthropic SSE streams -> llmrelay stream events, against golden transcripts from the docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.anthropic import JSON_TOOL_NAME, AnthropicAdapter
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

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
EP = Endpoint(
    provider="anthropic", model="claude-sonnet-4-5", base_url="https://api.anthropic.com", host="anthropic"
)


def load_sse(name: str) -> list[SSEEvent]:
    """Split a transcript into events: blank lines separate them; ':' lines are comments."""
    text = (FIXTURES / name).read_text()
    assert text.startswith(": source "), "an SSE fixture names its source on its first line"
    events: list[SSEEvent] = []
    for chunk in text.split("\n\n"):
        name_, data = "message", []
        for line in chunk.splitlines():
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name_ = value
            elif field == "data":
                data.append(value)
        if data:
            events.append(SSEEvent(data="\n".join(data), event=name_))
    return events


def ev(payload: dict[str, Any]) -> SSEEvent:
    return SSEEvent(data=json.dumps(payload), event=str(payload["type"]))


def run(events: list[SSEEvent]) -> tuple[list[StreamEvent], Any]:
    parser = AnthropicAdapter().stream_parser(EP)
    out: list[StreamEvent] = []
    for e in events:
        out.extend(parser.feed(e))
    return out, parser


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_basic_stream() -> None:
    events = load_sse("stream_basic.sse")
    parser = AnthropicAdapter().stream_parser(EP)
    out: list[StreamEvent] = []
    for e in events:
        assert not parser.done, "done must only become true at message_stop"
        out.extend(parser.feed(e))
    assert parser.done
    assert parser.response_id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    assert parser.model == "claude-sonnet-4-5-20250929"
    assert out == [
        TextDelta("Hello"),
        TextDelta("!"),
        FinishEvent("stop", "end_turn"),
        UsageEvent(Usage(input_tokens=25, output_tokens=15)),
    ]


def test_tool_use_stream_indexes_tool_calls_among_tool_calls() -> None:
    out, parser = run(load_sse("stream_tool_use.sse"))
    assert parser.done
    assert text_of(out) == "Okay, let's check the weather for San Francisco, CA:"
    deltas = [e for e in out if isinstance(e, ToolCallDelta)]
    # The tool_use is content block 1 but the first tool call: index 0.
    assert deltas[0] == ToolCallDelta(0, id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="get_weather")
    assert all(d.index == 0 for d in deltas)
    assert all(d.id is None and d.name is None for d in deltas[1:])
    assert all(d.arguments for d in deltas[1:]), "the empty first partial_json produces no delta"
    arguments = "".join(d.arguments for d in deltas)
    assert json.loads(arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert out[-2:] == [
        FinishEvent("tool_calls", "tool_use"),
        UsageEvent(Usage(input_tokens=472, output_tokens=89)),
    ]


def test_thinking_stream() -> None:
    out, parser = run(load_sse("stream_thinking.sse"))
    assert parser.done
    reasoning = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    assert reasoning.startswith("I need to find the GCD of 1071 and 462")
    assert reasoning.endswith("So GCD(1071, 462) = 21")
    assert text_of(out) == "The greatest common divisor of 1071 and 462 is **21**."
    # Reasoning precedes the answer; the signature delta produces nothing.
    first_text = next(i for i, e in enumerate(out) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in out[:first_text])
    assert out[-1] == FinishEvent("stop", "end_turn")  # this transcript carries no usage at all
    assert not any(isinstance(e, UsageEvent) for e in out)


def test_error_event_raises_the_mapped_error_and_done_stays_false() -> None:
    events = load_sse("stream_error.sse")
    assert events[-1].event == "error"
    parser = AnthropicAdapter().stream_parser(EP)
    out = [item for e in events[:-1] for item in parser.feed(e)]
    with pytest.raises(errors.OverloadedError) as info:
        parser.feed(events[-1])
    assert text_of(out) == "Partial"
    assert not parser.done
    assert info.value.retryable
    assert info.value.code == "overloaded_error"
    assert info.value.status == 529
    assert info.value.provider == "anthropic"


@pytest.mark.parametrize(
    ("etype", "cls"),
    [
        ("api_error", errors.ServiceUnavailableError),
        ("rate_limit_error", errors.RateLimitError),
        ("invalid_request_error", errors.InvalidRequestError),
        ("mystery_error", errors.ServiceUnavailableError),
    ],
)
def test_other_error_events(etype: str, cls: type[errors.APIError]) -> None:
    parser = AnthropicAdapter().stream_parser(EP)
    with pytest.raises(cls):
        parser.feed(ev({"type": "error", "error": {"type": etype, "message": "x"}}))


def _start(usage: dict[str, Any] | None = None) -> SSEEvent:
    message: dict[str, Any] = {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
    }
    if usage is not None:
        message["usage"] = usage
    return ev({"type": "message_start", "message": message})


def _tool(index: int, tool_id: str, name: str, input_: Any = None) -> SSEEvent:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {} if input_ is None else input_}
    return ev({"type": "content_block_start", "index": index, "content_block": block})


def _json(index: int, fragment: str) -> SSEEvent:
    return ev(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": fragment},
        }
    )


def _stop_block(index: int) -> SSEEvent:
    return ev({"type": "content_block_stop", "index": index})


def _message_delta(stop_reason: str, usage: dict[str, Any] | None = None) -> SSEEvent:
    payload: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
    }
    if usage is not None:
        payload["usage"] = usage
    return ev(payload)


MESSAGE_STOP = ev({"type": "message_stop"})


def test_parallel_tool_calls_get_ordinal_indexes() -> None:
    out, _ = run(
        [
            _start(),
            ev({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            _stop_block(0),
            _tool(1, "toolu_a", "get_weather"),
            _json(1, '{"location": "Paris"}'),
            _stop_block(1),
            _tool(2, "toolu_b", "get_time"),
            _json(2, '{"tz": "UTC"}'),
            _stop_block(2),
            _message_delta("tool_use"),
            MESSAGE_STOP,
        ]
    )
    deltas = [e for e in out if isinstance(e, ToolCallDelta)]
    assert deltas == [
        ToolCallDelta(0, id="toolu_a", name="get_weather"),
        ToolCallDelta(0, arguments='{"location": "Paris"}'),
        ToolCallDelta(1, id="toolu_b", name="get_time"),
        ToolCallDelta(1, arguments='{"tz": "UTC"}'),
    ]


def test_input_given_whole_in_block_start_is_not_lost() -> None:
    out, _ = run([_start(), _tool(0, "toolu_a", "f", {"q": "oven"}), _stop_block(0), MESSAGE_STOP])
    assert out == [ToolCallDelta(0, id="toolu_a", name="f"), ToolCallDelta(0, arguments='{"q": "oven"}')]


def test_usage_combines_message_start_input_with_cumulative_message_delta() -> None:
    start = {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 50,
        "output_tokens": 1,
    }
    out, _ = run(
        [
            _start(start),
            _message_delta(
                "end_turn", {"output_tokens": 40, "output_tokens_details": {"thinking_tokens": 30}}
            ),
            MESSAGE_STOP,
        ]
    )
    assert out[-1] == UsageEvent(
        Usage(
            input_tokens=160,
            output_tokens=40,
            cached_input_tokens=100,
            cache_write_tokens=50,
            reasoning_tokens=30,
        )
    )
    # Newer API versions repeat (cumulative) input counts in message_delta; they win.
    out, _ = run(
        [_start(start), _message_delta("end_turn", {"input_tokens": 12, "output_tokens": 40}), MESSAGE_STOP]
    )
    assert out[-1] == UsageEvent(
        Usage(input_tokens=162, output_tokens=40, cached_input_tokens=100, cache_write_tokens=50)
    )


def test_json_emulation_tool_streams_as_text() -> None:
    out, _ = run(
        [
            _start({"input_tokens": 5, "output_tokens": 1}),
            _tool(0, "toolu_j", JSON_TOOL_NAME),
            _json(0, ""),
            _json(0, '{"answer": '),
            _json(0, "42}"),
            _stop_block(0),
            _message_delta("tool_use", {"output_tokens": 9}),
            MESSAGE_STOP,
        ]
    )
    assert not any(isinstance(e, ToolCallDelta) for e in out)
    assert json.loads(text_of(out)) == {"answer": 42}
    assert FinishEvent("stop", "tool_use") in out


def test_json_emulation_next_to_a_real_tool_call() -> None:
    out, _ = run(
        [
            _start(),
            _tool(0, "toolu_j", JSON_TOOL_NAME),
            _json(0, "{}"),
            _stop_block(0),
            _tool(1, "toolu_r", "real"),
            _json(1, "{}"),
            _stop_block(1),
            _message_delta("tool_use"),
            MESSAGE_STOP,
        ]
    )
    assert next(e for e in out if isinstance(e, ToolCallDelta)) == ToolCallDelta(0, id="toolu_r", name="real")
    assert FinishEvent("tool_calls", "tool_use") in out


@pytest.mark.parametrize(
    ("native", "mapped"),
    [("max_tokens", "length"), ("refusal", "content_filter"), ("model_context_window_exceeded", "length")],
)
def test_stream_stop_reasons(native: str, mapped: str) -> None:
    out, _ = run([_start(), _message_delta(native), MESSAGE_STOP])
    assert out == [FinishEvent(mapped, native)]  # type: ignore[arg-type]


def test_unknown_events_and_deltas_are_ignored_and_nothing_follows_done() -> None:
    parser = AnthropicAdapter().stream_parser(EP)
    assert parser.feed(_start()) == []
    assert parser.feed(ev({"type": "ping"})) == []
    assert parser.feed(ev({"type": "brand_new_event", "x": 1})) == []
    server = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    assert parser.feed(ev({"type": "content_block_start", "index": 0, "content_block": server})) == []
    assert parser.feed(_json(0, '{"query": "x"}')) == []
    citation = {"type": "citations_delta", "citation": {"type": "char_location"}}
    assert parser.feed(ev({"type": "content_block_delta", "index": 0, "delta": citation})) == []
    assert parser.feed(SSEEvent(data="")) == []
    assert parser.feed(MESSAGE_STOP) == []
    assert parser.done
    assert parser.feed(ev({"type": "error", "error": {"type": "api_error", "message": "late"}})) == []


def test_event_name_is_used_when_data_has_no_type() -> None:
    parser = AnthropicAdapter().stream_parser(EP)
    parser.feed(SSEEvent(data="{}", event="message_stop"))
    assert parser.done


@pytest.mark.parametrize("data", ["{not json", "[1, 2]"])
def test_malformed_event_data(data: str) -> None:
    parser = AnthropicAdapter().stream_parser(EP)
    with pytest.raises(errors.MalformedResponseError):
        parser.feed(SSEEvent(data=data, event="content_block_delta"))


# --------------------------------------------------------------------------- details


def _stream_ending(delta: dict[str, Any]) -> list[SSEEvent]:
    start = {"id": "msg_1", "model": "claude-sonnet-4-5", "content": []}
    return [
        ev({"type": "message_start", "message": start}),
        ev({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ev({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "one two"}}),
        ev({"type": "content_block_stop", "index": 0}),
        ev({"type": "message_delta", "delta": delta, "usage": {"output_tokens": 3}}),
        ev({"type": "message_stop"}),
    ]


def test_the_stop_sequence_that_ended_the_reply_is_kept_in_details() -> None:
    out, parser = run(_stream_ending({"stop_reason": "stop_sequence", "stop_sequence": "three"}))
    assert parser.done
    assert FinishEvent("stop", "stop_sequence") in out
    assert parser.details == {"stop_sequence": "three"}


def test_details_match_what_the_unary_parser_keeps() -> None:
    # the same reply, as one Message object and as a stream: the same details
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "one two"}],
        "stop_reason": "stop_sequence",
        "stop_sequence": "three",
        "usage": {"input_tokens": 5, "output_tokens": 3},
    }
    unary = AnthropicAdapter().parse_chat(json.dumps(message).encode(), EP)
    _, parser = run(_stream_ending({"stop_reason": "stop_sequence", "stop_sequence": "three"}))
    unary_details = getattr(unary, "details", None) or unary.meta  # details: pipeline v2 name
    assert dict(parser.details) == dict(unary_details) == {"stop_sequence": "three"}


def test_no_stop_sequence_no_details() -> None:
    _, parser = run(load_sse("stream_basic.sse"))  # the docs' transcript: "stop_sequence": null
    assert parser.details == {}
    _, parser = run(_stream_ending({"stop_reason": "end_turn"}))
    assert parser.details == {}
