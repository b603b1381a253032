"""What a batch will cost, before anything is sent.

Prompt tokens are counted offline (exact for OpenAI's encodings with the ``tokens`` extra,
an estimate otherwise) and priced from the catalog. Output is not known in advance, so
the estimate gives the input cost and an upper bound: every item writing its output bound
(``max_tokens``, else the model's maximum output, else what is left of its window). In
provider mode the catalog's batch discount applies to both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from llmrelay.app.batch.items import BatchItem
from llmrelay.errors import LLMRelayError
from llmrelay.tokens import count_for
from llmrelay.types import Usage

if TYPE_CHECKING:
    from llmrelay.client import Client


@dataclass(frozen=True, slots=True)
class BatchEstimate:
    """``input_cost`` and ``max_cost`` are US dollars over the items that have a known price;
    ``unpriced`` items (no price in the catalog, or a model that does not resolve) are not
    in them. ``exact`` is False when any prompt count is an estimate."""

    items: int
    prompt_tokens: int
    output_tokens: int
    exact: bool
    input_cost: float
    max_cost: float
    unpriced: int
    mode: Literal["sync", "provider"]

    @property
    def bounded(self) -> bool:
        """Whether ``max_cost`` bounds every item (no unpriced item)."""
        return self.unpriced == 0

    def describe(self) -> str:
        if not self.items:
            return "nothing to send: every item is already done"
        approx = "" if self.exact else "about "
        where = " at the batch price" if self.mode == "provider" else ""
        text = (
            f"{self.items} items, {approx}{self.prompt_tokens:,} prompt tokens: "
            f"${self.input_cost:.4f} of input{where}, at most ${self.max_cost:.4f} with every "
            f"item writing its output bound ({self.output_tokens:,} tokens in all)"
        )
        if self.unpriced:
            text += f"; {self.unpriced} items have no known price and are not counted"
        return text


def estimate_items(
    client: Client, items: Sequence[BatchItem], mode: Literal["sync", "provider"] = "sync"
) -> BatchEstimate:
    """Estimate the cost of sending ``items`` (those with a problem are skipped: they cost nothing)."""
    catalog = client.catalog
    prompt_total = output_total = unpriced = 0
    input_cost = max_cost = 0.0
    exact = True
    sent = 0
    for item in items:
        req = item.request
        if req is None:
            continue
        sent += 1
        try:
            ep = client.route(req.model).deployments[0].endpoint
        except LLMRelayError:
            unpriced += 1
            continue
        info = catalog.lookup(ep.host or ep.provider, ep.model)
        count = count_for(req, info, ep.provider, ep.model)
        exact = exact and count.exact
        prompt_total += count.tokens
        bound = req.max_tokens
        if bound is None:
            default = ep.options.get("default_max_tokens")  # Anthropic's adapter sends one
            if info is not None and info.max_output is not None:
                bound = info.max_output
            elif isinstance(default, int):
                bound = default
            elif info is not None:
                bound = max(0, info.context_window - count.tokens)
        low = catalog.cost(info, Usage(input_tokens=count.tokens))
        high = catalog.max_cost(info, count.tokens, bound or 0)
        if mode == "provider":
            factor = catalog.batch_discount(info)
            low = None if factor is None or low is None else low * (1 - factor)
            high = None if factor is None or high is None else high * (1 - factor)
        if low is None or high is None:
            unpriced += 1
            continue
        output_total += bound or 0
        input_cost += low
        max_cost += high
    return BatchEstimate(sent, prompt_total, output_total, exact, input_cost, max_cost, unpriced, mode)
