"""Proxies from the environment, through a real (recording) local proxy."""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from llmrelay import errors
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Timeouts, Transport
from llmrelay.wire import HttpRequest

PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


class _Recorder(socketserver.StreamRequestHandler):
    """Answers every request itself, with what it received; refuses CONNECT tunnels (403)."""

    def handle(self) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline()
            if not line:
                return
            head += line
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
        self.rfile.read(int(headers.get("content-length", "0")))
        self.server.seen.append({"line": request_line, "headers": headers})  # type: ignore[attr-defined]
        if request_line.startswith("CONNECT "):
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            return
        body = json.dumps({"via": "proxy", "line": request_line}).encode()
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[dict[str, object]]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)


def refused() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


async def test_http_requests_go_through_http_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: tuple[str, list[dict[str, object]]]
) -> None:
    address, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", address)  # no scheme: an HTTP proxy, as httpx2 reads it
    async with Transport(timeouts=Timeouts(connect=2, read=5)) as tr:
        resp = await tr.send(HttpRequest("POST", "http://upstream.invalid/v1/chat?x=1", {}, b"{}"))
    assert json.loads(resp.body)["via"] == "proxy"
    assert seen[0]["line"] == "POST http://upstream.invalid/v1/chat?x=1 HTTP/1.1"


async def test_proxy_credentials_become_a_proxy_authorization_header(
    monkeypatch: pytest.MonkeyPatch, proxy: tuple[str, list[dict[str, object]]]
) -> None:
    address, seen = proxy
    monkeypatch.setenv("http_proxy", f"http://alice:s3cret@{address}")
    async with Transport() as tr:
        await tr.send(HttpRequest("GET", "http://upstream.invalid/models", {}))
    headers = seen[0]["headers"]
    assert isinstance(headers, dict)
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


async def test_https_requests_tunnel_through_the_https_proxy_variable(
    monkeypatch: pytest.MonkeyPatch, proxy: tuple[str, list[dict[str, object]]]
) -> None:
    address, seen = proxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://carol:pw123@{address}")
    async with Transport(timeouts=Timeouts(connect=2, read=5)) as tr:
        with pytest.raises(errors.ConnectionError) as info:
            await tr.send(HttpRequest("GET", "https://api.example.invalid/v1/x?key=TOPSECRET", {}))
    assert seen[0]["line"] == "CONNECT api.example.invalid:443 HTTP/1.1"
    headers = seen[0]["headers"]
    assert isinstance(headers, dict)
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"carol:pw123").decode()
    assert str(info.value) == (
        "Cannot connect to https://api.example.invalid: the proxy from the environment answered 403"
    )


async def test_no_proxy_hosts_connect_directly(
    monkeypatch: pytest.MonkeyPatch, base_url: str, proxy: tuple[str, list[dict[str, object]]]
) -> None:
    address, seen = proxy
    monkeypatch.setenv("ALL_PROXY", f"http://{address}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with Transport() as tr:
        direct = json.loads((await tr.send(HttpRequest("GET", base_url + "/echo", {}))).body)
        proxied = json.loads((await tr.send(HttpRequest("GET", "http://elsewhere.invalid/", {}))).body)
    assert direct["path"] == "/echo"
    assert proxied["via"] == "proxy"
    assert [s["line"] for s in seen] == ["GET http://elsewhere.invalid/ HTTP/1.1"]


async def test_unreachable_proxy_is_a_connection_error_naming_the_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", refused())
    async with Transport(timeouts=Timeouts(connect=2)) as tr:
        with pytest.raises(errors.ConnectionError) as info:
            await tr.send(HttpRequest("GET", "http://upstream.invalid/v1?key=TOPSECRET", {}))
    assert str(info.value) == (
        "Cannot connect to http://upstream.invalid: the proxy from the environment: connection refused"
    )


async def test_unsupported_proxy_scheme_is_a_config_error_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://bob:hunter2@127.0.0.1:1080")
    async with Transport() as tr:
        with pytest.raises(errors.ConfigError, match="socks5 scheme") as info:
            await tr.send(HttpRequest("GET", "http://upstream.invalid/", {}))
    assert "hunter2" not in str(info.value)


async def test_the_environment_is_read_when_the_transport_is_built(
    monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    tr = Transport()
    monkeypatch.setenv("HTTP_PROXY", refused())  # too late for tr
    async with tr:
        assert (await tr.send(HttpRequest("GET", base_url + "/json", {}))).status == 200


async def test_mounted_prefixes_never_use_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"in-process"})  # type: ignore[operator]

    monkeypatch.setenv("HTTP_PROXY", refused())
    async with Transport(mounts={"http://sim.local": StreamingASGITransport(app)}) as tr:
        resp = await tr.send(HttpRequest("GET", "http://sim.local/v1/models", {}))
    assert resp.body == b"in-process"
