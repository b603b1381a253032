"""A simulator served on a localhost socket (the "real provider" a cassette records), keys that
look real, and a way to block every outbound connection."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from llmrelay import Settings
from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.server import build_server

# Shaped like real keys, so that a scrubber that only knew key shapes would also catch them.
OPENAI_KEY = "sk-proj-Q7fX2mLr9TzKw4NbV8cYp1HdJs6GuE3aRo0iWnMqBt5kLx"
ANTHROPIC_KEY = "sk-ant-api03-Zr8YtQw2Lp5Nx9VmKc3Hb7Jd1Fs6Gq4Ta0Ue-Wo2Ri8PyMnAAA"
GEMINI_KEY = "AIzaSyD4kR7mXq2Lw9Pz5Nc8Vb1Jt6Hs3Gy0Fa"
KEYS = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "GEMINI_API_KEY": GEMINI_KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    simulator: Simulator
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(timeout=10)

    def settings(self) -> Settings:
        """One alias per wire protocol, each a real provider deployment pointed at this server."""
        return Settings.load(
            ledger={"enabled": False},
            retry={"max_attempts": 1},
            models={
                "gpt": {
                    "deployments": [{"provider": "openai", "model": "gpt-4o", "base_url": f"{self.url}/v1"}]
                },
                "claude": {
                    "deployments": [
                        {"provider": "anthropic", "model": "claude-haiku-4-5", "base_url": self.url}
                    ]
                },
                "gemini": {
                    "deployments": [{"provider": "gemini", "model": "gemini-2.5-flash", "base_url": self.url}]
                },
            },
        )


@pytest.fixture
def served() -> Iterator[Served]:
    """A simulator that accepts only the three keys above, over a real localhost socket; it
    streams at a (fast) pace, so a stream arrives in several chunks as a real one does."""
    port = free_port()
    server, sim = build_server(
        "127.0.0.1", port, SimulatorConfig(api_keys=frozenset(KEYS.values()), tokens_per_second=1000)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "simulator server did not start"
        time.sleep(0.01)
    s = Served(f"http://127.0.0.1:{port}", sim, server, thread)
    yield s
    s.stop()


class NetworkBlocked(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every outbound connection attempt fails (and is listed)."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[1:3]))
        raise NetworkBlocked(f"network blocked in this test: connect{args[1:3]!r}")

    async def refuse_async(*args: Any, **kwargs: Any) -> Any:
        return refuse(*args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "create_connection", refuse_async)
    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "sock_connect", refuse_async)
    return attempts
