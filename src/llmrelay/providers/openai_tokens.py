"""How OpenAI chat models turn a request into prompt tokens.

The rules are the ones OpenAI publishes in its cookbook ("How to count tokens with
tiktoken"), which match the API's ``prompt_tokens``: every message costs 3 tokens of
framing plus its role and content (and 1 more with a ``name``), every reply is primed
with 3 tokens, and tool definitions add a fixed framing per function, property and enum
value. Images follow the tile rule of the vision guide. OpenAI's models have public
encodings, so ``llmrelay.tokens`` counts them exactly with tiktoken; Chat Completions
has no count endpoint.
"""

from __future__ import annotations

import math
from types import MappingProxyType

from llmrelay.providers.counting import TokenRules, ToolFraming

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # <|start|>assistant<|message|>

#: cl100k-era models (gpt-4, gpt-3.5-turbo) spend 10 tokens opening a function, o200k ones 7
TOOL_FRAMING = MappingProxyType(
    {"cl100k_base": ToolFraming(func_init=10), "o200k_base": ToolFraming(func_init=7)}
)

_O200K_FAMILIES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_CL100K_FAMILIES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002")


def guess_encoding(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model id by its family (any ``vendor/`` prefix
    ignored), or None for a name that is not OpenAI's."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith(_O200K_FAMILIES):
        return "o200k_base"
    if name.startswith(_CL100K_FAMILIES):
        return "cl100k_base"
    return None


def image_tokens(width: int, height: int, detail: str | None) -> int:
    """OpenAI's tile rule: ``low`` is a flat base; otherwise fit in 2048², scale the short
    side to 768 and charge per 512-px tile. Base/tile are 85/170 for the GPT-4o family."""
    base, per_tile = 85, 170
    if detail == "low":
        return base
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return base + per_tile * tiles


RULES = TokenRules(
    per_request=REPLY_PRIMING,
    per_message=TOKENS_PER_MESSAGE,
    per_name=TOKENS_PER_NAME,
    # a tool call is rendered as its name and JSON arguments inside a message's framing
    per_tool_call=TOKENS_PER_MESSAGE,
    image_tokens=image_tokens,
    tool_framing=TOOL_FRAMING,
    default_tool_framing=TOOL_FRAMING["o200k_base"],
    encoding_for=guess_encoding,
)
