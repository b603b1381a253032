"""A real local HTTP server (uvicorn on 127.0.0.1, a free port) with a tiny ASGI app."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn

Scope = dict[str, Any]


class TestApp:
    """Routes used by the transport tests; ``disconnects`` records streams the client dropped."""

    __test__ = False  # not a test class, despite the name

    def __init__(self) -> None:
        self.disconnects: dict[str, threading.Event] = {}

    def disconnected(self, tag: str) -> threading.Event:
        return self.disconnects.setdefault(tag, threading.Event())

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        handler = getattr(self, "route_" + scope["path"].strip("/").replace("-", "_"), None)
        if handler is None:
            await respond(send, 404, b'{"error": "no route"}')
            return
        await handler(scope, receive, send, body, query)

    async def route_json(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        await respond(send, 200, json.dumps({"id": "x" * 1000}).encode())

    async def route_echo(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        payload = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body": body.decode(),
            "client_port": scope["client"][1],
        }
        await respond(send, 200, json.dumps(payload).encode(), [(b"x-multi", b"1"), (b"X-Multi", b"2")])

    async def route_status(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        await respond(send, int(q["code"]), b'{"error": {"message": "slow down"}}', [(b"retry-after", b"3")])

    async def route_gzip(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        data = b"data: " + b"z" * 5000 + b"\n\n"
        await respond(send, 200, gzip.compress(data), [(b"content-encoding", b"gzip")], "text/event-stream")

    async def route_slow(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        await asyncio.sleep(float(q["delay"]))
        await respond(send, 200, b"{}")

    async def route_sse(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        n, delay = int(q.get("n", "3")), float(q.get("delay", "0"))
        await start(send, 200, "text/event-stream")
        for i in range(n):
            if delay:
                await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": b'data: {"i": %d}\n\n' % i, "more_body": True})
        tail = b"data: [DONE]" if q.get("unterminated") else b"data: [DONE]\n\n"
        await send({"type": "http.response.body", "body": tail})

    async def route_drip(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        """Streams forever, one event per ``interval``, until the client goes away."""
        interval = float(q.get("interval", "0.05"))
        gone = asyncio.create_task(_wait_disconnect(receive))
        await start(send, 200, "text/event-stream")
        try:
            while not gone.done():
                await send({"type": "http.response.body", "body": b"data: tick\n\n", "more_body": True})
                await asyncio.wait([gone], timeout=interval)
        finally:
            gone.cancel()
        self.disconnected(q.get("tag", "")).set()

    async def route_big(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        """``size`` bytes of a repeating pattern; chunked in 64 KiB writes with ``chunked=1``."""
        size = int(q["size"])
        data = pattern(size)
        if not q.get("chunked"):
            await respond(send, 200, data, content_type="application/octet-stream")
            return
        await start(send, 200, "application/octet-stream")
        for i in range(0, size, 1 << 16):
            await send({"type": "http.response.body", "body": data[i : i + (1 << 16)], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def route_upload(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        digest = {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        await respond(send, 200, json.dumps(digest).encode())

    async def route_split(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        """SSE written in pieces cut mid-field, mid-character and between CR and LF, with pauses."""
        await start(send, 200, "text/event-stream")
        for piece in SPLIT_SSE_PIECES:
            await asyncio.sleep(float(q.get("pause", "0.02")))
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def route_cookie(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        await respond(send, 200, b"{}", [(b"set-cookie", b"session=tenant-a; Path=/")])

    async def route_redirect(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        await respond(send, 307, b"", [(b"location", b"/json")])

    async def route_badgzip(
        self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]
    ) -> None:
        await respond(send, 200, b"this is not gzip at all" * 10, [(b"content-encoding", b"gzip")])

    async def route_cut(self, scope: Scope, receive: Any, send: Any, body: bytes, q: dict[str, str]) -> None:
        """Starts a chunked body, then dies: the server drops the connection mid-stream."""
        await start(send, 200, "text/event-stream")
        await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
        await asyncio.sleep(0.05)
        raise RuntimeError("simulated crash mid-stream")


# One event, "data: {\"text\": \"h\u00e9llo \u2603\"}" with CRLF endings, then a second one,
# cut inside the field name, inside the two- and three-byte UTF-8 characters and between CR and LF.
_SPLIT_SSE = 'data: {"text": "h\u00e9llo \u2603"}\r\n\r\nevent: done\r\ndata: [DONE]\r\n\r\n'.encode()
_CUTS = (3, 18, 24, 29, 31, 36, 45, 60)
SPLIT_SSE_PIECES = [_SPLIT_SSE[a:b] for a, b in zip((0, *_CUTS), (*_CUTS, len(_SPLIT_SSE)), strict=True)]


def pattern(size: int) -> bytes:
    """``size`` bytes whose content depends on the position (a lost or moved chunk shows)."""
    block = bytes(range(251))  # a prime length: chunk boundaries never line up with it
    return (block * (size // len(block) + 1))[:size]


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def start(
    send: Any, status: int, content_type: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def respond(
    send: Any,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    content_type: str = "application/json",
) -> None:
    await start(send, status, content_type, [(b"content-length", str(len(body)).encode()), *(extra or [])])
    await send({"type": "http.response.body", "body": body})


class LocalServer:
    def __init__(self, app: Any, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        self.app = app
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{self.port}"
        self.certfile = ssl_certfile
        config = uvicorn.Config(
            app,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    srv = LocalServer(TestApp())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def base_url(server: LocalServer) -> str:
    """``http://127.0.0.1:<port>`` of the running test server."""
    return server.url


@pytest.fixture
def disconnected(server: LocalServer) -> Callable[[str], threading.Event]:
    """``disconnected(tag)``: set once the server saw the client drop the stream tagged ``tag``."""
    return server.app.disconnected
