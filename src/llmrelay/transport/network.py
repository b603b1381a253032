"""The network path: one pooled ``aiohttp.ClientSession`` (HTTP parsed in C by llhttp).

Imported by ``Transport`` on its first request to a network origin, so neither
``import llmrelay`` nor ``Client()`` pays for aiohttp (or the CA certificates it loads).
Failures become llmrelay errors in ``network_errors``, raised outside the ``except``
block that caught aiohttp's exception (whose text quotes the whole URL).
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
from collections.abc import Mapping

import aiohttp
import httpx2
import yarl
from aiohttp.abc import AbstractStreamWriter

from llmrelay import errors
from llmrelay.transport import failures
from llmrelay.transport.network_errors import WriteStalled, map_error
from llmrelay.transport.proxies import ProxyRules, proxy_for
from llmrelay.transport.streaming import StreamingResponse
from llmrelay.transport.timeouts import Timeouts
from llmrelay.wire import HttpRequest, HttpResponse

# Bound for the per-instance cache of timeout settings; distinct settings are few in practice.
_CACHE_LIMIT = 256
# A body up to this size goes into the socket's buffers at once, so its write cannot stall;
# a larger one is written under the write timeout (aiohttp has none of its own).
_WRITE_WATCHED = 1 << 16
# Idle keep-alive connections are closed after this long (httpx2's default, and uvicorn's).
_KEEPALIVE_SECONDS = 5.0

# Anything but tab and printable ASCII; then which of the two it was decides the message.
_UNSENDABLE = re.compile(r"[^\t\x20-\x7e]").search
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+").fullmatch


class NetworkTarget:
    """A network URL, parsed once, with the proxy the environment assigns to it.

    Proxy credentials travel in ``Proxy-Authorization``: on the CONNECT request for an
    https URL (``proxy_headers``), on the request itself for an http one (``auth_header``).
    """

    __slots__ = ("auth_header", "origin", "proxy", "proxy_headers", "url")

    def __init__(
        self, url: yarl.URL, origin: str, proxy: yarl.URL | None = None, proxy_auth: str | None = None
    ) -> None:
        self.url = url
        self.origin = origin
        self.proxy = proxy
        tunnel = url.scheme == "https"
        self.proxy_headers = {"Proxy-Authorization": proxy_auth} if proxy_auth and tunnel else None
        self.auth_header = proxy_auth if proxy_auth and not tunnel else None


def parse_target(url: str, proxies: ProxyRules | None) -> NetworkTarget:
    """``url`` checked (http or https, a host), with its proxy under ``proxies``."""
    try:
        parsed = yarl.URL(url)
        host = parsed.host
    except (ValueError, TypeError):
        raise failures.invalid_url("its scheme://host part cannot be parsed") from None
    scheme = parsed.scheme
    if scheme not in ("http", "https") or not host:
        raise failures.bad_scheme(f"{scheme}://{host}" if scheme and host else "<no host>")
    origin = str(parsed.origin())
    if proxies:
        try:
            raw = proxy_for(httpx2.URL(url), proxies)
        except httpx2.InvalidURL as exc:
            raise failures.invalid_url(str(exc)) from None
        if raw is not None:
            return NetworkTarget(parsed, origin, *_proxy(raw, origin))
    return NetworkTarget(parsed, origin)


def _proxy(raw: str, origin: str) -> tuple[yarl.URL, str | None]:
    """The proxy's URL without credentials, and its ``Proxy-Authorization`` value if it had some."""
    try:
        url = yarl.URL(raw)
    except (ValueError, TypeError):
        raise errors.ConfigError(
            f"The proxy for {origin} set in the environment (HTTP(S)_PROXY / ALL_PROXY) cannot be parsed"
        ) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise errors.ConfigError(
            f"The proxy for {origin} set in the environment uses {url.scheme or 'no'} scheme; llmrelay "
            "supports http:// and https:// proxies (set NO_PROXY to bypass it for this host)"
        )
    if url.user is None:
        return url, None
    credentials = f"{url.user}:{url.password or ''}".encode()
    return url.with_user(None), "Basic " + base64.b64encode(credentials).decode("ascii")


def check_headers(headers: Mapping[str, str], where: str) -> None:
    """Refuse what aiohttp would send as is: non-ASCII text, control characters, bad names.

    The message never quotes the header: its value is usually the key.
    """
    for name, value in headers.items():
        if _UNSENDABLE(value) is not None or _TOKEN(name) is None:
            if not (name.isascii() and value.isascii()):
                raise failures.non_ascii_header(where)
            raise failures.invalid_header(where)


class _WatchedBody(aiohttp.payload.Payload):
    """A large request body, written under the write timeout."""

    _autoclose = True

    def __init__(self, value: bytes, seconds: float | None) -> None:
        super().__init__(value)
        self._size = len(value)
        self._seconds = seconds

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._value).decode(encoding, errors)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return bytes(self._value)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        value = self._value if content_length is None else self._value[:content_length]
        try:
            async with asyncio.timeout(self._seconds):
                await writer.write(value)
        except TimeoutError:
            # aiohttp hands an errno-less TimeoutError to the reader as is: it surfaces there.
            raise WriteStalled from None


class Network:
    """The aiohttp session and the connection slots (``max_connections``) it runs under.

    aiohttp's own pool limit is off: its connect timeout would then include the wait for
    a free connection. A semaphore holds the slots instead, so that wait is
    ``Timeouts.pool`` and the connect timeout covers only DNS, TCP and TLS, as with httpx2.
    """

    __slots__ = (
        "_client_timeouts",
        "_default_ct",
        "_default_t",
        "_max_connections",
        "_proxies",
        "_session",
        "_slots",
    )

    def __init__(
        self, timeouts: Timeouts, max_connections: int, user_agent: str, proxies: ProxyRules | None
    ) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,
            keepalive_timeout=_KEEPALIVE_SECONDS,
            # httpx2's context: the OS trust store (truststore on macOS and Windows) and
            # SSL_CERT_FILE / SSL_CERT_DIR, as the SDKs and the httpx2 transport trusted.
            ssl=httpx2.create_ssl_context(),
        )
        self._client_timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        # The Transport's own Timeouts, recognised by identity: no hashing on the common path.
        self._default_t = timeouts
        self._default_ct = self._client_timeout(timeouts)
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Provider cookies must not travel between calls made for different keys or tenants.
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": user_agent},
            # No "application/octet-stream" for a body sent without a Content-Type (httpx2 adds none).
            skip_auto_headers=("Content-Type",),
            timeout=self._default_ct,
            # Proxies are resolved once per URL here: aiohttp's trust_env would look them up
            # in a thread on every request, and read ~/.netrc credentials into requests.
            trust_env=False,
        )
        self._slots = asyncio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._proxies = proxies

    @property
    def is_closed(self) -> bool:
        return self._session.closed

    async def aclose(self) -> None:
        await self._session.close()

    async def send(self, target: NetworkTarget, req: HttpRequest, t: Timeouts) -> HttpResponse:
        check_headers(req.headers, target.origin)
        await self._acquire(target, t)
        try:
            resp = await self._request(target, req, t)
            try:
                body = await resp.read()
            finally:
                resp.release()
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = map_error(exc, target.origin, t)
        else:
            return HttpResponse(status=resp.status, headers=header_dict(resp), body=body)
        finally:
            self._slots.release()
        raise failure

    async def open(
        self, target: NetworkTarget, req: HttpRequest, t: Timeouts, deadline: float | None
    ) -> StreamingResponse:
        check_headers(req.headers, target.origin)
        await self._acquire(target, t)
        try:
            resp = await self._request(target, req, t)
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = map_error(exc, target.origin, t)
        except BaseException:
            self._slots.release()
            raise
        else:
            return _NetworkStream(resp, t, deadline, target.origin, self._slots)
        self._slots.release()
        raise failure

    def _request(
        self, target: NetworkTarget, req: HttpRequest, t: Timeouts
    ) -> aiohttp.client._RequestContextManager:
        body: bytes | _WatchedBody | None = req.body
        if req.body is not None and len(req.body) > _WRITE_WATCHED:
            body = _WatchedBody(req.body, t.write)
        ct = self._default_ct if t is self._default_t else self._client_timeout(t)
        if target.proxy is None:
            return self._session.request(
                req.method,
                target.url,
                headers=req.headers,
                data=body,
                allow_redirects=False,  # an API that redirects is misconfigured; following re-sends the key
                timeout=ct,
            )
        headers = req.headers
        if target.auth_header is not None:
            headers = {**headers, "Proxy-Authorization": target.auth_header}
        return self._session.request(
            req.method,
            target.url,
            headers=headers,
            data=body,
            allow_redirects=False,
            timeout=ct,
            proxy=target.proxy,
            proxy_headers=target.proxy_headers,
        )

    async def _acquire(self, target: NetworkTarget, t: Timeouts) -> None:
        slots = self._slots
        if t.pool is None or not slots.locked():
            await slots.acquire()
            return
        cm = asyncio.timeout(t.pool)
        try:
            async with cm:
                await slots.acquire()
        except TimeoutError:
            if cm.expired():
                raise failures.pool_timeout(target.origin, t, self._max_connections) from None
            raise

    def _client_timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        ct = self._client_timeouts.get(t)
        if ct is None:
            if len(self._client_timeouts) >= _CACHE_LIMIT:
                self._client_timeouts.clear()
            # connect: DNS, TCP and TLS (the pool wait is the semaphore's). sock_read: the
            # longest silence, first byte included. total: enforced by Transport, streaming
            # included. No ceil: aiohttp would round timeouts over 5 s up to whole seconds.
            ct = self._client_timeouts[t] = aiohttp.ClientTimeout(
                total=None, connect=t.connect, sock_read=t.read, ceil_threshold=math.inf
            )
        return ct


class _NetworkStream(StreamingResponse):
    __slots__ = ("_closed", "_content", "_resp", "_slots")

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        t: Timeouts,
        deadline: float | None,
        where: str,
        slots: asyncio.Semaphore,
    ) -> None:
        super().__init__(resp.status, header_dict(resp), t, deadline, where)
        self._resp = resp
        self._content = resp.content
        self._slots = slots
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def _next(self) -> bytes:
        try:
            return await self._content.readany()  # b"" only at the end of the body
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = map_error(exc, self._where, self._t)
        raise failure

    async def _rest(self) -> bytes:
        try:
            return await self._resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = map_error(exc, self._where, self._t)
        raise failure

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._content.is_eof():
            self._resp.release()  # the whole body arrived: the connection goes back to the pool
        else:
            self._resp.close()  # mid-body: drop it, so the server sees the disconnect and stops
        self._slots.release()


def header_dict(resp: aiohttp.ClientResponse) -> dict[str, str]:
    """Names lower-cased, repeated headers joined with ", " (as httpx2 does)."""
    items = resp.headers.items()
    out = {name.lower(): value for name, value in items}
    if len(out) == len(items):
        return out
    out.clear()  # some name is repeated: join its values in order
    for name, value in items:
        key = name.lower()
        prev = out.get(key)
        out[key] = value if prev is None else f"{prev}, {value}"
    return out
