"""Pooled async HTTP: sends ``HttpRequest``s, returns ``HttpResponse``s or streams.

One ``Transport`` owns, for its whole life, one pooled aiohttp session for network
origins (created on the first network request) and, when ``mounts`` are given, one
httpx2 client for the URL prefixes they serve (the in-process simulator). Nothing is
created per call. Every failure to get an answer leaves as an
``llmrelay.errors.TimeoutError`` or ``ConnectionError`` naming the origin
(``scheme://host[:port]``, never the path or query: Gemini puts the key in the query)
and the timeout that elapsed. Headers never appear in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self

import httpx2

from llmrelay import errors
from llmrelay.transport.mounted import LazyTransport, Mounted, MountedTarget, parse_url
from llmrelay.transport.proxies import environment_proxy_rules
from llmrelay.transport.streaming import StreamingResponse, within
from llmrelay.transport.timeouts import Timeouts
from llmrelay.wire import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from llmrelay.transport.network import Network, NetworkTarget

__all__ = ["LazyTransport", "StreamingResponse", "Timeouts", "Transport"]

# Bound for the per-instance cache of parsed URLs; distinct URLs are few in practice.
_CACHE_LIMIT = 256


def _user_agent() -> str:
    try:
        return f"llmrelay/{importlib.metadata.version('llmrelay')}"
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "llmrelay"


class Transport:
    """Sends ``HttpRequest``s: network origins through one pooled aiohttp session.

    ``mounts`` routes URL prefixes to httpx2 transports instead, e.g.
    ``{"http://simulator.local": StreamingASGITransport(app)}`` (httpx2's patterns).
    Proxies from the environment (``HTTP(S)_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) are
    read when it is built. Use it as an async context manager, or call ``aclose()``.
    """

    __slots__ = (
        "_closed",
        "_max_connections",
        "_mounted",
        "_network",
        "_proxies",
        "_targets",
        "_timeouts",
        "_user_agent",
    )

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
        self._user_agent = _user_agent()
        self._mounted = Mounted(mounts, self._timeouts, max_connections, self._user_agent) if mounts else None
        # Built on the first network request: importing aiohttp and loading the system's CA
        # certificates take a few hundred ms that a client of the simulator never pays.
        self._network: Network | None = None
        self._proxies = environment_proxy_rules()
        self._targets: dict[str, MountedTarget | NetworkTarget] = {}
        self._closed = False

    @property
    def timeouts(self) -> Timeouts:
        return self._timeouts

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def send(self, req: HttpRequest, *, timeout: Timeouts | None = None) -> HttpResponse:
        """Send ``req`` and read the whole answer, whatever its status."""
        t = self._timeouts if timeout is None else timeout
        target = self._target(req.url)
        if isinstance(target, MountedTarget):
            deadline = None if t.total is None else asyncio.get_running_loop().time() + t.total
            return await target.backend.send(target, req, t, deadline)
        network = self._network or self._start_network()
        if t.total is None:
            return await network.send(target, req, t)
        deadline = asyncio.get_running_loop().time() + t.total
        return await within(network.send(target, req, t), deadline, target.origin, t)

    def stream(
        self, req: HttpRequest, *, timeout: Timeouts | None = None
    ) -> contextlib.AbstractAsyncContextManager[StreamingResponse]:
        """``async with transport.stream(req) as resp:`` gives a ``StreamingResponse``
        once the status and headers have arrived; leaving the block closes it."""
        return _StreamContext(self, req, self._timeouts if timeout is None else timeout)

    async def aclose(self) -> None:
        self._closed = True
        if self._network is not None:
            await self._network.aclose()
        if self._mounted is not None:
            await self._mounted.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _open(self, req: HttpRequest, t: Timeouts) -> StreamingResponse:
        target = self._target(req.url)
        deadline = None if t.total is None else asyncio.get_running_loop().time() + t.total
        if isinstance(target, MountedTarget):
            return await target.backend.open(target, req, t, deadline)
        network = self._network or self._start_network()
        opening = network.open(target, req, t, deadline)
        return await (opening if deadline is None else within(opening, deadline, target.origin, t))

    def _target(self, url: str) -> MountedTarget | NetworkTarget:
        target = self._targets.get(url)
        if target is None:
            if self._closed:
                raise RuntimeError("Cannot send a request: the Transport has been closed")
            target = self._resolve(url)
            if len(self._targets) >= _CACHE_LIMIT:
                self._targets.clear()
            self._targets[url] = target
        elif self._closed:
            raise RuntimeError("Cannot send a request: the Transport has been closed")
        return target

    def _resolve(self, url: str) -> MountedTarget | NetworkTarget:
        if self._mounted is not None:
            parsed = parse_url(url)
            if self._mounted.serves(parsed):
                return MountedTarget(parsed, self._mounted)
        from llmrelay.transport.network import parse_target

        return parse_target(url, self._proxies)

    def _start_network(self) -> Network:
        from llmrelay.transport.network import Network

        self._network = Network(self._timeouts, self._max_connections, self._user_agent, self._proxies)
        return self._network


class _StreamContext:
    __slots__ = ("_req", "_response", "_t", "_transport")

    def __init__(self, transport: Transport, req: HttpRequest, t: Timeouts) -> None:
        self._transport = transport
        self._req = req
        self._t = t
        self._response: StreamingResponse | None = None

    async def __aenter__(self) -> StreamingResponse:
        self._response = await self._transport._open(self._req, self._t)
        return self._response

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.aclose()
