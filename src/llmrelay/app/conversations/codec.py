"""Messages to JSON and back, losslessly, for the conversation stores (pure functions).

Everything a ``Message`` holds survives the round trip: text or parts (images by URL or
inline data, with their detail), tool calls, the tool call a result answers, the name,
and the provider state a provider needs replayed (Anthropic thinking signatures…).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmrelay.app.conversations.errors import ConversationStoreError
from llmrelay.types import ROLES, ContentPart, ImagePart, Message, TextPart, ToolCall


def message_to_dict(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    content = message.content
    if isinstance(content, str) or content is None:
        out["content"] = content
    else:
        out["content"] = [_part_to_dict(p) for p in content]
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    if message.provider_state:
        out["provider_state"] = dict(message.provider_state)
    return out


def _part_to_dict(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    d: dict[str, Any] = {"type": "image"}
    for key in ("url", "data", "media_type", "detail"):
        value = getattr(part, key)
        if value is not None:
            d[key] = value
    return d


def message_from_dict(d: Mapping[str, Any]) -> Message:
    role = d.get("role")
    if role not in ROLES:
        raise ConversationStoreError(f"a stored message has the role {role!r}; the store's data is damaged")
    raw = d.get("content")
    content: str | tuple[ContentPart, ...] | None = (
        raw if raw is None or isinstance(raw, str) else tuple(_part_from_dict(p) for p in raw)
    )
    calls = tuple(
        ToolCall(id=str(c["id"]), name=str(c["name"]), arguments=str(c.get("arguments", "{}")))
        for c in d.get("tool_calls") or ()
    )
    state = d.get("provider_state")
    return Message(
        role=role,
        content=content,
        tool_calls=calls,
        tool_call_id=d.get("tool_call_id"),
        name=d.get("name"),
        provider_state=state if state else None,
    )


def _part_from_dict(p: Mapping[str, Any]) -> ContentPart:
    if p.get("type") == "text":
        return TextPart(str(p.get("text", "")))
    return ImagePart(
        url=p.get("url"), data=p.get("data"), media_type=p.get("media_type"), detail=p.get("detail")
    )


def dumps(message: Message) -> str:
    """Compact JSON of one message (raises ``ConversationStoreError`` for provider state
    that is not JSON)."""
    try:
        return json.dumps(message_to_dict(message), separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ConversationStoreError(f"a {message.role} message cannot be stored as JSON: {exc}") from None


def loads(text: str | bytes) -> Message:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConversationStoreError(
            f"a stored message is not valid JSON ({exc}); the data is damaged"
        ) from None
    if not isinstance(data, Mapping):
        raise ConversationStoreError("a stored message is not a JSON object; the data is damaged")
    return message_from_dict(data)
