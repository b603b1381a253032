"""Anthropic Messages requests as the simulator reads them: validation and translation for the engine.

Pure functions only. Validation follows the real API's order and wording closely enough
that an adapter's error mapping can be tested against it: field errors name the JSON
path (``messages.1.content.0``) the way the service does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid, is_int
from llmrelay.simulator.anthropic_sampling import check_sampling
from llmrelay.simulator.anthropic_tools import parse_tool_choice, parse_tools
from llmrelay.simulator.engine import (
    GenerationInput,
    conversation_of,
    count_tokens,
    prompt_tokens,
)
from llmrelay.simulator.openai_request import IMAGE_TOKENS

_CONTENT_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"}
)


DEFAULT_VERSION = "2023-06-01"
# The first version to change request rules since 2023-06-01: no sampling parameters, no documents in
# assistant turns, no citations on user text.
MODERN_VERSION = "2026-10-21"


@dataclass(frozen=True)
class MessagesCall:
    """A validated ``POST /v1/messages`` body."""

    model: str
    stream: bool
    generation: GenerationInput


def _text_of_blocks(blocks: object, path: str) -> str:
    """Text of a ``system`` value or a ``tool_result`` content: a string or text/image blocks."""
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        raise AnthropicInvalid(f"{path}: Input should be a valid string or a valid list")
    texts = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise AnthropicInvalid(f"{path}.{i}: Input should be an object with a `type` field")
        if block["type"] == "text":
            if not isinstance(block.get("text"), str):
                raise AnthropicInvalid(f"{path}.{i}.text: Field required")
            texts.append(block["text"])
    return "\n".join(texts)


@dataclass(frozen=True)
class _Turn:
    role: str
    text: str
    tool_use_ids: tuple[str, ...]
    tool_result_ids: tuple[str, ...]


def _parse_block(block: object, path: str, role: str, modern: bool) -> tuple[str, str | None, str | None]:
    """One content block: (text it contributes, tool_use id, tool_result id)."""
    if not isinstance(block, dict):
        raise AnthropicInvalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    if not isinstance(kind, str):
        raise AnthropicInvalid(f"{path}.type: Field required")
    if kind not in _CONTENT_TYPES:
        allowed = ", ".join(f"'{t}'" for t in sorted(_CONTENT_TYPES))
        raise AnthropicInvalid(
            f"{path}.type: Input tag '{kind}' found using 'type' does not match any of the expected tags: "
            f"{allowed}"
        )
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise AnthropicInvalid(f"{path}.text: Field required")
        if not text:
            raise AnthropicInvalid(f"{path}: text content blocks must be non-empty")
        if modern and role == "user" and block.get("citations"):
            raise AnthropicInvalid(
                f"{path}.citations: citations are not permitted on `text` blocks in `user` messages"
            )
        return text, None, None
    if kind == "document" and modern and role == "assistant":
        raise AnthropicInvalid(f"{path}: `document` blocks are not permitted in `assistant` messages")
    if kind == "tool_use":
        if role != "assistant":
            raise AnthropicInvalid(f"{path}: `tool_use` blocks can only appear in `assistant` messages")
        tool_id, name, args = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(tool_id, str) or not tool_id:
            raise AnthropicInvalid(f"{path}.id: Field required")
        if not isinstance(name, str) or not name:
            raise AnthropicInvalid(f"{path}.name: Field required")
        if not isinstance(args, dict):
            raise AnthropicInvalid(f"{path}.input: Input should be a valid dictionary")
        return f"{name}({json.dumps(args, sort_keys=True)})", tool_id, None
    if kind == "tool_result":
        if role != "user":
            raise AnthropicInvalid(f"{path}: `tool_result` blocks can only appear in `user` messages")
        use_id = block.get("tool_use_id")
        if not isinstance(use_id, str) or not use_id:
            raise AnthropicInvalid(f"{path}.tool_use_id: Field required")
        content = block.get("content", "")
        return _text_of_blocks(content, f"{path}.content"), None, use_id
    return "", None, None  # images, documents, thinking: carried, not read


def _parse_turn(message: object, index: int, is_last: bool, modern: bool) -> _Turn:
    path = f"messages.{index}"
    if not isinstance(message, dict):
        raise AnthropicInvalid(f"{path}: Input should be a valid dictionary")
    role = message.get("role")
    if role is None:
        raise AnthropicInvalid(f"{path}.role: Field required")
    if role == "system":
        raise AnthropicInvalid(
            f'{path}: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
            'not "system" as an input message role.'
        )
    if role not in ("user", "assistant"):
        raise AnthropicInvalid(f"{path}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise AnthropicInvalid(f"{path}.content: Field required")
    content = message["content"]
    empty_error = (
        f"{path}: all messages must have non-empty content except for the optional final assistant message"
    )
    optional_empty = is_last and role == "assistant"
    if isinstance(content, str):
        if not content and not optional_empty:
            raise AnthropicInvalid(empty_error)
        return _Turn(role, content, (), ())
    if not isinstance(content, list):
        raise AnthropicInvalid(f"{path}.content: Input should be a valid string or a valid list")
    if not content and not optional_empty:
        raise AnthropicInvalid(empty_error)
    texts: list[str] = []
    uses: list[str] = []
    results: list[str] = []
    for j, block in enumerate(content):
        text, use_id, result_id = _parse_block(block, f"{path}.content.{j}", role, modern)
        if text:
            texts.append(text)
        if use_id is not None:
            if use_id in uses:
                raise AnthropicInvalid(f"{path}.content.{j}: `tool_use` ids must be unique")
            uses.append(use_id)
        if result_id is not None:
            results.append(result_id)
    return _Turn(role, "\n".join(texts), tuple(uses), tuple(results))


def _check_tool_pairing(turns: Sequence[_Turn]) -> None:
    """Every tool_use must be answered in the very next user turn, and only those may be."""
    seen_ids: set[str] = set()
    for i, turn in enumerate(turns):
        for use_id in turn.tool_use_ids:
            if use_id in seen_ids:
                raise AnthropicInvalid(f"messages.{i}: `tool_use` ids must be unique")
            seen_ids.add(use_id)
        previous = turns[i - 1].tool_use_ids if i > 0 else ()
        stray = [r for r in turn.tool_result_ids if r not in previous]
        if stray:
            raise AnthropicInvalid(
                f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: {', '.join(stray)}. "
                "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            )
        if turn.tool_use_ids and i + 1 < len(turns):
            answered = turns[i + 1].tool_result_ids
            missing = [u for u in turn.tool_use_ids if u not in answered]
            if missing:
                raise AnthropicInvalid(
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )


def _parse_output_format(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of ``output_config.format`` (GA) or the older beta ``output_format``."""
    config = body.get("output_config")
    fmt: object = None
    path = "output_config.format"
    if config is not None:
        if not isinstance(config, dict):
            raise AnthropicInvalid("output_config: Input should be a valid dictionary")
        fmt = config.get("format")
    if fmt is None and body.get("output_format") is not None:
        fmt, path = body["output_format"], "output_format"
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise AnthropicInvalid(f"{path}.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise AnthropicInvalid(f"{path}.schema: Field required")
    return schema


def _parse_stop_sequences(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise AnthropicInvalid("stop_sequences: Input should be a valid list of strings")
    for s in raw:
        if not s.strip():
            raise AnthropicInvalid("stop_sequences: each stop sequence must contain non-whitespace")
    return tuple(raw)


def _conversation(
    body: Mapping[str, Any], *, require_max_tokens: bool, modern: bool
) -> tuple[str, int, list[_Turn]]:
    """Shared validation of /v1/messages and /v1/messages/count_tokens."""
    model = body.get("model")
    if model is None:
        raise AnthropicInvalid("model: Field required")
    if not isinstance(model, str) or not model:
        raise AnthropicInvalid("model: Input should be a valid string")
    if require_max_tokens:
        if "max_tokens" not in body:
            raise AnthropicInvalid("max_tokens: Field required")
        if not is_int(body["max_tokens"]):
            raise AnthropicInvalid("max_tokens: Input should be a valid integer")
        if body["max_tokens"] < 1:
            raise AnthropicInvalid("max_tokens: Input should be greater than or equal to 1")
    if "messages" not in body:
        raise AnthropicInvalid("messages: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise AnthropicInvalid("messages: Input should be a valid list")
    if not messages:
        raise AnthropicInvalid("messages: at least one message is required")
    turns = [_parse_turn(m, i, i == len(messages) - 1, modern) for i, m in enumerate(messages)]
    _check_tool_pairing(turns)
    system = body.get("system")
    parts = [_text_of_blocks(system, "system")] if system is not None else []
    parts.extend(t.text for t in turns)
    return conversation_of(p for p in parts if p), len(parts), turns


def _image_count(messages: Sequence[Mapping[str, Any]]) -> int:
    """Image blocks in (validated) messages, including those inside tool results."""
    count = 0
    for message in messages:
        content = message["content"]
        for block in content if isinstance(content, list) else ():
            if block["type"] == "image":
                count += 1
            elif block["type"] == "tool_result" and isinstance(block.get("content"), list):
                count += sum(1 for inner in block["content"] if inner.get("type") == "image")
    return count


def is_modern(api_version: str) -> bool:
    """Whether ``anthropic-version`` selects the 2026-10-21 rules (ISO dates compare as strings)."""
    return api_version >= MODERN_VERSION


def parse_messages(body: object, api_version: str = DEFAULT_VERSION) -> MessagesCall:
    """Validate a ``POST /v1/messages`` body under ``api_version``, refusing it as the API would."""
    if not isinstance(body, dict):
        raise AnthropicInvalid("Input should be a valid dictionary")
    modern = is_modern(api_version)
    conversation, message_count, turns = _conversation(body, require_max_tokens=True, modern=modern)
    check_sampling(body, modern)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise AnthropicInvalid("stream: Input should be a valid boolean")
    tools = parse_tools(body.get("tools"))
    choice, parallel = parse_tool_choice(body.get("tool_choice"), tools)
    schema = _parse_output_format(body)
    stops = _parse_stop_sequences(body.get("stop_sequences"))
    last = turns[-1]
    prefill = ""
    if last.role == "assistant" and last.text and not last.tool_use_ids:
        # a final assistant turn is a prefill: the reply continues it
        if last.text != last.text.rstrip():
            raise AnthropicInvalid("messages: final assistant content cannot end with trailing whitespace")
        prefill = last.text
        system = body.get("system")
        parts = [_text_of_blocks(system, "system")] if system is not None else []
        parts.extend(t.text for t in turns[:-1])
        conversation = conversation_of(p for p in parts if p)
    generation = GenerationInput(
        model=body["model"],
        conversation=conversation,
        prefill=prefill,
        last_is_tool_result=last.role == "user" and bool(last.tool_result_ids),
        tools=tools,
        tool_choice=choice,
        json_mode="schema" if schema is not None else None,
        schema=schema,
        max_tokens=body["max_tokens"],
        stop=stops,
        parallel_tool_calls=parallel,
        message_count=message_count,
        extra_prompt_tokens=IMAGE_TOKENS * _image_count(body["messages"]) + count_tokens(prefill),
    )
    return MessagesCall(model=body["model"], stream=stream, generation=generation)


def parse_count_tokens(body: object, api_version: str = DEFAULT_VERSION) -> tuple[str, int]:
    """Validate a ``POST /v1/messages/count_tokens`` body: (model, input tokens).

    The count is the one a ``/v1/messages`` call with the same body reports as ``input_tokens``.
    """
    if not isinstance(body, dict):
        raise AnthropicInvalid("Input should be a valid dictionary")
    conversation, message_count, _ = _conversation(
        body, require_max_tokens=False, modern=is_modern(api_version)
    )
    tools = parse_tools(body.get("tools"))
    parse_tool_choice(body.get("tool_choice"), tools)
    inp = GenerationInput(
        model=body["model"],
        conversation=conversation,
        last_is_tool_result=False,
        tools=tools,
        message_count=message_count,
        extra_prompt_tokens=IMAGE_TOKENS * _image_count(body["messages"]),
    )
    return body["model"], prompt_tokens(inp)
