"""Gemini generateContent requests as the simulator reads them: validation and translation for the engine.

Pure functions only. The real service parses bodies as proto JSON, so every field is
accepted in lowerCamelCase or snake_case; validation messages follow its
``* GenerateContentRequest.<field path>: <problem>`` form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import (
    GenerationInput,
    ToolSpec,
    conversation_of,
    prompt_tokens,
)
from llmrelay.simulator.gemini_schema import SchemaInvalid, to_json_schema
from llmrelay.simulator.openai_request import IMAGE_TOKENS

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_PART_DATA = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
_MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum")
_MODES = frozenset({"AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"})
MAX_STOP_SEQUENCES = 5
MAX_CANDIDATES = 8
DEFAULT_EMBEDDING_SIZE = 768


class GeminiInvalid(Exception):
    """A request the real API would refuse with 400 INVALID_ARGUMENT."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _field_error(request: str, path: str, problem: str) -> GeminiInvalid:
    return GeminiInvalid(f"* {request}.{path}: {problem}\n")


def get(obj: Mapping[str, Any], camel: str) -> Any:
    """A field by its lowerCamelCase name or its snake_case one, as proto JSON allows."""
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


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
        raise _field_error(request, f"{path}.parts", "contents.parts must not be empty.")
    texts: list[str] = []
    calls = responses = 0
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or not any(get(part, key) is not None for key in _PART_DATA):
            raise _field_error(
                request,
                f"{path}.parts[{i}].data",
                "required oneof field 'data' must have one initialized field",
            )
        call = get(part, "functionCall")
        if call is not None:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
                raise _field_error(request, f"{path}.parts[{i}].function_call.name", "Name cannot be empty.")
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
        raise _field_error(request, "contents", "contents is not specified")
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


def _parse_tools(body: Mapping[str, Any], request: str) -> tuple[ToolSpec, ...]:
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise GeminiInvalid("Invalid JSON payload received. Expected an array for 'tools'.")
    specs: list[ToolSpec] = []
    for i, tool in enumerate(tools):
        declarations = get(tool, "functionDeclarations") if isinstance(tool, dict) else None
        if declarations is None:
            continue  # googleSearch, codeExecution…: run by Google, never by the simulator
        for j, decl in enumerate(declarations if isinstance(declarations, list) else []):
            path = f"tools[{i}].function_declarations[{j}]"
            name = decl.get("name") if isinstance(decl, dict) else None
            if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
                raise _field_error(
                    request,
                    f"{path}.name",
                    "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
                    "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum "
                    "length of 64.",
                )
            assert isinstance(decl, dict)
            parameters = get(decl, "parameters")
            json_schema = get(decl, "parametersJsonSchema")
            if parameters is not None and json_schema is not None:
                raise _field_error(
                    request,
                    f"{path}.parameters",
                    "parameters and parameters_json_schema are mutually exclusive.",
                )
            if json_schema is not None:
                if not isinstance(json_schema, dict):
                    raise _field_error(request, f"{path}.parameters_json_schema", "must be a JSON object")
                schema = json_schema
            elif parameters is not None:
                schema = _schema(parameters, f"{path}.parameters")
            else:
                schema = {"type": "object", "properties": {}}
            description = decl.get("description")
            specs.append(ToolSpec(name, description if isinstance(description, str) else None, schema))
    return tuple(specs)


def _schema(raw: object, path: str) -> dict[str, Any]:
    try:
        return to_json_schema(raw, path)
    except SchemaInvalid as exc:
        raise GeminiInvalid(exc.message) from None


def _parse_tool_choice(
    body: Mapping[str, Any], tools: tuple[ToolSpec, ...], request: str
) -> tuple[str | tuple[str, str], tuple[ToolSpec, ...]]:
    config = get(body, "toolConfig")
    calling = get(config, "functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(calling, dict):
        return "auto", tools
    path = "tool_config.function_calling_config"
    mode = calling.get("mode", "AUTO")
    if mode not in _MODES:
        raise GeminiInvalid(
            f"Invalid value at '{path}.mode' "
            f'(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "{mode}"'
        )
    allowed = get(calling, "allowedFunctionNames")
    if allowed:
        if mode not in ("ANY", "VALIDATED"):
            raise _field_error(
                request,
                f"{path}.allowed_function_names",
                "allowed_function_names should be set only when mode is ANY.",
            )
        names = {t.name for t in tools}
        for k, name in enumerate(allowed):
            if name not in names:
                raise _field_error(
                    request,
                    f"{path}.allowed_function_names[{k}]",
                    f"function {name!r} is not declared in tools.",
                )
        tools = tuple(t for t in tools if t.name in allowed)
    if mode == "NONE":
        return "none", tools
    if mode == "ANY":
        if not tools:
            raise _field_error(request, f"{path}.mode", "mode ANY requires function declarations in tools.")
        return ("tool", tools[0].name) if len(tools) == 1 else "required", tools
    return "auto", tools


def _number(config: Mapping[str, Any], camel: str, path: str, low: float, high: float, request: str) -> None:
    value = get(config, camel)
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise GeminiInvalid(f"Invalid value at '{path}' (TYPE_FLOAT), {json.dumps(value)}")
    if not low <= value <= high:
        raise _field_error(request, path, f"{camel} must be in the range [{low:g}, {high:g}], got {value:g}.")


def _int(config: Mapping[str, Any], camel: str, path: str) -> int | None:
    value = get(config, camel)
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # int64 fields may come as strings in proto JSON
    if not isinstance(value, int) or isinstance(value, bool):
        raise GeminiInvalid(f"Invalid value at '{path}' (TYPE_INT32), {json.dumps(value)}")
    return value


@dataclass(frozen=True)
class _Output:
    max_tokens: int | None
    stops: tuple[str, ...]
    candidates: int
    seed: int | None
    json_mode: str | None
    schema: dict[str, Any] | None
    enum: bool


def _parse_generation_config(body: Mapping[str, Any], request: str) -> _Output:
    config = get(body, "generationConfig") or {}
    if not isinstance(config, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object for 'generation_config'.")
    base = "generation_config"
    _number(config, "temperature", f"{base}.temperature", 0.0, 2.0, request)
    _number(config, "topP", f"{base}.top_p", 0.0, 1.0, request)
    top_k = _int(config, "topK", f"{base}.top_k")
    if top_k is not None and top_k < 0:
        raise _field_error(request, f"{base}.top_k", "top_k must be non-negative.")
    max_tokens = _int(config, "maxOutputTokens", f"{base}.max_output_tokens")
    if max_tokens is not None and max_tokens < 0:
        raise _field_error(request, f"{base}.max_output_tokens", "max_output_tokens must be positive.")
    stops = get(config, "stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise GeminiInvalid(f"Invalid value at '{base}.stop_sequences' (TYPE_STRING)")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise _field_error(
            request, f"{base}.stop_sequences", f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed."
        )
    candidates = _int(config, "candidateCount", f"{base}.candidate_count") or 1
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise _field_error(
            request, f"{base}.candidate_count", f"candidate_count must be in the range [1, {MAX_CANDIDATES}]."
        )
    mime = get(config, "responseMimeType") or "text/plain"
    if mime not in _MIME_TYPES:
        raise _field_error(
            request,
            f"{base}.response_mime_type",
            "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` "
            "and `text/x.enum`.",
        )
    schema_raw, json_schema = get(config, "responseSchema"), get(config, "responseJsonSchema")
    if schema_raw is not None and json_schema is not None:
        raise _field_error(
            request,
            f"{base}.response_schema",
            "response_schema and response_json_schema are mutually exclusive.",
        )
    schema: dict[str, Any] | None = None
    if schema_raw is not None:
        schema = _schema(schema_raw, f"{base}.response_schema")
    elif json_schema is not None:
        if not isinstance(json_schema, dict):
            raise _field_error(request, f"{base}.response_json_schema", "must be a JSON object")
        schema = json_schema
    if schema is not None and mime not in ("application/json", "text/x.enum"):
        raise _field_error(
            request,
            f"{base}.response_mime_type",
            "response_mime_type must be `application/json` or `text/x.enum` when a response schema is set.",
        )
    if mime == "text/x.enum" and (schema is None or not isinstance(schema.get("enum"), list)):
        raise _field_error(
            request, f"{base}.response_schema", "`text/x.enum` needs a schema with `enum` values."
        )
    json_mode = None
    if schema is not None:
        json_mode = "schema"
    elif mime == "application/json":
        json_mode = "object"
    seed = _int(config, "seed", f"{base}.seed")
    return _Output(
        max_tokens or None, tuple(stops), candidates, seed, json_mode, schema, mime == "text/x.enum"
    )


def parse_generate(model: str, body: object) -> GenerateCall:
    """Validate a generateContent / streamGenerateContent body; raise ``GeminiInvalid``."""
    request = "GenerateContentRequest"
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    contents = _parse_contents(body, request)
    system = _system_text(body, request)
    tools = _parse_tools(body, request)
    choice, tools = _parse_tool_choice(body, tools, request)
    out = _parse_generation_config(body, request)
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
        raise _field_error(
            "BatchEmbedContentsRequest",
            f"{path}model",
            f"Model '{named}' does not match the model in the URL.",
        )
    content = body.get("content")
    if content is None:
        raise _field_error(request, f"{path}content", "content is not specified")
    text, _, _ = _parse_content(content, f"{path}content", request)
    size = _int(body, "outputDimensionality", f"{path}output_dimensionality")
    if size is not None and size < 1:
        raise _field_error(request, f"{path}output_dimensionality", "output_dimensionality must be positive.")
    return text, size or DEFAULT_EMBEDDING_SIZE


def parse_batch_embed(model: str, body: object) -> list[tuple[str, int]]:
    if not isinstance(body, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _field_error("BatchEmbedContentsRequest", "requests", "requests is not specified")
    return [parse_embed(model, r, f"requests[{i}].") for i, r in enumerate(requests)]
