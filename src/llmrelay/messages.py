"""Accept messages the way people write them: a string, Message objects, or
OpenAI-style dicts (the lingua franca of chat APIs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmrelay.errors import InvalidRequestError
from llmrelay.types import ROLES, ContentPart, ImagePart, Message, TextPart, ToolCall

MessagesLike = str | Message | Mapping[str, Any] | Iterable[Message | Mapping[str, Any]]


def coerce_messages(messages: MessagesLike) -> tuple[Message, ...]:
    if isinstance(messages, str):
        return (Message(role="user", content=messages),)
    if isinstance(messages, Message):
        return (messages,)
    if isinstance(messages, Mapping):
        return (message_from_dict(messages, 0),)
    out = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, Mapping):
            out.append(message_from_dict(m, i))
        else:
            raise InvalidRequestError(
                f"messages[{i}] is a {type(m).__name__}; "
                "give a llmrelay.Message or a dict with 'role' and 'content'"
            )
    return tuple(out)


def message_from_dict(d: Mapping[str, Any], i: int) -> Message:
    role = d.get("role")
    if role not in ROLES:
        raise InvalidRequestError(f"messages[{i}].role is {role!r}; use one of {', '.join(sorted(ROLES))}")
    content = d.get("content")
    parts: str | tuple[ContentPart, ...] | None
    if content is None or isinstance(content, str):
        parts = content
    elif isinstance(content, Sequence):
        parts = tuple(_part_from_dict(p, i, j) for j, p in enumerate(content))
    else:
        raise InvalidRequestError(f"messages[{i}].content must be a string or a list of parts")
    calls = tuple(_call_from_dict(c, i, j) for j, c in enumerate(d.get("tool_calls") or ()))
    return Message(
        role=role,
        content=parts,
        tool_calls=calls,
        tool_call_id=d.get("tool_call_id"),
        name=d.get("name"),
    )


def _part_from_dict(p: Any, i: int, j: int) -> ContentPart:
    if isinstance(p, TextPart | ImagePart):
        return p
    if isinstance(p, str):
        return TextPart(p)
    if not isinstance(p, Mapping):
        raise InvalidRequestError(f"messages[{i}].content[{j}] must be a dict part")
    kind = p.get("type")
    if kind == "text":
        return TextPart(str(p.get("text", "")))
    if kind == "image_url":
        img = p.get("image_url")
        url = img.get("url") if isinstance(img, Mapping) else img
        detail = img.get("detail") if isinstance(img, Mapping) else None
        if not isinstance(url, str):
            raise InvalidRequestError(f"messages[{i}].content[{j}].image_url needs a 'url' string")
        return ImagePart(url=url, detail=detail)
    if kind == "image":
        return ImagePart(url=p.get("url"), data=p.get("data"), media_type=p.get("media_type"))
    raise InvalidRequestError(
        f"messages[{i}].content[{j}] has type {kind!r}; "
        "supported part types are 'text', 'image_url' and 'image'"
    )


def _call_from_dict(c: Any, i: int, j: int) -> ToolCall:
    if isinstance(c, ToolCall):
        return c
    if not isinstance(c, Mapping):
        raise InvalidRequestError(f"messages[{i}].tool_calls[{j}] must be a dict")
    fn = c.get("function", c)
    name, args = fn.get("name"), fn.get("arguments", "{}")
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"messages[{i}].tool_calls[{j}] needs a function name")
    if not isinstance(args, str):
        args = json.dumps(args)
    return ToolCall(id=str(c.get("id") or f"call_{i}_{j}"), name=name, arguments=args)
