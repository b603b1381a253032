"""Token estimates for models without a public tokenizer (Claude, Gemini, open models).

No tokenizer is loaded: the estimate is a character rule that costs microseconds and
leans slightly high — about four characters of ASCII text per token and one token per
other character (CJK and most non-Latin scripts land near one token per character).
Every count made here is reported with ``exact=False``; for an exact figure ask the
provider (``Client.count_tokens``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from llmrelay.tokens.images import image_tokens
from llmrelay.types import ChatRequest, ImagePart, Message, TextPart

CHARS_PER_TOKEN = 4.0

#: framing tokens around each message / the whole prompt, per protocol (rough)
_PER_MESSAGE = {"anthropic": 3, "gemini": 1}
_PER_REQUEST = {"anthropic": 4, "gemini": 0}
#: Anthropic adds a system prompt of a few hundred tokens when tools are offered
_ANTHROPIC_TOOL_PROMPT = 346


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    return str(obj)


def json_text(obj: Any) -> str:
    """Compact JSON of a schema that may hold read-only mappings or tuples."""
    return json.dumps(obj, separators=(",", ":"), default=_plain)


def estimate_text(text: str) -> int:
    """Estimated tokens of ``text`` (0 for empty text)."""
    if not text:
        return 0
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
    other = len(text) - ascii_chars
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + other


def _message(message: Message, protocol: str) -> int:
    total = _PER_MESSAGE.get(protocol, 3) + (estimate_text(message.name) if message.name else 0)
    for part in message.parts():
        if isinstance(part, TextPart):
            total += estimate_text(part.text)
        elif isinstance(part, ImagePart):
            total += image_tokens(part, protocol)
    for call in message.tool_calls:
        total += estimate_text(call.name) + estimate_text(call.arguments) + 3
    return total


def estimate_request(req: ChatRequest, protocol: str) -> int:
    """Estimated prompt tokens of ``req`` on a model speaking ``protocol``."""
    total = _PER_REQUEST.get(protocol, 3)
    total += sum(_message(m, protocol) for m in req.messages)
    if req.tools:
        if protocol == "anthropic":
            total += _ANTHROPIC_TOOL_PROMPT
        for tool in req.tools:
            total += estimate_text(tool.name) + estimate_text(tool.description or "")
            total += estimate_text(json_text(tool.parameters))
    fmt = req.response_format
    if fmt is not None and fmt.schema is not None:
        total += estimate_text(json_text(fmt.schema))
    return total
