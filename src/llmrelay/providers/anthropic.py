"""The Anthropic Messages API adapter (``POST /v1/messages``).

Pure translation, split by concern: requests in ``anthropic_request`` (messages in
``anthropic_messages``, tools in ``anthropic_tools``, options in ``anthropic_options``,
cache breakpoints in ``anthropic_cache``), Message objects in ``anthropic_response``, SSE
in ``anthropic_stream``, errors in ``anthropic_errors``, token counting (the count
endpoint and estimate framing) in ``anthropic_tokens``.
Mappings and deliberate choices are documented in ``docs/providers/anthropic.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from llmrelay import errors
from llmrelay.providers import anthropic_errors, anthropic_request, anthropic_response, anthropic_tokens
from llmrelay.providers.anthropic_stream import AnthropicStreamParser
from llmrelay.providers.anthropic_tools import JSON_TOOL_NAME
from llmrelay.providers.base import request_id_from
from llmrelay.providers.counting import TokenRules
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
    continues_prefill = True
    token_rules: TokenRules = anthropic_tokens.RULES
    count_method: str | None = anthropic_tokens.COUNT_METHOD

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

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return request_id_from(headers, *anthropic_errors.REQUEST_ID_HEADERS)

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        _no_embeddings(ep)

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse:
        _no_embeddings(ep)

    def count_request(self, req: ChatRequest, ep: Endpoint) -> HttpRequest:
        return anthropic_tokens.count_request(req, ep)

    def parse_count(self, body: bytes, ep: Endpoint | None = None) -> int:
        return anthropic_tokens.parse_count(body, ep)


def _no_embeddings(ep: Endpoint) -> NoReturn:
    raise errors.UnsupportedFeatureError(
        "Anthropic has no embeddings API; use an embedding model of another provider, for example "
        "'openai/text-embedding-3-small', 'gemini/gemini-embedding-001' or an OpenAI-compatible server",
        provider=ep.host or "anthropic",
        model=ep.model or None,
    )


__all__ = ["JSON_TOOL_NAME", "AnthropicAdapter", "AnthropicStreamParser"]
