"""A small synchronous facade for scripts and notebooks.

It runs an event loop on a private background thread and forwards to the async
``Client``; connections are pooled as usual. Not for use inside a running event loop
(use ``Client`` there).

    with llmrelay.SyncClient() as client:
        print(client.chat("Hello").text)
        for text in client.stream_text("Tell me a story"):
            print(text, end="")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from llmrelay.client import Client
from llmrelay.messages import MessagesLike
from llmrelay.types import ChatRequest, ChatResponse, EmbeddingResponse, StreamEvent, TextDelta

T = TypeVar("T")


class SyncClient:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="llmrelay-sync", daemon=True)
        self._thread.start()
        self._client: Client = self._run(self._make(args, kwargs))
        self._closed = False

    @staticmethod
    async def _make(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Client:
        return Client(*args, **kwargs)  # the transport must be created on the loop's thread

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def chat(self, messages: MessagesLike | ChatRequest, **kwargs: Any) -> ChatResponse:
        return self._run(self._client.chat(messages, **kwargs))

    def embed(self, inputs: str | Sequence[str], **kwargs: Any) -> EmbeddingResponse:
        return self._run(self._client.embed(inputs, **kwargs))

    def stream(self, messages: MessagesLike | ChatRequest, **kwargs: Any) -> Iterator[StreamEvent]:
        """Yield stream events; breaking out of the loop closes the connection."""
        stream = self._client.stream(messages, **kwargs)

        async def step() -> StreamEvent | None:
            try:
                return await stream.__anext__()
            except StopAsyncIteration:
                return None

        try:
            while (ev := self._run(step())) is not None:
                yield ev
        finally:
            self._run(stream.aclose())

    def stream_text(self, messages: MessagesLike | ChatRequest, **kwargs: Any) -> Iterator[str]:
        for ev in self.stream(messages, **kwargs):
            if isinstance(ev, TextDelta):
                yield ev.text

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
