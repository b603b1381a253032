"""Anthropic Messages requests as the simulator reads them: validation and translation for the engine.

Pure functions only. Validation follows the real API's order and wording closely enough
that an adapter's error mapping can be tested against it: field errors name the JSON
path (``messages.1.content.0``) the way the service does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.anthropic_models import NO_SAMPLING, ONE_SAMPLER, is_family
from llmrelay.simulator.engine import (
    GenerationInput,
    ToolSpec,
    conversation_of,
    count_tokens,
    prompt_tokens,
)
from llmrelay.simulator.openai_request import IMAGE_TOKENS

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_CONTENT_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"}
)


DEFAULT_VERSION = "2023-06-01"
# The first version to change request rules since 2023-06-01: no sampling parameters, no documents in
# assistant turns, no citations on user text.
MODERN_VERSION = "2026-10-21"


class AnthropicInvalid(Exception):
    """A request the real API would refuse with 400 invalid_request_error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MessagesCall:
    """A validated ``POST /v1/messages`` body."""

    model: str
    stream: bool
    generation: GenerationInput


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_in(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    if name not in body or body[name] is None:
        return
    value = body[name]
    if not _is_number(value):
        raise AnthropicInvalid(f"{name}: Input should be a valid number")
    if value < low:
        raise AnthropicInvalid(f"{name}: Input should be greater than or equal to {low:g}")
    if high is not None and value > high:
        raise AnthropicInvalid(f"{name}: Input should be less than or equal to {high:g}")


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


def _parse_tools(raw: object) -> tuple[ToolSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise AnthropicInvalid("tools: Input should be a valid list")
    specs: list[ToolSpec] = []
    names: set[str] = set()
    for i, tool in enumerate(raw):
        path = f"tools.{i}"
        if not isinstance(tool, dict):
            raise AnthropicInvalid(f"{path}: Input should be a valid dictionary")
        kind = tool.get("type")
        name = tool.get("name")
        if kind not in (None, "custom"):
            # Server tools (web search, code execution…) run at Anthropic; the simulator never calls them.
            if isinstance(name, str):
                names.add(name)
            continue
        if not isinstance(name, str):
            raise AnthropicInvalid(f"{path}.custom.name: Field required")
        if not _TOOL_NAME.match(name):
            raise AnthropicInvalid(
                f"{path}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )
        if name in names:
            raise AnthropicInvalid(f"tools: Tool names must be unique. Duplicate name: {name}")
        names.add(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise AnthropicInvalid(f"{path}.custom.input_schema: Field required")
        if schema.get("type") != "object":
            raise AnthropicInvalid(f"{path}.custom.input_schema.type: Input should be 'object'")
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise AnthropicInvalid(f"{path}.custom.description: Input should be a valid string")
        specs.append(ToolSpec(name=name, description=description, parameters=schema))
    return tuple(specs)


def _parse_tool_choice(raw: object, tools: Sequence[ToolSpec]) -> tuple[str | tuple[str, str], bool]:
    """(engine tool_choice, parallel allowed)."""
    if raw is None:
        return "auto", True
    if not isinstance(raw, dict):
        raise AnthropicInvalid("tool_choice: Input should be a valid dictionary")
    kind = raw.get("type")
    parallel = raw.get("disable_parallel_tool_use") is not True
    if kind == "auto":
        return "auto", parallel
    if kind == "none":
        return "none", parallel
    if kind == "any":
        if not tools:
            raise AnthropicInvalid("tool_choice: tool_choice.type 'any' requires `tools` to be provided")
        return "required", parallel
    if kind == "tool":
        name = raw.get("name")
        if not isinstance(name, str):
            raise AnthropicInvalid("tool_choice.tool.name: Field required")
        if name not in {t.name for t in tools}:
            raise AnthropicInvalid(f"tool_choice: Tool '{name}' not found in provided tools")
        return ("tool", name), parallel
    raise AnthropicInvalid(
        "tool_choice: Input tag found using 'type' does not match any of the expected tags: "
        "'auto', 'any', 'tool', 'none'"
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
        if not _is_int(body["max_tokens"]):
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


def _check_sampling(body: Mapping[str, Any], modern: bool) -> None:
    if modern:
        # 2026-10-21 dropped the sampling knobs for every model: any value, even the default, is an
        # unknown field. Sources: Anthropic's API version 2026-10-21 release (as documented at
        # codersera.com/blog/anthropic-api-2026-10-21-sdk-migration-guide-2026 and apidog.com's
        # "Claude API version 2026-10-21"; both report the 400 for every model, Sonnet 4.6 included).
        for name in ("temperature", "top_p", "top_k"):
            if name in body:
                raise AnthropicInvalid(f"{name}: Extra inputs are not permitted")
        return
    model = str(body.get("model"))
    if is_family(model, NO_SAMPLING):
        # Under 2023-06-01 these models still parse the fields but refuse any value but the default.
        for name, default in (("temperature", 1), ("top_p", None), ("top_k", None)):
            if body.get(name) is not None and body[name] != default:
                raise AnthropicInvalid(f"`{name}` is deprecated for this model.")
    if (
        is_family(model, ONE_SAMPLER)
        and body.get("temperature") is not None
        and body.get("top_p") is not None
    ):
        raise AnthropicInvalid(
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
        )
    _number_in(body, "temperature", 0.0, 1.0)
    _number_in(body, "top_p", 0.0, 1.0)
    if body.get("top_k") is not None:
        if not _is_int(body["top_k"]):
            raise AnthropicInvalid("top_k: Input should be a valid integer")
        if body["top_k"] < 0:
            raise AnthropicInvalid("top_k: Input should be greater than or equal to 0")


def parse_messages(body: object, api_version: str = DEFAULT_VERSION) -> MessagesCall:
    """Validate a ``POST /v1/messages`` body under ``api_version``, refusing it as the API would."""
    if not isinstance(body, dict):
        raise AnthropicInvalid("Input should be a valid dictionary")
    modern = is_modern(api_version)
    conversation, message_count, turns = _conversation(body, require_max_tokens=True, modern=modern)
    _check_sampling(body, modern)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise AnthropicInvalid("stream: Input should be a valid boolean")
    tools = _parse_tools(body.get("tools"))
    choice, parallel = _parse_tool_choice(body.get("tool_choice"), tools)
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
    tools = _parse_tools(body.get("tools"))
    _parse_tool_choice(body.get("tool_choice"), tools)
    inp = GenerationInput(
        model=body["model"],
        conversation=conversation,
        last_is_tool_result=False,
        tools=tools,
        message_count=message_count,
        extra_prompt_tokens=IMAGE_TOKENS * _image_count(body["messages"]),
    )
    return body["model"], prompt_tokens(inp)
