"""Token counters for splitting: the model's own encoding where llmrelay has it offline.

Splitting counts every block and every chunk, so it never asks a provider: OpenAI models
are counted exactly with their tiktoken encoding (the ``tokens`` extra), every other model
with llmrelay's estimate, which leans high (chunks come out a little smaller than they
could be, never larger).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay.app.documents.split import Counter
from llmrelay.catalog import ModelInfo
from llmrelay.providers import token_rules
from llmrelay.tokens import count_text, encodings, estimate_text

if TYPE_CHECKING:
    from llmrelay.client import Client


@dataclass(frozen=True, slots=True)
class ModelCounter:
    """``count`` for a model, whether it is ``exact``, and the model's catalog entry (None
    when the catalog does not know it)."""

    count: Counter
    exact: bool
    info: ModelInfo | None


def encoding_counter(encoding: str | None) -> tuple[Counter, bool]:
    """A counter for a tiktoken encoding (exact), or the estimate when there is none or the
    ``tokens`` extra is not installed."""
    if encoding is not None and encodings.available():

        def exact(text: str) -> int:
            return count_text(text, encoding)

        return exact, True
    return estimate_text, False


def token_counter(client: Client, model: str | None = None) -> ModelCounter:
    """The counter for ``model`` (an alias or ``provider/model``; default: the client's)
    as routed by ``client``: its first deployment's encoding."""
    ep = client.route(model).deployments[0].endpoint
    info = client.catalog.lookup(ep.host or ep.provider, ep.model)
    # the deployment's protocol names the public encoding of its model ids, where one exists
    encoding = info.encoding if info is not None else token_rules(ep.provider).encoding_for(ep.model)
    count, exact = encoding_counter(encoding)
    return ModelCounter(count, exact, info)
