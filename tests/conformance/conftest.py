"""A real simulator server on 127.0.0.1 for the conformance suite.

The official SDKs and llmrelay's own adapters talk to it over TCP, exactly as they
would to the provider. Each test may script faults on ``sim.faults``; they are reset
after every test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from llmrelay.settings import Settings
from llmrelay.simulator import NoFaults, Simulator, SimulatorConfig

SECRET_KEY = "sk-conformance-0123456789abcdef"


@dataclass
class Server:
    sim: Simulator
    base: str


def _serve(sim: Simulator) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        sim.app, host="127.0.0.1", port=port, log_level="error", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("simulator server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def _server() -> Iterator[Server]:
    # hang faults stall for a few seconds only, so a hung handler cannot outlive the session
    sim = Simulator(SimulatorConfig(seed=7, hang_seconds=3))
    server, thread, base = _serve(sim)
    yield Server(sim, base)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def _keyed_server() -> Iterator[Server]:
    sim = Simulator(SimulatorConfig(seed=7, api_keys=frozenset({SECRET_KEY})))
    server, thread, base = _serve(sim)
    yield Server(sim, base)
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
