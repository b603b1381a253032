"""The simulator's Gemini batch mode: raw HTTP, then the official google-genai SDK over TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.engine import expected_text
from llmrelay.simulator.server import build_server

FAST = {"batch_turnaround": 600.0, "batch_speed": 600.0 / 0.1}
KEY = {"x-goog-api-key": "AIza-test-key"}


def inline(text: str, key: str, **request: Any) -> dict[str, Any]:
    return {
        "request": {"contents": [{"role": "user", "parts": [{"text": text}]}], **request},
        "metadata": {"key": key},
    }


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, Simulator]]:
    sim = Simulator(SimulatorConfig(seed=8, **FAST))
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=KEY) as client:
        yield client, sim


async def wait_done(client: httpx.AsyncClient, name: str, version: str = "v1beta") -> dict[str, Any]:
    for _ in range(300):
        operation = (await client.get(f"/{version}/{name}")).json()
        if operation["done"]:
            return dict(operation)
        await asyncio.sleep(0.01)
    raise AssertionError("the batch did not finish")


async def test_a_batch_operation_answers_in_request_order(http) -> None:
    client, sim = http
    requests = [inline(f"question {i}", f"k{i}") for i in range(5)]
    requests.append(inline("bad", "bad", generationConfig={"temperature": 9}))
    body = {"batch": {"displayName": "mine", "inputConfig": {"requests": {"requests": requests}}}}
    created = await client.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", json=body)
    assert created.status_code == 200, created.text
    operation = created.json()
    assert operation["name"].startswith("batches/") and operation["done"] is False
    assert operation["metadata"]["state"] == "BATCH_STATE_PENDING"
    assert operation["metadata"]["batchStats"]["pendingRequestCount"] == "6"
    done = await wait_done(client, operation["name"])
    meta = done["metadata"]
    assert meta["state"] == "BATCH_STATE_SUCCEEDED" and meta["displayName"] == "mine"
    assert (
        meta["batchStats"]["successfulRequestCount"] == "5"
        and meta["batchStats"]["failedRequestCount"] == "1"
    )
    inlined = meta["output"]["inlinedResponses"]["inlinedResponses"]
    assert done["response"]["inlinedResponses"]["inlinedResponses"] == inlined
    assert [x["metadata"]["key"] for x in inlined] == [f"k{i}" for i in range(5)] + ["bad"]
    for i, x in enumerate(inlined[:5]):
        assert x["response"]["candidates"][0]["content"]["parts"][0]["text"] == expected_text(
            f"question {i}", seed=8
        )
    assert inlined[5]["error"]["code"] == 3 and "temperature" in inlined[5]["error"]["message"].lower()
    assert sim.stats.requests["gemini"] == 5


async def test_cancel_list_delete_and_refusals(http) -> None:
    client, _ = http
    slow = Simulator(SimulatorConfig(batch_turnaround=600.0, batch_speed=60.0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=slow.app), base_url="http://s", headers=KEY
    ) as c:
        body = {"batch": {"inputConfig": {"requests": {"requests": [inline("a", "a"), inline("b", "b")]}}}}
        operation = (await c.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", json=body)).json()
        assert (await c.post(f"/v1beta/{operation['name']}:cancel")).json() == {}
        await asyncio.sleep(1.1)
        done = await wait_done(c, operation["name"])
        assert done["metadata"]["state"] == "BATCH_STATE_CANCELLED"
        errors = [
            x["error"]["code"] for x in done["metadata"]["output"]["inlinedResponses"]["inlinedResponses"]
        ]
        assert errors == [1, 1]
        listed = (await c.get("/v1beta/batches")).json()["operations"]
        assert [o["name"] for o in listed] == [operation["name"]]
        assert (await c.delete(f"/v1beta/{operation['name']}")).status_code == 200
        assert (await c.get(f"/v1beta/{operation['name']}")).status_code == 404
    empty = await client.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", json={"batch": {}})
    assert empty.status_code == 400 and empty.json()["error"]["status"] == "INVALID_ARGUMENT"
    keyed = Simulator(SimulatorConfig(api_keys=frozenset({"AIza-right"})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keyed.app), base_url="http://k") as c:
        assert (await c.get("/v1beta/batches")).status_code == 403
        wrong = await c.get("/v1beta/batches", headers={"x-goog-api-key": "AIza-wrong"})
        assert wrong.status_code == 400 and "AIza-wrong" not in wrong.text
        assert (await c.get("/v1beta/batches", headers={"x-goog-api-key": "AIza-right"})).status_code == 200


async def test_openai_and_gemini_share_v1_batches_by_credentials(http) -> None:
    client, _ = http
    body = {"batch": {"inputConfig": {"requests": {"requests": [inline("v1 please", "only")]}}}}
    operation = (await client.post("/v1/models/gemini-2.5-flash:batchGenerateContent", json=body)).json()
    done = await wait_done(client, operation["name"], version="v1")
    assert done["metadata"]["batchStats"]["successfulRequestCount"] == "1"
    as_openai = await client.get(
        "/v1/batches", headers={"x-goog-api-key": "", "authorization": "Bearer sk-x"}
    )
    assert as_openai.json()["object"] == "list" and as_openai.json()["data"] == []


@pytest.mark.sdk
def test_the_official_sdk_runs_a_batch() -> None:
    import time

    from google import genai
    from google.genai import types
    from tests.simulator.test_server import running

    server, _ = build_server("127.0.0.1", 0, SimulatorConfig(seed=9, **FAST))
    with running(server) as port:
        client = genai.Client(
            api_key="AIza-sdk", http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{port}")
        )
        src: Any = [
            {"contents": [{"role": "user", "parts": [{"text": f"hello {i}"}]}], "metadata": {"key": f"r{i}"}}
            for i in range(3)
        ]
        job = client.batches.create(model="gemini-2.5-flash", src=src, config={"display_name": "sdk"})
        assert job.name is not None
        for _ in range(300):
            if job.done:
                break
            time.sleep(0.01)
            job = client.batches.get(name=job.name)
        listed = [j.name for j in client.batches.list()]
    assert job.state is not None and job.state.name == "JOB_STATE_SUCCEEDED"
    assert job.dest is not None and job.dest.inlined_responses is not None
    texts = {
        r.metadata["key"]: r.response.text for r in job.dest.inlined_responses if r.metadata and r.response
    }
    assert texts == {f"r{i}": expected_text(f"hello {i}", seed=9) for i in range(3)}
    assert listed == [job.name]
    assert json.dumps(texts)
