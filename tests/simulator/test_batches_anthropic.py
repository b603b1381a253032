"""The simulator's Message Batches API: raw HTTP, then the official SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.engine import expected_text

FAST = {"batch_turnaround": 600.0, "batch_speed": 600.0 / 0.1}
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


def request(custom_id: str, content: str, **params: Any) -> dict[str, Any]:
    base = {
        "model": "claude-haiku-4-5",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": content}],
    }
    return {"custom_id": custom_id, "params": {**base, **params}}


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, Simulator]]:
    sim = Simulator(SimulatorConfig(seed=4, **FAST))
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=HEADERS) as client:
        yield client, sim


async def wait_ended(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    for _ in range(300):
        batch = (await client.get(f"/v1/messages/batches/{batch_id}")).json()
        if batch["processing_status"] == "ended":
            return dict(batch)
        await asyncio.sleep(0.01)
    raise AssertionError("the batch did not end")


async def test_a_batch_answers_each_request_as_a_direct_call_would(http) -> None:
    client, sim = http
    requests = [request(f"r{i}", f"question {i}") for i in range(6)]
    requests.append({"custom_id": "no-max", "params": {"model": "claude-haiku-4-5", "messages": []}})
    requests.append(request("streamed", "x", stream=True))
    created = await client.post("/v1/messages/batches", json={"requests": requests})
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["processing_status"] == "in_progress" and batch["request_counts"]["processing"] == 8
    assert batch["results_url"] is None and batch["created_at"].endswith("Z")
    early = await client.get(f"/v1/messages/batches/{batch['id']}/results")
    assert early.status_code == 400 and "not ended" in early.json()["error"]["message"]
    ended = await wait_ended(client, batch["id"])
    counts = ended["request_counts"]
    assert counts == {"processing": 0, "succeeded": 6, "errored": 2, "canceled": 0, "expired": 0}
    assert ended["results_url"] == f"http://sim/v1/messages/batches/{batch['id']}/results"
    lines = [json.loads(x) for x in (await client.get(ended["results_url"])).text.splitlines()]
    by_id = {x["custom_id"]: x["result"] for x in lines}
    assert [x["custom_id"] for x in lines] != [r["custom_id"] for r in requests]
    for i in range(6):
        message = by_id[f"r{i}"]["message"]
        assert by_id[f"r{i}"]["type"] == "succeeded"
        assert message["content"][0]["text"] == expected_text(f"question {i}", seed=4)
    assert by_id["no-max"]["type"] == "errored"
    assert by_id["no-max"]["error"]["error"]["type"] == "invalid_request_error"
    assert "stream" in by_id["streamed"]["error"]["error"]["message"]
    assert sim.stats.requests["anthropic"] == 6


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requests": []}, "non-empty list"),
        ({"requests": [request("bad id!", "x")]}, "String should match pattern"),
        ({"requests": [request("a", "x"), request("a", "y")]}, "Duplicate custom_id: a"),
        ({"requests": [{"custom_id": "a"}]}, "exactly 'custom_id' and 'params'"),
        ({"requests": [request("a", "x")], "extra": 1}, "Extra inputs are not permitted"),
    ],
)
async def test_malformed_batches_are_refused_at_once(http, body: dict[str, Any], message: str) -> None:
    client, _ = http
    resp = await client.post("/v1/messages/batches", json=body)
    assert resp.status_code == 400 and message in resp.json()["error"]["message"]
    assert resp.json()["type"] == "error"


async def test_cancel_delete_and_list() -> None:
    sim = Simulator(SimulatorConfig(batch_turnaround=600.0, batch_speed=60.0))
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=HEADERS) as client:
        batch = (await client.post("/v1/messages/batches", json={"requests": [request("a", "x")]})).json()
        busy = await client.delete(f"/v1/messages/batches/{batch['id']}")
        assert busy.status_code == 400 and "cancel it first" in busy.json()["error"]["message"]
        canceling = (await client.post(f"/v1/messages/batches/{batch['id']}/cancel")).json()
        assert canceling["processing_status"] == "canceling" and canceling["cancel_initiated_at"]
        await asyncio.sleep(1.1)
        ended = await wait_ended(client, batch["id"])
        assert ended["request_counts"]["canceled"] == 1
        results = (await client.get(ended["results_url"])).text
        assert json.loads(results)["result"] == {"type": "canceled"}
        listed = (await client.get("/v1/messages/batches")).json()
        assert [b["id"] for b in listed["data"]] == [batch["id"]] and listed["has_more"] is False
        deleted = (await client.delete(f"/v1/messages/batches/{batch['id']}")).json()
        assert deleted == {"id": batch["id"], "type": "message_batch_deleted"}
        assert (await client.get(f"/v1/messages/batches/{batch['id']}")).status_code == 404


async def test_headers_are_checked() -> None:
    sim = Simulator(SimulatorConfig(api_keys=frozenset({"sk-ant-right"})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim") as client:
        missing = await client.get("/v1/messages/batches", headers={"anthropic-version": "2023-06-01"})
        assert missing.status_code == 401
        no_version = await client.get("/v1/messages/batches", headers={"x-api-key": "sk-ant-right"})
        assert no_version.status_code == 400 and "anthropic-version" in no_version.text
        ok = await client.get(
            "/v1/messages/batches",
            headers={**HEADERS, "x-api-key": "sk-ant-right"},
        )
        assert ok.status_code == 200


@pytest.mark.sdk
async def test_the_official_sdk_runs_a_message_batch() -> None:
    sim = Simulator(SimulatorConfig(seed=6, **FAST))
    http_client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app))  # this SDK uses httpx2
    sdk = anthropic.AsyncAnthropic(
        base_url="http://sim", api_key="sk-ant-x", http_client=http_client, max_retries=0
    )
    async with http_client:
        batch = await sdk.messages.batches.create(requests=[request(f"r{i}", f"hello {i}") for i in range(3)])  # type: ignore[misc]
        while batch.processing_status != "ended":
            await asyncio.sleep(0.01)
            batch = await sdk.messages.batches.retrieve(batch.id)
        results = {r.custom_id: r.result async for r in await sdk.messages.batches.results(batch.id)}
    assert batch.request_counts.succeeded == 3
    assert set(results) == {"r0", "r1", "r2"}
    first = results["r0"]
    assert first.type == "succeeded"
    block = first.message.content[0]
    assert block.type == "text" and block.text == expected_text("hello 0", seed=6)
