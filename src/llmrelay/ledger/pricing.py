"""Prices for records that arrive without a cost, from the catalog.

The Client prices its responses itself (``ChatResponse.cost``, and ``call.meta["cost"]``
for streams); this covers the rest — a pipeline built by hand, a layer that answers
without the Client. Pricing happens in the flusher, not on the request path, and a
catalog that has to be loaded is loaded once, on a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from llmrelay.ledger.record import UsageRecord
from llmrelay.types import Usage

if TYPE_CHECKING:
    from llmrelay.catalog import Catalog

log = logging.getLogger("llmrelay.ledger")


class Pricer(Protocol):
    async def load(self) -> None:
        """Get ready (called once, before the first ``price``)."""
        ...

    def price(self, rec: UsageRecord) -> UsageRecord:
        """``rec`` with its cost filled in when it had none and the price is known."""
        ...


class CatalogPricer:
    """Prices from ``llmrelay.catalog``: a catalog already loaded (the Client's), or the
    shipped one with ``overrides``, loaded on first use."""

    def __init__(
        self, overrides: Mapping[str, Mapping[str, Any]] | None = None, *, catalog: Catalog | None = None
    ) -> None:
        self._overrides = overrides
        self._catalog: Catalog | None = catalog

    async def load(self) -> None:
        if self._catalog is not None:
            return
        from llmrelay.catalog import Catalog

        try:
            self._catalog = await asyncio.to_thread(Catalog.load, self._overrides)
        except Exception as exc:
            # The settings were validated at load time, so this is unexpected; the records
            # are still written, with cost unknown rather than a guess.
            log.error("ledger: cannot load the model catalog, costs will be recorded as unknown: %s", exc)

    def price(self, rec: UsageRecord) -> UsageRecord:
        """``rec`` with its cost (and what provider cache reads saved) filled in, under
        the service tier it records, when they were missing and the prices are known. A
        response-cache hit (cost 0) is left as it is."""
        catalog = self._catalog
        if catalog is None or rec.cost is not None or rec.input_tokens is None or not rec.model:
            return rec
        usage = Usage(
            rec.input_tokens,
            rec.output_tokens or 0,
            rec.cached_input_tokens or 0,
            rec.cache_write_tokens or 0,
            rec.reasoning_tokens or 0,
            rec.cache_write_1h_tokens or 0,
        )
        charged = catalog.charge(catalog.lookup(rec.provider or "", rec.model), usage, rec.service_tier)
        if charged is None:
            return rec
        saved = rec.saved_provider_cache if rec.saved_provider_cache is not None else charged.cache_savings
        return replace(rec, cost=charged.cost, saved_provider_cache=saved)
