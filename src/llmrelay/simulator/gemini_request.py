"""Gemini generateContent requests as the simulator reads them: validation and translation for the engine.

Pure functions only. The real service parses bodies as proto JSON, so every field is
accepted in lowerCamelCase or snake_case; validation messages follow its
``* GenerateContentRequest.<field path>: <problem>`` form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import (
    GenerationInput,
    conversation_of,
    prompt_tokens,
)
from llmrelay.simulator.gemini_config import parse_generation_config
from llmrelay.simulator.gemini_invalid import GeminiInvalid, field_error, get, int_field
from llmrelay.simulator.gemini_tools import parse_tool_choice, parse_tools
from llmrelay.simulator.openai_request import IMAGE_TOKENS

_PART_DATA = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
DEFAULT_EMBEDDING_SIZE = 768


@dataclass(frozen=True)
class GenerateCall:
    """A validated generateContent body."""

    generation: GenerationInput
    candidates: int
    enum_output: bool  # ``text/x.enum``: the reply is the bare enum value, not JSON


@dataclass(frozen=True)
class _Contents:
    texts: tuple[str, ...]
    media: int  # inlineData / fileData parts, each billed like an image
    last_is_function_response: bool


def _part_text(part: Mapping[str, Any]) -> str:
    if part.get("thought") is True:
        return ""  # a replayed thought summary is not prompt text (the service drops it too)
    if isinstance(part.get("text"), str):
        return str(part["text"])
    call = get(part, "functionCall")
    if isinstance(call, dict):
        return f"{call.get('name')}({json.dumps(call.get('args') or {}, sort_keys=True)})"
    response = get(part, "functionResponse")
    if isinstance(response, dict):
        return json.dumps(response.get("response") or {}, sort_keys=True)
    return ""


def _parse_content(content: object, path: str, request: str) -> tuple[str, int, int]:
    """(text, function calls, function responses) of one Content."""
    if not isinstance(content, dict):
        raise GeminiInvalid(
            f"Invalid value at '{path}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)"
        )
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise field_error(request, f"{path}.parts", "contents.parts must not be empty.")
    texts: list[str] = []
    calls = responses = 0
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or not any(get(part, key) is not None for key in _PART_DATA):
            raise field_error(
                request,
                f"{path}.parts[{i}].data",
                "required oneof field 'data' must have one initialized field",
            )
        call = get(part, "functionCall")
        if call is not None:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
                raise field_error(request, f"{path}.parts[{i}].function_call.name", "Name cannot be empty.")
            calls += 1
        if get(part, "functionResponse") is not None:
            responses += 1
        text = _part_text(part)
        if text:
            texts.append(text)
    return "\n".join(texts), calls, responses


def _parse_contents(body: Mapping[str, Any], request: str) -> _Contents:
    contents = body.get("contents")
    if contents is None or contents == []:
        raise field_error(request, "contents", "contents is not specified")
    if not isinstance(contents, list):
        raise GeminiInvalid("Invalid JSON payload received. Expected an array for 'contents'.")
    texts: list[str] = []
    roles: list[str] = []
    counts: list[tuple[int, int]] = []
    for i, content in enumerate(contents):
        path = f"contents[{i}]"
        text, calls, responses = _parse_content(content, path, request)
        role = content.get("role") or "user"
        # "function" is the role older clients give function responses; the service still takes it.
        if role not in ("user", "model", "function"):
            raise GeminiInvalid("Please use a valid role: user, model.")
        roles.append(role)
        counts.append((calls, responses))
        texts.append(text)
    for i, (calls, _) in enumerate(counts):
        if not calls:
            continue
        if i == 0 or roles[i - 1] == "model":
            raise GeminiInvalid(
                "Please ensure that function call turn comes immediately after a user turn or after a "
                "function response turn."
            )
        if i + 1 < len(counts) and counts[i + 1][1] != calls:
            raise GeminiInvalid(
                "Please ensure that the number of function response parts is equal to the number of "
                "function call parts of the function call turn."
            )
    media = sum(
        1
        for content in contents
        for part in content["parts"]
        if get(part, "inlineData") or get(part, "fileData")
    )
    return _Contents(tuple(texts), media, counts[-1][1] > 0)


def _system_text(body: Mapping[str, Any], request: str) -> str | None:
    system = get(body, "systemInstruction")
    if system is None:
        return None
    text, _, _ = _parse_content(system, "system_instruction", request)
    return text


def parse_generate(model: str, body: object) -> GenerateCall:
    """Validate a generateContent / streamGenerateContent body; raise ``GeminiInvalid``."""
    request = "GenerateContentRequest"
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    contents = _parse_contents(body, request)
    system = _system_text(body, request)
    tools = parse_tools(body, request)
    choice, tools = parse_tool_choice(body, tools, request)
    out = parse_generation_config(body, request)
    texts = ([system] if system else []) + list(contents.texts)
    first = GenerationInput(
        model=model,
        conversation=conversation_of(texts),
        last_is_tool_result=contents.last_is_function_response,
        tools=tools,
        tool_choice=choice,
        json_mode=out.json_mode,
        schema=out.schema,
        max_tokens=out.max_tokens,
        stop=out.stops,
        seed=out.seed,
        message_count=len(texts),
        extra_prompt_tokens=IMAGE_TOKENS * contents.media,
    )
    return GenerateCall(first, out.candidates, out.enum)


def parse_count_tokens(model: str, body: object) -> int:
    """Validate a countTokens body (``contents`` or ``generateContentRequest``): the prompt token count."""
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    inner = get(body, "generateContentRequest")
    if inner is not None:
        if body.get("contents") is not None:
            raise GeminiInvalid(
                "* CountTokensRequest: contents and generate_content_request are mutually exclusive.\n"
            )
        return prompt_tokens(parse_generate(model, inner).generation)
    contents = _parse_contents(body, "CountTokensRequest")
    inp = GenerationInput(
        model=model,
        conversation=conversation_of(contents.texts),
        last_is_tool_result=False,
        message_count=len(contents.texts),
        extra_prompt_tokens=IMAGE_TOKENS * contents.media,
    )
    return prompt_tokens(inp)


def parse_embed(model: str, body: object, path: str = "") -> tuple[str, int]:
    """Validate one EmbedContentRequest: (text, dimensionality)."""
    request = "EmbedContentRequest"
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    named = body.get("model")
    if named is not None and named not in (model, f"models/{model}"):
        raise field_error(
            "BatchEmbedContentsRequest",
            f"{path}model",
            f"Model '{named}' does not match the model in the URL.",
        )
    content = body.get("content")
    if content is None:
        raise field_error(request, f"{path}content", "content is not specified")
    text, _, _ = _parse_content(content, f"{path}content", request)
    size = int_field(body, "outputDimensionality", f"{path}output_dimensionality")
    if size is not None and size < 1:
        raise field_error(request, f"{path}output_dimensionality", "output_dimensionality must be positive.")
    return text, size or DEFAULT_EMBEDDING_SIZE


def parse_batch_embed(model: str, body: object) -> list[tuple[str, int]]:
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise field_error("BatchEmbedContentsRequest", "requests", "requests is not specified")
    return [parse_embed(model, r, f"requests[{i}].") for i, r in enumerate(requests)]
