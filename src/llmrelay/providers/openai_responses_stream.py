"""Turn the Responses API's semantic SSE events into llmrelay stream events.

Reference: https://platform.openai.com/docs/api-reference/responses-streaming. Every
event is a JSON object with a ``type`` (also the SSE ``event:`` name) and a
``sequence_number``. There is no ``[DONE]``: the stream ends with ``response.completed``,
``response.incomplete`` or ``response.failed``, each carrying the whole response object
(usage, status, output), which this parser reads exactly as ``parse_chat`` reads a
unary answer. ``error`` events and ``response.failed`` raise typed errors.

Deltas come per output item: ``response.output_text.delta`` for a message's text,
``response.function_call_arguments.delta`` for a call announced by
``response.output_item.added``, ``response.reasoning_summary_text.delta`` (and
``response.reasoning_text.delta`` from open-weight servers) for reasoning. Servers that
send only the ``….done`` event of a part are followed too: its full text is emitted when
no delta preceded it.
"""

from __future__ import annotations

from typing import Any

from llmrelay import errors
from llmrelay.providers.openai_common import as_int, as_list, as_obj, as_str, decode_json
from llmrelay.providers.openai_response import arguments_text
from llmrelay.providers.openai_responses_errors import event_error, failed_error
from llmrelay.providers.openai_responses_request import provider_name
from llmrelay.providers.openai_responses_response import (
    DETAIL_KEYS,
    REASONING_SEPARATOR,
    details_of,
    finish_of,
    stored,
    usage_from,
)
from llmrelay.providers.openai_responses_state import state_from
from llmrelay.types import (
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from llmrelay.wire import Endpoint, SSEEvent

_LIFECYCLE = frozenset(("response.created", "response.in_progress", "response.queued"))
_TERMINAL = frozenset(("response.completed", "response.incomplete"))
_REASONING_DELTAS = frozenset(("response.reasoning_summary_text.delta", "response.reasoning_text.delta"))
_REASONING_DONE = {
    "response.reasoning_summary_text.done": "summary_index",
    "response.reasoning_text.done": "content_index",
}


class ResponsesStreamParser:
    """One parser per stream. Tool calls are numbered in the order their items appear;
    ``provider_state`` and ``details`` are filled by the terminal event."""

    __slots__ = (
        "_calls",
        "_ep",
        "_items",
        "_reasoning_parts",
        "_refusal",
        "_seen",
        "details",
        "done",
        "model",
        "provider_state",
        "response_id",
    )

    def __init__(self, ep: Endpoint) -> None:
        self.done = False
        self.response_id: str | None = None
        self.model: str | None = None
        self.provider_state: dict[str, Any] | None = None
        self.details: dict[str, Any] = {}
        self._ep = ep
        self._calls: dict[int, int] = {}  # output_index -> tool call index
        self._seen: set[tuple[str, int, int]] = set()  # (kind, output_index, part) that had deltas
        self._reasoning_parts: set[tuple[int, int]] = set()  # reasoning parts begun
        self._items: dict[int, dict[str, Any]] = {}  # finished output items, by output_index
        self._refusal: list[str] = []

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        data = event.data.strip()
        if not data or data == "[DONE]":  # keep-alives; some compatible servers end with [DONE]
            return []
        payload = as_obj(decode_json(data, self._ep, "a stream event"))
        if payload is None:
            raise errors.MalformedResponseError(
                f"a stream event is not a JSON object: {data[:120]!r}",
                provider=provider_name(self._ep),
                model=self._ep.model,
            )
        kind = as_str(payload.get("type")) or event.event
        if kind == "response.output_text.delta":  # the hot path
            return self._text(payload, "delta", "text")
        if kind == "error":
            raise event_error(payload, self._ep)
        if kind in _LIFECYCLE:
            self._identify(as_obj(payload.get("response")) or {})
            return []
        if kind in _TERMINAL:
            return self._finish(as_obj(payload.get("response")) or {})
        if kind == "response.failed":
            self.done = True
            raise failed_error(as_obj(payload.get("response")) or {}, self._ep)
        return self._item_event(kind, payload)

    def _item_event(self, kind: str, payload: dict[str, Any]) -> list[StreamEvent]:
        if kind == "response.function_call_arguments.delta":
            return self._arguments(payload, as_str(payload.get("delta")) or "", done=False)
        if kind == "response.function_call_arguments.done":
            return self._arguments(payload, arguments_text(payload.get("arguments")), done=True)
        if kind == "response.output_item.added":
            return self._added(payload)
        if kind == "response.output_item.done":
            return self._item_done(payload)
        if kind in _REASONING_DELTAS:
            index = "summary_index" if "summary" in kind else "content_index"
            return self._reasoning(payload, as_str(payload.get("delta")) or "", index, done=False)
        if kind in _REASONING_DONE:
            return self._reasoning(
                payload, as_str(payload.get("text")) or "", _REASONING_DONE[kind], done=True
            )
        if kind == "response.output_text.done":
            return self._text(payload, "text", "text", done=True)
        if kind == "response.refusal.delta":
            return self._text(payload, "delta", "refusal")
        if kind == "response.refusal.done":
            return self._text(payload, "refusal", "refusal", done=True)
        return []  # content_part, annotations, hosted tools' progress: nothing to report

    # ------------------------------------------------------------------ pieces

    def _identify(self, response: dict[str, Any]) -> None:
        if self.response_id is None:
            self.response_id = as_str(response.get("id")) or None
        if self.model is None:
            self.model = as_str(response.get("model")) or None

    def _text(
        self, payload: dict[str, Any], field: str, kind: str, *, done: bool = False
    ) -> list[StreamEvent]:
        key = (kind, as_int(payload.get("output_index")), as_int(payload.get("content_index")))
        if done and key in self._seen:
            return []
        text = as_str(payload.get(field)) or ""
        if not text:
            return []
        self._seen.add(key)
        if kind == "refusal":
            self._refusal.append(text)
        return [TextDelta(text)]

    def _added(self, payload: dict[str, Any]) -> list[StreamEvent]:
        item = as_obj(payload.get("item")) or {}
        if item.get("type") != "function_call":
            return []
        position = as_int(payload.get("output_index"))
        index = self._calls.setdefault(position, len(self._calls))
        call_id = as_str(item.get("call_id")) or as_str(item.get("id"))
        arguments = as_str(item.get("arguments")) or ""
        if arguments:
            self._seen.add(("arguments", position, 0))
        return [
            ToolCallDelta(index=index, id=call_id, name=as_str(item.get("name")) or None, arguments=arguments)
        ]

    def _arguments(self, payload: dict[str, Any], text: str, *, done: bool) -> list[StreamEvent]:
        position = as_int(payload.get("output_index"))
        key = ("arguments", position, 0)
        if done and key in self._seen:
            return []
        out: list[StreamEvent] = []
        if position not in self._calls:  # a server that skipped output_item.added
            self._calls[position] = len(self._calls)
            out.append(ToolCallDelta(index=self._calls[position], id=as_str(payload.get("item_id"))))
        if text:
            self._seen.add(key)
            out.append(ToolCallDelta(index=self._calls[position], arguments=text))
        return out

    def _reasoning(self, payload: dict[str, Any], text: str, index: str, *, done: bool) -> list[StreamEvent]:
        part = (as_int(payload.get("output_index")), as_int(payload.get(index)))
        key = ("reasoning", *part)
        if (done and key in self._seen) or not text:
            return []
        self._seen.add(key)
        if part not in self._reasoning_parts:
            # parts are joined by a blank line, as parse_chat joins them
            first = not self._reasoning_parts
            self._reasoning_parts.add(part)
            if not first:
                text = REASONING_SEPARATOR + text
        return [ReasoningDelta(text)]

    def _item_done(self, payload: dict[str, Any]) -> list[StreamEvent]:
        item = as_obj(payload.get("item"))
        if item is None:
            return []
        position = as_int(payload.get("output_index"))
        self._items[position] = item
        if item.get("type") != "function_call" or position in self._calls:
            return []
        # a call that was never announced: report it whole
        self._calls[position] = index = len(self._calls)
        return [
            ToolCallDelta(
                index=index,
                id=as_str(item.get("call_id")) or as_str(item.get("id")),
                name=as_str(item.get("name")) or None,
                arguments=arguments_text(item.get("arguments")),
            )
        ]

    def _finish(self, response: dict[str, Any]) -> list[StreamEvent]:
        self.done = True
        self._identify(response)
        output = as_list(response.get("output")) or [self._items[k] for k in sorted(self._items)]
        has_calls = bool(self._calls) or any(
            (as_obj(item) or {}).get("type") == "function_call" for item in output
        )
        refusal = "".join(self._refusal)
        reason, native = finish_of(response, has_calls=has_calls, refused=bool(refusal))
        self.provider_state = state_from(output, stored=stored(response))
        self.details = details_of(response, refusal)
        out: list[StreamEvent] = []
        usage = usage_from(response.get("usage"))
        if usage is not None:
            out.append(UsageEvent(usage))
        out.append(FinishEvent(reason, native))
        return out


__all__ = ["DETAIL_KEYS", "ResponsesStreamParser"]
