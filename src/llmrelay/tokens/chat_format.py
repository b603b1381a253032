"""Exact prompt tokens of a chat request under a public (tiktoken) encoding.

The walk follows OpenAI's cookbook ("How to count tokens with tiktoken"), whose counts
match the API's ``prompt_tokens``: each message's role, name and content are encoded,
and the protocol's framing (``TokenRules`` from ``llmrelay.providers``: tokens per
message, per name, per tool call, reply priming, tool-definition framing) is added
around them. Text-only messages are counted exactly; tool definitions, tool calls,
images and JSON schemas follow published approximations, so a count that includes
them is marked inexact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmrelay.providers import TokenRules
from llmrelay.providers.counting import ToolFraming
from llmrelay.tokens.estimate import json_text
from llmrelay.tokens.images import image_tokens
from llmrelay.types import ChatRequest, ImagePart, Message, TextPart, Tool

Counter = Callable[[str], int]


def message_tokens(message: Message, count: Counter, rules: TokenRules) -> tuple[int, bool]:
    """(tokens, exact) for one message, framing included."""
    total = rules.per_message + count(message.role)
    exact = True
    if message.name:
        total += count(message.name) + rules.per_name
    if isinstance(message.content, str):
        total += count(message.content)
    else:
        for part in message.parts():
            if isinstance(part, TextPart):
                total += count(part.text)
            elif isinstance(part, ImagePart):
                total += image_tokens(part, rules)
                exact = False
    for call in message.tool_calls:
        # The call is rendered as name + JSON arguments inside a few framing tokens.
        total += count(call.name) + count(call.arguments) + rules.per_tool_call
        exact = False
    if message.tool_call_id is not None:
        exact = False  # the id's rendering in a tool turn is not published
    return total, exact


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def tools_tokens(tools: Sequence[Tool], count: Counter, encoding: str, rules: TokenRules) -> int:
    """Framing plus text of tool definitions (cookbook rule; nested schemas approximated
    by their JSON text). Without published framing, the definitions' JSON text."""
    if not tools:
        return 0
    framing = rules.framing_for(encoding)
    total = rules.tools_prompt
    if framing is None:
        for tool in tools:
            total += count(tool.name) + count(tool.description or "") + count(json_text(tool.parameters))
        return total
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


def request_tokens(req: ChatRequest, count: Counter, encoding: str, rules: TokenRules) -> tuple[int, bool]:
    """(prompt tokens, exact) for a whole chat request on a model whose encoding is
    ``encoding`` and whose protocol frames prompts by ``rules``."""
    total = rules.per_request
    exact = True
    for message in req.messages:
        n, ok = message_tokens(message, count, rules)
        total += n
        exact = exact and ok
    if req.tools:
        total += tools_tokens(req.tools, count, encoding, rules)
        exact = False
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.schema is not None:
        total += count(json_text(fmt.schema)) + count(fmt.name or "")
        exact = False
    return total, exact
