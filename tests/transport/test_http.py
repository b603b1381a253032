from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from llmrelay import errors
from llmrelay.transport.http import Timeouts, Transport
from llmrelay.wire import HttpRequest, SSEEvent

KEY = "sk-test-0123456789abcdefSECRET"


def get(url: str, headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest("GET", url, headers or {})


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    async with Transport(timeouts=Timeouts(connect=2.0, read=5.0)) as tr:
        yield tr


@pytest.fixture
def refused_url() -> str:
    """A local port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def blackhole_url() -> Iterator[str]:
    """A listener whose accept queue is full: new connections hang in the handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    for s in fillers:
        s.close()
    listener.close()


async def drain_sse(tr: Transport, url: str, sink: list[str]) -> None:
    async with tr.stream(get(url)) as resp:
        async for event in resp.aiter_sse():
            sink.append(event.data)


# --------------------------------------------------------------------------- unary


async def test_send_returns_status_lowercased_headers_and_body(base_url: str, transport: Transport) -> None:
    req = HttpRequest(
        "POST",
        base_url + "/echo?alt=sse",
        {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        b'{"a": 1}',
    )
    resp = await transport.send(req)
    assert resp.status == 200
    assert all(name == name.lower() for name in resp.headers)
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-multi"] == "1, 2"  # repeated headers are joined, as HTTP allows
    echoed = json.loads(resp.body)
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/echo"
    assert echoed["query"] == "alt=sse"
    assert echoed["body"] == '{"a": 1}'
    sent = dict(echoed["headers"])
    assert sent["authorization"] == f"Bearer {KEY}"
    assert sent["user-agent"].startswith("llmrelay")


async def test_caller_user_agent_is_kept(base_url: str, transport: Transport) -> None:
    resp = await transport.send(get(base_url + "/echo", {"User-Agent": "mine/1.0"}))
    agents = [v for k, v in json.loads(resp.body)["headers"] if k == "user-agent"]
    assert agents == ["mine/1.0"]


async def test_error_statuses_are_returned_not_raised(base_url: str, transport: Transport) -> None:
    resp = await transport.send(get(base_url + "/status?code=429"))
    assert resp.status == 429
    assert resp.headers["retry-after"] == "3"
    assert json.loads(resp.body) == {"error": {"message": "slow down"}}


async def test_connections_are_pooled(base_url: str, transport: Transport) -> None:
    ports = set()
    for _ in range(10):
        resp = await transport.send(get(base_url + "/echo"))
        ports.add(json.loads(resp.body)["client_port"])
    assert len(ports) == 1  # one keep-alive connection served every request


async def test_gzip_bodies_are_decoded(base_url: str, transport: Transport) -> None:
    resp = await transport.send(get(base_url + "/gzip"))
    assert resp.body == b"data: " + b"z" * 5000 + b"\n\n"
    async with transport.stream(get(base_url + "/gzip")) as stream:
        events = [e async for e in stream.aiter_sse()]
    assert events == [SSEEvent(data="z" * 5000)]


# --------------------------------------------------------------------------- streaming


async def test_stream_gives_status_headers_then_events(base_url: str, transport: Transport) -> None:
    async with transport.stream(get(base_url + "/sse?n=5")) as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [e.data async for e in resp.aiter_sse()]
    assert events == [f'{{"i": {i}}}' for i in range(5)] + ["[DONE]"]
    assert resp.is_closed


async def test_stream_flushes_an_unterminated_last_event(base_url: str, transport: Transport) -> None:
    async with transport.stream(get(base_url + "/sse?n=1&unterminated=1")) as resp:
        events = [e.data async for e in resp.aiter_sse()]
    assert events == ['{"i": 0}', "[DONE]"]


async def test_stream_chunks_arrive_as_sent(base_url: str, transport: Transport) -> None:
    arrivals = []
    async with transport.stream(get(base_url + "/sse?n=4&delay=0.15")) as resp:
        t0 = time.perf_counter()
        async for _ in resp.aiter_sse():
            arrivals.append(time.perf_counter() - t0)
    assert len(arrivals) == 5
    # Events are spread over ~0.6 s; a buffering transport would deliver them all at the end.
    assert arrivals[-1] - arrivals[0] > 0.3


async def test_stream_raw_bytes(base_url: str, transport: Transport) -> None:
    async with transport.stream(get(base_url + "/sse?n=2")) as resp:
        body = b"".join([c async for c in resp.aiter_bytes()])
    assert body == b'data: {"i": 0}\n\ndata: {"i": 1}\n\ndata: [DONE]\n\n'


async def test_stream_error_body_can_be_read(base_url: str, transport: Transport) -> None:
    async with transport.stream(get(base_url + "/status?code=503")) as resp:
        assert resp.status == 503
        assert json.loads(await resp.read()) == {"error": {"message": "slow down"}}


async def test_aclose_drops_the_connection_and_the_server_sees_it(
    base_url: str, transport: Transport, disconnected: Callable[[str], threading.Event]
) -> None:
    seen = disconnected("aclose")
    async with transport.stream(get(base_url + "/drip?tag=aclose")) as resp:
        async for event in resp.aiter_sse():
            assert event.data == "tick"
            break
        await resp.aclose()
        assert resp.is_closed
        assert await asyncio.to_thread(seen.wait, 5)


async def test_leaving_the_block_early_cancels_the_stream(
    base_url: str, transport: Transport, disconnected: Callable[[str], threading.Event]
) -> None:
    seen = disconnected("leave")
    async with transport.stream(get(base_url + "/drip?tag=leave")) as resp:
        async for _ in resp.aiter_sse():
            break
    assert await asyncio.to_thread(seen.wait, 5)
    # The pool is still usable afterwards.
    assert (await transport.send(get(base_url + "/json"))).status == 200


async def test_cancelling_the_reading_task_cancels_the_stream(
    base_url: str, transport: Transport, disconnected: Callable[[str], threading.Event]
) -> None:
    seen = disconnected("cancel")
    got_one = asyncio.Event()

    async def consume() -> None:
        async with transport.stream(get(base_url + "/drip?tag=cancel")) as resp:
            async for _ in resp.aiter_sse():
                got_one.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(seen.wait, 5)


async def test_server_dying_mid_stream_is_a_connection_error(base_url: str, transport: Transport) -> None:
    got: list[str] = []
    with pytest.raises(errors.ConnectionError) as info:
        await drain_sse(transport, base_url + "/cut", got)
    assert got == ["first"]
    assert base_url in str(info.value)
    assert info.value.retryable


# --------------------------------------------------------------------------- failures and timeouts


async def test_connection_refused(refused_url: str, transport: Transport) -> None:
    with pytest.raises(errors.ConnectionError) as info:
        await transport.send(get(refused_url + "/v1/chat"))
    message = str(info.value)
    assert message.startswith(f"Cannot connect to {refused_url}")
    assert "/v1/chat" not in message


async def test_connect_timeout(blackhole_url: str) -> None:
    async with Transport(timeouts=Timeouts(connect=0.3)) as tr:
        t0 = time.perf_counter()
        with pytest.raises(errors.TimeoutError) as info:
            await tr.send(get(blackhole_url + "/x"))
        assert time.perf_counter() - t0 < 3
    assert str(info.value) == (
        f"Connect timeout: no connection to {blackhole_url} within 0.3s (Timeouts.connect)"
    )


async def test_read_timeout(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(read=0.2)) as tr:
        with pytest.raises(errors.TimeoutError, match=r"Read timeout: .* sent nothing for 0\.2s"):
            await tr.send(get(base_url + "/slow?delay=2"))


async def test_read_timeout_while_streaming(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(read=0.2)) as tr:
        events: list[str] = []
        with pytest.raises(errors.TimeoutError, match="Read timeout"):
            await drain_sse(tr, base_url + "/sse?n=3&delay=0.6", events)
        assert events == []


async def test_per_call_timeout_overrides_the_default(base_url: str, transport: Transport) -> None:
    with pytest.raises(errors.TimeoutError, match=r"0\.2s"):
        await transport.send(get(base_url + "/slow?delay=2"), timeout=Timeouts(read=0.2))
    assert (await transport.send(get(base_url + "/slow?delay=0.01"))).status == 200


async def test_total_timeout_on_send(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(read=5, total=0.3)) as tr:
        t0 = time.perf_counter()
        with pytest.raises(errors.TimeoutError) as info:
            await tr.send(get(base_url + "/slow?delay=2"))
        assert time.perf_counter() - t0 < 1.5
    assert str(info.value) == (
        f"Total timeout: the exchange with {base_url} did not finish within 0.3s (Timeouts.total)"
    )


async def test_total_timeout_covers_the_whole_stream(
    base_url: str, disconnected: Callable[[str], threading.Event]
) -> None:
    # Each event comes well within the read timeout; only the total deadline can stop it.
    seen = disconnected("total")
    async with Transport(timeouts=Timeouts(read=5, total=0.5)) as tr:
        ticks: list[str] = []
        t0 = time.perf_counter()
        with pytest.raises(errors.TimeoutError, match="Total timeout"):
            await drain_sse(tr, base_url + "/drip?interval=0.05&tag=total", ticks)
        elapsed = time.perf_counter() - t0
    assert len(ticks) >= 2
    assert 0.4 < elapsed < 2.0
    assert await asyncio.to_thread(seen.wait, 5)


async def test_pool_timeout_names_the_limit(base_url: str) -> None:
    tr = Transport(timeouts=Timeouts(pool=0.2), max_connections=1)
    async with tr, tr.stream(get(base_url + "/drip?tag=pool")) as busy:
        assert busy.status == 200
        with pytest.raises(errors.TimeoutError, match=r"Pool timeout: .* within 0\.2s; all 1 pooled"):
            await tr.send(get(base_url + "/json"))


# --------------------------------------------------------------------------- bad input and secrets


async def test_errors_never_show_headers_path_or_query(refused_url: str, transport: Transport) -> None:
    req = HttpRequest(
        "POST",
        refused_url + "/v1beta/models/m:generateContent?key=AIzaSyTOPSECRETVALUE123",
        {
            "authorization": f"Bearer {KEY}",
            "x-api-key": "plain-secret-value",
            "x-goog-api-key": "another-one",
        },
        b"{}",
    )
    with pytest.raises(errors.ConnectionError) as info:
        await transport.send(req)
    for text in (str(info.value), repr(info.value)):
        for secret in (KEY, "plain-secret-value", "another-one", "TOPSECRET", "generateContent"):
            assert secret not in text


async def test_header_with_newline_is_a_config_error_without_its_value(
    base_url: str, transport: Transport
) -> None:
    with pytest.raises(errors.ConfigError) as info:
        await transport.send(get(base_url + "/json", {"x-api-key": "abc\r\nsecret-part"}))
    assert "header" in str(info.value)
    assert "secret-part" not in str(info.value)


async def test_non_ascii_header_is_a_config_error(base_url: str, transport: Transport) -> None:
    with pytest.raises(errors.ConfigError, match="not ASCII"):
        await transport.send(get(base_url + "/json", {"authorization": "Bearer clé"}))


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/v1", "http://[::1/x"])
async def test_bad_urls_are_config_errors(url: str, transport: Transport) -> None:
    with pytest.raises(errors.ConfigError):
        await transport.send(get(url))


@pytest.mark.parametrize(
    "kwargs", [{"connect": 0}, {"read": -1.0}, {"total": "5"}, {"pool": True}, {"write": float("nan")}]
)
def test_timeouts_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(errors.ConfigError, match="must be a positive number of seconds or None"):
        Timeouts(**kwargs)  # type: ignore[arg-type]


def test_timeouts_defaults_and_none() -> None:
    t = Timeouts()
    assert (t.connect, t.read, t.total, t.write, t.pool) == (5.0, 600.0, None, 600.0, 600.0)
    assert Timeouts(connect=None, read=None).as_httpx().as_dict() == {
        "connect": None,
        "read": None,
        "write": 600.0,
        "pool": 600.0,
    }


@pytest.mark.parametrize("n", [0, -1, 2.5])
async def test_max_connections_is_validated(n: object) -> None:
    with pytest.raises(errors.ConfigError, match="max_connections"):
        Transport(max_connections=n)  # type: ignore[arg-type]


async def test_closed_transport_refuses_to_send(base_url: str) -> None:
    tr = Transport()
    await tr.aclose()
    assert tr.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await tr.send(get(base_url + "/json"))
