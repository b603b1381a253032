"""Scripted faults on the OpenAI protocol, over the in-process transport (see test_server for sockets)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from tests.simulator.openai_harness import USER, Harness, chat, harness, sse

from llmrelay.simulator import Fault, FaultSequence, SimulatorConfig
from llmrelay.simulator.engine import expected_text
from llmrelay.simulator.responses import SimulatedReset


@pytest.fixture
async def api() -> AsyncIterator[Harness]:
    async with harness() as h:
        yield h


async def test_rate_limit_fault_then_success() -> None:
    async with harness(faults=FaultSequence([Fault.rate_limited(retry_after=1.5)])) as h:
        r = await h.post(chat())
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert r.headers["retry-after-ms"] == "1500"
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        error = r.json()["error"]
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
        assert (await h.post(chat())).status_code == 200
        assert h.sim.stats.faults == {"status": 1}
        assert h.sim.stats.statuses == {429: 1, 200: 1}


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_error_faults(status: int) -> None:
    async with harness(faults=FaultSequence([Fault.error(status)])) as h:
        r = await h.post(chat(stream=True))
        assert r.status_code == status
        assert r.json()["error"]["type"] == "server_error"
        assert r.json()["error"]["message"]


async def test_fault_message_override() -> None:
    async with harness(faults=FaultSequence([Fault.error(400, "custom failure")])) as h:
        r = await h.post(chat())
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "custom failure"


async def test_hang_fault_stalls() -> None:
    async with harness(SimulatorConfig(hang_seconds=0.1), FaultSequence([Fault("hang")])) as h:
        start = time.perf_counter()
        r = await h.post(chat())
        assert time.perf_counter() - start >= 0.1
        assert r.status_code == 200


async def test_hang_fault_outlasts_a_client_deadline() -> None:
    # The in-process transport ignores httpx timeouts; test_server covers them over a socket.
    async with harness(SimulatorConfig(hang_seconds=5), FaultSequence([Fault("hang")])) as h:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(h.post(chat()), timeout=0.05)


@pytest.mark.parametrize("stream", [False, True])
async def test_reset_fault_drops_the_connection(stream: bool) -> None:
    async with harness(faults=FaultSequence([Fault("reset")])) as h:
        with pytest.raises(SimulatedReset):
            await h.post(chat(stream=stream))


async def test_malformed_fault_unary() -> None:
    async with harness(faults=FaultSequence([Fault("malformed")])) as h:
        r = await h.post(chat())
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()


async def test_malformed_fault_stream() -> None:
    async with harness(faults=FaultSequence([Fault("malformed", after_pieces=2)])) as h:
        data = sse((await h.post(chat(stream=True))).text)
        assert data[-1] == "[DONE]"
        broken = [d for d in data[:-1] if not _parses(d)]
        assert len(broken) == 1
        assert data.index(broken[0]) == 3  # role chunk, two pieces, then the broken one


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


async def test_cut_stream_fault() -> None:
    async with harness(faults=FaultSequence([Fault("cut_stream", after_pieces=3)])) as h:
        data = sse((await h.post(chat(stream=True))).text)
        assert "[DONE]" not in data
        events = [json.loads(d) for d in data]
        assert len(events) == 1 + 3
        assert all(e["choices"][0]["finish_reason"] is None for e in events)
        assert "".join(e["choices"][0]["delta"]["content"] for e in events) == expected_text(
            USER["content"], seed=0, max_tokens=3
        )
        assert (h.sim.stats.streams_cut, h.sim.stats.streams_completed) == (1, 0)


async def test_cut_stream_fault_unary_truncates_the_body() -> None:
    async with harness(faults=FaultSequence([Fault("cut_stream")])) as h:
        with pytest.raises(SimulatedReset):
            await h.post(chat())


async def test_stream_error_fault() -> None:
    async with harness(faults=FaultSequence([Fault("stream_error", after_pieces=1, message="boom")])) as h:
        data = sse((await h.post(chat(stream=True))).text)
        assert "[DONE]" not in data
        last = json.loads(data[-1])
        assert last == {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
        assert len(data) == 1 + 1 + 1
        assert h.sim.stats.streams_cut == 1


async def test_stream_error_fault_unary_is_a_status() -> None:
    async with harness(faults=FaultSequence([Fault("stream_error", status=503)])) as h:
        r = await h.post(chat())
        assert r.status_code == 503
