"""Parse and validate OpenAI Chat Completions and Embeddings request bodies as the real API does.

Each check answers with the status, message, ``type``, ``param`` and ``code`` the real
service uses for that mistake, so a client's error mapping can be tested against the
simulator. Parsing is pure: a body in, a ``ChatCall`` / ``EmbeddingCall`` or a raised
``OpenAIError`` out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import GenerationInput, ToolSpec, conversation_of

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
EMBEDDING_FIELDS = frozenset(("model", "input", "dimensions", "encoding_format", "user"))

PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
)


class OpenAIError(Exception):
    """An error answer in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",  # noqa: A002 - the wire field's name
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True, slots=True)
class ChatCall:
    model: str
    stream: bool
    include_usage: bool
    n: int
    max_tokens: int | None
    inp: GenerationInput


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    model: str
    texts: tuple[str, ...]
    token_counts: tuple[int | None, ...]  # known counts for token-array inputs
    dimensions: int | None
    base64: bool


# --------------------------------------------------------------------------- primitives


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _wrong_type(param: str, expected: str, value: Any) -> OpenAIError:
    return OpenAIError(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _missing(param: str) -> OpenAIError:
    return OpenAIError(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def _invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> OpenAIError:
    quoted = [f"'{a}'" for a in allowed]
    listed = ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    return OpenAIError(
        f"Invalid value: '{value}'. Supported values are: {listed}.", param=param, code="invalid_value"
    )


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise OpenAIError(PARSE_ERROR) from None
    if not isinstance(body, dict):
        raise OpenAIError(PARSE_ERROR)
    return body


def _out_of_range(name: str, kind: str, value: Any, bound: float, above: bool) -> OpenAIError:
    side, op = ("above maximum", "<=") if above else ("below minimum", ">=")
    return OpenAIError(
        f"Invalid '{name}': {kind} {side} value. Expected a value {op} {bound:g}, but got {value} instead.",
        param=name,
        code=f"{kind}_{'above_max' if above else 'below_min'}_value",
    )


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(name, "a decimal", value)
    if value > high or value < low:
        raise _out_of_range(name, "decimal", value, high if value > high else low, value > high)
    return float(value)


def _integer(
    body: Mapping[str, Any], name: str, low: int | None = None, high: int | None = None
) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(name, "an integer", value)
    if low is not None and value < low:
        raise _out_of_range(name, "integer", value, low, above=False)
    if high is not None and value > high:
        raise _out_of_range(name, "integer", value, high, above=True)
    return value


def _boolean(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _wrong_type(name, "a boolean", value)
    return value


def _typed(body: Mapping[str, Any], name: str, kind: type, expected: str) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise _wrong_type(name, expected, value)
    return value


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise OpenAIError("you must provide a model parameter")
    if not isinstance(model, str):
        raise _wrong_type("model", "a string", model)
    return model


def _reject_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise OpenAIError(f"Unrecognized request argument supplied: {key}")


# --------------------------------------------------------------------------- messages


@dataclass(slots=True)
class _Conversation:
    texts: list[str]
    images: int = 0


def _content(message: Mapping[str, Any], where: str, required: bool, conv: _Conversation) -> None:
    content = message.get("content")
    if content is None:
        if required:
            raise _missing(f"{where}.content")
        return
    if isinstance(content, str):
        conv.texts.append(content)
        return
    if not isinstance(content, list):
        raise _wrong_type(f"{where}.content", "one of a string or array of objects", content)
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise _wrong_type(at, "an object", part)
        kind = part.get("type")
        if kind is None:
            raise _missing(f"{at}.type")
        if kind not in PART_TYPES:
            raise _invalid_value(f"{at}.type", kind, PART_TYPES)
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise (
                    _missing(f"{at}.{kind}")
                    if text is None
                    else _wrong_type(f"{at}.{kind}", "a string", text)
                )
            conv.texts.append(text)
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise _missing(f"{at}.image_url.url")
            conv.images += 1


def _tool_calls(message: Mapping[str, Any], where: str) -> list[str]:
    calls = message.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise _wrong_type(f"{where}.tool_calls", "an array", calls)
    ids = []
    for j, call in enumerate(calls):
        at = f"{where}.tool_calls[{j}]"
        if not isinstance(call, dict):
            raise _wrong_type(at, "an object", call)
        for key in ("id", "type", "function"):
            if key not in call:
                raise _missing(f"{at}.{key}")
        function = call["function"]
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _missing(f"{at}.function.name")
        if not isinstance(function.get("arguments"), str):
            raise _missing(f"{at}.function.arguments")
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
        raise _missing("messages")
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array", messages)
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
            raise _wrong_type(where, "an object", message)
        role = message.get("role")
        if role is None:
            raise _missing(f"{where}.role")
        if role not in ROLES:
            raise _invalid_value(f"{where}.role", role, ROLES)
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id is None:
                raise _missing(f"{where}.tool_call_id")
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
        raise _wrong_type("tools", "an array", tools)
    specs = []
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise _wrong_type(at, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise _missing(f"{at}.type")
        if kind != "function":
            raise _invalid_value(f"{at}.type", kind, ("function", "custom"))
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _missing(f"{at}.function")
        name = function.get("name")
        if name is None:
            raise _missing(f"{at}.function.name")
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
            raise _wrong_type(f"{at}.function.parameters", "an object", parameters)
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
            raise _invalid_value("tool_choice", choice, ("none", "auto", "required"))
        return choice
    if not isinstance(choice, dict):
        raise _wrong_type("tool_choice", "one of a string or an object", choice)
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if choice.get("type") != "function" or not isinstance(name, str):
        raise _missing("tool_choice.function.name")
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
        raise _wrong_type("response_format", "an object", fmt)
    kind = fmt.get("type")
    if kind is None:
        raise _missing("response_format.type")
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
            raise _missing("response_format.json_schema")
        if not isinstance(spec.get("name"), str):
            raise _missing("response_format.json_schema.name")
        schema = spec.get("schema")
        if schema is None:
            schema = {"type": "object"}
        elif not isinstance(schema, dict):
            raise _wrong_type("response_format.json_schema.schema", "an object", schema)
        return "schema", schema
    raise _invalid_value("response_format.type", kind, ("text", "json_object", "json_schema"))


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise _wrong_type("stop", "one of a string or array of strings", stop)
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
    _reject_unknown(body, CHAT_FIELDS)
    name = model if model is not None else _model(body)
    conv, count, last_is_tool = _messages(body)
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    max_tokens = _integer(body, "max_tokens", low=1)
    max_completion = _integer(body, "max_completion_tokens", low=1)
    n = _integer(body, "n", low=1, high=128) or 1
    seed = _integer(body, "seed")
    _integer(body, "top_logprobs", low=0, high=20)
    _boolean(body, "logprobs")
    _boolean(body, "store")
    stream = bool(_boolean(body, "stream"))
    parallel = _boolean(body, "parallel_tool_calls")
    _typed(body, "user", str, "a string")
    _typed(body, "metadata", dict, "an object")
    _typed(body, "logit_bias", dict, "an object")
    options = _typed(body, "stream_options", dict, "an object")
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
    return ChatCall(name, stream, include_usage, n, limit, inp)


def parse_embeddings(body: Mapping[str, Any], *, model: str | None = None) -> EmbeddingCall:
    _reject_unknown(body, EMBEDDING_FIELDS)
    name = model if model is not None else _model(body)
    raw = body.get("input")
    if raw is None:
        raise _missing("input")
    items: list[Any]
    if isinstance(raw, str):
        items = [raw]
    elif isinstance(raw, list) and raw and all(_is_token(t) for t in raw):
        items = [raw]  # one input given as token ids
    elif isinstance(raw, list):
        items = raw
    else:
        raise OpenAIError(INVALID_INPUT)
    if not items or len(items) > 2048:
        raise OpenAIError(INVALID_INPUT)
    texts: list[str] = []
    counts: list[int | None] = []
    for item in items:
        if isinstance(item, str) and item:
            texts.append(item)
            counts.append(None)
        elif isinstance(item, list) and item and all(_is_token(t) for t in item):
            texts.append(" ".join(str(t) for t in item))
            counts.append(len(item))
        else:
            raise OpenAIError(INVALID_INPUT)
    dimensions = _integer(body, "dimensions", low=1)
    if dimensions is not None and name == "text-embedding-ada-002":
        raise OpenAIError("This model does not support specifying dimensions.")
    limit = default_dimensions(name)
    if dimensions is not None and dimensions > limit:
        raise _out_of_range("dimensions", "integer", dimensions, limit, above=True)
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise _invalid_value("encoding_format", encoding, ("float", "base64"))
    _typed(body, "user", str, "a string")
    return EmbeddingCall(name, tuple(texts), tuple(counts), dimensions, encoding == "base64")


def default_dimensions(model: str) -> int:
    return 3072 if "large" in model else 1536


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
