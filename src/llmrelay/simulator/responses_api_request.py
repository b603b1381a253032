"""Parse and validate a Responses API body (``POST /v1/responses``) as the real API does.

Pure: a body in, a ``ResponsesCall`` (with the engine's ``GenerationInput``) or a raised
``OpenAIError`` out, with the messages, ``param`` and ``code`` OpenAI uses. Reasoning
models (o-series, gpt-5 family) answer with a reasoning item whose
``encrypted_content`` is signed with the simulator's seed: a replayed item whose content
was changed is refused, as OpenAI refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmrelay.simulator.engine import GenerationInput, conversation_of
from llmrelay.simulator.openai_checks import (
    OpenAIError,
    boolean,
    integer,
    invalid_value,
    missing,
    model_of,
    number,
    typed,
    wrong_type,
)
from llmrelay.simulator.openai_extras import DEFAULT_EXTRAS, Extras, extras_of, is_reasoning_model
from llmrelay.simulator.openai_request import IMAGE_TOKENS
from llmrelay.simulator.responses_api_tools import text_format_of, tool_choice_of, tools_of

FIELDS = frozenset(
    (
        "model", "input", "instructions", "stream", "stream_options", "max_output_tokens", "temperature",
        "top_p", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning", "include", "store",
        "previous_response_id", "metadata", "user", "safety_identifier", "prompt_cache_key",
        "prompt_cache_retention", "service_tier", "truncation", "background", "max_tool_calls",
        "top_logprobs", "conversation", "prompt",
    )
)  # fmt: skip
COUNT_FIELDS = frozenset(
    (
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning",
        "previous_response_id", "conversation", "truncation",
    )
)  # fmt: skip
INCLUDABLE = (
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "file_search_call.results",
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "message.input_image.image_url",
)
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SUMMARIES = ("auto", "concise", "detailed")
MIN_OUTPUT_TOKENS = 16
_USER_PARTS = ("input_text", "input_image", "input_file")
_ASSISTANT_PARTS = ("output_text", "refusal")


@dataclass(frozen=True, slots=True)
class Reasoning:
    """What a reasoning model was asked: effort, summary, whether to return the encrypted content."""

    effort: str = "medium"
    summary: str | None = None
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class ResponsesCall:
    model: str
    stream: bool
    inp: GenerationInput
    max_output_tokens: int | None
    reasoning: Reasoning | None
    store: bool
    echo: dict[str, Any] = field(default_factory=dict)  # request fields the response repeats
    texts: tuple[str, ...] = ()  # the conversation so far, for a later previous_response_id
    items: int = 0
    extras: Extras = DEFAULT_EXTRAS


# --------------------------------------------------------------------------- encrypted reasoning


def _key(seed: int) -> bytes:
    return f"llmrelay-simulator-reasoning:{seed}".encode()


def seal(item_id: str, text: str, seed: int) -> str:
    """The ``encrypted_content`` of reasoning item ``item_id``: its text, signed."""
    payload = base64.urlsafe_b64encode(json.dumps({"id": item_id, "text": text}).encode()).decode()
    mac = hmac.new(_key(seed), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def unseal(item_id: str, sealed: str, seed: int) -> str | None:
    """The text in ``sealed`` when it is this simulator's, for this item, unchanged; else None."""
    payload, _, mac = sealed.rpartition(".")
    good = hmac.new(_key(seed), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not payload or not hmac.compare_digest(mac, good):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("id") != item_id or not isinstance(data.get("text"), str):
        return None
    return str(data["text"])


# --------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class History:
    """What a stored response contributes to a request that names it as
    ``previous_response_id``: its conversation text, item count and the call ids of its
    function calls (which the new input must answer)."""

    texts: tuple[str, ...]
    items: int
    calls: tuple[str, ...] = ()


@dataclass(slots=True)
class _Input:
    texts: list[str]
    items: int = 0
    images: int = 0
    last_is_tool_result: bool = False
    calls: dict[str, int] = field(default_factory=dict)  # call_id -> position of its function_call
    answered: set[str] = field(default_factory=set)


def _text_parts(content: Any, where: str, allowed: tuple[str, ...], inp: _Input) -> None:
    if isinstance(content, str):
        inp.texts.append(content)
        return
    if not isinstance(content, list):
        raise wrong_type(f"{where}.content", "one of a string or array of objects", content)
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise wrong_type(at, "an object", part)
        kind = part.get("type")
        if kind not in allowed:
            raise invalid_value(f"{at}.type", kind, allowed)
        if kind == "input_image":
            if not isinstance(part.get("image_url"), str) and not isinstance(part.get("file_id"), str):
                raise missing(f"{at}.image_url")
            inp.images += 1
        elif kind == "input_file":
            continue
        else:
            key = "refusal" if kind == "refusal" else "text"
            text = part.get(key)
            if not isinstance(text, str):
                raise missing(f"{at}.{key}") if text is None else wrong_type(f"{at}.{key}", "a string", text)
            inp.texts.append(text)


def _message(item: Mapping[str, Any], where: str, inp: _Input) -> None:
    role = item.get("role")
    if role is None:
        raise missing(f"{where}.role")
    roles = ("user", "assistant", "system", "developer")
    if role not in roles:
        raise invalid_value(f"{where}.role", role, roles)
    if "content" not in item:
        raise missing(f"{where}.content")
    _text_parts(item["content"], where, _ASSISTANT_PARTS if role == "assistant" else _USER_PARTS, inp)


def _function_call(item: Mapping[str, Any], where: str, position: int, inp: _Input) -> None:
    for key in ("call_id", "name", "arguments"):
        value = item.get(key)
        if value is None:
            raise missing(f"{where}.{key}")
        if not isinstance(value, str):
            raise wrong_type(f"{where}.{key}", "a string", value)
    inp.calls[item["call_id"]] = position
    inp.texts.append(f"{item['name']}({item['arguments']})")


def _function_output(item: Mapping[str, Any], where: str, inp: _Input) -> None:
    call_id = item.get("call_id")
    if call_id is None:
        raise missing(f"{where}.call_id")
    if call_id not in inp.calls:
        raise OpenAIError(
            f"No tool call found for function call output with call_id {call_id}.", param="input"
        )
    output = item.get("output")
    if output is None:
        raise missing(f"{where}.output")
    if isinstance(output, str):
        inp.texts.append(output)
    elif isinstance(output, list):
        _text_parts(output, where, _USER_PARTS, inp)
    else:
        raise wrong_type(f"{where}.output", "one of a string or array of objects", output)
    inp.answered.add(call_id)


def _reasoning_item(item: Mapping[str, Any], where: str, seed: int) -> None:
    item_id = item.get("id")
    if not isinstance(item_id, str):
        raise missing(f"{where}.id")
    if not isinstance(item.get("summary"), list):
        raise missing(f"{where}.summary")
    sealed = item.get("encrypted_content")
    if sealed is not None and (not isinstance(sealed, str) or unseal(item_id, sealed, seed) is None):
        raise OpenAIError(
            f"The encrypted content for item {item_id} could not be verified. "
            "Reason: Encrypted content could not be decrypted or parsed.",
            param=None,
            code="invalid_encrypted_content",
        )


def _input(body: Mapping[str, Any], seed: int, history: History | None) -> _Input:
    inp = _Input([])
    if history is not None:
        inp.texts.extend(history.texts)
        inp.items = history.items
        inp.calls = dict.fromkeys(history.calls, -1)
    instructions = typed(body, "instructions", str, "a string")
    if instructions:
        inp.texts.append(instructions)
        inp.items += 1
    raw = body.get("input")
    if raw is None:
        if body.get("previous_response_id") is None and not instructions:
            raise missing("input")
    elif isinstance(raw, str):
        inp.texts.append(raw)
        inp.items += 1
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            _item(item, i, inp, seed)
    else:
        raise wrong_type("input", "one of a string or array of objects", raw)
    for call_id in inp.calls:
        if call_id not in inp.answered:
            raise OpenAIError(f"No tool output found for function call {call_id}.", param="input")
    return inp


def _item(item: Any, i: int, inp: _Input, seed: int) -> None:
    where = f"input[{i}]"
    if not isinstance(item, dict):
        raise wrong_type(where, "an object", item)
    kind = item.get("type", "message")
    inp.last_is_tool_result = kind == "function_call_output"
    if kind == "message":
        _message(item, where, inp)
    elif kind == "function_call":
        _function_call(item, where, i, inp)
    elif kind == "function_call_output":
        _function_output(item, where, inp)
    elif kind == "reasoning":
        _reasoning_item(item, where, seed)
        return  # reasoning is not prompt text, and costs no framing of its own here
    elif kind != "item_reference":
        raise invalid_value(
            f"{where}.type", kind, ("message", "function_call", "function_call_output", "reasoning")
        )
    inp.items += 1


def _reasoning(body: Mapping[str, Any], model: str, include: list[str]) -> Reasoning | None:
    raw = typed(body, "reasoning", dict, "an object")
    encrypted = "reasoning.encrypted_content" in include
    if not is_reasoning_model(model):
        if raw and raw.get("effort") is not None:
            raise OpenAIError(
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                param="reasoning.effort",
                code="unsupported_parameter",
            )
        if encrypted:
            raise OpenAIError("Encrypted content is not supported with this model.", param="include")
        return None
    effort = (raw or {}).get("effort") or "medium"
    if effort not in EFFORTS:
        raise invalid_value("reasoning.effort", effort, EFFORTS)
    summary = (raw or {}).get("summary")
    if summary is not None and summary not in SUMMARIES:
        raise invalid_value("reasoning.summary", summary, SUMMARIES)
    return None if effort == "none" else Reasoning(effort, summary, encrypted)


def _include(body: Mapping[str, Any]) -> list[str]:
    include = typed(body, "include", list, "an array")
    for i, value in enumerate(include or []):
        if value not in INCLUDABLE:
            raise invalid_value(f"include[{i}]", value, INCLUDABLE)
    return list(include or [])


def reject_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise OpenAIError(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")


# --------------------------------------------------------------------------- entry points


def parse_responses(
    body: Mapping[str, Any], *, seed: int, counting: bool = False, history: History | None = None
) -> ResponsesCall:
    """Validate a create body (or, with ``counting``, an input_tokens body); ``history`` is
    the stored response ``previous_response_id`` names."""
    reject_unknown(body, COUNT_FIELDS if counting else FIELDS)
    model = model_of(body)
    typed(body, "previous_response_id", str, "a string")
    inp = _input(body, seed, history)
    temperature = number(body, "temperature", 0, 2)
    top_p = number(body, "top_p", 0, 1)
    max_output = integer(body, "max_output_tokens", low=MIN_OUTPUT_TOKENS)
    stream = bool(boolean(body, "stream"))
    store = boolean(body, "store") is not False
    parallel = boolean(body, "parallel_tool_calls")
    typed(body, "metadata", dict, "an object")
    typed(body, "user", str, "a string")
    if typed(body, "stream_options", dict, "an object") is not None and not stream:
        raise OpenAIError("stream_options may only be set when stream is true.", param="stream_options")
    tools, tools_echo = tools_of(body)
    choice = tool_choice_of(body, tools)
    json_mode, schema, fmt = text_format_of(body, inp.texts)
    include = _include(body)
    reasoning = _reasoning(body, model, include)
    gen = GenerationInput(
        model=model,
        conversation=conversation_of(inp.texts),
        last_is_tool_result=inp.last_is_tool_result,
        tools=tools,
        tool_choice=choice,
        json_mode=json_mode,
        schema=schema,
        max_tokens=max_output,
        parallel_tool_calls=parallel is not False,
        message_count=max(inp.items, 1),
        extra_prompt_tokens=IMAGE_TOKENS * inp.images,
    )
    echo = {
        "instructions": body.get("instructions"),
        "max_output_tokens": max_output,
        "parallel_tool_calls": parallel is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.effort, "summary": reasoning.summary}
        if reasoning
        else {"effort": None, "summary": None},
        "store": store,
        "temperature": 1.0 if temperature is None else temperature,
        "text": {"format": fmt, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": tools_echo,
        "top_p": 1.0 if top_p is None else top_p,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    extras = extras_of(body)
    return ResponsesCall(
        model, stream, gen, max_output, reasoning, store, echo, tuple(inp.texts), inp.items, extras
    )
