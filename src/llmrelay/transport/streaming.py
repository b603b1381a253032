"""``StreamingResponse`` (an answer whose body is still arriving) and the total deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from typing import TypeVar

from llmrelay.transport import failures
from llmrelay.transport.sse import SSEDecoder
from llmrelay.transport.timeouts import Timeouts
from llmrelay.wire import SSEEvent

_T = TypeVar("_T")


async def within(aw: Awaitable[_T], deadline: float | None, where: str, t: Timeouts) -> _T:
    """Await ``aw`` before ``deadline`` (loop time), else raise the total timeout."""
    if deadline is None:
        return await aw
    cm = asyncio.timeout_at(deadline)
    try:
        async with cm:
            return await aw
    except TimeoutError:
        if cm.expired():
            raise failures.total_timeout(where, t) from None
        raise


class StreamingResponse:
    """An answer whose body is still arriving.

    ``aclose()`` drops the connection unless the body was read to its end (it is not
    returned to the pool half-read), which is how a caller cancels a generation the
    server is still producing.
    """

    __slots__ = ("_deadline", "_t", "_where", "headers", "status")

    def __init__(
        self, status: int, headers: dict[str, str], t: Timeouts, deadline: float | None, where: str
    ) -> None:
        self.status: int = status
        #: names lower-cased, repeated headers joined with ", "
        self.headers: dict[str, str] = headers
        self._t = t
        self._deadline = deadline
        self._where = where

    # What a client's subclass provides; each raises only llmrelay errors.

    @property
    def is_closed(self) -> bool:
        raise NotImplementedError

    async def _next(self) -> bytes:
        """The next non-empty chunk of the decoded body, ``b""`` at its end."""
        raise NotImplementedError

    async def _rest(self) -> bytes:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    # The public interface.

    async def read(self) -> bytes:
        """The rest of the body, e.g. an error document."""
        return await self._within(self._rest())

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Body chunks as they arrive, content-encoding already undone."""
        if self._deadline is None:
            nxt = self._next
            while chunk := await nxt():
                yield chunk
        else:
            while chunk := await self._within(self._next()):
                yield chunk

    async def aiter_sse(self) -> AsyncGenerator[SSEEvent, None]:
        """The body decoded as Server-Sent Events; an unterminated last event is kept."""
        # Reads the chunks directly rather than through aiter_bytes: one generator less per read.
        decoder = SSEDecoder()
        feed = decoder.feed
        if self._deadline is None:
            nxt = self._next
            while chunk := await nxt():
                for event in feed(chunk):
                    yield event
        else:
            while chunk := await self._within(self._next()):
                for event in feed(chunk):
                    yield event
        for event in decoder.flush():
            yield event

    async def aclose(self) -> None:
        await self._close()

    def _within(self, aw: Awaitable[_T]) -> Awaitable[_T]:
        deadline = self._deadline
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            # Already late: an already-buffered chunk must not slip past the deadline.
            if asyncio.iscoroutine(aw):
                aw.close()
            raise failures.total_timeout(self._where, self._t)
        return within(aw, deadline, self._where, self._t)
