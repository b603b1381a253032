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


async def test_records_are_priced_under_their_tier_with_what_cache_reads_saved() -> None:
    pricer = CatalogPricer(catalog=Catalog.load())
    base = UsageRecord(
        id="t", ts=1.0, provider="openai", model="gpt-5", input_tokens=10000, output_tokens=2000,
        cached_input_tokens=8000, reasoning_tokens=1500,
    )  # fmt: skip
    # gpt-5 flex: 2000 x 0.625 + 8000 x 0.0625 + 2000 x 5 = 11750 / 1e6; reads saved 8000 x 0.5625
    flex = pricer.price(UsageRecord(**{**_fields(base), "service_tier": "flex"}))
    assert flex.cost == pytest.approx(0.01175) and flex.saved_provider_cache == pytest.approx(0.0045)
    standard = pricer.price(UsageRecord(**{**_fields(base), "service_tier": "default"}))
    assert standard.cost == pytest.approx(0.0235) and standard.saved_provider_cache == pytest.approx(0.009)
    # a tier the catalog has no prices for leaves the cost unknown, never the standard price
    assert pricer.price(UsageRecord(**{**_fields(base), "service_tier": "scale"})).cost is None
    # one-hour writes at 2x the input price: claude-haiku-4-5, 20 x 1 + 5000 x 2 + 100 x 5
    hour = UsageRecord(
        id="h", ts=1.0, provider="anthropic", model="claude-haiku-4-5", input_tokens=5020,
        output_tokens=100, cache_write_tokens=5000, cache_write_1h_tokens=5000,
    )  # fmt: skip
    assert pricer.price(hour).cost == pytest.approx(0.01052)


def _fields(rec: UsageRecord) -> dict[str, object]:
    return {name: getattr(rec, name) for name in rec.__slots__}  # type: ignore[attr-defined]
