"""A streamed turn of a conversation: the events as they come, the turn stored when complete."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from llmrelay.types import ChatResponse, Message, StreamEvent, TextDelta

if TYPE_CHECKING:
    from llmrelay.app.conversations.conversation import Conversation, Window
    from llmrelay.stream import ChatStream


class ConversationStream:
    """Iterate the events (as a ``ChatStream``'s); when the stream completes, the new turn
    and the reply are stored. ``final()`` drains it. The conversation is held from the first
    event until the stream completes or is closed: use ``async with`` so that leaving early
    releases it (nothing is stored then)."""

    def __init__(
        self, conversation: Conversation, pending: Sequence[Message], params: Mapping[str, Any]
    ) -> None:
        self._conv = conversation
        self._pending = tuple(pending)
        self._params = dict(params)
        self._inner: ChatStream | None = None
        self._done = False
        self.response: ChatResponse | None = None
        #: what was sent (set once the stream starts)
        self.window: Window | None = None

    def __aiter__(self) -> ConversationStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._done:
            raise StopAsyncIteration
        if self._inner is None:
            self._inner, self.window = await self._conv._open_stream(self._pending, self._params)
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            self._done = True
            self.response = self._inner.response
            await self._conv._close_stream(self._pending, self.response)
            raise
        except BaseException:
            self._done = True
            await self._conv._close_stream(self._pending, None)
            raise

    async def text_stream(self) -> AsyncIterator[str]:
        async for ev in self:
            if isinstance(ev, TextDelta):
                yield ev.text

    async def final(self) -> ChatResponse:
        async for _ in self:
            pass
        if self.response is None:
            raise RuntimeError("the stream was closed before it completed; nothing was stored")
        return self.response

    async def aclose(self) -> None:
        """Stop early: the connection closes and nothing is stored."""
        if self._done:
            return
        self._done = True
        if self._inner is not None:
            try:
                await self._inner.aclose()
            finally:
                await self._conv._close_stream(self._pending, None)

    async def __aenter__(self) -> ConversationStream:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
