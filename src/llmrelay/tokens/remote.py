"""The providers' own token-count endpoints, by protocol name.

Anthropic (``POST /v1/messages/count_tokens``) and Gemini (``models/{m}:countTokens``)
count a prompt exactly with the model's real tokenizer, for free. The requests and
answers are each adapter's business (``Adapter.count_request``, ``Adapter.parse_count``,
``Adapter.count_method``); these functions look the adapter up by protocol name for
callers that hold only the name. ``Client.count_tokens`` does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from llmrelay.providers import ADAPTERS, load_adapter
from llmrelay.types import ChatRequest
from llmrelay.wire import Endpoint, HttpRequest


class _CountMethods(Mapping[str, str]):
    """protocol -> the ``TokenCount.method`` its count endpoint's answers carry, for the
    protocols that have one; read from the adapters, so it never disagrees with them."""

    __slots__ = ()

    def __getitem__(self, protocol: str) -> str:
        method = load_adapter(protocol).count_method if protocol in ADAPTERS else None
        if method is None:
            raise KeyError(protocol)
        return method

    def __iter__(self) -> Iterator[str]:
        return (p for p in ADAPTERS if load_adapter(p).count_method is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: protocols with a count endpoint, and the ``TokenCount.method`` their answers carry
METHODS: Mapping[str, str] = _CountMethods()


def count_request(req: ChatRequest, ep: Endpoint) -> HttpRequest | None:
    """The provider's token-count call for ``req``, or None when the protocol has none."""
    return load_adapter(ep.provider).count_request(req, ep)


def parse_count(protocol: str, body: bytes) -> int:
    """The token count in a 2xx answer of ``protocol``'s count endpoint."""
    return load_adapter(protocol).parse_count(body)
