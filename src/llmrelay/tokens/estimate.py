"""Token estimates for models without a public tokenizer (Claude, Gemini, open models).

No tokenizer is loaded: the estimate is a character rule that costs microseconds and
leans slightly high — about four characters of ASCII text per token and one token per
other character (CJK and most non-Latin scripts land near one token per character).
The framing around the text (per message, per request, a tool-use system prompt) is the
protocol's own, from its ``TokenRules`` in ``llmrelay.providers``. Every count made here
is reported with ``exact=False``; for an exact figure ask the provider
(``Client.count_tokens``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from llmrelay.providers import TokenRules, token_rules
from llmrelay.tokens.images import image_tokens
from llmrelay.types import ChatRequest, ImagePart, Message, TextPart

CHARS_PER_TOKEN = 4.0


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


def _message(message: Message, rules: TokenRules) -> int:
    total = rules.per_message
    if message.name:
        total += estimate_text(message.name) + rules.per_name
    for part in message.parts():
        if isinstance(part, TextPart):
            total += estimate_text(part.text)
        elif isinstance(part, ImagePart):
            total += image_tokens(part, rules)
    for call in message.tool_calls:
        total += estimate_text(call.name) + estimate_text(call.arguments) + rules.per_tool_call
    return total


def estimate_request(req: ChatRequest, protocol: str | TokenRules) -> int:
    """Estimated prompt tokens of ``req`` on a model speaking ``protocol`` (a name from
    ``llmrelay.providers.ADAPTERS``, or its ``TokenRules``)."""
    rules = token_rules(protocol) if isinstance(protocol, str) else protocol
    total = rules.per_request
    total += sum(_message(m, rules) for m in req.messages)
    if req.tools:
        total += rules.tools_prompt
        for tool in req.tools:
            total += estimate_text(tool.name) + estimate_text(tool.description or "")
            total += estimate_text(json_text(tool.parameters))
    fmt = req.response_format
    if fmt is not None and fmt.schema is not None:
        total += estimate_text(json_text(fmt.schema))
    return total
