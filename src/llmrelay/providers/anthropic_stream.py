"""Anthropic Messages SSE events -> llmrelay stream events.

Event order: ``message_start``, then per content block ``content_block_start`` /
``content_block_delta``… / ``content_block_stop``, then ``message_delta`` (stop reason,
cumulative usage) and ``message_stop``. ``ping`` may appear anywhere; an ``error``
event may replace the rest. Unknown event and delta types are ignored, as Anthropic's
versioning policy asks of clients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from llmrelay import errors
from llmrelay.providers.anthropic_errors import error_from_object
from llmrelay.providers.anthropic_response import finish_reason, service_tier_from, usage_from
from llmrelay.providers.anthropic_state import state_from
from llmrelay.providers.anthropic_threads import reply_id
from llmrelay.providers.anthropic_tools import JSON_TOOL_NAME
from llmrelay.types import FinishEvent, ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta, UsageEvent
from llmrelay.wire import Endpoint, SSEEvent

BlockKind = Literal["text", "thinking", "redacted", "tool", "json", "other"]


@dataclass(slots=True)
class _Block:
    kind: BlockKind
    tool_index: int = -1
    got_input: bool = False
    start_input: Any = None
    # thinking / redacted: the block as it will be replayed, completed by the deltas
    kept: dict[str, Any] | None = None
    thinking: list[str] = field(default_factory=list)


class AnthropicStreamParser:
    """One per stream; fed the stream's SSE events in order.

    ``provider_state`` holds the thinking and redacted_thinking blocks finished so far
    (see ``anthropic_state``), rebuilt from their deltas, or None when there are none;
    on a deployment with ``threads: true`` it names the reply id once the message stops.
    ``details`` holds ``stop_sequence`` (the stop sequence that ended the reply, from
    ``message_delta``) when there was one, and ``service_tier`` (from the usage of
    ``message_start``/``message_delta``), as ``parse_chat`` keeps them for a unary reply.
    """

    def __init__(self, ep: Endpoint) -> None:
        self._ep = ep
        self.done = False
        self.response_id: str | None = None
        self.model: str | None = None
        self.provider_state: dict[str, Any] | None = None
        self.details: dict[str, Any] = {}
        self._kept: list[dict[str, Any]] = []
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        self._json_answer = False
        self._usage: dict[str, Any] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], list[StreamEvent]]] = {
            "message_start": self._on_message_start,
            "content_block_start": self._on_content_block_start,
            "content_block_delta": self._on_content_block_delta,
            "content_block_stop": self._on_content_block_stop,
            "message_delta": self._on_message_delta,
            "message_stop": self._on_message_stop,
            "error": self._on_error,
        }

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        data = self._decode(event)
        if data is None:
            return []
        kind = data.get("type")
        handler = self._handlers.get(kind if isinstance(kind, str) else event.event)
        return handler(data) if handler is not None else []  # ping and unknown events carry nothing

    # ------------------------------------------------------------------ events

    def _on_message_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        message = data.get("message")
        if isinstance(message, dict):
            if isinstance(message.get("id"), str):
                self.response_id = message["id"]
            if isinstance(message.get("model"), str):
                self.model = message["model"]
            if isinstance(message.get("usage"), dict):
                self._usage.update({k: v for k, v in message["usage"].items() if v is not None})
                self._note_tier()
        return []

    def _note_tier(self) -> None:
        tier = service_tier_from(self._usage)
        if tier is not None:
            self.details["service_tier"] = tier

    def _on_content_block_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return []
        btype = block.get("type")
        if btype == "text":
            self._blocks[index] = _Block("text")
            text = block.get("text")
            return [TextDelta(text)] if isinstance(text, str) and text else []
        if btype == "thinking":
            text = block.get("thinking")
            state = _Block("thinking", kept=dict(block))
            if isinstance(text, str) and text:
                state.thinking.append(text)
            self._blocks[index] = state
            return [ReasoningDelta(text)] if isinstance(text, str) and text else []
        if btype == "redacted_thinking":
            self._blocks[index] = _Block("redacted", kept=dict(block))  # arrives whole, no deltas
            return []
        if btype == "tool_use" and block.get("name") == JSON_TOOL_NAME:
            self._json_answer = True
            self._blocks[index] = _Block("json", start_input=block.get("input"))
            return []
        if btype == "tool_use":
            # llmrelay numbers tool calls among tool calls, not among content blocks.
            state = _Block("tool", tool_index=self._tool_count, start_input=block.get("input"))
            self._tool_count += 1
            self._blocks[index] = state
            return [
                ToolCallDelta(
                    state.tool_index, id=str(block.get("id") or ""), name=str(block.get("name") or "")
                )
            ]
        self._blocks[index] = _Block("other")
        return []

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        delta = data.get("delta")
        index = data.get("index")
        state = self._blocks.get(index) if isinstance(index, int) else None
        if not isinstance(delta, dict) or state is None:
            return []
        dtype = delta.get("type")
        if dtype == "text_delta" and state.kind == "text":
            text = delta.get("text")
            return [TextDelta(text)] if isinstance(text, str) and text else []
        if dtype == "thinking_delta" and state.kind == "thinking":
            text = delta.get("thinking")
            if not isinstance(text, str) or not text:
                return []
            state.thinking.append(text)
            return [ReasoningDelta(text)]
        if dtype == "signature_delta" and state.kind == "thinking" and state.kept is not None:
            signature = delta.get("signature")
            if isinstance(signature, str):
                # Normally one delta; appending keeps a signature split across several whole.
                state.kept["signature"] = str(state.kept.get("signature") or "") + signature
            return []
        if dtype == "input_json_delta" and state.kind in ("tool", "json"):
            fragment = delta.get("partial_json")
            if not isinstance(fragment, str) or not fragment:
                return []
            state.got_input = True
            if state.kind == "json":
                return [TextDelta(fragment)]
            return [ToolCallDelta(state.tool_index, arguments=fragment)]
        # citations_delta and future delta types carry nothing llmrelay models.
        return []

    def _on_content_block_stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        index = data.get("index")
        state = self._blocks.get(index) if isinstance(index, int) else None
        if state is not None and state.kept is not None:
            if state.kind == "thinking":
                state.kept["thinking"] = "".join(state.thinking)
            self._kept.append(state.kept)
            self.provider_state = state_from(self._kept)
            return []
        if state is None or state.kind not in ("tool", "json") or state.got_input:
            return []
        # Anthropic announces input as {} and streams it; a server that sends the whole input
        # in content_block_start instead must not lose it.
        if not isinstance(state.start_input, dict) or not state.start_input:
            return []
        arguments = json.dumps(state.start_input, ensure_ascii=False)
        if state.kind == "json":
            return [TextDelta(arguments)]
        return [ToolCallDelta(state.tool_index, arguments=arguments)]

    def _on_message_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        delta = data.get("delta")
        native = delta.get("stop_reason") if isinstance(delta, dict) else None
        stop_sequence = delta.get("stop_sequence") if isinstance(delta, dict) else None
        if isinstance(stop_sequence, str):
            self.details["stop_sequence"] = stop_sequence
        if isinstance(native, str):
            json_only = self._json_answer and self._tool_count == 0
            out.append(FinishEvent(finish_reason(native, json_only=json_only), native))
        usage = data.get("usage")
        if isinstance(usage, dict):
            # message_delta counts are cumulative; fields it omits keep their message_start value.
            self._usage.update({k: v for k, v in usage.items() if v is not None})
            self._note_tier()
            final = usage_from(self._usage)
            if final is not None:
                out.append(UsageEvent(final))
        return out

    def _on_message_stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        self.done = True
        # Only a finished reply is a thread position: a cut stream's state names no id.
        thread_id = reply_id(self._ep, self.response_id)
        if thread_id is not None:
            self.provider_state = state_from(self._kept, thread_id)
        return []

    def _on_error(self, data: dict[str, Any]) -> list[StreamEvent]:
        err = data.get("error")
        if not isinstance(err, dict):
            err = {"type": "api_error", "message": "the stream reported an error without details"}
        raise error_from_object(err, self._ep, request_id=self._request_id(data), body=data)

    # ------------------------------------------------------------------ helpers

    def _request_id(self, data: dict[str, Any]) -> str | None:
        rid = data.get("request_id")
        return rid if isinstance(rid, str) else None

    def _decode(self, event: SSEEvent) -> dict[str, Any] | None:
        if not event.data.strip():
            return None
        try:
            data = json.loads(event.data)
        except ValueError:
            raise errors.MalformedResponseError(
                f"Anthropic sent a {event.event!r} stream event whose data is not JSON",
                provider=self._ep.host or "anthropic",
                model=self._ep.model or None,
                body=event.data[:500],
            ) from None
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(
                f"Anthropic sent a {event.event!r} stream event whose data is not a JSON object",
                provider=self._ep.host or "anthropic",
                model=self._ep.model or None,
                body=event.data[:500],
            )
        return data
