"""Shared by the simulator's OpenAI-protocol tests: an in-process client and SSE helpers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.faults import FaultPlan

URL = "/v1/chat/completions"
USER = {"role": "user", "content": "What is the weather like?"}


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [USER], **extra}


def sse(text: str) -> list[str]:
    """The data fields of an event stream, in order."""
    events = [e for e in text.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events), events
    return [e[len("data: ") :] for e in events]


def chunks(text: str) -> list[dict[str, Any]]:
    data = sse(text)
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


class Harness:
    def __init__(self, sim: Simulator, client: httpx2.AsyncClient, url: str = URL) -> None:
        self.sim = sim
        self.client = client
        self.url = url

    async def post(self, body: Any, url: str | None = None, **kw: Any) -> httpx2.Response:
        return await self.client.post(url or self.url, json=body, **kw)


@contextlib.asynccontextmanager
async def harness(
    config: SimulatorConfig | None = None, faults: FaultPlan | None = None, url: str = URL
) -> AsyncIterator[Harness]:
    sim = Simulator(config, faults)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(sim.app), base_url="http://sim") as client:
        yield Harness(sim, client, url)
