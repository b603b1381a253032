"""How OpenAI chat models turn a request into prompt tokens.

The rules are the ones OpenAI publishes in its cookbook ("How to count tokens with
tiktoken"), which match the API's ``prompt_tokens``: every message costs 3 tokens of
framing plus its role and content (and 1 more with a ``name``), every reply is primed
with 3 tokens, and tool definitions add a fixed framing per function, property and enum
value. Text-only messages are counted exactly; tool definitions, tool calls, images and
JSON schemas follow published approximations, so a count that includes them is marked
inexact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.tokens.estimate import json_text
from llmrelay.tokens.images import image_tokens
from llmrelay.types import ChatRequest, ImagePart, Message, TextPart, Tool

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # <|start|>assistant<|message|>


@dataclass(frozen=True, slots=True)
class ToolFraming:
    """Per-function framing tokens for tool definitions (cookbook values)."""

    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


#: cl100k-era models (gpt-4, gpt-3.5-turbo) spend 10 tokens opening a function, o200k ones 7
TOOL_FRAMING = {"cl100k_base": ToolFraming(func_init=10), "o200k_base": ToolFraming(func_init=7)}

Counter = Callable[[str], int]


def message_tokens(message: Message, count: Counter) -> tuple[int, bool]:
    """(tokens, exact) for one message, framing included."""
    total = TOKENS_PER_MESSAGE + count(message.role)
    exact = True
    if message.name:
        total += count(message.name) + TOKENS_PER_NAME
    if isinstance(message.content, str):
        total += count(message.content)
    else:
        for part in message.parts():
            if isinstance(part, TextPart):
                total += count(part.text)
            elif isinstance(part, ImagePart):
                total += image_tokens(part, "openai")
                exact = False
    for call in message.tool_calls:
        # The call is rendered as name + JSON arguments inside a few framing tokens.
        total += count(call.name) + count(call.arguments) + TOKENS_PER_MESSAGE
        exact = False
    if message.tool_call_id is not None:
        exact = False  # the id's rendering in a tool turn is not published
    return total, exact


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def tools_tokens(tools: Sequence[Tool], count: Counter, encoding: str) -> int:
    """Framing plus text of tool definitions (cookbook rule; nested schemas approximated
    by their JSON text)."""
    if not tools:
        return 0
    framing = TOOL_FRAMING.get(encoding, TOOL_FRAMING["o200k_base"])
    total = 0
    for tool in tools:
        total += framing.func_init
        total += count(f"{tool.name}:{_strip_period(tool.description or '')}")
        properties = tool.parameters.get("properties") or {}
        if properties:
            total += framing.prop_init
            for key, prop in properties.items():
                total += framing.prop_key
                total += _property_tokens(key, prop, count, framing)
    return total + framing.func_end


def _property_tokens(key: str, prop: Any, count: Counter, framing: ToolFraming) -> int:
    if not isinstance(prop, Mapping):
        return count(f"{key}:{json_text(prop)}")
    total = 0
    enum = prop.get("enum")
    if isinstance(enum, list):
        total += framing.enum_init
        for item in enum:
            total += framing.enum_item + count(str(item))
    kind = prop.get("type", "")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind)
    desc = _strip_period(str(prop.get("description") or ""))
    total += count(f"{key}:{kind}:{desc}")
    nested = {k: v for k, v in prop.items() if k in ("properties", "items", "anyOf", "oneOf", "allOf")}
    if nested:
        total += count(json_text(nested))
    return total


def request_tokens(req: ChatRequest, count: Counter, encoding: str) -> tuple[int, bool]:
    """(prompt tokens, exact) for a whole chat request on an OpenAI model."""
    total = REPLY_PRIMING
    exact = True
    for message in req.messages:
        n, ok = message_tokens(message, count)
        total += n
        exact = exact and ok
    if req.tools:
        total += tools_tokens(req.tools, count, encoding)
        exact = False
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.schema is not None:
        total += count(json_text(fmt.schema)) + count(fmt.name or "")
        exact = False
    return total, exact
