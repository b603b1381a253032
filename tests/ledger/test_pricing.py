from __future__ import annotations

import logging

import pytest

from llmrelay.catalog import Catalog
from llmrelay.ledger.pricing import CatalogPricer
from llmrelay.ledger.record import UsageRecord


async def test_records_without_a_cost_are_priced_from_the_catalog() -> None:
    catalog = Catalog.load()
    pricer = CatalogPricer(catalog=catalog)
    await pricer.load()  # already loaded: nothing to do
    rec = UsageRecord(
        id="a", ts=1.0, provider="openai", model="gpt-4o-mini", input_tokens=1000, output_tokens=100
    )
    info = catalog.lookup("openai", "gpt-4o-mini")
    assert info is not None and info.input_price is not None and info.output_price is not None
    expected = (1000 * info.input_price + 100 * info.output_price) / 1e6
    assert pricer.price(rec).cost == pytest.approx(expected)


async def test_what_is_not_priced() -> None:
    pricer = CatalogPricer()
    await pricer.load()
    known = UsageRecord(id="k", ts=1.0, provider="openai", model="gpt-4o-mini", input_tokens=10, cost=9.0)
    assert pricer.price(known).cost == 9.0  # a cost already there is kept
    no_usage = UsageRecord(id="n", ts=1.0, provider="openai", model="gpt-4o-mini")
    assert pricer.price(no_usage).cost is None  # no usage reported: nothing to price
    unknown = UsageRecord(id="u", ts=1.0, provider="groq", model="no-such-model", input_tokens=10)
    assert pricer.price(unknown).cost is None  # unknown price stays unknown, never $0


async def test_overrides_apply_and_a_broken_catalog_leaves_costs_unknown(caplog) -> None:
    pricer = CatalogPricer(
        {"openai/house-model": {"context_window": 8000, "input_price": 1.0, "output_price": 2.0}}
    )
    await pricer.load()
    rec = UsageRecord(
        id="h", ts=1.0, provider="openai", model="house-model", input_tokens=1_000_000, output_tokens=0
    )
    assert pricer.price(rec).cost == pytest.approx(1.0)

    broken = CatalogPricer({"openai/house-model": {"input_price": "cheap"}})
    with caplog.at_level(logging.ERROR, logger="llmrelay.ledger"):
        await broken.load()
    assert "costs will be recorded as unknown" in caplog.text
    assert broken.price(rec).cost is None
