"""Embeddings go through the same pipeline as chat: retries, ledger, budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.ledger import open_backend
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.types import Subject


def settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings.load(
        ledger={"url": f"sqlite:///{tmp_path}/ledger.sqlite3", "flush_interval": 0.05},
        retry={"base_delay": 0.01, "max_delay": 0.02},
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("fault", [Fault.rate_limited(retry_after=0.01), Fault.error(503)])
async def test_embeddings_are_retried_and_recorded(tmp_path: Path, fault: Fault) -> None:
    async with llmrelay.Client(settings(tmp_path), environ={}) as client:
        client.simulator.faults = FaultSequence([fault])
        result = await client.embed(["alpha", "beta"], subject=Subject(key_id="vk_1"))
        assert len(result.vectors) == 2
        assert result.meta.attempts == 2 and client.simulator.stats.total_requests == 2
        assert result.usage is not None and result.usage.input_tokens > 0
    backend = open_backend(f"sqlite:///{tmp_path}/ledger.sqlite3")
    try:
        (rec,) = await backend.fetch()
    finally:
        await backend.aclose()
    assert rec.id == result.meta.ledger_id and rec.status == "ok" and rec.attempts == 2
    assert rec.key == "vk_1" and rec.input_tokens == result.usage.input_tokens
    assert rec.model == result.model


async def test_a_budget_refuses_embeddings_it_cannot_afford(tmp_path: Path) -> None:
    tight = settings(
        tmp_path,
        budgets={"rules": [{"scope": "key", "period": "day", "hard": 0.0000001}]},
        catalog={
            "models": {
                "simulator/sim-embed-1": {"context_window": 8192, "input_price": 1000.0, "output_price": 0}
            }
        },
    )
    async with llmrelay.Client(tight, environ={}) as client:
        with pytest.raises(llmrelay.BudgetExceededError):
            await client.embed(
                ["a long text " * 50], model="simulator/sim-embed-1", subject=Subject(key_id="k")
            )
        assert client.simulator.stats.total_requests == 0  # refused before sending
        # without a key subject, that budget does not apply
        assert (await client.embed(["a"], model="simulator/sim-embed-1")).vectors
