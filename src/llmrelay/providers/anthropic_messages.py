"""Anthropic Messages API ``system`` and ``messages``: llmrelay Messages -> content blocks.

System messages are hoisted into ``system``; the rest become alternating user/assistant
turns (tool results are ``tool_result`` blocks opening a user turn, tool calls
``tool_use`` blocks, thinking blocks replayed from ``provider_state``). Pure functions;
the mapping is described in ``docs/providers/anthropic.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from llmrelay import errors
from llmrelay.providers import anthropic_cache
from llmrelay.providers.anthropic_state import replay_blocks
from llmrelay.types import ContentPart, ImagePart, Message, TextPart

_TOOL_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def translate_messages(
    messages: Sequence[Message],
    start: int = 0,
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Hoist system messages; turn the rest into alternating user/assistant turns.
    ``start`` is the index of ``messages[0]`` in the caller's list (a thread continue
    sends a tail), so that errors name the caller's index."""
    system_blocks: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(messages, start):
        if msg.role == "system":
            system_blocks.extend(_marked(_system_blocks(msg, i), msg))
            continue
        role, blocks = _turn(msg, i)
        blocks = _marked(blocks, msg)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise errors.InvalidRequestError(
            "the request has no user or assistant message; Anthropic needs at least one user message "
            "besides the system prompt"
        )
    for turn in turns:
        if turn["role"] == "user":
            # Anthropic requires tool_result blocks to open a user turn, before any text.
            turn["content"].sort(key=lambda b: b.get("type") != "tool_result")
    system: str | list[dict[str, Any]] | None
    if not system_blocks:
        system = None
    elif len(system_blocks) == 1 and "cache_control" not in system_blocks[0]:
        system = system_blocks[0]["text"]
    else:
        system = system_blocks
    return system, turns


def _marked(blocks: list[dict[str, Any]], msg: Message) -> list[dict[str, Any]]:
    """``Message.cache`` is a breakpoint on the turn's last block."""
    if msg.cache is not None and blocks:
        blocks[-1]["cache_control"] = anthropic_cache.control(msg.cache)
    return blocks


def _system_blocks(msg: Message, i: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in msg.parts():
        if not isinstance(part, TextPart):
            raise errors.InvalidRequestError(
                f"messages[{i}] is a system message with an image; Anthropic's system prompt takes text "
                "only: move the image into a user message"
            )
        if part.text:
            blocks.append(_content_block(part, i))
    return blocks


def _turn(msg: Message, i: int) -> tuple[str, list[dict[str, Any]]]:
    if msg.role == "user":
        blocks = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        if not blocks:
            raise errors.InvalidRequestError(
                f"messages[{i}] is a user message with no content; give it text or an image, or drop it"
            )
        return "user", blocks
    if msg.role == "assistant":
        # Empty text blocks are rejected by Anthropic; an empty assistant turn carries nothing.
        blocks = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        for call in msg.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool_id(call.id, i),
                    "name": call.name,
                    "input": _tool_input(call.arguments, call.name, i),
                }
            )
        thinking = replay_blocks(msg.provider_state, i)
        # Thinking alone would be an assistant prefill ending in thinking, which Anthropic refuses.
        if thinking and blocks:
            blocks = thinking + blocks  # Anthropic wants the turn's thinking ahead of text and tool_use
        return "assistant", blocks
    if msg.role == "tool":
        return "user", [_tool_result(msg, i)]
    raise errors.InvalidRequestError(
        f"messages[{i}] has unknown role {msg.role!r}; use system, user, assistant or tool"
    )


def _content_block(part: ContentPart, i: int) -> dict[str, Any]:
    if isinstance(part, TextPart):
        if part.cache is not None:
            return {"type": "text", "text": part.text, "cache_control": anthropic_cache.control(part.cache)}
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return _image_block(part, i)
    raise errors.InvalidRequestError(
        f"messages[{i}] has a content part of unsupported type {type(part).__name__}; "
        "use TextPart or ImagePart"
    )


def _image_block(part: ImagePart, i: int) -> dict[str, Any]:
    inline = part.as_data()
    if inline is not None:
        media_type, data = inline
        if media_type == "application/octet-stream":  # what as_data() reports when none was given
            raise errors.InvalidRequestError(
                f"messages[{i}] has inline image data without a media type; Anthropic needs one of "
                "image/jpeg, image/png, image/gif or image/webp (ImagePart.from_bytes(raw, 'image/png'))"
            )
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if not part.url:
        raise errors.InvalidRequestError(f"messages[{i}] has an image with neither url nor data")
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def tool_id(raw: str, i: int) -> str:
    """Anthropic only accepts ``[A-Za-z0-9_-]`` in tool-use ids; ids made by other providers
    (after a fallback) are mapped the same way in tool_use and tool_result so they still pair."""
    if not raw:
        raise errors.InvalidRequestError(
            f"messages[{i}] has a tool call or tool result with an empty id; Anthropic pairs tool results "
            "with calls by id"
        )
    return _TOOL_ID_INVALID.sub("_", raw)


def _tool_input(arguments: str, name: str, i: int) -> dict[str, Any]:
    if not arguments or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise errors.InvalidRequestError(
            f"messages[{i}] has a call to tool {name!r} whose arguments are not valid JSON ({exc.msg} at "
            f"position {exc.pos}); Anthropic needs the arguments as a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise errors.InvalidRequestError(
            f"messages[{i}] has a call to tool {name!r} whose arguments are JSON {type(value).__name__}, "
            "not an object; Anthropic needs the arguments as a JSON object"
        )
    return value


def _tool_result(msg: Message, i: int) -> dict[str, Any]:
    if not msg.tool_call_id:
        raise errors.InvalidRequestError(
            f"messages[{i}] is a tool message without tool_call_id; set it to the id of the call it answers"
        )
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(msg.tool_call_id, i)}
    if isinstance(msg.content, str):
        if msg.content:
            block["content"] = msg.content
    else:
        parts = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        if parts:
            block["content"] = parts
    return block
