"""The mounted path: URL prefixes served by httpx2 transports, e.g. the in-process simulator.

``Transport`` sends here only URLs that match one of its ``mounts`` (httpx2's own
pattern rules decide); everything else takes the network path.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from httpx2._utils import URLPattern  # httpx2's own mount matching, so routing agrees with it

from llmrelay import errors
from llmrelay.transport import failures
from llmrelay.transport.streaming import StreamingResponse, within
from llmrelay.transport.timeouts import Timeouts
from llmrelay.wire import HttpRequest, HttpResponse

# Bound for the per-instance cache of timeout settings; distinct settings are few in practice.
_CACHE_LIMIT = 256


class LazyTransport(httpx2.AsyncBaseTransport):
    """A transport built by ``factory`` on its first request.

    The simulator's transport imports its app: a client that never sends there never
    pays for it.
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


class _Unrouted(httpx2.AsyncBaseTransport):
    """The mounted client's default: only URLs matching a mount are ever sent to it."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("llmrelay: an unmounted URL reached the mounted client")


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """Cookies must not travel between calls made for different keys or tenants."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class MountedTarget:
    """A URL that one of the mounts serves, parsed once, and the client holding the mounts."""

    __slots__ = ("backend", "origin", "url")

    def __init__(self, url: httpx2.URL, backend: Mounted) -> None:
        self.url = url
        self.origin = origin_of(url)
        self.backend = backend


def origin_of(url: httpx2.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}" if url.host else "<no host>"


def parse_url(url: str) -> httpx2.URL:
    try:
        return httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise failures.invalid_url(str(exc)) from None


class Mounted:
    """One ``httpx2.AsyncClient`` holding the mounts."""

    __slots__ = ("_client", "_exts", "_max_connections", "_patterns", "_user_agent")

    def __init__(
        self,
        mounts: Mapping[str, httpx2.AsyncBaseTransport],
        timeouts: Timeouts,
        max_connections: int,
        user_agent: str,
    ) -> None:
        self._patterns = [URLPattern(key) for key in mounts]
        limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx2.AsyncClient(
            timeout=timeouts.as_httpx(),
            limits=limits,
            transport=_Unrouted(),
            mounts=dict(mounts),
            follow_redirects=False,
            cookies=http.cookiejar.CookieJar(policy=_RefuseAllCookies()),
            trust_env=False,  # in-process transports: no proxy applies
        )
        self._max_connections = max_connections
        self._user_agent = user_agent
        self._exts: dict[Timeouts, dict[str, float | None]] = {}

    def serves(self, url: httpx2.URL) -> bool:
        return any(p.matches(url) for p in self._patterns)

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self, target: MountedTarget, req: HttpRequest, t: Timeouts, deadline: float | None
    ) -> HttpResponse:
        request = self._build(target, req, t)
        try:
            resp = await within(self._client.send(request), deadline, target.origin, t)
        except httpx2.HTTPError as exc:
            raise map_error(exc, target.origin, t, self._max_connections) from exc
        return HttpResponse(status=resp.status_code, headers=dict(resp.headers.items()), body=resp.content)

    async def open(
        self, target: MountedTarget, req: HttpRequest, t: Timeouts, deadline: float | None
    ) -> StreamingResponse:
        request = self._build(target, req, t)
        try:
            resp = await within(self._client.send(request, stream=True), deadline, target.origin, t)
        except httpx2.HTTPError as exc:
            raise map_error(exc, target.origin, t, self._max_connections) from exc
        return _MountedStream(resp, t, deadline, target.origin, self._max_connections)

    def _build(self, target: MountedTarget, req: HttpRequest, t: Timeouts) -> httpx2.Request:
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
                req.method, target.url, headers=headers, content=req.body, extensions={"timeout": ext}
            )
        except UnicodeEncodeError:
            # The codec's message quotes part of the value, which may be a key.
            raise failures.non_ascii_header(target.origin) from None


class _MountedStream(StreamingResponse):
    __slots__ = ("_chunks", "_max_connections", "_resp")

    def __init__(
        self, resp: httpx2.Response, t: Timeouts, deadline: float | None, where: str, max_connections: int
    ) -> None:
        super().__init__(resp.status_code, dict(resp.headers.items()), t, deadline, where)
        self._resp = resp
        self._chunks = resp.aiter_bytes()
        self._max_connections = max_connections

    @property
    def is_closed(self) -> bool:
        return self._resp.is_closed

    async def _next(self) -> bytes:
        try:
            async for chunk in self._chunks:
                if chunk:
                    return chunk
        except httpx2.HTTPError as exc:
            raise map_error(exc, self._where, self._t, self._max_connections) from exc
        return b""

    async def _rest(self) -> bytes:
        try:
            return await self._resp.aread()
        except httpx2.HTTPError as exc:
            raise map_error(exc, self._where, self._t, self._max_connections) from exc

    async def _close(self) -> None:
        await self._chunks.aclose()
        # The connection is being thrown away; a failure to close it tells the caller nothing.
        with contextlib.suppress(httpx2.HTTPError):
            await self._resp.aclose()


def map_error(exc: Exception, where: str, t: Timeouts, max_connections: int) -> errors.LLMRelayError:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        if isinstance(exc, httpx2.ConnectTimeout):
            return failures.connect_timeout(where, t)
        if isinstance(exc, httpx2.ReadTimeout):
            return failures.read_timeout(where, t)
        if isinstance(exc, httpx2.WriteTimeout):
            return failures.write_timeout(where, t)
        if isinstance(exc, httpx2.PoolTimeout):
            return failures.pool_timeout(where, t, max_connections)
        return errors.TimeoutError(f"Timeout talking to {where}: {detail}")
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return failures.bad_scheme(where)
    if isinstance(exc, httpx2.LocalProtocolError):
        # h11 quotes the offending header value, which may be a key: keep its text out.
        return failures.invalid_header(where)
    if isinstance(exc, httpx2.ConnectError):
        return failures.cannot_connect(where, failures.root_os_error(exc) or detail)
    if isinstance(exc, httpx2.RemoteProtocolError):
        return failures.broke_off(where, detail)
    if isinstance(exc, httpx2.DecodingError):
        return failures.undecodable(where, detail)
    return errors.ConnectionError(f"Connection to {where} failed ({type(exc).__name__}): {detail}")
