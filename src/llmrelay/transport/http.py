"""Pooled async HTTP: sends ``HttpRequest``s, returns ``HttpResponse``s or streams.

One ``Transport`` owns one ``httpx2.AsyncClient`` (one connection pool) for its whole
life; nothing is created per call. Every network failure leaves as an
``llmrelay.errors.TimeoutError`` or ``ConnectionError`` naming the origin
(``scheme://host[:port]``, never the path or query: Gemini puts the key in the query)
and the timeout that elapsed. Headers never appear in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import importlib.metadata
import os
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

from llmrelay import errors
from llmrelay.transport.sse import SSEDecoder
from llmrelay.wire import HttpRequest, HttpResponse, SSEEvent

_T = TypeVar("_T")

# Bounds for the per-instance caches; distinct URLs and timeout settings are few in practice.
_CACHE_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds, or ``None`` for no limit.

    ``connect``: establishing the TCP/TLS connection. ``read``: the longest silence
    between two reads (the wait for the first byte included). ``total``: a deadline for
    the whole exchange, streaming included. ``write`` and ``pool`` (waiting for a free
    pooled connection) default to the same 600 s as the official SDKs.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    total: float | None = None
    write: float | None = 600.0
    pool: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total", "write", "pool"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise errors.ConfigError(
                    f"Timeouts.{name} must be a positive number of seconds or None (no limit), got {value!r}"
                )

    def as_httpx(self) -> httpx2.Timeout:
        return httpx2.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """Provider cookies must not travel between calls made for different keys or tenants."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def _user_agent() -> str:
    try:
        return f"llmrelay/{importlib.metadata.version('llmrelay')}"
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "llmrelay"


_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy")


def _proxies_in_environment() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARS)


class LazyTransport(httpx2.AsyncBaseTransport):
    """A transport built by ``factory`` on its first request.

    The network transport loads the system's CA certificates into an SSL context
    (~70 ms) and the simulator's imports its app: a client that never sends there never
    pays for either.
    """

    def __init__(self, factory: Callable[[], httpx2.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._inner: httpx2.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._inner is None:
            self._inner = self._factory()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


class Transport:
    """Sends ``HttpRequest``s through one pooled ``httpx2.AsyncClient``.

    ``mounts`` routes URL prefixes to other transports, e.g.
    ``{"http://simulator.local": StreamingASGITransport(app)}`` (same patterns as
    httpx2). Use it as an async context manager, or call ``aclose()``.
    """

    __slots__ = ("_client", "_exts", "_max_connections", "_timeouts", "_urls", "_user_agent")

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        max_connections: int = 100,
        mounts: Mapping[str, httpx2.AsyncBaseTransport] | None = None,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise errors.ConfigError(f"max_connections must be a positive integer, got {max_connections!r}")
        self._timeouts = timeouts if timeouts is not None else Timeouts()
        self._max_connections = max_connections
        # Keep every connection the pool may open: LLM traffic is bursty and a TLS
        # handshake costs more than the idle socket.
        limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx2.AsyncClient(
            timeout=self._timeouts.as_httpx(),
            limits=limits,
            # httpx2 honours HTTP(S)_PROXY only for the transport it builds itself
            transport=None
            if _proxies_in_environment()
            else LazyTransport(lambda: httpx2.AsyncHTTPTransport(limits=limits)),
            mounts=dict(mounts) if mounts else None,
            follow_redirects=False,
            cookies=http.cookiejar.CookieJar(policy=_RefuseAllCookies()),
        )
        self._urls: dict[str, httpx2.URL] = {}
        self._exts: dict[Timeouts, dict[str, float | None]] = {}
        self._user_agent = _user_agent()

    @property
    def timeouts(self) -> Timeouts:
        return self._timeouts

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed

    async def send(self, req: HttpRequest, *, timeout: Timeouts | None = None) -> HttpResponse:
        """Send ``req`` and read the whole answer, whatever its status."""
        t = self._timeouts if timeout is None else timeout
        request = self._build(req, t)
        deadline = None if t.total is None else asyncio.get_running_loop().time() + t.total
        resp = await _guard(self._client.send(request), request.url, t, deadline, self._max_connections)
        return HttpResponse(status=resp.status_code, headers=dict(resp.headers.items()), body=resp.content)

    def stream(
        self, req: HttpRequest, *, timeout: Timeouts | None = None
    ) -> contextlib.AbstractAsyncContextManager[StreamingResponse]:
        """``async with transport.stream(req) as resp:`` gives a ``StreamingResponse``
        once the status and headers have arrived; leaving the block closes it."""
        return _StreamContext(self, req, self._timeouts if timeout is None else timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _build(self, req: HttpRequest, t: Timeouts) -> httpx2.Request:
        url = self._urls.get(req.url)
        if url is None:
            url = _parse_url(req.url)
            if len(self._urls) >= _CACHE_LIMIT:
                self._urls.clear()
            self._urls[req.url] = url
        ext = self._exts.get(t)
        if ext is None:
            if len(self._exts) >= _CACHE_LIMIT:
                self._exts.clear()
            ext = self._exts[t] = t.as_httpx().as_dict()
        headers = req.headers
        if "user-agent" not in headers and "User-Agent" not in headers:
            headers = {**headers, "user-agent": self._user_agent}
        try:
            return httpx2.Request(
                req.method, url, headers=headers, content=req.body, extensions={"timeout": ext}
            )
        except UnicodeEncodeError:
            # The codec's message quotes part of the value, which may be a key.
            raise errors.ConfigError(
                f"A header for {_origin(url)} is not ASCII; check the API key and any extra headers"
            ) from None


class _StreamContext:
    __slots__ = ("_req", "_response", "_t", "_transport")

    def __init__(self, transport: Transport, req: HttpRequest, t: Timeouts) -> None:
        self._transport = transport
        self._req = req
        self._t = t
        self._response: StreamingResponse | None = None

    async def __aenter__(self) -> StreamingResponse:
        tr, t = self._transport, self._t
        request = tr._build(self._req, t)
        deadline = None if t.total is None else asyncio.get_running_loop().time() + t.total
        resp = await _guard(
            tr._client.send(request, stream=True), request.url, t, deadline, tr._max_connections
        )
        self._response = StreamingResponse(resp, t, deadline, tr._max_connections)
        return self._response

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.aclose()


class StreamingResponse:
    """An answer whose body is still arriving.

    ``aclose()`` drops the connection (it is not returned to the pool), which is how a
    caller cancels a generation the server is still producing.
    """

    __slots__ = ("_deadline", "_max_connections", "_resp", "_t", "headers", "status")

    def __init__(
        self, resp: httpx2.Response, t: Timeouts, deadline: float | None, max_connections: int
    ) -> None:
        self.status: int = resp.status_code
        self.headers: dict[str, str] = dict(resp.headers.items())
        self._resp = resp
        self._t = t
        self._deadline = deadline
        self._max_connections = max_connections

    @property
    def is_closed(self) -> bool:
        return self._resp.is_closed

    async def read(self) -> bytes:
        """The rest of the body, e.g. an error document."""
        return await self._within(self._resp.aread())

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Body chunks as they arrive, content-encoding already undone."""
        chunks = self._resp.aiter_bytes()
        try:
            if self._deadline is None:
                try:
                    async for chunk in chunks:
                        yield chunk
                except httpx2.HTTPError as exc:
                    raise _map_error(exc, self._resp.request.url, self._t, self._max_connections) from exc
            else:
                while True:
                    try:
                        chunk = await self._within(anext(chunks))
                    except StopAsyncIteration:
                        return
                    yield chunk
        finally:
            await chunks.aclose()

    async def aiter_sse(self) -> AsyncGenerator[SSEEvent, None]:
        """The body decoded as Server-Sent Events; an unterminated last event is kept."""
        decoder = SSEDecoder()
        async with contextlib.aclosing(self.aiter_bytes()) as chunks:
            async for chunk in chunks:
                for event in decoder.feed(chunk):
                    yield event
        for event in decoder.flush():
            yield event

    async def aclose(self) -> None:
        # The connection is being thrown away; a failure to close it tells the caller nothing.
        with contextlib.suppress(httpx2.HTTPError):
            await self._resp.aclose()

    def _within(self, aw: Awaitable[_T]) -> Awaitable[_T]:
        deadline = self._deadline
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            # Already late: an already-buffered chunk must not slip past the deadline.
            if asyncio.iscoroutine(aw):
                aw.close()
            raise _total_timeout(self._resp.request.url, self._t)
        return _guard(aw, self._resp.request.url, self._t, deadline, self._max_connections)


async def _guard(
    aw: Awaitable[_T], url: httpx2.URL, t: Timeouts, deadline: float | None, max_connections: int
) -> _T:
    """Await ``aw`` within ``deadline``, turning httpx2's failures into llmrelay's."""
    try:
        if deadline is None:
            return await aw
        cm = asyncio.timeout_at(deadline)
        try:
            async with cm:
                return await aw
        except TimeoutError:
            if cm.expired():
                raise _total_timeout(url, t) from None
            raise
    except httpx2.HTTPError as exc:
        raise _map_error(exc, url, t, max_connections) from exc


def _parse_url(url: str) -> httpx2.URL:
    try:
        return httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise errors.ConfigError(f"Invalid URL: {exc}; check the deployment's base URL") from None


def _origin(url: httpx2.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}" if url.host else "<no host>"


def _root_os_error(exc: BaseException) -> str | None:
    """The socket error under httpx2's wrappers ("All connection attempts failed" hides it)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and (cur.errno or cur.strerror):
            # asyncio words ECONNREFUSED as "Connect call failed (...)": prefer the errno's own text.
            code = cur.errno
            plain = isinstance(cur, socket.gaierror) or code is None or code <= 0
            text = str(cur.strerror) if plain or code is None else os.strerror(code)
            return text[:1].lower() + text[1:]
        cur = cur.__cause__ or cur.__context__
    return None


def _total_timeout(url: httpx2.URL, t: Timeouts) -> errors.TimeoutError:
    return errors.TimeoutError(
        f"Total timeout: the exchange with {_origin(url)} did not finish within {t.total}s (Timeouts.total)"
    )


def _map_error(exc: Exception, url: httpx2.URL, t: Timeouts, max_connections: int) -> errors.LLMRelayError:
    where = _origin(url)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        if isinstance(exc, httpx2.ConnectTimeout):
            return errors.TimeoutError(
                f"Connect timeout: no connection to {where} within {t.connect}s (Timeouts.connect)"
            )
        if isinstance(exc, httpx2.ReadTimeout):
            return errors.TimeoutError(f"Read timeout: {where} sent nothing for {t.read}s (Timeouts.read)")
        if isinstance(exc, httpx2.WriteTimeout):
            return errors.TimeoutError(
                f"Write timeout: could not send the request to {where} within {t.write}s (Timeouts.write)"
            )
        if isinstance(exc, httpx2.PoolTimeout):
            return errors.TimeoutError(
                f"Pool timeout: no free connection for {where} within {t.pool}s; all {max_connections} "
                "pooled connections are busy (raise max_connections or Timeouts.pool)"
            )
        return errors.TimeoutError(f"Timeout talking to {where}: {detail}")
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return errors.ConfigError(f"Cannot send to {where}: the URL must start with http:// or https://")
    if isinstance(exc, httpx2.LocalProtocolError):
        # h11 quotes the offending header value, which may be a key: keep its text out.
        return errors.ConfigError(
            f"The request to {where} could not be sent: a header name or value is invalid "
            "(a newline or control character?); check the API key and any extra headers"
        )
    if isinstance(exc, httpx2.ConnectError):
        return errors.ConnectionError(f"Cannot connect to {where}: {_root_os_error(exc) or detail}")
    if isinstance(exc, httpx2.RemoteProtocolError):
        return errors.ConnectionError(f"Connection to {where} broke off: {detail}")
    if isinstance(exc, httpx2.DecodingError):
        return errors.MalformedResponseError(f"The body from {where} could not be decoded: {detail}")
    return errors.ConnectionError(f"Connection to {where} failed ({type(exc).__name__}): {detail}")
