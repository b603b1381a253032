"""The network path (aiohttp) against real local servers: what test_http.py does not already cover."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.transport.conftest import SPLIT_SSE_PIECES, LocalServer, TestApp, pattern

from llmrelay import errors
from llmrelay.transport.http import Timeouts, Transport
from llmrelay.wire import HttpRequest, SSEEvent

SECRET_QUERY = "key=AIzaSyTOPSECRETVALUE123"


def get(url: str, headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest("GET", url, headers or {})


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    async with Transport(timeouts=Timeouts(connect=2.0, read=5.0)) as tr:
        yield tr


@pytest.fixture
def stalled_url() -> Iterator[str]:
    """A server that accepts connections and never reads from them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                # The smallest receive buffer, so that the client's writes stall quickly.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize("chunked", [False, True])
async def test_large_response_bodies_arrive_whole(base_url: str, transport: Transport, chunked: bool) -> None:
    size = 8 * 1024 * 1024 + 7
    url = f"{base_url}/big?size={size}" + ("&chunked=1" if chunked else "")
    resp = await transport.send(get(url))
    assert resp.status == 200
    assert resp.body == pattern(size)
    async with transport.stream(get(url)) as stream:
        chunks = [c async for c in stream.aiter_bytes()]
    assert len(chunks) > 1  # it really was streamed, not buffered whole
    assert b"".join(chunks) == pattern(size)


async def test_large_request_bodies_are_sent_whole(base_url: str, transport: Transport) -> None:
    body = pattern(6 * 1024 * 1024 + 3)
    req = HttpRequest("POST", base_url + "/upload", {"content-type": "application/octet-stream"}, body)
    resp = await transport.send(req)
    assert json.loads(resp.body) == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


async def test_small_and_empty_bodies(base_url: str, transport: Transport) -> None:
    for body in (b"", b"{}", b"x" * 70_000):
        resp = await transport.send(HttpRequest("POST", base_url + "/echo", {}, body))
        echoed = json.loads(resp.body)
        assert echoed["body"] == body.decode()
        # No Content-Type is invented for a body sent without one.
        assert "content-type" not in dict(echoed["headers"])


async def test_sse_split_anywhere_across_reads_decodes_intact(base_url: str, transport: Transport) -> None:
    async with transport.stream(get(base_url + "/split")) as resp:
        reads = [c async for c in resp.aiter_bytes()]
    # The pauses between writes make each piece its own read, so the cuts reach the decoder.
    assert len(reads) >= len(SPLIT_SSE_PIECES) - 2
    assert b"".join(reads) == b"".join(SPLIT_SSE_PIECES)
    async with transport.stream(get(base_url + "/split")) as resp:
        events = [e async for e in resp.aiter_sse()]
    assert events == [SSEEvent(data='{"text": "héllo ☃"}'), SSEEvent(data="[DONE]", event="done")]


async def test_bad_content_encoding_is_a_malformed_response(base_url: str, transport: Transport) -> None:
    with pytest.raises(errors.MalformedResponseError) as info:
        await transport.send(get(base_url + "/badgzip?" + SECRET_QUERY))
    assert str(info.value).startswith(f"The body from {base_url} could not be decoded")
    assert "TOPSECRET" not in str(info.value)


# --------------------------------------------------------------------------- connection behaviour


async def test_streams_read_to_the_end_give_their_connection_back(
    base_url: str, transport: Transport
) -> None:
    ports = set()
    for _ in range(3):
        async with transport.stream(get(base_url + "/echo")) as resp:
            ports.add(json.loads(await resp.read())["client_port"])
        ports.add(json.loads((await transport.send(get(base_url + "/echo"))).body)["client_port"])
    assert len(ports) == 1


async def test_an_abandoned_stream_does_not_hold_a_pool_slot(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(pool=1.0), max_connections=1) as tr:
        for _ in range(3):
            async with tr.stream(get(base_url + "/drip?tag=slot")) as resp:
                async for _ in resp.aiter_sse():
                    break
        assert (await tr.send(get(base_url + "/json"))).status == 200


async def test_cookies_are_never_stored_or_sent(base_url: str, transport: Transport) -> None:
    # By host name: a cookie jar may refuse cookies from a bare IP address anyway.
    named = base_url.replace("127.0.0.1", "localhost")
    assert (await transport.send(get(named + "/cookie"))).headers["set-cookie"].startswith("session=")
    echoed = json.loads((await transport.send(get(named + "/echo"))).body)
    assert "cookie" not in dict(echoed["headers"])


async def test_redirects_are_returned_not_followed(base_url: str, transport: Transport) -> None:
    resp = await transport.send(get(base_url + "/redirect", {"authorization": "Bearer sk-x"}))
    assert resp.status == 307
    assert resp.headers["location"] == "/json"


async def test_default_headers(base_url: str, transport: Transport) -> None:
    sent = dict(json.loads((await transport.send(get(base_url + "/echo"))).body)["headers"])
    assert sent["user-agent"].startswith("llmrelay")
    assert "gzip" in sent["accept-encoding"]


@pytest.mark.parametrize("name", ["bad name", "bad:name", "bad\nname"])
async def test_invalid_header_names_are_config_errors(base_url: str, transport: Transport, name: str) -> None:
    with pytest.raises(errors.ConfigError, match="header name or value is invalid"):
        await transport.send(get(base_url + "/json", {name: "v"}))


# --------------------------------------------------------------------------- timeouts


async def test_write_timeout(stalled_url: str) -> None:
    body = b"x" * (64 * 1024 * 1024)
    async with Transport(timeouts=Timeouts(write=0.3, read=30)) as tr:
        t0 = time.perf_counter()
        with pytest.raises(errors.TimeoutError) as info:
            await tr.send(HttpRequest("POST", stalled_url + "/v1/x?" + SECRET_QUERY, {}, body))
        assert time.perf_counter() - t0 < 5
    assert str(info.value) == (
        f"Write timeout: could not send the request to {stalled_url} within 0.3s (Timeouts.write)"
    )


async def test_read_timeout_waits_for_the_body_after_a_complete_write(stalled_url: str) -> None:
    # A small body goes out at once; the silence that follows is the read timeout's.
    async with Transport(timeouts=Timeouts(write=0.1, read=0.4)) as tr:
        with pytest.raises(errors.TimeoutError, match=r"^Read timeout: .* sent nothing for 0\.4s"):
            await tr.send(HttpRequest("POST", stalled_url + "/x", {}, b"{}"))


async def drain_sse(tr: Transport, url: str, sink: list[str]) -> None:
    async with tr.stream(get(url)) as resp:
        async for event in resp.aiter_sse():
            sink.append(event.data)


async def test_read_timeout_bounds_silence_not_duration(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(read=0.3)) as tr:
        events: list[str] = []
        # Six events 0.1 s apart: 0.6 s in all, yet never 0.3 s of silence.
        await drain_sse(tr, base_url + "/sse?n=6&delay=0.1", events)
        assert len(events) == 7
        with pytest.raises(errors.TimeoutError, match=r"^Read timeout: .* sent nothing for 0\.3s"):
            await drain_sse(tr, base_url + "/sse?n=2&delay=0.6", events)
        assert len(events) == 7


async def test_total_timeout_on_stream_open(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(read=5, total=0.3)) as tr:
        with pytest.raises(errors.TimeoutError, match=r"^Total timeout: the exchange with .* within 0\.3s"):
            async with tr.stream(get(base_url + "/slow?delay=2")):
                pass


async def test_pool_wait_that_ends_in_time_succeeds(base_url: str) -> None:
    async with Transport(timeouts=Timeouts(pool=5), max_connections=1) as tr:

        async def hold() -> None:
            async with tr.stream(get(base_url + "/sse?n=2&delay=0.2")) as resp:
                [e async for e in resp.aiter_sse()]

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        assert (await tr.send(get(base_url + "/json"))).status == 200
        assert time.perf_counter() - t0 > 0.2  # it waited for the stream's connection
        await holder


# --------------------------------------------------------------------------- errors name the origin only


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """An HTTPS server whose certificate is self-signed, so no client trusts it."""
    pytest.importorskip("cryptography", reason="the test extras (google-auth) bring cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    srv = LocalServer(TestApp(), ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
    srv.start()
    yield srv
    srv.stop()


async def test_untrusted_tls_certificate_is_a_connection_error(tls_server: LocalServer) -> None:
    async with Transport(timeouts=Timeouts(connect=5)) as tr:
        with pytest.raises(errors.ConnectionError) as info:
            await tr.send(get(tls_server.url + "/v1beta/models/m:generateContent?" + SECRET_QUERY))
    assert str(info.value) == (
        f"Cannot connect to {tls_server.url}: the server's TLS certificate could not be verified"
    )


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


async def test_https_with_a_ca_file_from_the_environment(
    tls_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_server.certfile is not None
    monkeypatch.setenv("SSL_CERT_FILE", tls_server.certfile)  # read when the session is built
    async with Transport(timeouts=Timeouts(connect=5, read=5)) as tr:
        resp = await tr.send(HttpRequest("POST", tls_server.url + "/echo?alt=sse", {}, b"{}"))
        async with tr.stream(get(tls_server.url + "/sse?n=3")) as stream:
            events = [e.data async for e in stream.aiter_sse()]
    assert json.loads(resp.body)["query"] == "alt=sse"
    assert events == ['{"i": 0}', '{"i": 1}', '{"i": 2}', "[DONE]"]


async def test_failures_name_the_origin_never_the_path_or_query(
    base_url: str, stalled_url: str, blackhole_url: str, transport: Transport
) -> None:
    tail = "/v1beta/models/gemini:streamGenerateContent?" + SECRET_QUERY
    cases = [
        (transport, get(base_url + "/slow?delay=2&" + SECRET_QUERY), Timeouts(read=0.2)),
        (transport, get(base_url + "/slow?delay=2&" + SECRET_QUERY), Timeouts(total=0.2)),
        (transport, get(stalled_url + tail), Timeouts(read=0.2)),
        (transport, get(blackhole_url + tail), Timeouts(connect=0.2)),
        (transport, HttpRequest("POST", stalled_url + tail, {}, b"x" * (32 << 20)), Timeouts(write=0.2)),
    ]
    failures: list[BaseException] = []
    for tr, req, t in cases:
        with pytest.raises(errors.TimeoutError) as info:
            await tr.send(req, timeout=t)
        failures.append(info.value)
    with pytest.raises(errors.ConnectionError) as broke:
        async with transport.stream(get(base_url + "/cut?" + SECRET_QUERY)) as resp:
            [e async for e in resp.aiter_sse()]
    assert str(broke.value) == f"Connection to {base_url} broke off: the body ended before it was complete"
    with pytest.raises(errors.ConnectionError) as refused:
        await transport.send(get(refused_url() + tail))
    for failure in (*failures, broke.value, refused.value):
        # Everything a logger could print, chained exceptions included (even suppressed ones).
        for text in (*map(repr, chain(failure)), *traceback.format_exception(failure)):
            assert "TOPSECRET" not in text and "generateContent" not in text and "/slow" not in text
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)  # the socket error is kept


def chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is not None and all(cur is not seen for seen in out):
            out.append(cur)
            todo += [cur.__cause__, cur.__context__]
    return out


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- cost of a Client


def test_import_and_client_and_simulator_calls_never_import_aiohttp() -> None:
    code = (
        "import asyncio, sys\n"
        "import llmrelay\n"
        "async def main():\n"
        "    async with llmrelay.Client() as client:\n"
        "        await client.chat('hi', model='local')\n"
        "        async for _ in client.stream('hi', model='local'):\n"
        "            pass\n"
        "asyncio.run(main())\n"
        "print('aiohttp' in sys.modules)\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


async def test_the_network_session_is_built_on_the_first_network_request(base_url: str) -> None:
    async with Transport() as tr:
        assert tr._network is None
        with pytest.raises(errors.ConfigError):
            await tr.send(get("ftp://example.com/x"))  # refused before any session is needed
        assert tr._network is None
        assert (await tr.send(get(base_url + "/json"))).status == 200
        network = tr._network
        assert network is not None
        assert (await tr.send(get(base_url + "/json"))).status == 200
        assert tr._network is network  # one session for the Transport's whole life
    assert network.is_closed
