"""The simulator's OpenAI Batch and Files APIs: raw HTTP, then the official SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.engine import expected_text

FAST = {"batch_turnaround": 600.0, "batch_speed": 600.0 / 0.1}  # ten simulated minutes in 0.1 s


def line(custom_id: str, content: str, **body: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, Simulator]]:
    sim = Simulator(SimulatorConfig(seed=5, **FAST))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim") as client:
        yield client, sim


async def upload(
    client: httpx.AsyncClient, content: bytes, name: str = "in.jsonl", purpose: str = "batch"
) -> Any:
    return await client.post("/v1/files", data={"purpose": purpose}, files={"file": (name, content)})


async def run(client: httpx.AsyncClient, rows: list[Any]) -> dict[str, Any]:
    file = (await upload(client, jsonl(rows))).json()
    created = await client.post(
        "/v1/batches",
        json={"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["status"] == "validating" and batch["request_counts"]["total"] == 0
    for _ in range(200):
        batch = (await client.get(f"/v1/batches/{batch['id']}")).json()
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return dict(batch)
        await asyncio.sleep(0.01)
    raise AssertionError(f"batch did not end: {batch}")


async def content(client: httpx.AsyncClient, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    resp = await client.get(f"/v1/files/{file_id}/content")
    return [json.loads(x) for x in resp.text.splitlines()]


async def test_a_batch_runs_every_request_as_a_direct_call_would(http) -> None:
    client, sim = http
    rows = [line(f"r{i}", f"question {i}") for i in range(8)] + [line("bad", "x", temperature=5)]
    batch = await run(client, rows)
    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 9, "completed": 8, "failed": 1}
    assert batch["completed_at"] - batch["created_at"] == 600
    output = await content(client, batch["output_file_id"])
    errors = await content(client, batch["error_file_id"])
    assert sorted(x["custom_id"] for x in output) == sorted(f"r{i}" for i in range(8))
    assert [x["custom_id"] for x in output] != [f"r{i}" for i in range(8)]  # results in an order of their own
    for x in output:
        assert x["response"]["status_code"] == 200 and x["error"] is None
        text = x["response"]["body"]["choices"][0]["message"]["content"]
        assert text == expected_text(f"question {x['custom_id'][1:]}", seed=5)
    (bad,) = errors
    assert bad["custom_id"] == "bad" and bad["response"]["status_code"] == 400
    assert "temperature" in bad["response"]["body"]["error"]["message"]
    assert sim.stats.requests["openai"] == 8  # the refused one never reached the model


async def test_an_invalid_input_file_fails_the_whole_batch(http) -> None:
    client, sim = http
    rows: list[Any] = [line("a", "x"), line("a", "y"), line("b", "z", model="gpt-4o"), {"custom_id": "c"}]
    batch = await run(client, [*rows, line("d", "w") | {"url": "/v1/embeddings"}])
    assert batch["status"] == "failed" and batch["output_file_id"] is None
    codes = [(e["line"], e["code"]) for e in batch["errors"]["data"]]
    assert codes == [
        (2, "duplicate_custom_id"),
        (3, "mismatched_model"),
        (4, "invalid_method"),
        (5, "mismatched_endpoint"),
    ]
    assert sim.stats.total_requests == 0


async def test_cancel_and_expiry_settle_what_was_not_run() -> None:
    slow = Simulator(SimulatorConfig(batch_turnaround=600.0, batch_speed=60.0))  # ten seconds of wall time
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=slow.app), base_url="http://sim"
    ) as client:
        file = (await upload(client, jsonl([line(f"r{i}", "q") for i in range(4)]))).json()
        body = {"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        batch = (await client.post("/v1/batches", json=body)).json()
        cancelling = (await client.post(f"/v1/batches/{batch['id']}/cancel")).json()
        assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] is not None
        await asyncio.sleep(1.1)  # the cancellation takes a simulated minute
        done = (await client.get(f"/v1/batches/{batch['id']}")).json()
        assert done["status"] == "cancelled" and done["request_counts"]["failed"] == 4
        assert {x["error"]["code"] for x in await content(client, done["error_file_id"])} == {
            "batch_cancelled"
        }
        again = await client.post(f"/v1/batches/{batch['id']}/cancel")
        assert again.status_code == 409
    expiring = Simulator(SimulatorConfig(batch_turnaround=48 * 3600.0, batch_speed=48 * 3600.0 / 0.1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=expiring.app), base_url="http://sim"
    ) as client:
        batch = await run(client, [line(f"r{i}", "q") for i in range(4)])
        counts = batch["request_counts"]
        # about half is served when the 24 h window closes (validation takes 2 % of the time first)
        assert batch["status"] == "expired" and counts["total"] == 4 and counts["completed"] in (1, 2)
        assert counts["failed"] == 4 - counts["completed"]
        assert {x["error"]["code"] for x in await content(client, batch["error_file_id"])} == {
            "batch_expired"
        }


async def test_requests_refused_for_the_rate_limit_are_served_later() -> None:
    sim = Simulator(SimulatorConfig(rpm_limit=2, rate_window=0.05, **FAST))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim") as client:
        batch = await run(client, [line(f"r{i}", f"q{i}") for i in range(6)])
    assert batch["status"] == "completed" and batch["request_counts"]["completed"] == 6
    assert sim.stats.requests["openai"] >= 6


@pytest.mark.parametrize(
    ("request_kwargs", "status", "message"),
    [
        (
            {"input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
            404,
            "No such",
        ),
        ({"input_file_id": "F", "endpoint": "/v1/chat/completions", "completion_window": "1h"}, 400, "'24h'"),
        (
            {"input_file_id": "F", "endpoint": "/v1/images", "completion_window": "24h"},
            400,
            "Supported values",
        ),
        (
            {"input_file_id": "F", "endpoint": "/v1/chat/completions", "completion_window": "24h", "x": 1},
            400,
            "x",
        ),
        ({"endpoint": "/v1/chat/completions", "completion_window": "24h"}, 400, "input_file_id"),
    ],
)
async def test_create_refusals(http, request_kwargs: dict[str, Any], status: int, message: str) -> None:
    client, _ = http
    file = (await upload(client, jsonl([line("a", "x")]))).json()
    body = {k: (file["id"] if v == "F" else v) for k, v in request_kwargs.items()}
    resp = await client.post("/v1/batches", json=body)
    assert resp.status_code == status and message in resp.json()["error"]["message"]


async def test_files_api(http) -> None:
    client, _ = http
    assert (await upload(client, b"{}", name="notes.txt")).status_code == 400
    assert (await upload(client, b"{}", purpose="wishes")).status_code == 400
    stored = (await upload(client, b'{"a": 1}\n')).json()
    assert stored["purpose"] == "batch" and stored["bytes"] == 9
    assert (await client.get(f"/v1/files/{stored['id']}")).json()["filename"] == "in.jsonl"
    assert (await client.get(f"/v1/files/{stored['id']}/content")).content == b'{"a": 1}\n'
    listed = (await client.get("/v1/files", params={"purpose": "batch"})).json()["data"]
    assert [f["id"] for f in listed] == [stored["id"]]
    assert (await client.delete(f"/v1/files/{stored['id']}")).json()["deleted"] is True
    assert (await client.get(f"/v1/files/{stored['id']}")).status_code == 404


async def test_keys_are_checked() -> None:
    sim = Simulator(SimulatorConfig(api_keys=frozenset({"sk-right-key-123456"})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim") as client:
        assert (await client.get("/v1/batches")).status_code == 401
        wrong = await client.get("/v1/batches", headers={"authorization": "Bearer sk-wrong"})
        assert wrong.status_code == 401 and "sk-wrong" not in wrong.text
        right = await client.get("/v1/batches", headers={"authorization": "Bearer sk-right-key-123456"})
        assert right.status_code == 200 and right.json()["data"] == []


@pytest.mark.sdk
async def test_the_official_sdk_runs_a_batch_end_to_end() -> None:
    sim = Simulator(SimulatorConfig(seed=2, **FAST))
    http_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app))
    sdk = openai.AsyncOpenAI(
        base_url="http://sim/v1", api_key="sk-test", http_client=http_client, max_retries=0
    )
    async with http_client:
        uploaded = await sdk.files.create(
            file=("in.jsonl", jsonl([line(f"r{i}", f"hi {i}") for i in range(3)])), purpose="batch"
        )
        batch = await sdk.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"k": "v"},
        )
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            await asyncio.sleep(0.01)
            batch = await sdk.batches.retrieve(batch.id)
        assert batch.status == "completed" and batch.metadata == {"k": "v"}
        assert batch.request_counts is not None and batch.request_counts.completed == 3
        assert batch.output_file_id is not None
        text = (await sdk.files.content(batch.output_file_id)).text
        page = await sdk.batches.list(limit=5)
    answers = {json.loads(x)["custom_id"]: json.loads(x)["response"]["body"] for x in text.splitlines()}
    assert set(answers) == {"r0", "r1", "r2"}
    assert answers["r1"]["choices"][0]["message"]["content"] == expected_text("hi 1", seed=2)
    assert [b.id for b in page.data] == [batch.id]
