"""The catalog's batch discounts: per host section by default, per model when given."""

from __future__ import annotations

import pytest

from llmrelay.catalog import Catalog
from llmrelay.errors import ConfigError
from llmrelay.types import Usage

USAGE = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def test_batch_apis_cost_half_on_the_hosts_that_have_them() -> None:
    catalog = Catalog.load()
    for host, model in [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-haiku-4-5"),
        ("gemini", "gemini-2.5-flash"),
        ("simulator", "sim-1"),
        ("simulator-anthropic", "claude-haiku-4-5"),  # the simulator answers with the provider's prices
    ]:
        info = catalog.lookup(host, model)
        cost = catalog.cost(info, USAGE)
        assert cost is not None and catalog.batch_discount(info) == 0.5
        assert catalog.batch_cost(info, USAGE) == pytest.approx(cost / 2)


def test_no_batch_price_where_none_is_known() -> None:
    catalog = Catalog.load()
    groq = catalog.lookup("groq", "llama-3.1-8b-instant")
    assert groq is not None and catalog.batch_discount(groq) is None
    assert catalog.batch_cost(groq, USAGE) is None
    assert catalog.batch_cost(None, USAGE) is None


def test_overrides_set_a_model_discount_and_are_checked() -> None:
    catalog = Catalog.load(
        {"openai/gpt-4o-mini": {"batch_discount": 0.25}, "groq/llama-3.1-8b-instant": {"batch_discount": 0.5}}
    )
    mini = catalog.lookup("openai", "gpt-4o-mini")
    groq = catalog.lookup("groq", "llama-3.1-8b-instant")
    assert catalog.batch_discount(mini) == 0.25 and catalog.batch_discount(groq) == 0.5
    base = catalog.cost(mini, USAGE)
    assert base is not None and catalog.batch_cost(mini, USAGE) == pytest.approx(base * 0.75)
    # a new entry in a section with a default discount gets it
    house = Catalog.load(
        {"simulator/house": {"context_window": 1000, "input_price": 1.0, "output_price": 1.0}}
    )
    assert house.batch_discount(house.lookup("simulator", "house")) == 0.5
    for bad in (1, 1.5, -0.1, "half", True):
        with pytest.raises(ConfigError, match="batch_discount must be a share"):
            Catalog.load({"openai/gpt-4o": {"batch_discount": bad}})
