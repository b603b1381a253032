from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
import uvicorn

from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig
from llmrelay.simulator.engine import expected_text
from llmrelay.simulator.server import build_server

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "over a socket"}]}


def free_port() -> int:
    """A port free now; prefer ``running``, which leaves no gap for another process to take it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(server: uvicorn.Server) -> Iterator[int]:
    """Run ``server`` in a thread on a socket bound here, and yield its port.

    uvicorn is handed the bound socket: choosing a free port and letting the server bind it
    later races with every other process on the machine (other test runs) for that port.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "simulator server did not start"
            time.sleep(0.01)
        try:
            yield port
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Simulator]]:
    server, sim = build_server("127.0.0.1", 0, SimulatorConfig(hang_seconds=30))
    with running(server) as port:
        yield f"http://127.0.0.1:{port}", sim
        server.force_exit = True  # do not wait for the request a hang fault left open


async def test_serves_chat_and_streams_over_a_socket(served: tuple[str, Simulator]) -> None:
    url, sim = served
    sim.faults = FaultSequence([])
    async with httpx2.AsyncClient(base_url=url) as client:
        r = await client.post("/v1/chat/completions", json=BODY)
        assert r.status_code == 200
        assert r.json()["choices"][0]["message"]["content"] == expected_text("over a socket", seed=0)
        async with client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as stream:
            lines = [line async for line in stream.aiter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines[:-1])
    assert text == expected_text("over a socket", seed=0)


async def test_reset_drops_the_connection(served: tuple[str, Simulator]) -> None:
    url, sim = served
    sim.faults = FaultSequence([Fault("reset")])
    async with httpx2.AsyncClient(base_url=url) as client:
        with pytest.raises(httpx2.TransportError):
            await client.post("/v1/chat/completions", json=BODY)
        # The next request is served normally.
        assert (await client.post("/v1/chat/completions", json=BODY)).status_code == 200


async def test_cut_stream_ends_without_done(served: tuple[str, Simulator]) -> None:
    url, sim = served
    sim.faults = FaultSequence([Fault("cut_stream", after_pieces=2)])
    async with (
        httpx2.AsyncClient(base_url=url) as client,
        client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as stream,
    ):
        lines = [line async for line in stream.aiter_lines() if line.startswith("data: ")]
    assert len(lines) == 3
    assert "data: [DONE]" not in lines


async def test_hang_trips_the_client_timeout(served: tuple[str, Simulator]) -> None:
    url, sim = served
    sim.faults = FaultSequence([Fault("hang")])
    async with httpx2.AsyncClient(base_url=url, timeout=0.2) as client:
        with pytest.raises(httpx2.TimeoutException):
            await client.post("/v1/chat/completions", json=BODY)
