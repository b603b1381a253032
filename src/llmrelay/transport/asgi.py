"""Run an ASGI app in-process and stream its answer, as a socket would.

``httpx2.ASGITransport`` waits for the app to finish and hands over the whole body at
once, which hides time-to-first-token and makes a cancelled stream meaningless. Here
the app runs in its own task and each ``http.response.body`` message reaches the
reader as soon as it is sent.

What a real connection would show, this shows too:

* the app raises before ``http.response.start``: ``httpx2.RemoteProtocolError``
  ("server disconnected without sending a response");
* the app raises, or returns, mid-body: the body iterator raises ``httpx2.ReadError``
  (a connection reset);
* the reader closes the response early: the app's ``receive()`` returns
  ``http.disconnect``, it gets one turn of the loop to notice, then its task is cancelled;
* the request's ``read`` timeout applies to the wait for the start and for each chunk,
  so an app that stalls produces ``httpx2.ReadTimeout`` as a silent server would.

Response bodies are not back-pressured (the queue is unbounded); request bodies are
read whole before the app starts. Lifespan events are not sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Final

import httpx2

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class _End:
    """Marks the end of a complete body in the chunk queue."""


_END: Final = _End()
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class StreamingASGITransport(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport that streams an in-process ASGI app's responses."""

    def __init__(
        self, app: ASGIApp, *, root_path: str = "", client: tuple[str, int] = ("127.0.0.1", 123)
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        # Apps still running after their response completed; held so they are not
        # garbage-collected mid-flight and can be cancelled by ``aclose``.
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": self.root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80)),
            "client": self.client,
        }
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        exchange = _Exchange(self.app, scope, body, request, timeouts.get("read"))
        self._tasks.add(exchange.task)
        exchange.task.add_done_callback(self._tasks.discard)
        status, headers = await exchange.started()
        return httpx2.Response(status, headers=headers, stream=_BodyStream(exchange), request=request)

    async def aclose(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


class _Exchange:
    """One request/response between the reader and the app's task."""

    def __init__(
        self,
        app: ASGIApp,
        scope: dict[str, Any],
        body: bytes,
        request: httpx2.Request,
        read_timeout: float | None,
    ) -> None:
        self.request = request
        self._body: bytes | None = body
        self._head = request.method == "HEAD"
        self.read_timeout = read_timeout
        loop = asyncio.get_running_loop()
        self._start: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
        self.queue: asyncio.Queue[bytes | _End | httpx2.HTTPError] = asyncio.Queue()
        self._complete = False
        self._gone = asyncio.Event()  # response complete or reader gone: receive() says disconnect
        self._closed = False
        self.task: asyncio.Task[None] = loop.create_task(self._run(app, scope))

    async def started(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        try:
            if self.read_timeout is None:
                return await asyncio.shield(self._start)
            try:
                async with asyncio.timeout(self.read_timeout):
                    return await asyncio.shield(self._start)
            except TimeoutError:
                raise httpx2.ReadTimeout(
                    f"The ASGI app did not start a response within {self.read_timeout}s", request=self.request
                ) from None
        except BaseException:
            await self.close()
            raise

    async def _run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._receive, self._send)
        except Exception as exc:
            self._fail(exc)
        else:
            if not self._start.done():
                self._start.set_exception(
                    httpx2.RemoteProtocolError(
                        "Server disconnected without sending a response (the ASGI app returned without "
                        "http.response.start)",
                        request=self.request,
                    )
                )
            elif not self._complete:
                self._complete = True
                self.queue.put_nowait(
                    httpx2.ReadError(
                        "Connection reset: the ASGI app returned before completing the response body",
                        request=self.request,
                    )
                )

    def _fail(self, exc: Exception) -> None:
        if not self._start.done():
            error: httpx2.HTTPError = httpx2.RemoteProtocolError(
                f"Server disconnected without sending a response (the ASGI app raised "
                f"{type(exc).__name__}: {exc})",
                request=self.request,
            )
            error.__cause__ = exc
            self._start.set_exception(error)
        elif not self._complete:
            self._complete = True
            error = httpx2.ReadError(
                f"Connection reset mid-response (the ASGI app raised {type(exc).__name__}: {exc})",
                request=self.request,
            )
            error.__cause__ = exc
            self.queue.put_nowait(error)
        # Raised after a complete response: the reader has all it asked for; nothing to report.

    async def _receive(self) -> Message:
        body, self._body = self._body, None
        if body is not None:
            return {"type": "http.request", "body": body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if not self._start.done():
                raise RuntimeError("ASGI app sent http.response.body before http.response.start")
            if self._complete:
                if self._closed:
                    raise OSError("The client disconnected")
                raise RuntimeError("ASGI app sent http.response.body after the response was complete")
            chunk = message.get("body", b"")
            if chunk and not self._head:
                self.queue.put_nowait(bytes(chunk))
            if not message.get("more_body", False):
                self._complete = True
                self.queue.put_nowait(_END)
                self._gone.set()
        elif kind == "http.response.start":
            if self._start.done():
                raise RuntimeError("ASGI app sent http.response.start twice")
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
            self._start.set_result((int(message["status"]), headers))
        # Other messages (trailers, push, zero-copy) have no meaning here.

    async def close(self) -> None:
        """The reader is done: tell the app, give it a turn, then cancel it if it is still running."""
        if self._closed:
            return
        self._closed = True
        task = self.task
        if task.done():
            self._consume_start()
            return
        if not self._complete:
            self._complete = True  # later sends from the app fail like writes to a closed socket
            self._gone.set()
            await asyncio.sleep(0)
            if not task.done():
                task.cancel()
            await asyncio.wait([task])
        self._consume_start()

    def _consume_start(self) -> None:
        # A start failure nobody awaited would be logged as "exception never retrieved".
        if self._start.done() and not self._start.cancelled():
            self._start.exception()


class _BodyStream(httpx2.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        queue = self._exchange.queue
        timeout = self._exchange.read_timeout
        while True:
            if timeout is None or not queue.empty():
                item = await queue.get()
            else:
                try:
                    async with asyncio.timeout(timeout):
                        item = await queue.get()
                except TimeoutError:
                    raise httpx2.ReadTimeout(
                        f"The ASGI app sent nothing for {timeout}s", request=self._exchange.request
                    ) from None
            if isinstance(item, bytes):
                yield item
            elif isinstance(item, _End):
                return
            else:
                raise item

    async def aclose(self) -> None:
        await self._exchange.close()
