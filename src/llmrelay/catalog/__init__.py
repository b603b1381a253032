"""The model catalog: context windows, output limits, prices and capabilities.

The data lives in ``llmrelay/data/catalog.yaml`` (shipped in the wheel); configuration
overrides or extends it per ``provider/model``. Prices are US dollars per million
tokens; an unknown price is ``None`` and makes every cost that needs it ``None`` too —
never a silent $0.

    catalog = Catalog.load({"openai/gpt-4o": {"input_price": 2.0}})
    info = catalog.lookup("openai", "gpt-4o-2024-08-06")   # dated names resolve
    catalog.cost(info, response.usage, tier="flex")          # USD or None, under the tier served
    catalog.batch_cost(info, response.usage)                 # the same call through a batch API

How a cost is computed is documented in docs/tokens-and-costs.md: every kind of token
the provider billed (uncached input, cache reads, five-minute and one-hour cache writes,
output with reasoning) at its own price, under the long-context prices when the prompt
is past the model's threshold and under the service tier the provider says it used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from llmrelay.catalog.entries import (
    CAPABILITIES,
    ENCODINGS,
    SOFT,
    LongContextPrice,
    ModelInfo,
    TierPrice,
    base_key,
    build_info,
    parse_cache_factors,
    parse_discount,
    split_key,
    validate_overrides,
)
from llmrelay.catalog.prices import (
    BATCH_TIER,
    STANDARD_TIERS,
    Charge,
    Rates,
    apply_pricing,
    charge_at,
    rates_for,
)
from llmrelay.errors import ConfigError
from llmrelay.types import Usage

if TYPE_CHECKING:
    from llmrelay.settings import Settings

_PER_TOKEN = 1e-6  # prices are per million tokens

# --------------------------------------------------------------------------- name matching

# Suffixes that name a snapshot of the same model: dates (-2024-08-06, -20241022, @20250929,
# -0613), revision numbers (-001), "-latest", "-preview"/"-exp" and Bedrock's "-v2:0". An
# exact name is always tried first, so a listed preview (gemini-3-pro-preview) keeps its entry.
_SUFFIXES = (
    re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3})$"),
    re.compile(r"-\d{2}-(?:\d{2}|\d{4})$"),
    re.compile(r"-(?:latest|preview|exp)$"),
    re.compile(r"-v\d+(?::\d+)?$"),
)


def _candidates(model: str) -> Iterator[str]:
    name = model.strip()
    if name.startswith("models/"):  # Gemini resource names
        name = name[len("models/") :]
    seen: set[str] = set()
    forms = [name, name.lower()]
    while True:
        for pattern in _SUFFIXES:
            stripped = pattern.sub("", forms[-1])
            if stripped != forms[-1] and stripped:
                forms.append(stripped)
                break
        else:
            break
    # "claude-sonnet-4.5" (OpenRouter's spelling) is "claude-sonnet-4-5"
    forms.extend([f.replace(".", "-") for f in forms if f.startswith("claude")])
    for form in forms:
        if form not in seen:
            seen.add(form)
            yield form


# --------------------------------------------------------------------------- the catalog


def _read_data() -> Mapping[str, Any]:
    import yaml

    text = resources.files("llmrelay").joinpath("data/catalog.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # a safe loader: the C one when built
    if not isinstance(data, Mapping):
        raise ConfigError("the shipped catalog data file is not a mapping; reinstall llmrelay")
    return data


#: distinct (host, model) lookups a catalog remembers
_LOOKUP_CACHE = 4096


class Catalog:
    """Model facts by host and model name; immutable once built."""

    __slots__ = (
        "_batch_discounts",
        "_cache_factors",
        "_found",
        "_inherit",
        "_models",
        "_standard_tiers",
        "_vendors",
    )

    def __init__(
        self,
        models: Mapping[str, Mapping[str, ModelInfo]],
        inherit: Mapping[str, tuple[str, ...]] | None = None,
        vendors: Mapping[str, str] | None = None,
        batch_discounts: Mapping[str, float] | None = None,
        cache_factors: Mapping[str, Mapping[str, float]] | None = None,
        standard_tiers: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        index: dict[str, dict[str, ModelInfo]] = {}
        for section, entries in models.items():
            names = index.setdefault(section, {})
            for name, info in entries.items():
                names[name.lower()] = info
                for alias in info.aliases:
                    names.setdefault(alias.lower(), info)
        self._models: Mapping[str, Mapping[str, ModelInfo]] = MappingProxyType(
            {k: MappingProxyType(v) for k, v in index.items()}
        )
        self._inherit: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(inherit or {}))
        self._vendors: Mapping[str, str] = MappingProxyType(dict(vendors or {}))
        self._batch_discounts: Mapping[str, float] = MappingProxyType(dict(batch_discounts or {}))
        self._cache_factors: Mapping[str, Mapping[str, float]] = MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in (cache_factors or {}).items()}
        )
        self._standard_tiers: Mapping[str, frozenset[str]] = MappingProxyType(dict(standard_tiers or {}))
        # lookups asked again and again on the hot path (preflight, budgets, pricing); bounded,
        # since model names can come from callers. The catalog is immutable, so they never go stale.
        self._found: dict[tuple[str, str], ModelInfo | None] = {}

    @classmethod
    def load(cls, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Catalog:
        """The shipped catalog with ``overrides`` (``{"provider/model": {field: value}}``) applied.

        An override of a known model changes only the fields it gives; ``base:
        "provider/model"`` starts a new entry from a known one (an Azure deployment name,
        say). Raises ``ConfigError`` naming the bad entry.
        """
        data = _read_data()
        models: dict[str, dict[str, ModelInfo]] = {}
        raw_models = data.get("models") or {}
        for section, entries in raw_models.items():
            if not isinstance(entries, Mapping):
                raise ConfigError(f"catalog section {section!r} must map model names to entries")
            models[section] = {name: build_info(section, name, raw) for name, raw in entries.items()}
        inherit = {k: tuple(v) for k, v in (data.get("inherit") or {}).items()}
        vendors = dict(data.get("vendors") or {})
        discounts: dict[str, float] = {}
        for section, raw in (data.get("batch_discounts") or {}).items():
            value = parse_discount(f"batch_discounts.{section}", raw)
            if value is not None:
                discounts[section] = value
        apply_pricing(models, data.get("pricing") or {})
        factors = {
            section: parse_cache_factors(section, raw)
            for section, raw in (data.get("cache_price_factors") or {}).items()
        }
        standard = {
            section: _tier_names(section, raw)
            for section, raw in (data.get("standard_price_tiers") or {}).items()
        }
        catalog = cls(models, inherit, vendors, discounts, factors, standard)
        if overrides:
            catalog = catalog.with_overrides(overrides)
        return catalog

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """A new catalog with ``overrides`` applied (see ``load``)."""
        models = {section: dict(entries) for section, entries in self._models.items()}
        for key, raw in overrides.items():
            provider, model = split_key(key)
            base: ModelInfo | None
            if isinstance(raw, Mapping) and raw.get(SOFT):
                # prices given for routing only: they refine a model the catalog knows and
                # cannot define one (they carry no context window)
                base = self.lookup(provider, model)
                if base is None:
                    continue
                raw = {k: v for k, v in raw.items() if k != SOFT}
            elif isinstance(raw, Mapping) and raw.get("base") is not None:
                base_provider, base_model = base_key(key, raw["base"])
                base = self.lookup(base_provider, base_model)
                if base is None:
                    raise ConfigError(
                        f"catalog entry {key}: base {raw['base']!r} is not in the catalog; "
                        "give the entry's context_window and prices instead"
                    )
            else:
                base = self.lookup(provider, model)
            info = build_info(provider, model, raw, base=base)
            section = models.setdefault(provider, {})
            section[model.lower()] = info
            for alias in info.aliases:
                section[alias.lower()] = info
        return Catalog(
            models,
            self._inherit,
            self._vendors,
            self._batch_discounts,
            self._cache_factors,
            self._standard_tiers,
        )

    # ------------------------------------------------------------------ queries

    def _own(self, section: str, model: str) -> ModelInfo | None:
        entries = self._models.get(section)
        if not entries:
            return None
        for name in _candidates(model):
            info = entries.get(name)
            if info is not None:
                return info
        return None

    def lookup(self, host_or_provider: str, model: str) -> ModelInfo | None:
        """The entry for ``model`` on a host (``openai``, ``azure``, ``groq``…), or None.

        Dated snapshot names (``gpt-4o-2024-08-06``, ``claude-3-5-haiku-20241022``),
        ``-latest``, Gemini's ``models/`` prefix and aliases resolve to their entry. A host
        without the model looks in the sections it inherits from, and a ``vendor/model``
        name in the vendor's section.
        """
        key = (host_or_provider, model)
        found = self._found
        if key in found:
            return found[key]
        info = self._search(host_or_provider, model)
        if len(found) < _LOOKUP_CACHE:
            found[key] = info
        return info

    def _search(self, host_or_provider: str, model: str) -> ModelInfo | None:
        info = self._own(host_or_provider, model)
        if info is not None:
            return info
        for section in self._inherit.get(host_or_provider, ()):
            info = self._own(section, model)
            if info is not None:
                return info
        vendor, sep, rest = model.partition("/")
        if sep and rest:
            vendor_section = self._vendors.get(vendor.lower())
            if vendor_section is not None:
                return self._own(vendor_section, rest)
        return None

    def models(self, host_or_provider: str | None = None) -> list[ModelInfo]:
        """Every entry (each once), optionally of one section only."""
        out: dict[int, ModelInfo] = {}
        for section, entries in self._models.items():
            if host_or_provider is None or section == host_or_provider:
                for info in entries.values():
                    out.setdefault(id(info), info)
        return list(out.values())

    def rates(self, info: ModelInfo, prompt_tokens: int, tier: str | None = None) -> Rates | None:
        """The prices a call with ``prompt_tokens`` of input (cached and written ones
        included) is billed at on the model, under service ``tier`` as the provider
        reported it (None or a standard name: the standard prices, long-context ones past
        the threshold). None when the catalog has no prices for that tier.
        """
        provider = info.provider
        return rates_for(
            info,
            prompt_tokens,
            tier,
            self._cache_factors.get(provider),
            self._standard_tiers.get(provider, _NONE),
        )

    def charge(self, info: ModelInfo | None, usage: Usage | None, tier: str | None = None) -> Charge | None:
        """What ``usage`` cost on the model under service ``tier``, or None when any price
        it needs is unknown (a tier the catalog has no prices for included).

        Uncached input, cache reads, five-minute and one-hour cache writes and output
        (hidden reasoning included: it is billed as output) each at their own price. A
        ``batch`` tier (Anthropic's Message Batches) is the standard charge at the batch
        discount.
        """
        if info is None or usage is None:
            return None
        if tier and tier.lower() == BATCH_TIER:
            discount = self.batch_discount(info)
            full = self.charge(info, usage)
            if discount is None or full is None:
                return None
            keep = 1.0 - discount
            return Charge(full.cost * keep, full.cache_savings * keep)
        rates = self.rates(info, usage.input_tokens, tier)
        return None if rates is None else charge_at(rates, usage)

    def cost(self, info: ModelInfo | None, usage: Usage | None, tier: str | None = None) -> float | None:
        """US dollars for ``usage`` on the model under service ``tier`` (see ``charge``),
        or None when any price it needs is unknown."""
        charged = self.charge(info, usage, tier)
        return None if charged is None else charged.cost

    def batch_discount(self, info: ModelInfo | None) -> float | None:
        """The share of the price saved through the model's batch API: the entry's own
        ``batch_discount``, else its section's default; None when no batch price is known."""
        if info is None:
            return None
        if info.batch_discount is not None:
            return info.batch_discount
        return self._batch_discounts.get(info.provider)

    def batch_cost(self, info: ModelInfo | None, usage: Usage | None) -> float | None:
        """US dollars for ``usage`` through the provider's batch API (``cost`` at the batch
        discount), or None when the price or the discount is unknown."""
        return self.cost(info, usage, BATCH_TIER)

    def max_cost(self, info: ModelInfo | None, prompt_tokens: int, max_tokens: int) -> float | None:
        """The most a call can cost: every prompt token at the dearest of the input and
        cache-write prices, and ``max_tokens`` of output, under the dearest of the standard
        and the model's other service tiers (the tier is known only from the reply). None
        when a standard price is unknown."""
        if info is None:
            return None
        standard = self.rates(info, prompt_tokens)
        if standard is None or standard.input is None or standard.output is None:
            return None
        worst = 0.0
        for name in (None, *(t for t, _ in info.service_tiers)):
            r = self.rates(info, prompt_tokens, name)
            if r is None or r.input is None or r.output is None:
                continue
            prompt_price = max(r.input, r.cache_write or 0.0, r.cache_write_1h or 0.0)
            worst = max(worst, max(0, prompt_tokens) * prompt_price + max(0, max_tokens) * r.output)
        return worst * _PER_TOKEN


_NONE: frozenset[str] = frozenset()


def _tier_names(section: str, raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise ConfigError(
            f"catalog standard_price_tiers.{section} must be a list of tier names; reinstall llmrelay"
        )
    return frozenset(t.lower() for t in raw)


def overrides_from_settings(settings: Settings) -> dict[str, Mapping[str, Any]]:
    """Catalog overrides from configuration: the ``catalog.models`` section, then each
    deployment's ``price`` (routing prices, applied to a model the catalog knows) and its
    own ``catalog`` entry, keyed by the deployment's ``provider/model``."""
    out: dict[str, dict[str, Any]] = {}
    section = getattr(settings, "catalog", None)
    if section is not None:
        out.update({k: dict(v) for k, v in section.models.items()})
    for alias in settings.models.values():
        for dep in alias.deployments:
            key = f"{dep.provider}/{dep.model}"
            price = getattr(dep, "price", None)
            if price is not None:
                prices = {"input_price": price.input, "output_price": price.output}
                out[key] = {**out[key], **prices} if key in out else {**prices, SOFT: True}
            entry = getattr(dep, "catalog", None)
            if entry:
                merged = {**out.get(key, {}), **entry}
                merged.pop(SOFT, None)  # an explicit entry must stand on its own
                out[key] = merged
    return dict(out)


__all__ = [
    "BATCH_TIER",
    "CAPABILITIES",
    "ENCODINGS",
    "STANDARD_TIERS",
    "Catalog",
    "Charge",
    "LongContextPrice",
    "ModelInfo",
    "Rates",
    "TierPrice",
    "build_info",
    "overrides_from_settings",
    "validate_overrides",
]
