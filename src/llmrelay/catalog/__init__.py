"""The model catalog: context windows, output limits, prices and capabilities.

The data lives in ``llmrelay/data/catalog.yaml`` (shipped in the wheel); configuration
overrides or extends it per ``provider/model``. Prices are US dollars per million
tokens; an unknown price is ``None`` and makes every cost that needs it ``None`` too —
never a silent $0.

    catalog = Catalog.load({"openai/gpt-4o": {"input_price": 2.0}})
    info = catalog.lookup("openai", "gpt-4o-2024-08-06")   # dated names resolve
    catalog.cost(info, response.usage)                       # USD or None
    catalog.batch_cost(info, response.usage)                 # the same call through a batch API
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
    base_key,
    build_info,
    parse_discount,
    split_key,
    validate_overrides,
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

    __slots__ = ("_batch_discounts", "_found", "_inherit", "_models", "_vendors")

    def __init__(
        self,
        models: Mapping[str, Mapping[str, ModelInfo]],
        inherit: Mapping[str, tuple[str, ...]] | None = None,
        vendors: Mapping[str, str] | None = None,
        batch_discounts: Mapping[str, float] | None = None,
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
        catalog = cls(models, inherit, vendors, discounts)
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
        return Catalog(models, self._inherit, self._vendors, self._batch_discounts)

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

    @staticmethod
    def _prices(info: ModelInfo, prompt_tokens: int) -> tuple[float | None, float | None, float | None]:
        tier = info.long_context
        if tier is not None and prompt_tokens > tier.above:
            return tier.input_price, tier.output_price, tier.cached_input_price
        return info.input_price, info.output_price, info.cached_input_price

    def cost(self, info: ModelInfo | None, usage: Usage | None) -> float | None:
        """US dollars for ``usage`` on the model, or None when any price it needs is unknown.

        Cached prompt tokens are charged at the cached price and cache writes at the
        cache-write price (``Usage.input_tokens`` includes both); hidden reasoning is part
        of ``output_tokens`` and charged as output.
        """
        if info is None or usage is None:
            return None
        input_price, output_price, cached_price = self._prices(info, usage.input_tokens)
        cached = max(0, usage.cached_input_tokens)
        written = max(0, usage.cache_write_tokens)
        plain = max(0, usage.input_tokens - cached - written)
        total = 0.0
        for tokens, price in (
            (plain, input_price),
            (cached, cached_price),
            (written, info.cache_write_price),
            (usage.output_tokens, output_price),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price
        if total == 0.0 and (input_price is None or output_price is None):
            return None  # nothing billed, but only a known price can say it is free
        return total * _PER_TOKEN

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
        discount = self.batch_discount(info)
        cost = self.cost(info, usage)
        if discount is None or cost is None:
            return None
        return cost * (1.0 - discount)

    def max_cost(self, info: ModelInfo | None, prompt_tokens: int, max_tokens: int) -> float | None:
        """The most a call can cost: every prompt token at the dearer of the input and
        cache-write prices, and ``max_tokens`` of output. None when a price is unknown."""
        if info is None:
            return None
        input_price, output_price, _ = self._prices(info, prompt_tokens)
        if input_price is None or output_price is None:
            return None
        prompt_price = max(input_price, info.cache_write_price or 0.0)
        return (max(0, prompt_tokens) * prompt_price + max(0, max_tokens) * output_price) * _PER_TOKEN


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
    "CAPABILITIES",
    "ENCODINGS",
    "Catalog",
    "LongContextPrice",
    "ModelInfo",
    "build_info",
    "overrides_from_settings",
    "validate_overrides",
]
