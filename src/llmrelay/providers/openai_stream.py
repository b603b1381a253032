"""Turn OpenAI ``chat.completion.chunk`` SSE events into llmrelay stream events.

Reference: https://platform.openai.com/docs/api-reference/chat-streaming and the
"Streaming" section of the function-calling guide. The stream is data-only SSE, one JSON
chunk per event, ended by ``data: [DONE]``. With ``stream_options.include_usage`` the last
chunk before ``[DONE]`` has empty ``choices`` and the ``usage``; every other chunk carries
``usage: null``.
"""

from __future__ import annotations

from typing import Any

from llmrelay import errors
from llmrelay.providers import logprobs
from llmrelay.providers.openai_common import as_list, as_obj, as_str, decode_json, provider_name
from llmrelay.providers.openai_errors import error_from_payload
from llmrelay.providers.openai_response import (
    arguments_text,
    content_text,
    map_finish,
    reasoning_text,
    usage_from,
)
from llmrelay.types import (
    FinishEvent,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from llmrelay.wire import Endpoint, SSEEvent

#: chunk fields kept in ``details``, as ``parse_chat`` keeps them from a completion
_DETAIL_KEYS = ("system_fingerprint", "service_tier")


class OpenAIStreamParser:
    """One parser per stream; it keeps the little state a stream needs (tool call indexes,
    whether the finish was seen). ``UsageEvent``s carry totals so far: the last one wins,
    they must not be summed. ``details`` gathers what ``parse_chat`` keeps for a unary
    answer: ``system_fingerprint`` and ``service_tier`` (from the chunks that carry them)
    and ``refusal`` (the refusal deltas joined)."""

    __slots__ = (
        "_announced",
        "_ep",
        "_finished",
        "_ids",
        "_last_index",
        "_last_usage",
        "_logprobs",
        "_refusal",
        "_refused",
        "_saw_tool_call",
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
        self.provider_state: dict[str, Any] | None = None  # Chat Completions has none to replay
        self.details: dict[str, Any] = {}
        self._refusal: list[str] = []
        self._ep = ep
        self._finished = False
        self._refused = False
        self._saw_tool_call = False
        self._announced: set[int] = set()
        self._ids: dict[str, int] = {}
        self._last_index = 0
        self._last_usage: Usage | None = None
        self._logprobs: list[TokenLogprob] = []

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if event.event == "error":
            raise self._error_event(event.data.strip())
        if self.done:
            return []
        data = event.data
        if data[:1] != "{":  # "[DONE]", blank keep-alives, or padding around a chunk
            data = data.strip()
            if not data:
                return []
            if data == "[DONE]":
                self.done = True
                if self._logprobs:
                    self.details[logprobs.DETAIL_KEY] = tuple(self._logprobs)
                return []
        chunk = as_obj(decode_json(data, self._ep, "a stream chunk"))
        fast = self._plain_text(chunk)
        if fast is not None:
            return fast
        if chunk is None:
            raise errors.MalformedResponseError(
                f"a stream chunk is not a JSON object: {data[:120]!r}",
                provider=provider_name(self._ep),
                model=self._ep.model,
            )
        if chunk.get("error") is not None:
            raise error_from_payload(chunk, self._ep)
        # Azure's first chunk (prompt filter results) has an empty id and model.
        if self.response_id is None:
            self.response_id = as_str(chunk.get("id")) or None
        if self.model is None:
            self.model = as_str(chunk.get("model")) or None
        # Plain text chunks repeat these too; the first and the last chunk (which always
        # take this path) carry them, so the fast path can skip them.
        for key in _DETAIL_KEYS:
            value = chunk.get(key)
            if isinstance(value, str):
                self.details[key] = value

        out: list[StreamEvent] = []
        for raw in as_list(chunk.get("choices")):
            choice = as_obj(raw)
            # n > 1 is not modelled: only the first choice is followed.
            if choice is not None and choice.get("index", 0) == 0:
                self._choice(choice, out)
        usage = usage_from(chunk.get("usage"))
        if usage is None:  # Groq's older dialect puts the final usage under x_groq
            usage = usage_from((as_obj(chunk.get("x_groq")) or {}).get("usage"))
        if usage is not None and usage != self._last_usage:
            self._last_usage = usage
            out.append(UsageEvent(usage))
        return out

    def _plain_text(self, chunk: dict[str, Any] | None) -> list[StreamEvent] | None:
        """The hot path: nearly every chunk is one choice whose delta is only text.

        Returns None for anything else (tool calls, reasoning, refusals, finish, usage,
        errors, the first chunk), which then takes the general path below.
        """
        if chunk is None or self.response_id is None or chunk.get("usage") is not None:
            return None
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1 or "error" in chunk or "x_groq" in chunk:
            return None
        choice = choices[0]
        if (
            type(choice) is not dict
            or choice.get("finish_reason") is not None
            or choice.get("index", 0) != 0
            or choice.get("logprobs") is not None
        ):
            return None
        delta = choice.get("delta")
        if type(delta) is not dict:
            return None
        content = delta.get("content")
        if type(content) is not str or not (len(delta) == 1 or (len(delta) == 2 and "role" in delta)):
            return None
        return [TextDelta(content)] if content else []

    def _choice(self, choice: dict[str, Any], out: list[StreamEvent]) -> None:
        if choice.get("logprobs") is not None:
            self._logprobs.extend(logprobs.from_chat_choice(choice))
        delta = as_obj(choice.get("delta")) or {}
        reasoning = reasoning_text(delta)
        if reasoning:
            out.append(ReasoningDelta(reasoning))
        text = content_text(delta.get("content"))
        if text:
            out.append(TextDelta(text))
        refusal = as_str(delta.get("refusal"))
        if refusal:
            self._refused = True
            self._refusal.append(refusal)
            self.details["refusal"] = "".join(self._refusal)
            out.append(TextDelta(refusal))
        for position, raw in enumerate(as_list(delta.get("tool_calls"))):
            call = as_obj(raw)
            if call is not None:
                self._tool_call(call, position, out)
        legacy = as_obj(delta.get("function_call"))
        if legacy is not None:
            self._tool_call({"index": 0, "id": "function_call", "function": legacy}, 0, out)
        native = as_str(choice.get("finish_reason"))
        if native and not self._finished:
            self._finished = True
            reason = map_finish(native)
            if self._refused:
                reason = "content_filter"
            elif self._saw_tool_call and reason == "stop":
                reason = "tool_calls"  # some compatible servers finish tool calls with "stop"
            out.append(FinishEvent(reason, native))

    def _tool_call(self, call: dict[str, Any], position: int, out: list[StreamEvent]) -> None:
        fn = as_obj(call.get("function")) or {}
        call_id = as_str(call.get("id")) or None
        index = self._index(call, call_id, position)
        name = as_str(fn.get("name")) or None
        if index in self._announced:
            call_id = name = None  # repeats of the first delta's id/name carry nothing new
        elif call_id is not None or name is not None:
            self._announced.add(index)
        raw_args = fn.get("arguments")
        arguments = "" if raw_args is None or raw_args == "" else arguments_text(raw_args)
        if call_id is None and name is None and not arguments:
            return
        self._saw_tool_call = True
        out.append(ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments))

    def _index(self, call: dict[str, Any], call_id: str | None, position: int) -> int:
        """The call's ``index``; servers that omit it are followed by call id, then position."""
        index = call.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            if call_id is not None:
                self._ids.setdefault(call_id, index)
        elif call_id is not None:
            index = self._ids.setdefault(call_id, len(self._ids))
        else:
            index = self._last_index if position == 0 else self._last_index + position
        self._last_index = index
        return index

    def _error_event(self, data: str) -> errors.APIError:
        """An ``event: error`` SSE event (some proxies), JSON or plain text."""
        try:
            payload = as_obj(decode_json(data, self._ep, "an error event"))
        except errors.MalformedResponseError:
            payload = None
        if payload is None:
            payload = {"error": {"message": data[:500]}}
        elif payload.get("error") is None:
            payload = {"error": payload}
        return error_from_payload(payload, self._ep)
