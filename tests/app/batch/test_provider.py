"""Provider mode against the simulator's batch APIs (OpenAI Batch, Anthropic Message Batches,
Gemini batch mode).

Acceptance: the same items give the same results as the synchronous path, at the batch
price (the catalog's discount: half), for OpenAI, Anthropic and Gemini. Also: an
interrupted run resumes by polling the batch it submitted, expired requests are sent again
on resume, keys never reach the files, and a model without a batch API is refused before
anything is sent.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.app.batch import BatchReport, run_batch
from llmrelay.errors import UnsupportedFeatureError
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.batch_jobs import call_app
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Transport

ITEMS: list[dict[str, Any]] = [
    *({"id": f"plain-{i}", "prompt": f"Tell me about item {i}"} for i in range(12)),
    {"id": "short", "prompt": "Write a long story", "max_tokens": 5},
    {"id": "system", "system": "Answer briefly.", "messages": [{"role": "user", "content": "What is TCP?"}]},
    {"id": "seeded", "prompt": "A seeded reply", "seed": 42, "temperature": 0.2},
    {"id": "stops", "prompt": "Too many stops", "stop": ["a", "b", "c", "d", "e"]},  # over OpenAI's four
]
MODELS = ["local", "simulator-anthropic/claude-haiku-4-5", "simulator-gemini/gemini-2.5-flash"]


def settings(**extra: Any) -> Settings:
    return Settings.load(ledger={"enabled": False}, **extra)


async def batch_stats(sim: Simulator) -> dict[str, Any]:
    status, _, body = await call_app(sim.app, "GET", "/_simulator/batches", [], b"")
    assert status == 200
    return dict(json.loads(body))


@pytest.mark.parametrize("model", MODELS)
async def test_provider_mode_matches_the_sync_path_at_the_batch_price(model: str, tmp_path: Path) -> None:
    async with llmrelay.Client(settings()) as client:
        sync = await run_batch(client, ITEMS, model=model, output=tmp_path / "sync.jsonl")
        provider = await run_batch(
            client,
            ITEMS,
            model=model,
            mode="provider",
            output=tmp_path / "provider.jsonl",
            poll_interval=0.02,
        )
        stats = await batch_stats(client.simulator)

    api = "anthropic" if "anthropic" in model else "gemini" if "gemini" in model else "openai"
    assert stats[api]["batches"] == 1
    assert [r.id for r in provider.results] == [str(i["id"]) for i in ITEMS]
    for s, p in zip(sync.results, provider.results, strict=True):
        assert s.ok == p.ok, (s, p)
        if s.response is None or p.response is None:
            assert s.error is not None and p.error is not None
            assert (s.error.type, s.error.status) == (p.error.type, p.error.status)
            continue
        assert p.response.text == s.response.text
        assert p.response.usage == s.response.usage
        assert p.response.finish_reason == s.response.finish_reason
        assert s.response.cost is not None and p.response.cost == pytest.approx(s.response.cost * 0.5)
    assert sync.cost is not None and provider.cost == pytest.approx(sync.cost * 0.5)
    # Anthropic and Gemini take five stop sequences; OpenAI refuses them, per item, in both paths
    assert provider.results[-1].ok == (api != "openai")
    lines = [json.loads(x) for x in (tmp_path / "provider.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [str(i["id"]) for i in ITEMS]


class _CancelWhilePolling:
    """A progress display that cancels the run the first time a poll reports progress."""

    def __init__(self, task: list[asyncio.Task[BatchReport]]) -> None:
        self.task = task

    def start(self, total: int, done: int, failed: int, cost: float | None, label: str) -> None:
        pass

    def update(self, done: int, failed: int, cost: float | None) -> None:
        self.task[0].cancel()

    def finish(self) -> None:
        pass


async def test_an_interrupted_provider_run_resumes_by_polling_its_batch(tmp_path: Path) -> None:
    items = [f"question {i}" for i in range(30)]
    async with llmrelay.Client(settings()) as client:
        holder: list[asyncio.Task[BatchReport]] = []
        task = asyncio.ensure_future(
            run_batch(
                client,
                items,
                mode="provider",
                output=tmp_path / "out.jsonl",
                poll_interval=0.01,
                progress=_CancelWhilePolling(holder),
            )
        )
        holder.append(task)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await batch_stats(client.simulator))["openai"]["batches"] == 1
        report = await run_batch(
            client, items, mode="provider", output=tmp_path / "out.jsonl", poll_interval=0.01
        )
        stats = await batch_stats(client.simulator)
        sync = await run_batch(client, items)
    assert stats["openai"]["batches"] == 1, "the resumed run submitted the batch again"
    assert stats["openai"]["requests_served"] == len(items)
    assert report.succeeded == len(items) and report.resumed == 0
    assert [r.response.text for r in report.results if r.response] == [
        r.response.text for r in sync.results if r.response
    ]


async def test_expired_requests_are_sent_again_on_resume(tmp_path: Path) -> None:
    # the batch needs 48 simulated hours: half of it is left when the 24 h window closes
    sim = Simulator(SimulatorConfig(batch_turnaround=48 * 3600, batch_speed=48 * 3600 / 0.3))
    transport = Transport(mounts={"http://slow.sim": StreamingASGITransport(sim.app)})
    slow = {"deployments": [{"provider": "simulator", "model": "sim-1", "base_url": "http://slow.sim/v1"}]}
    items = [f"question {i}" for i in range(40)]
    async with transport, llmrelay.Client(settings(models={"slow": slow}), transport=transport) as client:
        first = await run_batch(
            client,
            items,
            model="slow",
            mode="provider",
            output=tmp_path / "out.jsonl",
            poll_interval=0.02,
            transport=transport,
        )
        expired = [r for r in first.results if not r.ok]
        assert 0 < len(expired) < len(items)
        assert all(
            r.error is not None and r.error.retryable and r.error.code == "batch_expired" for r in expired
        )
        second = await run_batch(
            client,
            items,
            model="slow",
            mode="provider",
            output=tmp_path / "out.jsonl",
            poll_interval=0.02,
            transport=transport,
        )
    # the second batch (20 requests) also expires half way: what is left needs a third run
    assert second.resumed == len(items) - len(expired)
    assert second.succeeded > first.succeeded
    assert sim.stats.total_requests == second.succeeded


async def test_keys_reach_the_provider_but_never_the_files(tmp_path: Path) -> None:
    key = "sk-proj-batchsecret0123456789abcdefABCDEF"
    sim = Simulator(SimulatorConfig(api_keys=frozenset({key})))
    transport = Transport(mounts={"http://keyed.sim": StreamingASGITransport(sim.app)})
    keyed = {
        "deployments": [
            {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://keyed.sim/v1", "api_key": key}
        ]
    }
    wrong = {
        "deployments": [
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": "http://keyed.sim/v1",
                "api_key": "sk-wrong-1",
            }
        ]
    }
    async with (
        transport,
        llmrelay.Client(settings(models={"keyed": keyed, "wrong": wrong}), transport=transport) as c,
    ):
        ok = await run_batch(
            c,
            ["hello", "there"],
            model="keyed",
            mode="provider",
            output=tmp_path / "ok.jsonl",
            transport=transport,
            poll_interval=0.02,
        )
        refused = await run_batch(
            c, ["hello"], model="wrong", mode="provider", output=tmp_path / "no.jsonl", transport=transport
        )
    assert ok.succeeded == 2
    assert ok.cost is not None and ok.cost > 0
    assert refused.failed == 1 and refused.results[0].error is not None
    assert refused.results[0].error.type == "AuthenticationError"
    for path in tmp_path.iterdir():
        assert key.encode() not in path.read_bytes(), path.name


async def test_a_model_without_a_batch_api_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    azure = {
        "deployments": [{"provider": "azure", "model": "my-dep", "base_url": "http://az.sim", "api_key": "k"}]
    }
    async with llmrelay.Client(settings(models={"azure": azure})) as client:
        with pytest.raises(UnsupportedFeatureError, match="Azure OpenAI"):
            await run_batch(client, ["a", "b"], model="azure", mode="provider", output=tmp_path / "out.jsonl")
        stats = await batch_stats(client.simulator)
    assert client.simulator.stats.total_requests == 0
    assert all(stats[api]["batches"] == 0 for api in ("openai", "anthropic", "gemini"))


class _FlakyPolls:
    """ASGI wrapper: the first ``failures`` polls of a batch get a 503."""

    def __init__(self, app: Any, failures: int) -> None:
        self.app = app
        self.failures = failures

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        poll = (
            scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith("/v1/batches/")
        )
        if poll and self.failures > 0:
            self.failures -= 1
            error = {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}}
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": json.dumps(error).encode()})
            return
        await self.app(scope, receive, send)


async def test_failed_polls_are_retried_then_the_run_stops_resumably(tmp_path: Path) -> None:
    from llmrelay.app.batch.provider import MAX_POLL_FAILURES
    from llmrelay.errors import ServiceUnavailableError

    sim = Simulator(SimulatorConfig())
    flaky = _FlakyPolls(sim.app, failures=3)
    transport = Transport(mounts={"http://flaky.sim": StreamingASGITransport(flaky)})
    dep = {"deployments": [{"provider": "simulator", "model": "sim-1", "base_url": "http://flaky.sim/v1"}]}
    items = [f"q{i}" for i in range(5)]
    args: dict[str, Any] = {
        "model": "flaky",
        "mode": "provider",
        "poll_interval": 0.01,
        "transport": transport,
    }
    async with transport, llmrelay.Client(settings(models={"flaky": dep}), transport=transport) as client:
        report = await run_batch(client, items, output=tmp_path / "a.jsonl", **args)
        assert report.succeeded == 5 and flaky.failures == 0  # three failed polls, then on
        flaky.failures = MAX_POLL_FAILURES
        with pytest.raises(ServiceUnavailableError):
            await run_batch(client, items, output=tmp_path / "b.jsonl", **args)
        resumed = await run_batch(client, items, output=tmp_path / "b.jsonl", **args)
        stats = await batch_stats(sim)
    assert (
        resumed.succeeded == 5 and stats["openai"]["batches"] == 2
    )  # the second run's batch was polled again
