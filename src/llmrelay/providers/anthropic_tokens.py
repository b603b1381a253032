"""Anthropic's prompt tokens: its free count endpoint, and framing for offline estimates.

``POST /v1/messages/count_tokens`` counts a Messages request exactly with the model's
own tokenizer. The request reuses the chat translation, so what is counted is what a
chat call would send, minus the fields the endpoint refuses (sampling, output limits).
Claude's tokenizer is not public; offline counts are estimates framed by ``RULES``.
"""

from __future__ import annotations

import math

from llmrelay.providers import anthropic_threads
from llmrelay.providers.anthropic_request import build_body, build_headers, messages_url
from llmrelay.providers.counting import TokenRules, encode_json, parse_count_field
from llmrelay.types import ChatRequest
from llmrelay.wire import Endpoint, HttpRequest

COUNT_METHOD = "anthropic:count_tokens"

# Fields of a Messages body that count_tokens accepts; sampling and output limits are not.
_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")
#: Anthropic adds a system prompt of a few hundred tokens when tools are offered
TOOL_USE_PROMPT = 346


def image_tokens(width: int, height: int, detail: str | None = None) -> int:
    """About width × height / 750, after scaling to at most 1568 px on the long side and
    ~1.15 megapixels (``detail`` does not apply)."""
    w, h = float(width), float(height)
    if max(w, h) > 1568:
        scale = 1568 / max(w, h)
        w, h = w * scale, h * scale
    if w * h > 1_150_000:
        scale = math.sqrt(1_150_000 / (w * h))
        w, h = w * scale, h * scale
    return max(1, math.ceil(w * h / 750))


RULES = TokenRules(
    per_request=4,
    per_message=3,
    tools_prompt=TOOL_USE_PROMPT,
    image_tokens=image_tokens,
    model_prefixes=("claude",),
)


def count_request(req: ChatRequest, ep: Endpoint) -> HttpRequest:
    """``POST …/v1/messages/count_tokens`` for the Messages request ``req`` would make."""
    ep = anthropic_threads.unthreaded(ep)  # count the whole conversation, not a thread's new turn
    body = build_body(req, ep, stream=False)
    slim = {k: body[k] for k in _COUNT_FIELDS if k in body}
    url, _, query = messages_url(ep).partition("?")
    url = f"{url}/count_tokens" + (f"?{query}" if query else "")
    return HttpRequest("POST", url, build_headers(req, ep, stream=False), encode_json(slim))


def parse_count(body: bytes, ep: Endpoint | None = None) -> int:
    """``input_tokens`` of a 2xx count answer."""
    provider = (ep.host if ep is not None else "") or "anthropic"
    return parse_count_field(body, "input_tokens", provider=provider, model=ep.model if ep else None)
