"""Responses API semantic SSE events -> llmrelay stream events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_responses_stream import ResponsesStreamParser
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

EP = Endpoint("responses", "gpt-5-mini", "https://api.openai.com/v1", host="openai-responses")
USAGE = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 50,
}


def ev(kind: str, **fields: Any) -> SSEEvent:
    return SSEEvent(json.dumps({"type": kind, **fields, "sequence_number": 0}), event=kind)


def resp(status: str = "completed", output: list[Any] | None = None, **top: Any) -> dict[str, Any]:
    return {
        "id": "resp_9",
        "model": "gpt-5-mini",
        "status": status,
        "output": output or [],
        "usage": USAGE,
        **top,
    }


def run(*events: SSEEvent) -> tuple[ResponsesStreamParser, list[StreamEvent]]:
    parser = ResponsesStreamParser(EP)
    out: list[StreamEvent] = []
    for e in events:
        out.extend(parser.feed(e))
    return parser, out


REASONING_DONE = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Think."}]}


def test_text_stream_with_reasoning_usage_and_state() -> None:
    created = resp("in_progress")
    msg = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    parser, out = run(
        ev("response.created", response=created),
        ev("response.in_progress", response=created),
        ev(
            "response.output_item.added",
            output_index=0,
            item={"id": "rs_1", "type": "reasoning", "summary": []},
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="Thi",
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="nk.",
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            delta="More.",
        ),
        ev(
            "response.reasoning_summary_text.done",
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            text="More.",
        ),
        ev("response.output_item.done", output_index=0, item=REASONING_DONE),
        ev("response.output_item.added", output_index=1, item=msg),
        ev("response.content_part.added", item_id="msg_1", output_index=1, content_index=0, part={}),
        ev("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0, delta="Hel"),
        ev("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0, delta="lo"),
        ev("response.output_text.done", item_id="msg_1", output_index=1, content_index=0, text="Hello"),
        ev("response.output_item.done", output_index=1, item={**msg, "content": [{"type": "output_text"}]}),
        ev("response.completed", response=resp(service_tier="default")),
        ev("response.completed", response=resp()),  # anything after the end is ignored
    )
    assert parser.done and (parser.response_id, parser.model) == ("resp_9", "gpt-5-mini")
    assert out == [
        ReasoningDelta("Thi"),
        ReasoningDelta("nk."),
        ReasoningDelta("\n\nMore."),
        TextDelta("Hel"),
        TextDelta("lo"),
        UsageEvent(Usage(20, 30, cached_input_tokens=4, reasoning_tokens=12)),
        FinishEvent("stop", "completed"),
    ]
    # completed.output was empty: the state comes from the output_item.done events
    assert parser.provider_state == {
        "responses": {"items": [REASONING_DONE, {"type": "message", "id": "msg_1"}]}
    }
    assert parser.details == {"service_tier": "default"}


def test_function_calls_are_numbered_in_item_order() -> None:
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_a", "name": "f", "arguments": ""}
    other = {"id": "fc_2", "type": "function_call", "call_id": "call_b", "name": "g", "arguments": ""}
    parser, out = run(
        ev("response.created", response=resp("in_progress")),
        ev("response.output_item.added", output_index=0, item=item),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta='{"x":'),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta="1}"),
        ev("response.function_call_arguments.done", item_id="fc_1", output_index=0, arguments='{"x":1}'),
        ev("response.output_item.added", output_index=1, item=other),
        # a server that sends only the done event of the arguments
        ev("response.function_call_arguments.done", item_id="fc_2", output_index=1, arguments="{}"),
        ev(
            "response.completed",
            response=resp(output=[{**item, "arguments": '{"x":1}'}, {**other, "arguments": "{}"}]),
        ),
    )
    assert out[:5] == [
        ToolCallDelta(0, "call_a", "f", ""),
        ToolCallDelta(0, arguments='{"x":'),
        ToolCallDelta(0, arguments="1}"),
        ToolCallDelta(1, "call_b", "g", ""),
        ToolCallDelta(1, arguments="{}"),
    ]
    assert out[-1] == FinishEvent("tool_calls", "completed")
    assert parser.provider_state is None  # no reasoning: nothing to replay


def test_a_call_seen_only_when_done_is_reported_whole() -> None:
    item = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": '{"a":2}'}
    _, out = run(ev("response.output_item.done", output_index=0, item=item))
    assert out == [ToolCallDelta(0, "c", "f", '{"a":2}')]


def test_text_sent_only_as_done_is_emitted_once() -> None:
    _, out = run(
        ev("response.output_text.done", output_index=0, content_index=0, text="whole"),
        ev("response.refusal.delta", output_index=1, content_index=0, delta="No."),
        ev("response.refusal.done", output_index=1, content_index=0, refusal="No."),
        ev("response.completed", response=resp()),
    )
    assert out[:2] == [TextDelta("whole"), TextDelta("No.")]
    assert out[-1] == FinishEvent("content_filter", "completed")


def test_incomplete_ends_the_stream_with_length() -> None:
    parser, out = run(
        ev("response.output_text.delta", output_index=0, content_index=0, delta="cut"),
        ev(
            "response.incomplete",
            response=resp("incomplete", incomplete_details={"reason": "max_output_tokens"}),
        ),
    )
    assert parser.done and out[-1] == FinishEvent("length", "max_output_tokens")


def test_error_events_and_failed_responses_raise_typed_errors() -> None:
    with pytest.raises(errors.RateLimitError, match="slow"):
        run(ev("error", code="rate_limit_exceeded", message="slow down", param=None))
    with pytest.raises(errors.ServiceUnavailableError, match="nested"):
        run(ev("error", error={"type": "server_error", "code": "server_error", "message": "nested"}))
    failed = resp("failed", error={"code": "server_error", "message": "The server had an error"})
    parser = ResponsesStreamParser(EP)
    with pytest.raises(errors.ServiceUnavailableError, match="server had an error"):
        parser.feed(ev("response.failed", response=failed))
    assert parser.done


def test_keepalives_unknown_events_and_done_markers_are_ignored() -> None:
    parser, out = run(
        SSEEvent(""),
        ev("response.web_search_call.searching", output_index=0),
        SSEEvent("[DONE]"),
    )
    assert out == [] and not parser.done


def test_a_non_object_event_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        run(SSEEvent("[1, 2]"))
    with pytest.raises(errors.MalformedResponseError):
        run(SSEEvent('{"type": "response.output_text.delta", "delta": "'))
