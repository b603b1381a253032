"""Parse and validate an OpenAI Chat Completions request body as the real API does.

Parsing is pure: a body in, a ``ChatCall`` (with the engine's ``GenerationInput``) or a
raised ``OpenAIError`` out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import GenerationInput, ToolSpec, conversation_of
from llmrelay.simulator.openai_checks import (
    OpenAIError,
    boolean,
    integer,
    invalid_value,
    missing,
    model_of,
    number,
    reject_unknown,
    typed,
    wrong_type,
)
from llmrelay.simulator.openai_extras import DEFAULT_EXTRAS, Extras, extras_of, reasoning_effort

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
PART_TYPES = ("text", "image_url", "input_audio", "refusal", "audio", "file")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
IMAGE_TOKENS = 85  # what a low-detail image costs in the real API

CHAT_FIELDS = frozenset(
    (
        "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
        "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format",
        "functions", "function_call", "service_tier", "store", "metadata", "reasoning_effort", "modalities",
        "audio", "prediction", "web_search_options", "safety_identifier", "prompt_cache_key", "verbosity",
        "prompt_cache_retention",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChatCall:
    model: str
    stream: bool
    include_usage: bool
    n: int
    max_tokens: int | None
    inp: GenerationInput
    effort: str | None = None  # reasoning effort (reasoning models only)
    extras: Extras = DEFAULT_EXTRAS


# --------------------------------------------------------------------------- messages


@dataclass(slots=True)
class _Conversation:
    texts: list[str]
    images: int = 0


def _content(message: Mapping[str, Any], where: str, required: bool, conv: _Conversation) -> None:
    content = message.get("content")
    if content is None:
        if required:
            raise missing(f"{where}.content")
        return
    if isinstance(content, str):
        conv.texts.append(content)
        return
    if not isinstance(content, list):
        raise wrong_type(f"{where}.content", "one of a string or array of objects", content)
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise wrong_type(at, "an object", part)
        kind = part.get("type")
        if kind is None:
            raise missing(f"{at}.type")
        if kind not in PART_TYPES:
            raise invalid_value(f"{at}.type", kind, PART_TYPES)
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise (
                    missing(f"{at}.{kind}") if text is None else wrong_type(f"{at}.{kind}", "a string", text)
                )
            conv.texts.append(text)
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise missing(f"{at}.image_url.url")
            conv.images += 1


def _tool_calls(message: Mapping[str, Any], where: str) -> list[str]:
    calls = message.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise wrong_type(f"{where}.tool_calls", "an array", calls)
    ids = []
    for j, call in enumerate(calls):
        at = f"{where}.tool_calls[{j}]"
        if not isinstance(call, dict):
            raise wrong_type(at, "an object", call)
        for key in ("id", "type", "function"):
            if key not in call:
                raise missing(f"{at}.{key}")
        function = call["function"]
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise missing(f"{at}.function.name")
        if not isinstance(function.get("arguments"), str):
            raise missing(f"{at}.function.arguments")
        ids.append(str(call["id"]))
    return ids


def _unanswered(pending: list[str], at: int) -> OpenAIError:
    return OpenAIError(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
        param=f"messages.[{at}].role",
    )


def _messages(body: Mapping[str, Any]) -> tuple[_Conversation, int, bool]:
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise OpenAIError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    conv = _Conversation([])
    answerable: set[str] = set()  # ids of the assistant turn the current run of tool turns answers
    pending: list[str] = []  # those not answered yet
    pending_at = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise wrong_type(where, "an object", message)
        role = message.get("role")
        if role is None:
            raise missing(f"{where}.role")
        if role not in ROLES:
            raise invalid_value(f"{where}.role", role, ROLES)
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id is None:
                raise missing(f"{where}.tool_call_id")
            if not answerable:
                raise OpenAIError(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            if call_id not in answerable:
                raise OpenAIError(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of "
                    "previous message.",
                    param=f"messages.[{i}].tool_call_id",
                )
            if call_id in pending:
                pending.remove(call_id)
            _content(message, where, True, conv)
            continue
        if pending:
            raise _unanswered(pending, pending_at)
        ids = _tool_calls(message, where) if role == "assistant" else []
        required = role != "assistant" or (not ids and message.get("function_call") is None)
        _content(message, where, required, conv)
        answerable, pending, pending_at = set(ids), list(ids), i
    if pending:
        raise _unanswered(pending, pending_at)
    last_role = messages[-1].get("role")
    return conv, len(messages), last_role in ("tool", "function")


# --------------------------------------------------------------------------- tools and formats


def _tools(body: Mapping[str, Any]) -> tuple[ToolSpec, ...]:
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    specs = []
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise wrong_type(at, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise missing(f"{at}.type")
        if kind != "function":
            raise invalid_value(f"{at}.type", kind, ("function", "custom"))
        function = tool.get("function")
        if not isinstance(function, dict):
            raise missing(f"{at}.function")
        name = function.get("name")
        if name is None:
            raise missing(f"{at}.function.name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise OpenAIError(
                f"Invalid '{at}.function.name': string does not match pattern. "
                "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                param=f"{at}.function.name",
                code="invalid_value",
            )
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        elif not isinstance(parameters, dict):
            raise wrong_type(f"{at}.function.parameters", "an object", parameters)
        description = function.get("description")
        specs.append(ToolSpec(name, description if isinstance(description, str) else None, parameters))
    return tuple(specs)


def _tool_choice(body: Mapping[str, Any], tools: tuple[ToolSpec, ...]) -> str | tuple[str, str]:
    choice = body.get("tool_choice")
    if choice is None:
        return "auto"
    if not tools:
        raise OpenAIError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise invalid_value("tool_choice", choice, ("none", "auto", "required"))
        return choice
    if not isinstance(choice, dict):
        raise wrong_type("tool_choice", "one of a string or an object", choice)
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if choice.get("type") != "function" or not isinstance(name, str):
        raise missing("tool_choice.function.name")
    if name not in {t.name for t in tools}:
        raise OpenAIError(
            f"Invalid value for 'tool_choice': function '{name}' was not found in 'tools'.",
            param="tool_choice",
            code="invalid_value",
        )
    return ("tool", name)


def _response_format(
    body: Mapping[str, Any], conv: _Conversation
) -> tuple[str | None, dict[str, Any] | None]:
    fmt = body.get("response_format")
    if fmt is None:
        return None, None
    if not isinstance(fmt, dict):
        raise wrong_type("response_format", "an object", fmt)
    kind = fmt.get("type")
    if kind is None:
        raise missing("response_format.type")
    if kind == "text":
        return None, None
    if kind == "json_object":
        if "json" not in " ".join(conv.texts).lower():
            raise OpenAIError(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.",
                param="messages",
            )
        return "object", None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            raise missing("response_format.json_schema")
        if not isinstance(spec.get("name"), str):
            raise missing("response_format.json_schema.name")
        schema = spec.get("schema")
        if schema is None:
            schema = {"type": "object"}
        elif not isinstance(schema, dict):
            raise wrong_type("response_format.json_schema.schema", "an object", schema)
        return "schema", schema
    raise invalid_value("response_format.type", kind, ("text", "json_object", "json_schema"))


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise wrong_type("stop", "one of a string or array of strings", stop)
    if len(stop) > 4:
        raise OpenAIError(
            "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with "
            f"length {len(stop)} instead.",
            param="stop",
            code="array_above_max_length",
        )
    return tuple(stop)


# --------------------------------------------------------------------------- entry points


def parse_chat(body: Mapping[str, Any], *, model: str | None = None) -> ChatCall:
    """Validate a chat completions body; ``model`` overrides it (Azure names the deployment in the path)."""
    reject_unknown(body, CHAT_FIELDS)
    name = model if model is not None else model_of(body)
    conv, count, last_is_tool = _messages(body)
    number(body, "temperature", 0, 2)
    number(body, "top_p", 0, 1)
    number(body, "presence_penalty", -2, 2)
    number(body, "frequency_penalty", -2, 2)
    max_tokens = integer(body, "max_tokens", low=1)
    max_completion = integer(body, "max_completion_tokens", low=1)
    n = integer(body, "n", low=1, high=128) or 1
    seed = integer(body, "seed")
    integer(body, "top_logprobs", low=0, high=20)
    boolean(body, "logprobs")
    boolean(body, "store")
    stream = bool(boolean(body, "stream"))
    parallel = boolean(body, "parallel_tool_calls")
    typed(body, "user", str, "a string")
    typed(body, "metadata", dict, "an object")
    typed(body, "logit_bias", dict, "an object")
    options = typed(body, "stream_options", dict, "an object")
    if options is not None and not stream:
        raise OpenAIError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    tools = _tools(body)
    choice = _tool_choice(body, tools)
    json_mode, schema = _response_format(body, conv)
    limit = max_completion if max_completion is not None else max_tokens
    inp = GenerationInput(
        model=name,
        conversation=conversation_of(conv.texts),
        last_is_tool_result=last_is_tool,
        tools=tools,
        tool_choice=choice,
        json_mode=json_mode,
        schema=schema,
        max_tokens=limit,
        stop=_stop(body),
        seed=seed,
        parallel_tool_calls=parallel is not False,
        message_count=count,
        extra_prompt_tokens=IMAGE_TOKENS * conv.images,
    )
    include_usage = bool(options and options.get("include_usage"))
    effort = reasoning_effort(body, name)
    return ChatCall(name, stream, include_usage, n, limit, inp, effort, extras_of(body))
