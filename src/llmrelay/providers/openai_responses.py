"""The OpenAI Responses API adapter (``POST /v1/responses``), the ``responses`` protocol.

Pure translation, split by concern: request bodies in ``openai_responses_request``,
response objects in ``openai_responses_response``, SSE events in
``openai_responses_stream``, errors in ``openai_responses_errors``, the reasoning items a
turn replays in ``openai_responses_state``. The mapping, the deliberate choices and the
published sources relied on are in ``docs/providers/responses.md``.

Hosts select it by their row in ``llmrelay.hosts`` (``openai-responses``,
``azure-responses``, ``simulator-responses``). Endpoint options:

* ``azure``: Azure OpenAI, ``api-key`` auth (``auth: "bearer"`` for Entra ID tokens) and
  the v1 path ``{base}/openai/v1/responses``; with ``api_version`` the preview path
  ``{base}/openai/responses?api-version=…``. The deployment name is the body's ``model``.
* ``system_role``: the role of system messages after the first turn (``developer``…).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn
from urllib.parse import urlencode

from llmrelay import errors
from llmrelay.providers import openai_tokens
from llmrelay.providers.base import request_id_from
from llmrelay.providers.counting import TokenRules, parse_count_field
from llmrelay.providers.openai_common import dumps, request_headers
from llmrelay.providers.openai_errors import REQUEST_ID_HEADERS
from llmrelay.providers.openai_responses_errors import parse_error as _parse_error
from llmrelay.providers.openai_responses_request import PROTOCOL, build_body, count_body, provider_name
from llmrelay.providers.openai_responses_response import parse_chat as _parse_chat
from llmrelay.providers.openai_responses_stream import ResponsesStreamParser
from llmrelay.types import ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse
from llmrelay.wire import Endpoint, HttpRequest

COUNT_METHOD = "responses:input_tokens"
_AZURE_SUFFIXES = ("/openai/v1", "/openai")


class ResponsesAdapter:
    """``Adapter`` for the Responses API; stateless, one instance serves every call."""

    name = PROTOCOL
    continues_prefill = False  # a final assistant item is history, not a prefix to continue
    #: the models are OpenAI's (public tiktoken encodings), framed as in Chat Completions;
    #: exact counts come from the input_tokens endpoint
    token_rules: TokenRules = openai_tokens.RULES
    count_method: str | None = COUNT_METHOD

    def chat_request(self, req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
        body = build_body(req, ep, stream=stream)
        accept = "text/event-stream" if stream else "application/json"
        return HttpRequest(
            "POST", url(ep, "responses"), request_headers(ep, req.extra_headers, accept), dumps(body)
        )

    def parse_chat(self, body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
        return _parse_chat(body, ep, include_raw=include_raw)

    def stream_parser(self, ep: Endpoint) -> ResponsesStreamParser:
        return ResponsesStreamParser(ep)

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint
    ) -> errors.LLMRelayError:
        return _parse_error(status, headers, body, ep)

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return request_id_from(headers, *REQUEST_ID_HEADERS)

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        _no_embeddings(ep)

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse:
        _no_embeddings(ep)

    def count_request(self, req: ChatRequest, ep: Endpoint) -> HttpRequest:
        """``POST {base}/responses/input_tokens``: OpenAI's exact count of the prompt."""
        return HttpRequest(
            "POST",
            url(ep, "responses/input_tokens"),
            request_headers(ep, req.extra_headers, "application/json"),
            dumps(count_body(req, ep)),
        )

    def parse_count(self, body: bytes, ep: Endpoint | None = None) -> int:
        name = (ep.host if ep is not None else "") or PROTOCOL
        return parse_count_field(body, "input_tokens", provider=name, model=ep.model if ep else None)


def _no_embeddings(ep: Endpoint) -> NoReturn:
    raise errors.UnsupportedFeatureError(
        "the OpenAI Responses API has no embeddings; embed through the 'openai' protocol's "
        "/embeddings, for example with model 'openai/text-embedding-3-small'",
        provider=provider_name(ep),
        model=ep.model or None,
    )


def url(ep: Endpoint, path: str) -> str:
    base = ep.base_url.rstrip("/")
    if not base:
        raise errors.ConfigError(
            f"endpoint for {provider_name(ep)} model {ep.model!r} has no base_url; "
            "set it, e.g. https://api.openai.com/v1"
        )
    query: dict[str, str] = {}
    if ep.options.get("azure"):
        for suffix in _AZURE_SUFFIXES:
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        api_version = ep.options.get("api_version")
        if api_version:
            # the preview surface; Responses has no deployment-scoped path on Azure
            out = f"{base}/openai/{path}"
            query["api-version"] = str(api_version)
        else:
            out = f"{base}/openai/v1/{path}"
    else:
        out = f"{base}/{path}"
    query.update(ep.query)
    if query:
        out += ("&" if "?" in out else "?") + urlencode(query)
    return out


__all__ = ["COUNT_METHOD", "ResponsesAdapter", "ResponsesStreamParser"]
