"""A real simulator server on 127.0.0.1 for the conformance suite.

The official SDKs and llmrelay's own adapters talk to it over TCP, exactly as they
would to the provider. Each test may script faults on ``sim.faults``; they are reset
after every test. The server records what it answered (``Server.last``), so that a test
can compare what the SDK and what llmrelay report with the wire for one and the same call.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from llmrelay.providers import load_adapter
from llmrelay.settings import Settings
from llmrelay.simulator import NoFaults, Simulator, SimulatorConfig
from llmrelay.transport.sse import SSEDecoder
from llmrelay.wire import Endpoint

SECRET_KEY = "sk-conformance-0123456789abcdef"


Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass
class Exchange:
    """One HTTP exchange as the server saw it: the answer's status, headers (lower-cased
    names) and body bytes (a stream's whole SSE text once it has ended)."""

    method: str
    path: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)

    def json(self) -> Any:
        return json.loads(bytes(self.body))


class Recorder:
    """ASGI middleware that keeps the last exchanges the app answered (a bounded log)."""

    def __init__(self, app: ASGIApp, keep: int = 64) -> None:
        self.app = app
        self.exchanges: deque[Exchange] = deque(maxlen=keep)

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope["method"], scope["path"])
        self.exchanges.append(exchange)  # at arrival: the log is in request order

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", ())
                }
            elif message["type"] == "http.response.body":
                exchange.body += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, recording_send)


@dataclass
class Server:
    sim: Simulator
    base: str
    recorder: Recorder

    def last(self) -> Exchange:
        """The exchange of the latest request the server received (tests call one at a time)."""
        return self.recorder.exchanges[-1]


def _serve(sim: Simulator) -> tuple[uvicorn.Server, threading.Thread, str, Recorder]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    recorder = Recorder(sim.app)
    config = uvicorn.Config(
        recorder, host="127.0.0.1", port=port, log_level="error", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("simulator server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}", recorder


@pytest.fixture(scope="session")
def _server() -> Iterator[Server]:
    # hang faults stall for a few seconds only, so a hung handler cannot outlive the session
    sim = Simulator(SimulatorConfig(seed=7, hang_seconds=3))
    server, thread, base, recorder = _serve(sim)
    yield Server(sim, base, recorder)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def _keyed_server() -> Iterator[Server]:
    sim = Simulator(SimulatorConfig(seed=7, api_keys=frozenset({SECRET_KEY})))
    server, thread, base, recorder = _serve(sim)
    yield Server(sim, base, recorder)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def server(_server: Server) -> Iterator[Server]:
    _server.sim.faults = NoFaults()
    yield _server
    _server.sim.faults = NoFaults()


@pytest.fixture
def keyed_server(_keyed_server: Server) -> Server:
    return _keyed_server


def relay_settings(base: str, **timeouts: float) -> Settings:
    """Aliases ``oa``, ``an`` and ``ge`` for the three protocols on the server at ``base``."""
    return Settings.load(
        models={
            "oa": {
                "deployments": [{"provider": "simulator", "model": "gpt-4o-mini", "base_url": f"{base}/v1"}]
            },
            "oe": {
                "deployments": [
                    {"provider": "simulator", "model": "text-embedding-3-small", "base_url": f"{base}/v1"}
                ]
            },
            "an": {
                "deployments": [
                    {"provider": "simulator-anthropic", "model": "claude-haiku-4-5", "base_url": base}
                ]
            },
            "ge-embed": {
                "deployments": [
                    {"provider": "simulator-gemini", "model": "text-embedding-004", "base_url": base}
                ]
            },
            "ge": {
                "deployments": [
                    {"provider": "simulator-gemini", "model": "gemini-2.5-flash", "base_url": base}
                ]
            },
        },
        timeouts=timeouts or {"connect": 5, "read": 30},
        # these tests check how each answer maps, so every fault must reach the caller as is
        retry={"enabled": False},
    )


def read_as_llmrelay(protocol: str, exchange: Exchange, model: str) -> tuple[Any, str | None]:
    """What llmrelay's adapter for ``protocol`` reads from an exchange someone else (the
    SDK) made: the parsed reply (a ``ChatResponse``, or the stream parser after the whole
    recorded stream) and the request id."""
    adapter = load_adapter(protocol)
    ep = Endpoint(protocol, model, "http://recorded.invalid", host=protocol)
    if exchange.headers.get("content-type", "").startswith("text/event-stream"):
        parser = adapter.stream_parser(ep)
        decoder = SSEDecoder()
        for event in [*decoder.feed(bytes(exchange.body)), *decoder.flush()]:
            parser.feed(event)
        return parser, adapter.request_id(exchange.headers)
    if exchange.status >= 300:
        raise adapter.parse_error(exchange.status, exchange.headers, bytes(exchange.body), ep)
    return adapter.parse_chat(bytes(exchange.body), ep), adapter.request_id(exchange.headers)


def sse_json(exchange: Exchange) -> list[Any]:
    """The JSON payloads of a recorded SSE stream's data events (``[DONE]`` left out)."""
    decoder = SSEDecoder()
    events = [*decoder.feed(bytes(exchange.body)), *decoder.flush()]
    return [json.loads(e.data) for e in events if e.data.strip() and e.data.strip() != "[DONE]"]
