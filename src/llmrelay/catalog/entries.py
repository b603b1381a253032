"""Catalog entries: what one model's entry holds and how an entry's raw fields are checked."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any

from llmrelay.errors import ConfigError

#: marks an override entry that only refines a known model (see ``overrides_from_settings``)
SOFT = "_soft"
#: the reasoning efforts a model takes (OpenAI reasoning_effort, Anthropic output_config.effort,
#: Gemini 3 thinkingLevel): ``effort_<level>``
EFFORT_MARKS: frozenset[str] = frozenset(
    f"effort_{level}" for level in ("none", "minimal", "low", "medium", "high", "xhigh", "max")
)
#: a model's minimum cacheable prompt prefix when it is not 1,024 tokens (Anthropic)
CACHE_MIN_MARKS: Mapping[str, int] = MappingProxyType({"cache_min_2048": 2048, "cache_min_4096": 4096})
CAPABILITIES: frozenset[str] = frozenset(
    (
        "tools",
        "json_schema",
        "vision",
        "stream_usage",
        "reasoning",
        # thinking controls: a token budget (Anthropic budget_tokens, Gemini 2.5 thinkingBudget),
        # Anthropic's adaptive thinking, Gemini 3's thinkingLevel; thinking that cannot be off
        "thinking_budget",
        "thinking_adaptive",
        "thinking_level",
        "thinking_required",
        # refuses temperature, top_p, top_k and logprobs (OpenAI reasoning models)
        "no_sampling",
        # OpenAI's verbosity parameter (GPT-5 family)
        "verbosity",
        # served by OpenAI's Responses API only: openai/<model> resolves to openai-responses
        "responses_only",
        *EFFORT_MARKS,
        *CACHE_MIN_MARKS,
    )
)
ENCODINGS: frozenset[str] = frozenset(("cl100k_base", "o200k_base"))


@dataclass(frozen=True, slots=True)
class LongContextPrice:
    """Prices that apply instead when a call's prompt (every input token, cached and
    written ones included) has more than ``above`` tokens. A cache price left out is its
    section's multiple of this ``input_price`` (``cache_price_factors``), if any."""

    above: int
    input_price: float | None
    output_price: float | None
    cached_input_price: float | None = None
    cache_write_price: float | None = None
    cache_write_1h_price: float | None = None


@dataclass(frozen=True, slots=True)
class TierPrice:
    """Prices under a service tier other than the standard one (OpenAI ``flex`` and
    ``priority``): they replace the standard prices, long-context ones included, for a
    call the provider reports it served in that tier."""

    input_price: float | None
    output_price: float | None
    cached_input_price: float | None = None
    cache_write_price: float | None = None
    cache_write_1h_price: float | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the catalog knows about one model on one host. Prices: USD per million tokens."""

    provider: str
    model: str
    context_window: int
    max_output: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    cached_input_price: float | None = None
    #: five-minute cache writes (Anthropic's default lifetime; the only one elsewhere)
    cache_write_price: float | None = None
    #: one-hour cache writes (Anthropic ``ttl: "1h"``); None: the section's factor, if any
    cache_write_1h_price: float | None = None
    capabilities: frozenset[str] = frozenset()
    encoding: str | None = None
    long_context: LongContextPrice | None = None
    aliases: tuple[str, ...] = ()
    #: share of every price saved through the provider's batch API (0.5: half price); None:
    #: the section's default (``batch_discounts`` in the data file), if any
    batch_discount: float | None = None
    #: (tier name, prices) for each service tier priced apart from the standard one
    service_tiers: tuple[tuple[str, TierPrice], ...] = ()

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def tier(self, name: str) -> TierPrice | None:
        """The prices of service tier ``name``, or None when the catalog has none."""
        for tier, price in self.service_tiers:
            if tier == name:
                return price
        return None


# --------------------------------------------------------------------------- validation

_PRICE_FIELDS = (
    "input_price",
    "output_price",
    "cached_input_price",
    "cache_write_price",
    "cache_write_1h_price",
)
_CACHE_FIELDS = ("cached_input_price", "cache_write_price", "cache_write_1h_price")
_ENTRY_FIELDS = frozenset(f.name for f in fields(ModelInfo)) - {"provider", "model"}
_OVERRIDE_FIELDS = _ENTRY_FIELDS | {"base", SOFT}


def _price(where: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"catalog entry {where}: {name} must be a non-negative number of US dollars per million "
            f"tokens (or null for unknown), got {value!r}"
        )
    return float(value)


def _count(where: str, name: str, value: Any, *, optional: bool, minimum: int = 1) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "an integer" + (f" >= {minimum}" if minimum else "")
        raise ConfigError(f"catalog entry {where}: {name} must be {kind} (tokens), got {value!r}")
    return value


def _long_context(where: str, raw: Any) -> LongContextPrice | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"catalog entry {where}: long_context must be a mapping, got {raw!r}")
    unknown = set(raw) - {"above", *_PRICE_FIELDS}
    if unknown:
        raise ConfigError(f"catalog entry {where}: long_context has unknown fields {sorted(unknown)}")
    above = _count(where, "long_context.above", raw.get("above"), optional=False)
    assert above is not None
    return LongContextPrice(
        above, **{f: _price(where, f"long_context.{f}", raw.get(f)) for f in _PRICE_FIELDS}
    )


def _service_tiers(where: str, raw: Any) -> tuple[tuple[str, TierPrice], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"catalog entry {where}: service_tiers must map a tier name (flex, priority…) to its "
            f"prices, got {raw!r}"
        )
    out: list[tuple[str, TierPrice]] = []
    for name, prices in raw.items():
        if not isinstance(name, str) or not name or not isinstance(prices, Mapping):
            raise ConfigError(
                f"catalog entry {where}: service_tiers.{name} must be a mapping of prices "
                f"({', '.join(_PRICE_FIELDS)}), got {prices!r}"
            )
        unknown = set(prices) - set(_PRICE_FIELDS)
        if unknown:
            raise ConfigError(
                f"catalog entry {where}: service_tiers.{name} has unknown fields {sorted(unknown)}; "
                f"known: {', '.join(_PRICE_FIELDS)}"
            )
        fields_ = {f: _price(where, f"service_tiers.{name}.{f}", prices.get(f)) for f in _PRICE_FIELDS}
        out.append((name.lower(), TierPrice(**fields_)))
    return tuple(out)


def parse_cache_factors(section: str, raw: Any) -> dict[str, float]:
    """A section's cache prices as multiples of the input price (``cache_price_factors``)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"catalog cache_price_factors.{section} must be a mapping, got {raw!r}")
    unknown = set(raw) - set(_CACHE_FIELDS)
    if unknown:
        raise ConfigError(
            f"catalog cache_price_factors.{section} has unknown fields {sorted(unknown)}; "
            f"known: {', '.join(_CACHE_FIELDS)}"
        )
    out: dict[str, float] = {}
    for name, value in raw.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(
                f"catalog cache_price_factors.{section}.{name} must be a non-negative multiple of the "
                f"input price (0.1 for a tenth), got {value!r}"
            )
        out[name] = float(value)
    return out


def parse_discount(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(
            f"catalog entry {where}: batch_discount must be a share of the price in [0, 1) "
            f"(0.5 for half price), or null for none, got {value!r}"
        )
    return float(value)


def _strings(where: str, name: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, list | tuple | frozenset | set):
        raise ConfigError(f"catalog entry {where}: {name} must be a list of strings, got {raw!r}")
    if not all(isinstance(s, str) and s for s in raw):
        raise ConfigError(f"catalog entry {where}: {name} must hold non-empty strings, got {list(raw)!r}")
    return tuple(raw)


def build_info(provider: str, model: str, raw: Mapping[str, Any], base: ModelInfo | None = None) -> ModelInfo:
    """A ModelInfo from a data-file or override entry, over ``base`` when given.

    Raises ``ConfigError`` naming ``provider/model`` and the bad field.
    """
    where = f"{provider}/{model}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"catalog entry {where} must be a mapping of fields, got {type(raw).__name__}")
    unknown = set(raw) - _OVERRIDE_FIELDS
    if unknown:
        raise ConfigError(
            f"catalog entry {where}: unknown fields {sorted(unknown)}; "
            f"known fields: {', '.join(sorted(_OVERRIDE_FIELDS))}"
        )
    changes: dict[str, Any] = {}
    for name in _PRICE_FIELDS:
        if name in raw:
            changes[name] = _price(where, name, raw[name])
    if "context_window" in raw:
        changes["context_window"] = _count(where, "context_window", raw["context_window"], optional=False)
    if "max_output" in raw:
        changes["max_output"] = _count(where, "max_output", raw["max_output"], optional=True, minimum=0)
    if "capabilities" in raw:
        caps = _strings(where, "capabilities", raw["capabilities"])
        bad = set(caps) - CAPABILITIES
        if bad:
            raise ConfigError(
                f"catalog entry {where}: unknown capabilities {sorted(bad)}; "
                f"known: {', '.join(sorted(CAPABILITIES))}"
            )
        changes["capabilities"] = frozenset(caps)
    if "encoding" in raw:
        enc = raw["encoding"]
        if enc is not None and enc not in ENCODINGS:
            raise ConfigError(
                f"catalog entry {where}: encoding must be one of {', '.join(sorted(ENCODINGS))} "
                f"or null, got {enc!r}"
            )
        changes["encoding"] = enc
    if "long_context" in raw:
        changes["long_context"] = _long_context(where, raw["long_context"])
    if "batch_discount" in raw:
        changes["batch_discount"] = parse_discount(where, raw["batch_discount"])
    if "service_tiers" in raw:
        changes["service_tiers"] = _service_tiers(where, raw["service_tiers"])
    if "aliases" in raw:
        changes["aliases"] = _strings(where, "aliases", raw["aliases"])
    if base is not None:
        return replace(base, provider=provider, model=model, **changes)
    if "context_window" not in changes:
        raise ConfigError(
            f"catalog entry {where}: context_window is required for a model the catalog does not "
            "already know (or give base: 'provider/model' to start from a known entry)"
        )
    return ModelInfo(provider=provider, model=model, **changes)


def split_key(key: Any) -> tuple[str, str]:
    if not isinstance(key, str):
        raise ConfigError(f"catalog override key must be a string 'provider/model', got {key!r}")
    provider, sep, model = key.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(f"catalog override key {key!r} must be 'provider/model', e.g. 'openai/gpt-4o'")
    return provider, model


def base_key(key: str, base: Any) -> tuple[str, str]:
    if base is None:
        return ("", "")
    if not isinstance(base, str) or base.count("/") < 1 or base.startswith("/") or base.endswith("/"):
        raise ConfigError(
            f"catalog entry {key}: base {base!r} must be 'provider/model', e.g. 'openai/gpt-4o'"
        )
    provider, _, model = base.partition("/")
    return provider, model


def validate_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> None:
    """Check override entries without a base catalog (for settings validation).

    Raises ``ConfigError`` naming the entry; a later ``Catalog.load`` still checks that
    new models give a context window.
    """
    for key, raw in overrides.items():
        provider, model = split_key(key)
        if isinstance(raw, Mapping):
            base_key(key, raw.get("base"))
        placeholder = ModelInfo(provider=provider, model=model, context_window=1)
        build_info(provider, model, raw, base=placeholder)
