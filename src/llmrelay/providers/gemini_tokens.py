"""Gemini's prompt tokens: its free ``countTokens`` method, and framing for offline estimates.

``models/{model}:countTokens`` counts a ``generateContent`` request exactly with the
model's own tokenizer; the request wraps the chat translation (without its output
settings, which do not change the prompt's size). Offline counts are estimates framed
by ``RULES``.
"""

from __future__ import annotations

import math

from llmrelay.providers.counting import TokenRules, encode_json, parse_count_field
from llmrelay.providers.gemini_request import chat_body, method_url, request_headers, resource_name
from llmrelay.types import ChatRequest
from llmrelay.wire import Endpoint, HttpRequest

COUNT_METHOD = "gemini:countTokens"


def image_tokens(width: int, height: int, detail: str | None = None) -> int:
    """258 tokens for an image up to 384 px on both sides, else 258 per 768-px tile."""
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


RULES = TokenRules(
    per_request=0,
    per_message=1,
    image_tokens=image_tokens,
    model_prefixes=("gemini", "gemma"),
)


def count_request(req: ChatRequest, ep: Endpoint) -> HttpRequest:
    """``POST …/models/{model}:countTokens`` around the ``generateContent`` body of ``req``."""
    inner = dict(chat_body(req, ep))
    inner.pop("generationConfig", None)  # output settings do not change the prompt's size
    inner["model"] = resource_name(ep.model)
    body = {"generateContentRequest": inner}
    return HttpRequest(
        "POST", method_url(ep, "countTokens"), request_headers(ep, req.extra_headers), encode_json(body)
    )


def parse_count(body: bytes, ep: Endpoint | None = None) -> int:
    """``totalTokens`` of a 2xx ``countTokens`` answer."""
    provider = (ep.host if ep is not None else "") or "gemini"
    return parse_count_field(body, "totalTokens", provider=provider, model=ep.model if ep else None)
