"""The Gemini API (generativelanguage.googleapis.com, v1beta) wire protocol.

Chat is ``models/{model}:generateContent``; streaming is ``:streamGenerateContent?alt=sse``,
where every SSE ``data:`` is a whole ``GenerateContentResponse`` chunk. Gemini sends no
``[DONE]``: the chunk carrying ``finishReason`` ends the stream. The key travels in the
``x-goog-api-key`` header, never in the URL.

The translation itself lives in ``gemini_request`` (outgoing, assembled from
``gemini_contents``, ``gemini_tools`` and ``gemini_options``), ``gemini_response``
(incoming), ``gemini_errors`` and ``gemini_tokens`` (countTokens, estimate framing);
this module binds them to the ``Adapter`` protocol.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers import gemini_tokens, logprobs
from llmrelay.providers.base import request_id_from
from llmrelay.providers.counting import TokenRules
from llmrelay.providers.gemini_errors import REQUEST_ID_HEADERS, gemini_error
from llmrelay.providers.gemini_request import chat_body, embed_body, encode, method_url, request_headers
from llmrelay.providers.gemini_response import (
    block_reason,
    chat_response,
    decode_json,
    embedding_response,
    first_candidate,
    map_finish,
    parse_usage,
    read_candidate,
    response_ids,
)
from llmrelay.providers.gemini_state import Signatures
from llmrelay.types import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    FinishEvent,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from llmrelay.wire import Endpoint, HttpRequest, SSEEvent


class GeminiAdapter:
    """Pure translation between llmrelay's model and the Gemini API.

    ``Endpoint.options`` understood here:

    * ``api_version`` – path version, default ``v1beta``;
    * ``thought_signatures`` – force (True) or suppress (False) the validator-skip
      signature on replayed function calls that have no real one; by default it is sent
      except to Gemini 1.x/2.x and Gemma models. Real signatures (``provider_state``)
      are always sent back, unless this is False;
    * ``send_call_ids`` – also send tool-call ids in ``functionCall``/``functionResponse``
      (off by default: the public API rejects the field on many models).
    """

    name = "gemini"
    continues_prefill = False
    token_rules: TokenRules = gemini_tokens.RULES
    count_method: str | None = gemini_tokens.COUNT_METHOD

    def chat_request(self, req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
        if stream:
            url = method_url(ep, "streamGenerateContent", {"alt": "sse"})
        else:
            url = method_url(ep, "generateContent")
        return HttpRequest("POST", url, request_headers(ep, req.extra_headers), encode(chat_body(req, ep)))

    def parse_chat(self, body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
        data = decode_json(body, "response", ep)
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            raise _embedded_error(data, ep)
        return chat_response(data, ep, include_raw=include_raw)

    def stream_parser(self, ep: Endpoint) -> GeminiStreamParser:
        return GeminiStreamParser(ep)

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint
    ) -> errors.LLMRelayError:
        return gemini_error(status, headers, body, ep)

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return request_id_from(headers, *REQUEST_ID_HEADERS)

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        url = method_url(ep, "batchEmbedContents")
        return HttpRequest("POST", url, request_headers(ep, req.extra_headers), encode(embed_body(req, ep)))

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse:
        data = decode_json(body, "embedding response", ep)
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            raise _embedded_error(data, ep)
        return embedding_response(data, ep)

    def count_request(self, req: ChatRequest, ep: Endpoint) -> HttpRequest:
        return gemini_tokens.count_request(req, ep)

    def parse_count(self, body: bytes, ep: Endpoint | None = None) -> int:
        return gemini_tokens.parse_count(body, ep)


class GeminiStreamParser:
    """Turns ``streamGenerateContent?alt=sse`` chunks into stream events.

    Each function call arrives whole in one chunk, so it becomes a single complete
    ``ToolCallDelta``. Usage is repeated (cumulatively) on many chunks; only the last
    one is reported, just before the finish event. Thought signatures are gathered
    across chunks into ``provider_state`` (see ``gemini_state``). ``details`` holds the
    candidate's ``finish_message`` when it gives one, as ``parse_chat`` keeps it, and the
    ``logprobs`` of every chunk when they were asked for.
    """

    __slots__ = (
        "_calls",
        "_ep",
        "_logprobs",
        "_signatures",
        "_usage",
        "details",
        "done",
        "model",
        "provider_state",
        "response_id",
    )

    def __init__(self, ep: Endpoint) -> None:
        self._ep = ep
        self._calls = 0
        self._usage: Usage | None = None
        self._signatures = Signatures()
        self._logprobs: list[TokenLogprob] = []
        self.done = False
        self.response_id: str | None = None
        self.model: str | None = None
        self.provider_state: dict[str, Any] | None = None
        self.details: dict[str, Any] = {}

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if self.done or not event.data.strip():
            return []
        data = decode_json(event.data, "stream chunk", self._ep)
        if not isinstance(data, Mapping):
            raise errors.MalformedResponseError(
                f"Gemini stream chunk is a JSON {type(data).__name__}, expected an object",
                provider=self._ep.host or "gemini",
                model=self._ep.model,
            )
        if isinstance(data.get("error"), Mapping):
            raise _embedded_error(data, self._ep)
        rid, model = response_ids(data)
        self.response_id = self.response_id or rid
        self.model = model or self.model
        usage = parse_usage(data.get("usageMetadata"))
        if usage is not None:
            self._usage = usage
        cand = first_candidate(data)
        if cand is None:
            blocked = block_reason(data)
            return self._finish("content_filter", blocked, []) if blocked else []
        pieces = read_candidate(cand, self.response_id, self._calls)
        if pieces.signatures.calls or pieces.signatures.text:
            self._signatures.calls.update(pieces.signatures.calls)
            self._signatures.text = pieces.signatures.text or self._signatures.text
            self.provider_state = self._signatures.state()
        out: list[StreamEvent] = []
        for kind, item in pieces.sequence:
            if isinstance(item, ToolCall):
                out.append(
                    ToolCallDelta(index=self._calls, id=item.id, name=item.name, arguments=item.arguments)
                )
                self._calls += 1
            else:
                out.append(ReasoningDelta(item) if kind == "reasoning" else TextDelta(item))
        if pieces.finish_message:
            self.details["finish_message"] = pieces.finish_message
        self._logprobs.extend(logprobs.from_gemini_candidate(cand))
        if pieces.finish is None:
            return out
        return self._finish(map_finish(pieces.finish, self._calls > 0), pieces.finish, out)

    def _finish(self, reason: FinishReason, native: str | None, out: list[StreamEvent]) -> list[StreamEvent]:
        if self._logprobs:
            self.details[logprobs.DETAIL_KEY] = tuple(self._logprobs)
        if self._usage is not None:
            out.append(UsageEvent(self._usage))
        out.append(FinishEvent(reason, native))
        self.done = True
        return out


def _embedded_error(data: Mapping[str, Any], ep: Endpoint) -> errors.LLMRelayError:
    """An ``{"error": …}`` payload inside a 2xx body or an SSE chunk."""
    code = data["error"].get("code")
    status = code if isinstance(code, int) and not isinstance(code, bool) else 500
    return gemini_error(status, {}, json.dumps(data), ep)
