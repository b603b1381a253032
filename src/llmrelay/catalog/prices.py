"""How a call's usage becomes dollars: the prices that apply to it, and the sum.

Pure functions over catalog entries, used by ``Catalog.cost``/``charge``; see
docs/tokens-and-costs.md for the rules and a worked example.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from llmrelay.catalog.entries import LongContextPrice, ModelInfo, TierPrice, build_info
from llmrelay.errors import ConfigError
from llmrelay.types import Usage

_PER_TOKEN = 1e-6  # prices are per million tokens

#: tier names providers report for their standard, pay-as-you-go prices (OpenAI says
#: ``default``, Anthropic ``standard``; an echo of a request's ``auto`` means the same)
STANDARD_TIERS: frozenset[str] = frozenset(("default", "standard", "auto", "on_demand"))
#: the tier Anthropic reports for a Message Batches result: the batch discount applies
BATCH_TIER = "batch"
#: fields of a data-file ``pricing`` entry (prices kept apart from the model entries)
_PRICING_FIELDS = frozenset(
    (
        "input_price",
        "output_price",
        "cached_input_price",
        "cache_write_price",
        "cache_write_1h_price",
        "long_context",
        "service_tiers",
        "batch_discount",
    )
)


class Rates(NamedTuple):
    """The prices one call is billed at (USD per million tokens; None: unknown). A named
    tuple: built for every priced call, and cheaper to build than a frozen dataclass."""

    input: float | None
    output: float | None
    cached_input: float | None
    cache_write: float | None
    cache_write_1h: float | None


class Charge(NamedTuple):
    """What a call cost (USD), and what its provider-cache reads saved: those tokens at
    the input price less what they were billed (0 without cache reads)."""

    cost: float
    cache_savings: float


def rates_for(
    info: ModelInfo,
    prompt_tokens: int,
    tier: str | None,
    factors: Mapping[str, float] | None,
    standard: frozenset[str] = frozenset(),
) -> Rates | None:
    """The prices for a call on ``info`` (see ``Catalog.rates``); ``factors`` are the
    section's cache prices as multiples of the input price, for prices an entry leaves out;
    ``standard`` the section's other tier names billed at the standard prices."""
    name = tier.lower() if tier else None
    src: ModelInfo | LongContextPrice | TierPrice | None
    if name is None or name in STANDARD_TIERS or name in standard:
        lc = info.long_context
        src = lc if lc is not None and prompt_tokens > lc.above else info
    else:
        src = info.tier(name)
        if src is None:
            return None
    base = src.input_price
    cached, write, write_1h = src.cached_input_price, src.cache_write_price, src.cache_write_1h_price
    if factors and base is not None:
        # only the prices the entry leaves out come from the section's factors
        if cached is None and "cached_input_price" in factors:
            cached = base * factors["cached_input_price"]
        if write is None and "cache_write_price" in factors:
            write = base * factors["cache_write_price"]
        if write_1h is None and "cache_write_1h_price" in factors:
            write_1h = base * factors["cache_write_1h_price"]
    return Rates(base, src.output_price, cached, write, write_1h)


def charge_at(rates: Rates, usage: Usage) -> Charge | None:
    """``usage`` at ``rates``, or None when a price it needs is unknown."""
    price_in, price_out, price_cached, price_write, price_1h = rates
    cached = max(0, usage.cached_input_tokens)
    written = max(0, usage.cache_write_tokens)
    hour = min(max(0, usage.cache_write_1h_tokens), written)
    plain = max(0, usage.input_tokens - cached - written)
    output = max(0, usage.output_tokens)
    total = saved = 0.0
    # a kind of token the call used whose price is unknown makes the whole cost unknown
    if plain:
        if price_in is None:
            return None
        total += plain * price_in
    if cached:
        if price_cached is None or price_in is None:
            return None
        total += cached * price_cached
        saved = cached * (price_in - price_cached)
    if written > hour:
        if price_write is None:
            return None
        total += (written - hour) * price_write
    if hour:
        if price_1h is None:
            return None
        total += hour * price_1h
    if output:
        if price_out is None:
            return None
        total += output * price_out
    if total == 0.0 and (price_in is None or price_out is None):
        return None  # nothing billed, but only a known price can say it is free
    return Charge(total * _PER_TOKEN, saved * _PER_TOKEN)


def apply_pricing(models: dict[str, dict[str, ModelInfo]], pricing: Any) -> None:
    """Merge the data file's ``pricing`` block (section -> model -> price fields) into the
    entries it names; prices kept there are listed per provider rule, apart from the
    entries' other facts."""
    if not isinstance(pricing, Mapping):
        raise ConfigError("the catalog's pricing block must map sections to models; reinstall llmrelay")
    for section, entries in pricing.items():
        known = models.get(section, {})
        if not isinstance(entries, Mapping):
            raise ConfigError(f"catalog pricing.{section} must map model names to price fields")
        for name, raw in entries.items():
            base = known.get(name)
            if base is None:
                raise ConfigError(f"catalog pricing.{section}.{name}: no such model in section {section!r}")
            if not isinstance(raw, Mapping) or set(raw) - _PRICING_FIELDS:
                raise ConfigError(
                    f"catalog pricing.{section}.{name}: only price fields belong here "
                    f"({', '.join(sorted(_PRICING_FIELDS))})"
                )
            known[name] = build_info(section, name, raw, base=base)
