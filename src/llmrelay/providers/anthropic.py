"""The Anthropic Messages API adapter (``POST /v1/messages``).

Pure translation, split by concern: requests in ``anthropic_request``, Message objects
in ``anthropic_response``, SSE in ``anthropic_stream``, errors in ``anthropic_errors``.
Mappings and deliberate choices are documented in ``docs/providers/anthropic.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from llmrelay import errors
from llmrelay.providers import anthropic_errors, anthropic_request, anthropic_response
from llmrelay.providers.anthropic_request import JSON_TOOL_NAME
from llmrelay.providers.anthropic_stream import AnthropicStreamParser
from llmrelay.types import ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse
from llmrelay.wire import Endpoint, HttpRequest


class AnthropicAdapter:
    """Fulfils ``llmrelay.providers.base.Adapter`` for Anthropic's Messages API.

    Endpoint options: ``version`` (``anthropic-version``, default ``2023-06-01``),
    ``auth`` (``"x-api-key"`` default, or ``"bearer"``), ``default_max_tokens``
    (default 4096; Anthropic requires max_tokens) and ``structured_outputs``
    (``"native"`` default, or ``"tool"`` for models without ``output_config.format``).
    """

    name = "anthropic"

    def chat_request(self, req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
        return anthropic_request.build_chat_request(req, ep, stream=stream)

    def parse_chat(self, body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
        return anthropic_response.parse_chat(body, ep, include_raw=include_raw)

    def stream_parser(self, ep: Endpoint) -> AnthropicStreamParser:
        return AnthropicStreamParser(ep)

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint
    ) -> errors.LLMRelayError:
        return anthropic_errors.parse_error(status, headers, body, ep)

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        _no_embeddings(ep)

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse:
        _no_embeddings(ep)


def _no_embeddings(ep: Endpoint) -> NoReturn:
    raise errors.UnsupportedFeatureError(
        "Anthropic has no embeddings API; use an embedding model of another provider, for example "
        "'openai/text-embedding-3-small', 'gemini/gemini-embedding-001' or an OpenAI-compatible server",
        provider=ep.host or "anthropic",
        model=ep.model or None,
    )


__all__ = ["JSON_TOOL_NAME", "AnthropicAdapter", "AnthropicStreamParser"]
