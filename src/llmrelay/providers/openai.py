"""The OpenAI Chat Completions / Embeddings wire protocol, for OpenAI, Azure OpenAI and
every OpenAI-compatible server (Groq, OpenRouter, vLLM, Ollama, llama.cpp, the simulator…).

Pure translation: the adapter builds ``HttpRequest``s and decodes bodies; sending them is
the transport's job. Hosts differ only through ``Endpoint`` configuration:

* ``ep.options["max_tokens_field"]`` names the output-limit field: the ``openai`` and
  ``azure`` host rows set ``max_completion_tokens`` (reasoning models reject
  ``max_tokens``); without the option, and without ``azure``, ``max_tokens`` is sent, the
  one field every compatible server knows.
* ``ep.options["azure"]``: ``api-key`` header auth (``options["auth"] == "bearer"`` for
  Entra ID tokens); with ``options["api_version"]`` the deployment URL style
  ``{base}/openai/deployments/{ep.model}/…?api-version=…``, else Azure's v1 API
  ``{base}/openai/v1/…``.
* ``ep.options["stream_usage"] is False`` drops ``stream_options`` for servers that reject it.
* ``ep.options["system_role"]`` renames the system role (e.g. ``"developer"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from llmrelay import errors
from llmrelay.providers import openai_tokens
from llmrelay.providers.base import request_id_from
from llmrelay.providers.counting import TokenRules
from llmrelay.providers.openai_common import PROTOCOL, dumps, request_headers
from llmrelay.providers.openai_errors import REQUEST_ID_HEADERS
from llmrelay.providers.openai_errors import parse_error as _parse_error
from llmrelay.providers.openai_request import chat_body
from llmrelay.providers.openai_response import parse_chat as _parse_chat
from llmrelay.providers.openai_response import parse_embed as _parse_embed
from llmrelay.providers.openai_stream import OpenAIStreamParser
from llmrelay.types import ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse
from llmrelay.wire import Endpoint, HttpRequest

_AZURE_SUFFIXES = ("/openai/v1", "/openai")


class OpenAIAdapter:
    """``Adapter`` for the OpenAI protocol; stateless, one instance serves every call."""

    name = PROTOCOL
    continues_prefill = False  # Chat Completions answers a final assistant turn anew
    token_rules: TokenRules = openai_tokens.RULES
    #: Chat Completions has no count endpoint: OpenAI's encodings are public, so
    #: ``llmrelay.tokens`` counts exactly offline instead
    count_method: str | None = None

    def chat_request(self, req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
        url = _url(ep, "chat/completions")
        body = chat_body(req, ep, stream=stream)
        accept = "text/event-stream" if stream else "application/json"
        return HttpRequest("POST", url, request_headers(ep, req.extra_headers, accept), dumps(body))

    def parse_chat(self, body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
        return _parse_chat(body, ep, include_raw=include_raw)

    def stream_parser(self, ep: Endpoint) -> OpenAIStreamParser:
        return OpenAIStreamParser(ep)

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint
    ) -> errors.LLMRelayError:
        return _parse_error(status, headers, body, ep)

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return request_id_from(headers, *REQUEST_ID_HEADERS)

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        if isinstance(req.inputs, str):
            raise errors.InvalidRequestError(
                "EmbeddingRequest.inputs must be a sequence of strings, not one string; wrap it: [text]"
            )
        body: dict[str, object] = {
            "model": ep.model or req.model,
            "input": list(req.inputs),
            "encoding_format": "float",
        }
        if req.dimensions is not None:
            body["dimensions"] = req.dimensions
        if req.user is not None:
            body["user"] = req.user
        if req.extra:
            body.update(req.extra)
        url = _url(ep, "embeddings")
        return HttpRequest(
            "POST", url, request_headers(ep, req.extra_headers, "application/json"), dumps(body)
        )

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse:
        return _parse_embed(body, ep)

    def count_request(self, req: ChatRequest, ep: Endpoint) -> None:
        return None

    def parse_count(self, body: bytes, ep: Endpoint | None = None) -> int:
        raise errors.UnsupportedFeatureError(
            "the OpenAI Chat Completions protocol has no token-count endpoint; count offline with "
            "llmrelay.tokens.count_request (exact for OpenAI's models)",
            provider=(ep.host if ep is not None else "") or PROTOCOL,
        )


def _url(ep: Endpoint, path: str) -> str:
    """The endpoint URL. Azure deployment URLs name the model in the path; the body still
    carries it too, as Microsoft's and OpenAI's own Azure clients send it."""
    base = ep.base_url.rstrip("/")
    if not base:
        raise errors.ConfigError(
            f"endpoint for {ep.host or PROTOCOL} model {ep.model!r} has no base_url; "
            "set it, e.g. https://api.openai.com/v1"
        )
    query: dict[str, str] = {}
    if ep.options.get("azure"):
        # Accept a base given with the /openai or /openai/v1 suffix as well as without it.
        for suffix in _AZURE_SUFFIXES:
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        api_version = ep.options.get("api_version")
        if api_version:
            if not ep.model:
                raise errors.ConfigError(
                    "Azure OpenAI deployment URLs need the deployment name; set the endpoint's model to it"
                )
            url = f"{base}/openai/deployments/{quote(ep.model, safe='')}/{path}"
            query["api-version"] = str(api_version)
        else:
            url = f"{base}/openai/v1/{path}"
    else:
        url = f"{base}/{path}"
    query.update(ep.query)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url
