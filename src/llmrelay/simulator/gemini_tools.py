"""Gemini ``tools`` (function declarations) and ``toolConfig`` as the simulator reads them:
validation and translation into the engine's tool specs and tool choice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmrelay.simulator.engine import ToolSpec
from llmrelay.simulator.gemini_invalid import GeminiInvalid, field_error, get, schema_of

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_MODES = frozenset({"AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"})


def parse_tools(body: Mapping[str, Any], request: str) -> tuple[ToolSpec, ...]:
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
                raise field_error(
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
                raise field_error(
                    request,
                    f"{path}.parameters",
                    "parameters and parameters_json_schema are mutually exclusive.",
                )
            if json_schema is not None:
                if not isinstance(json_schema, dict):
                    raise field_error(request, f"{path}.parameters_json_schema", "must be a JSON object")
                schema = json_schema
            elif parameters is not None:
                schema = schema_of(parameters, f"{path}.parameters")
            else:
                schema = {"type": "object", "properties": {}}
            description = decl.get("description")
            specs.append(ToolSpec(name, description if isinstance(description, str) else None, schema))
    return tuple(specs)


def parse_tool_choice(
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
            raise field_error(
                request,
                f"{path}.allowed_function_names",
                "allowed_function_names should be set only when mode is ANY.",
            )
        names = {t.name for t in tools}
        for k, name in enumerate(allowed):
            if name not in names:
                raise field_error(
                    request,
                    f"{path}.allowed_function_names[{k}]",
                    f"function {name!r} is not declared in tools.",
                )
        tools = tuple(t for t in tools if t.name in allowed)
    if mode == "NONE":
        return "none", tools
    if mode == "ANY":
        if not tools:
            raise field_error(request, f"{path}.mode", "mode ANY requires function declarations in tools.")
        return ("tool", tools[0].name) if len(tools) == 1 else "required", tools
    return "auto", tools
