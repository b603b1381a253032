"""The providers' own token-count endpoints, as pure request builders and parsers.

Anthropic (``POST /v1/messages/count_tokens``) and Gemini (``models/{m}:countTokens``)
count a prompt exactly with the model's real tokenizer, for free. The request reuses
the adapter's own translation of the chat request, so what is counted is what a chat
call would send. ``Client.count_tokens`` does the I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from llmrelay.errors import MalformedResponseError
from llmrelay.types import ChatRequest
from llmrelay.wire import Endpoint, HttpRequest

#: protocols with a count endpoint, and the ``TokenCount.method`` their answers carry
METHODS = {"anthropic": "anthropic:count_tokens", "gemini": "gemini:countTokens"}

# Fields of a Messages body that count_tokens accepts; sampling and output limits are not.
_ANTHROPIC_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")


def count_request(req: ChatRequest, ep: Endpoint) -> HttpRequest | None:
    """The provider's token-count call for ``req``, or None when the protocol has none."""
    builder = _BUILDERS.get(ep.provider)
    return builder(req, ep) if builder is not None else None


def _anthropic(req: ChatRequest, ep: Endpoint) -> HttpRequest:
    from llmrelay.providers.anthropic_request import build_chat_request

    chat = build_chat_request(req, ep, stream=False)
    body = json.loads(chat.body or b"{}")
    slim = {k: body[k] for k in _ANTHROPIC_FIELDS if k in body}
    url, _, query = chat.url.partition("?")
    url = f"{url}/count_tokens" + (f"?{query}" if query else "")
    return HttpRequest("POST", url, chat.headers, _encode(slim))


def _gemini(req: ChatRequest, ep: Endpoint) -> HttpRequest:
    from llmrelay.providers.gemini_request import chat_body, method_url, request_headers, resource_name

    inner = dict(chat_body(req, ep))
    inner.pop("generationConfig", None)  # output settings do not change the prompt's size
    inner["model"] = resource_name(ep.model)
    body = {"generateContentRequest": inner}
    return HttpRequest(
        "POST", method_url(ep, "countTokens"), request_headers(ep, req.extra_headers), _encode(body)
    )


#: protocol -> builder of its count request, and the answer's field holding the count
_BUILDERS: Mapping[str, Callable[[ChatRequest, Endpoint], HttpRequest]] = MappingProxyType(
    {"anthropic": _anthropic, "gemini": _gemini}
)
_COUNT_FIELD: Mapping[str, str] = MappingProxyType({"anthropic": "input_tokens", "gemini": "totalTokens"})


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_count(protocol: str, body: bytes) -> int:
    """The token count in a 2xx answer of ``protocol``'s count endpoint."""
    key = _COUNT_FIELD.get(protocol, "totalTokens")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedResponseError(
            f"the {protocol} token-count answer is not JSON", provider=protocol
        ) from None
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedResponseError(
            f"the {protocol} token-count answer has no integer {key!r}", provider=protocol
        )
    return value
