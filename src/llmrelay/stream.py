"""The stream object a caller iterates, and the accumulator behind its final response."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from llmrelay.errors import StreamTruncatedError
from llmrelay.pipeline import Call
from llmrelay.types import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


class StreamAccumulator:
    """Folds stream events into the pieces of a ChatResponse."""

    __slots__ = ("_calls", "_reasoning", "_text", "finish_reason", "native_finish_reason", "usage")

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, args...]
        self.finish_reason: FinishReason | None = None
        self.native_finish_reason: str | None = None
        self.usage: Usage | None = None

    def add(self, ev: StreamEvent) -> None:
        if isinstance(ev, TextDelta):
            self._text.append(ev.text)
        elif isinstance(ev, ToolCallDelta):
            slot = self._calls.get(ev.index)
            if slot is None:
                slot = self._calls[ev.index] = [ev.id or "", ev.name or ""]
            else:
                if ev.id and not slot[0]:
                    slot[0] = ev.id
                if ev.name and not slot[1]:
                    slot[1] = ev.name
            if ev.arguments:
                slot.append(ev.arguments)
        elif isinstance(ev, ReasoningDelta):
            self._reasoning.append(ev.text)
        elif isinstance(ev, UsageEvent):
            self.usage = ev.usage
        elif isinstance(ev, FinishEvent):
            self.finish_reason = ev.reason
            self.native_finish_reason = ev.native_reason

    @property
    def text(self) -> str:
        return "".join(self._text)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=s[0] or f"call_{i}", name=s[1], arguments="".join(s[2:]) or "{}")
            for i, s in sorted(self._calls.items())
        )

    def build(self, meta: dict[str, Any], latency: float | None, ttft: float | None) -> ChatResponse:
        return ChatResponse(
            id=meta.get("response_id") or "",
            model=meta.get("model") or "",
            provider=meta.get("provider") or "",
            text=self.text,
            tool_calls=self.tool_calls(),
            finish_reason=self.finish_reason or "stop",
            native_finish_reason=self.native_finish_reason,
            usage=self.usage,
            reasoning="".join(self._reasoning) or None,
            provider_state=meta.get("provider_state"),
            request_id=meta.get("request_id"),
            latency=latency,
            time_to_first_token=ttft,
            cost=meta.get("cost"),
            meta=meta,
        )


class ChatStream:
    """An async iterator of stream events with the final response at the end.

    ``async for ev in stream`` yields ``TextDelta``, ``ToolCallDelta``,
    ``ReasoningDelta``, ``UsageEvent`` and ``FinishEvent``. ``await stream.final()``
    drains what is left and returns the accumulated ``ChatResponse``; ``stream.response``
    holds it once the stream is complete. ``await stream.aclose()`` (or leaving
    ``async with``) closes the connection, which cancels generation upstream.

    A stream that ends without its provider's end marker raises
    ``StreamTruncatedError`` carrying the text received so far — never a silently
    shortened answer.
    """

    __slots__ = ("_acc", "_call", "_closed", "_events", "_started", "_t0", "_ttft", "response")

    def __init__(self, call: Call, events: AsyncIterator[StreamEvent]) -> None:
        self._call = call
        self._events = events
        self._acc = StreamAccumulator()
        self._t0 = time.perf_counter()
        self._ttft: float | None = None
        self._closed = False
        self._started = False
        self.response: ChatResponse | None = None

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._closed:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            self._t0 = time.perf_counter()
        try:
            ev = await self._events.__anext__()
        except StopAsyncIteration:
            self._complete()
            raise
        except StreamTruncatedError as exc:
            if not exc.partial_text:
                exc.partial_text = self._acc.text
            await self._shut()
            raise
        except BaseException:
            await self._shut()
            raise
        if self._ttft is None and isinstance(ev, TextDelta | ToolCallDelta | ReasoningDelta):
            self._ttft = time.perf_counter() - self._t0
        self._acc.add(ev)
        return ev

    async def text_stream(self) -> AsyncIterator[str]:
        """Only the text, as it arrives."""
        async for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    async def final(self) -> ChatResponse:
        """Consume the rest of the stream and return the complete response."""
        async for _ in self:
            pass
        if self.response is None:
            raise RuntimeError("the stream was closed before it completed; no final response exists")
        return self.response

    @property
    def text(self) -> str:
        """The text received so far."""
        return self._acc.text

    def _complete(self) -> None:
        self._closed = True
        latency = time.perf_counter() - self._t0
        self.response = self._acc.build(self._call.meta, latency, self._ttft)

    async def _shut(self) -> None:
        self._closed = True
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()

    async def aclose(self) -> None:
        """Stop reading and close the connection (the provider stops generating)."""
        if not self._closed:
            await self._shut()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
