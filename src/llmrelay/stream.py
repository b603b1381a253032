"""The stream object a caller iterates."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from llmrelay.errors import StreamTruncatedError
from llmrelay.pipeline import Call, Hooks
from llmrelay.types import ChatResponse, StreamEnd, StreamEvent, StreamStart, TextDelta


class ChatStream:
    """An async iterator of stream events with the final response at the end.

    ``async for ev in stream`` yields a ``StreamStart`` (id, model, provider,
    deployment, request id), then ``TextDelta``, ``ToolCallDelta``, ``ReasoningDelta``,
    ``UsageEvent`` and ``FinishEvent`` as they arrive, and a ``StreamEnd`` (usage,
    finish reason, cost, provider state) when the answer is complete. ``await
    stream.start()`` waits until the stream is committed (the provider answered and the
    first content is there) and returns its ``StreamStart``. ``await stream.final()``
    drains what is left and returns the accumulated ``ChatResponse``; ``stream.response``
    holds it once the stream is complete. ``await stream.aclose()`` (or leaving ``async
    with``) closes the connection, which cancels generation upstream.

    Errors: ``client.stream()`` raises only for an invalid request or an unknown model;
    everything else (limits, budgets, preflight, the provider's errors) raises at the
    first iteration (or ``start()``). A stream that fails after content reached you is
    resumed when it can be (``retry.resume``); otherwise it raises
    ``StreamTruncatedError`` carrying the text received so far, with the provider's
    error as its ``__cause__`` — never a silently shortened answer.
    """

    __slots__ = ("_call", "_closed", "_events", "_hooks", "_make", "_pending", "response", "started")

    def __init__(
        self, call: Call, make: Callable[[Call], AsyncIterator[StreamEvent]], hooks: Hooks | None = None
    ) -> None:
        self._call = call
        self._make = make
        self._events: AsyncIterator[StreamEvent] | None = None
        self._hooks = hooks
        self._closed = False
        self._pending: StreamStart | None = None
        #: the stream's ``StreamStart`` once it has arrived
        self.started: StreamStart | None = None
        self.response: ChatResponse | None = None

    @property
    def call(self) -> Call:
        """The call behind the stream (its ``report`` and ``outcome`` fill as it goes)."""
        return self._call

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> StreamEvent:
        events = self._events
        if events is None or self._closed or self._pending is not None:
            if self._pending is not None:  # start() looked at the first event
                first: StreamEvent = self._pending
                self._pending = None
                return first
            if self._closed:
                raise StopAsyncIteration
            call = self._call
            call.started = time.perf_counter()
            hooks = self._hooks
            if hooks is not None and hooks.request:
                hooks.fire(hooks.request, call)
            events = self._events = self._make(call)
        try:
            ev: StreamEvent = await events.__anext__()
        except StopAsyncIteration:
            self._closed = True
            self._build()
            hooks = self._hooks
            if hooks is not None and hooks.response:
                hooks.fire(hooks.response, self._call)
            raise
        except StreamTruncatedError as exc:
            if not exc.partial_text:
                exc.partial_text = self._call.outcome.text
            await self._shut(exc)
            raise
        except BaseException as exc:
            await self._shut(exc)
            raise
        if isinstance(ev, StreamStart):
            self.started = ev
        elif isinstance(ev, StreamEnd):
            self._build()  # the layers below finish on the next step
        return ev

    async def start(self) -> StreamStart:
        """Wait until the stream is committed and return its ``StreamStart`` (it is
        still yielded by the iteration, first)."""
        if self.started is not None:
            return self.started
        ev = await self.__anext__()
        if type(ev) is not StreamStart:  # a custom pipeline that sends no start event
            raise RuntimeError(f"the stream began with {type(ev).__name__}, not StreamStart")
        self._pending = ev
        return ev

    async def text_stream(self) -> AsyncIterator[str]:
        """Only the text, as it arrives."""
        async for ev in self:
            if type(ev) is TextDelta:
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
        return self._call.outcome.text

    def _build(self) -> None:
        if self.response is not None:
            return
        call = self._call
        out = call.outcome
        self.response = ChatResponse(
            id=out.response_id or "",
            model=out.model or "",
            provider=out.provider or "",
            text=out.text,
            tool_calls=out.tool_calls(),
            finish_reason=out.finish_reason or "stop",
            native_finish_reason=out.native_finish_reason,
            usage=out.usage,
            reasoning=out.reasoning or None,
            provider_state=out.provider_state,
            details=out.details,
            request_id=out.request_id,
            latency=time.perf_counter() - call.started,
            time_to_first_token=out.ttft,
            cost=out.cost,
            meta=call.report,
        )
        out.response = self.response

    async def _shut(self, exc: BaseException | None) -> None:
        self._closed = True
        events = self._events
        if events is not None:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        hooks = self._hooks
        if exc is not None and hooks is not None and hooks.error and self.response is None:
            hooks.fire_error(self._call, exc)

    async def aclose(self) -> None:
        """Stop reading and close the connection (the provider stops generating)."""
        if not self._closed:
            complete = self._call.outcome.complete
            await self._shut(None if complete or self._events is None else GeneratorExit())

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
