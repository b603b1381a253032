"""The cost estimate: input cost from offline counts and catalog prices, an upper bound from
the output bound, the batch discount in provider mode, unpriced items set apart."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.app.batch import estimate_batch, run_batch
from llmrelay.app.batch.estimate import estimate_items
from llmrelay.app.batch.items import load_items
from llmrelay.settings import Settings
from llmrelay.tokens import count_for
from llmrelay.types import Usage


async def test_estimate_prices_inputs_and_bounds_outputs() -> None:
    async with llmrelay.Client(Settings.load(ledger={"enabled": False})) as client:
        items = load_items(
            [{"prompt": "hello there", "max_tokens": 100}, {"prompt": "general kenobi", "max_tokens": 50}],
            model="local",
        )
        est = estimate_items(client, items)
        provider = estimate_items(client, items, "provider")
        info = client.catalog.lookup("simulator", "sim-1")
        counts = [count_for(i.request, info, "openai", "sim-1").tokens for i in items if i.request]
    assert est.items == 2 and est.prompt_tokens == sum(counts) and est.output_tokens == 150
    # sim-1: $1 per million input, $2 per million output (notional prices in the catalog)
    assert est.input_cost == pytest.approx(sum(counts) * 1e-6)
    assert est.max_cost == pytest.approx(
        sum(counts) * 1.25e-6 + 150 * 2e-6
    )  # dearer of input and cache write
    assert provider.input_cost == pytest.approx(est.input_cost / 2)
    assert provider.max_cost == pytest.approx(est.max_cost / 2)
    assert est.bounded and "2 items" in est.describe() and "batch price" in provider.describe()


async def test_unpriced_and_unroutable_items_are_set_apart() -> None:
    async with llmrelay.Client(Settings.load(ledger={"enabled": False})) as client:
        items = load_items(
            [
                {"prompt": "priced", "max_tokens": 10},
                {"prompt": "no price", "model": "simulator/house-model-without-price"},
                {"prompt": "unknown", "model": "nosuchalias"},
                {"prompt": 5},  # a problem: not sent, not counted
            ],
            model="local",
        )
        est = estimate_items(client, items)
        bare = estimate_items(client, load_items([{"prompt": "no max_tokens"}], model="local"))
        cost_of_one = client.catalog.cost(client.catalog.lookup("simulator", "sim-1"), Usage(input_tokens=1))
    assert est.items == 3 and est.unpriced == 2 and not est.bounded
    assert "2 items have no known price" in est.describe()
    assert cost_of_one == pytest.approx(1e-6)
    assert bare.output_tokens == 16384  # the catalog's max_output for sim-1


async def test_estimate_leaves_out_what_the_journal_has(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    prompts = [f"p{i}" for i in range(6)]
    async with llmrelay.Client(Settings.load(ledger={"enabled": False})) as client:
        await run_batch(client, prompts[:4], output=out)
        assert (await estimate_batch(client, prompts, output=out)).items == 2
        assert (await estimate_batch(client, prompts)).items == 6
