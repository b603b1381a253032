from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from llmrelay import errors
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Timeouts, Transport
from llmrelay.wire import HttpRequest

BASE = "http://simulator.local"


def mounted(app: Any, timeouts: Timeouts | None = None) -> Transport:
    return Transport(timeouts=timeouts, mounts={BASE: StreamingASGITransport(app)})


def get(path: str, method: str = "GET") -> HttpRequest:
    return HttpRequest(method, BASE + path, {})


async def start(send: Any, status: int = 200) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    )


async def chunk(send: Any, body: bytes, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def collect(tr: Transport, path: str, sink: list[bytes]) -> None:
    async with tr.stream(get(path)) as resp:
        async for part in resp.aiter_bytes():
            sink.append(part)


class Recorder:
    """An ASGI app that streams until told to stop, noting what the server side saw."""

    def __init__(self) -> None:
        self.proceed = asyncio.Event()
        self.disconnect_seen = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.finished = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"

        async def watch() -> None:
            if (await receive())["type"] == "http.disconnect":
                self.disconnect_seen.set()

        watcher = asyncio.create_task(watch())
        try:
            await start(send)
            await chunk(send, b"first")
            await self.proceed.wait()  # the reader must get "first" before this can end
            await chunk(send, b"second")
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        finally:
            self.finished.set()
            await asyncio.sleep(0)  # let the watcher record a pending disconnect
            watcher.cancel()


# --------------------------------------------------------------------------- streaming


async def test_chunks_reach_the_reader_while_the_app_is_still_running() -> None:
    app = Recorder()
    async with mounted(app) as tr, tr.stream(get("/stream")) as resp:
        parts = resp.aiter_bytes()
        # A buffering transport would wait for the app to finish: it never does.
        assert await asyncio.wait_for(anext(parts), 2) == b"first"
        app.proceed.set()
        assert await asyncio.wait_for(anext(parts), 2) == b"second"
        await parts.aclose()


async def test_time_to_first_chunk_is_real() -> None:
    async def slow_tail(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await start(send)
        await chunk(send, b"data: 1\n\n")
        await asyncio.sleep(0.5)
        await chunk(send, b"data: 2\n\n", more=False)

    async with mounted(slow_tail) as tr, tr.stream(get("/")) as resp:
        t0 = time.perf_counter()
        times = []
        async for _ in resp.aiter_sse():
            times.append(time.perf_counter() - t0)
    assert times[0] < 0.25 < 0.4 < times[1]


async def test_early_close_sends_disconnect_then_cancels_the_app() -> None:
    app = Recorder()
    async with mounted(app) as tr:
        async with tr.stream(get("/stream")) as resp:
            async for part in resp.aiter_bytes():
                assert part == b"first"
                break
            await resp.aclose()
        await asyncio.wait_for(app.finished.wait(), 2)
        assert app.disconnect_seen.is_set()
        assert app.cancelled.is_set()


async def test_disconnect_is_seen_by_a_starlette_streaming_response() -> None:
    stopped = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"data: tick\n\n"
                await asyncio.sleep(0.01)
        finally:
            stopped.set()

    async def route(request: Request) -> StreamingResponse:
        return StreamingResponse(endless(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/s", route, methods=["POST"])])
    async with mounted(app) as tr:
        async with tr.stream(HttpRequest("POST", BASE + "/s", {}, b"{}")) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            n = 0
            async for event in resp.aiter_sse():
                assert event.data == "tick"
                n += 1
                if n == 3:
                    break
        await asyncio.wait_for(stopped.wait(), 2)


async def test_send_reads_a_whole_response_and_the_app_sees_the_request() -> None:
    seen: dict[str, Any] = {}

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.update(scope=scope, body=message["body"], more=message["more_body"])
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"X-Request-Id", b"req_1"), (b"content-type", b"application/json")],
            }
        )
        await chunk(send, b'{"ok":')
        await chunk(send, b" true}", more=False)

    async with mounted(echo) as tr:
        req = HttpRequest(
            "POST",
            BASE + "/v1/chat/completions?x=1",
            {"Authorization": "Bearer k", "content-type": "a/b"},
            b"hi",
        )
        resp = await tr.send(req)
    assert resp.status == 201
    assert resp.headers["x-request-id"] == "req_1"
    assert json.loads(resp.body) == {"ok": True}
    scope = seen["scope"]
    assert (scope["method"], scope["path"], scope["query_string"]) == ("POST", "/v1/chat/completions", b"x=1")
    assert scope["server"] == ("simulator.local", 80)
    assert scope["scheme"] == "http"
    assert (b"authorization", b"Bearer k") in scope["headers"]
    assert (seen["body"], seen["more"]) == (b"hi", False)


async def test_head_response_has_no_body() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        await chunk(send, b"ignored for HEAD", more=False)

    async with mounted(app) as tr:
        resp = await tr.send(get("/", method="HEAD"))
    assert (resp.status, resp.body) == (200, b"")


async def test_many_concurrent_exchanges() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        await start(send)
        await asyncio.sleep(0.01)
        await chunk(send, body, more=False)

    async with mounted(app) as tr:
        reqs = [HttpRequest("POST", BASE + "/", {}, str(i).encode()) for i in range(50)]
        resps = await asyncio.gather(*(tr.send(r) for r in reqs))
    assert [r.body for r in resps] == [str(i).encode() for i in range(50)]


# --------------------------------------------------------------------------- failures


async def test_app_error_before_start_is_a_connection_error() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("boom before start")

    async with mounted(broken) as tr:
        with pytest.raises(
            errors.ConnectionError, match="ASGI app raised ValueError: boom before start"
        ) as info:
            await tr.send(get("/"))
    # The app's own exception stays reachable for debugging.
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)
    assert isinstance(info.value.__cause__.__cause__, ValueError)


async def test_app_error_before_start_through_plain_httpx2() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ConnectionResetError("reset")

    async with httpx2.AsyncClient(transport=StreamingASGITransport(broken)) as client:
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            await client.get("http://x/")


async def test_app_error_mid_stream_raises_from_the_stream() -> None:
    async def dies(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        await chunk(send, b"partial")
        await asyncio.sleep(0.01)
        raise ConnectionResetError("gone")

    got: list[bytes] = []
    async with mounted(dies) as tr:
        with pytest.raises(errors.ConnectionError, match="Connection reset mid-response"):
            await collect(tr, "/", got)
    assert got == [b"partial"]


async def test_app_returning_without_a_response() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return

    async with mounted(silent) as tr:
        with pytest.raises(errors.ConnectionError, match=r"returned without http\.response\.start"):
            await tr.send(get("/"))


async def test_app_returning_mid_body() -> None:
    async def quits(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        await chunk(send, b"a")

    got: list[bytes] = []
    async with mounted(quits) as tr:
        with pytest.raises(errors.ConnectionError, match="before completing the response body"):
            await collect(tr, "/", got)
    assert got == [b"a"]


async def test_read_timeout_before_start_cancels_the_app() -> None:
    cancelled = asyncio.Event()

    async def stalls(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with mounted(stalls, Timeouts(read=0.1)) as tr:
        with pytest.raises(
            errors.TimeoutError, match=r"Read timeout: http://simulator.local sent nothing for 0\.1s"
        ):
            await tr.send(get("/"))
        await asyncio.wait_for(cancelled.wait(), 2)


async def test_read_timeout_mid_stream() -> None:
    async def stalls_later(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        await chunk(send, b"a")
        await asyncio.sleep(3600)

    got: list[bytes] = []
    async with mounted(stalls_later, Timeouts(read=0.1)) as tr:
        with pytest.raises(errors.TimeoutError, match="Read timeout"):
            await collect(tr, "/", got)
    assert got == [b"a"]


async def test_total_timeout_applies_in_process() -> None:
    async def trickles(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        while True:
            await chunk(send, b".")
            await asyncio.sleep(0.02)

    got: list[bytes] = []
    async with mounted(trickles, Timeouts(read=1, total=0.2)) as tr:
        with pytest.raises(errors.TimeoutError, match="Total timeout"):
            await collect(tr, "/", got)
    assert len(got) >= 3


async def test_transport_aclose_cancels_apps_still_running() -> None:
    cancelled = asyncio.Event()

    async def lingers(scope: Any, receive: Any, send: Any) -> None:
        await start(send)
        await chunk(send, b"done", more=False)
        try:
            await asyncio.sleep(3600)  # background work after the response
        except asyncio.CancelledError:
            cancelled.set()
            raise

    asgi = StreamingASGITransport(lingers)
    async with Transport(mounts={BASE: asgi}) as tr:
        assert (await tr.send(get("/"))).body == b"done"
        assert not cancelled.is_set()
    assert cancelled.is_set()


async def test_protocol_misuse_by_the_app_is_reported() -> None:
    async def body_first(scope: Any, receive: Any, send: Any) -> None:
        await chunk(send, b"x", more=False)

    async with mounted(body_first) as tr:
        with pytest.raises(
            errors.ConnectionError, match=r"RuntimeError: ASGI app sent http\.response\.body before"
        ):
            await tr.send(get("/"))


async def test_cancelling_the_caller_before_the_start_cancels_the_app() -> None:
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def slow_start(scope: Any, receive: Any, send: Any) -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with mounted(slow_start) as tr:
        call = asyncio.create_task(tr.send(get("/")))
        await asyncio.wait_for(entered.wait(), 2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(cancelled.wait(), 2)
        # A total deadline before the start does the same.
        cancelled.clear()
        with pytest.raises(errors.TimeoutError, match="Total timeout"):
            await tr.send(get("/"), timeout=Timeouts(total=0.1))
        await asyncio.wait_for(cancelled.wait(), 2)
