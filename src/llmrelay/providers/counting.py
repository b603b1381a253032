"""What a wire protocol adds around a prompt's text, as data the offline counter reads.

Each protocol module states its own rules (``openai_tokens``, ``anthropic_tokens``,
``gemini_tokens``) and its adapter exposes them as ``token_rules``; ``llmrelay.tokens``
applies them without knowing any protocol by name. The helpers for the providers' own
count endpoints live here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from llmrelay.errors import MalformedResponseError

#: (width, height, detail) -> prompt tokens of an image of that size
ImageRule = Callable[[int, int, str | None], int]


@dataclass(frozen=True, slots=True)
class ToolFraming:
    """Framing tokens of tool definitions, as OpenAI's cookbook publishes them: per function
    opened and closed, per property list and property, per enum list and value."""

    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


def _no_encoding(model: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class TokenRules:
    """A protocol's prompt framing, in tokens.

    ``per_request`` is spent once (OpenAI: the reply priming ``<|start|>assistant<|message|>``),
    ``per_message`` around every message, ``per_name`` on top of a message's ``name`` text,
    ``per_tool_call`` around each tool call of an assistant turn, and ``tools_prompt`` once
    when tools are offered (Anthropic's tool-use system prompt). ``image_tokens`` prices an
    image by its size. ``tool_framing`` maps a tiktoken encoding to the framing of tool
    definitions where it is published (else ``default_tool_framing`` applies, or the
    definitions are counted as JSON text when that is None too). ``encoding_for`` names
    the public tiktoken encoding of a model id, or None where the tokenizer is not public.
    ``model_prefixes`` are the beginnings of this protocol's own model ids (``claude``), so
    that a bare model name can be matched to its protocol.
    """

    per_request: int
    per_message: int
    image_tokens: ImageRule
    per_name: int = 0
    per_tool_call: int = 3
    tools_prompt: int = 0
    tool_framing: Mapping[str, ToolFraming] = field(default_factory=lambda: MappingProxyType({}))
    default_tool_framing: ToolFraming | None = None
    encoding_for: Callable[[str], str | None] = _no_encoding
    model_prefixes: tuple[str, ...] = ()

    def framing_for(self, encoding: str) -> ToolFraming | None:
        """The tool-definition framing under ``encoding``, or None when none is published."""
        return self.tool_framing.get(encoding, self.default_tool_framing)

    def owns_model(self, model: str) -> bool:
        """Whether a bare model id (any ``vendor/`` prefix ignored) is one of this protocol's own."""
        name = model.rsplit("/", 1)[-1].lower()
        return bool(self.model_prefixes) and name.startswith(self.model_prefixes)


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON for a count request body."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_count_field(body: bytes, key: str, *, provider: str, model: str | None = None) -> int:
    """The non-negative integer ``key`` of a count endpoint's 2xx JSON answer; raises
    ``MalformedResponseError`` naming ``provider`` when the answer has none."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedResponseError(
            f"the {provider} token-count answer is not JSON", provider=provider, model=model
        ) from None
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedResponseError(
            f"the {provider} token-count answer has no integer {key!r}", provider=provider, model=model
        )
    return value
