"""Captured prompts and completions: redacted of keys and personal data, cut to a limit,
in the GenAI conventions' message shape (``[{"role", "parts": [{"type", "content"}]}]``).

Only used when content capture is on (``observe.content``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from llmrelay.observe.detect import find
from llmrelay.observe.scrub import redact_findings
from llmrelay.secrets import redact
from llmrelay.types import Message, TextPart


def clip(text: str, limit: int) -> str:
    """``text`` redacted — key shapes, then everything the guard's detectors find
    (emails, phone numbers, cards, IBANs, keys, JWTs become ``[KIND]``) — and cut to
    ``limit`` characters (marked with ``…``)."""
    text = redact(text)
    text = redact_findings(text, find(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def messages_json(messages: Sequence[Message], limit: int) -> str:
    """The prompt as the conventions' input messages; each text part clipped to ``limit``."""
    out = []
    for m in messages:
        parts: list[dict[str, str]] = []
        for p in m.parts():
            if isinstance(p, TextPart):
                parts.append({"type": "text", "content": clip(p.text, limit)})
            else:  # images, audio, files: their kind only, never the bytes or a URL
                parts.append({"type": getattr(p, "type", "other")})
        for tc in m.tool_calls:
            parts.append({"type": "tool_call", "name": tc.name})
        out.append({"role": m.role, "parts": parts})
    return json.dumps(out, ensure_ascii=False)
