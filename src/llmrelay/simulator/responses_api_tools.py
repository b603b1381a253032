"""The tools and output formats of a Responses API body, checked as the real API checks them.

Function tools are flat (``{"type": "function", "name", "parameters", "strict"}``) and strict
unless told otherwise: an omitted ``strict`` normalises the schema into strict mode (every
object closed, every property required), ``strict: true`` refuses a schema that is not
written for it. ``text.format`` takes ``text``, ``json_object`` (the input must mention
JSON) and ``json_schema``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.simulator.engine import ToolSpec
from llmrelay.simulator.openai_checks import OpenAIError, invalid_value, missing, typed, wrong_type
from llmrelay.simulator.openai_request import TOOL_NAME


def strict_problem(schema: Any, path: tuple[str, ...] = ()) -> str | None:
    """Why ``schema`` is not valid for strict mode (every object closed, every key required)."""
    if not isinstance(schema, dict):
        return None
    context = f"In context=({', '.join(repr(p) for p in path)})"
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"{context}, 'additionalProperties' is required to be supplied and to be false."
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        for key in props:
            if key not in required:
                return (
                    f"{context}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{key}'."
                )
        for key, sub in props.items():
            if problem := strict_problem(sub, (*path, "properties", key)):
                return problem
    for key in ("items", "anyOf", "$defs", "definitions"):
        sub = schema.get(key)
        subs = list(sub.values()) if isinstance(sub, dict) and key in ("$defs", "definitions") else sub
        for j, s in enumerate(subs if isinstance(subs, list) else [subs]):
            if problem := strict_problem(s, (*path, key, str(j))):
                return problem
    return None


def strict_schema(schema: Any) -> Any:
    """``schema`` normalised into strict mode: every object closed, every property required."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items()}
    if schema.get("type") == "object" or "properties" in schema:
        out.setdefault("additionalProperties", False)
        out["required"] = list(out.get("properties") or {})
    return out


def tools_of(body: Mapping[str, Any]) -> tuple[tuple[ToolSpec, ...], list[dict[str, Any]]]:
    tools = body.get("tools")
    if tools is None:
        return (), []
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    specs, echo = [], []
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise wrong_type(at, "an object", tool)
        if tool.get("type") != "function":
            raise invalid_value(f"{at}.type", tool.get("type"), ("function",))
        name = tool.get("name")
        if name is None:
            raise missing(f"{at}.name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise OpenAIError(
                f"Invalid '{at}.name': string does not match pattern. Expected a string that matches the "
                "pattern '^[a-zA-Z0-9_-]+$'.",
                param=f"{at}.name",
                code="invalid_value",
            )
        parameters = tool.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}, "additionalProperties": False}
        elif not isinstance(parameters, dict):
            raise wrong_type(f"{at}.parameters", "an object", parameters)
        strict = tool.get("strict")
        if strict is None:
            # strict unless told otherwise: an omitted ``strict`` normalises the schema into
            # strict mode (closed objects, every field required), ``true`` demands it as is
            strict, parameters = True, strict_schema(parameters)
        elif strict and (problem := strict_problem(parameters)):
            raise OpenAIError(
                f"Invalid schema for function '{name}': {problem}",
                param=f"{at}.parameters",
                code="invalid_function_parameters",
            )
        description = tool.get("description")
        specs.append(ToolSpec(name, description if isinstance(description, str) else None, parameters))
        echo.append(
            {
                "type": "function",
                "name": name,
                "description": description,
                "parameters": parameters,
                "strict": strict,
            }
        )
    return tuple(specs), echo


def tool_choice_of(body: Mapping[str, Any], tools: tuple[ToolSpec, ...]) -> str | tuple[str, str]:
    choice = body.get("tool_choice")
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise invalid_value("tool_choice", choice, ("none", "auto", "required"))
        if choice == "required" and not tools:
            raise OpenAIError(
                "Tool choice 'required' must be specified with 'tools' parameter.", param="tool_choice"
            )
        return choice
    if not isinstance(choice, dict):
        raise wrong_type("tool_choice", "one of a string or an object", choice)
    name = choice.get("name")
    if choice.get("type") != "function" or not isinstance(name, str):
        raise missing("tool_choice.name")
    if name not in {t.name for t in tools}:
        raise OpenAIError(f"Tool choice '{name}' not found in 'tools' parameter.", param="tool_choice")
    return ("tool", name)


def text_format_of(
    body: Mapping[str, Any], texts: list[str]
) -> tuple[str | None, dict[str, Any] | None, Any]:
    text = typed(body, "text", dict, "an object")
    fmt = (text or {}).get("format")
    if fmt is None:
        return None, None, {"type": "text"}
    if not isinstance(fmt, dict):
        raise wrong_type("text.format", "an object", fmt)
    kind = fmt.get("type")
    if kind == "text":
        return None, None, fmt
    if kind == "json_object":
        if "json" not in " ".join(texts).lower():
            raise OpenAIError(
                "Response input messages must contain the word 'json' in some form to use 'text.format' of "
                "type 'json_object'.",
                param="input",
            )
        return "object", None, fmt
    if kind == "json_schema":
        name = fmt.get("name")
        if not isinstance(name, str):
            raise missing("text.format.name")
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise (
                missing("text.format.schema")
                if schema is None
                else wrong_type("text.format.schema", "an object", schema)
            )
        if fmt.get("strict") and (problem := strict_problem(schema)):
            raise OpenAIError(
                f"Invalid schema for response_format '{name}': {problem}",
                param="text.format.schema",
                code="invalid_json_schema",
            )
        return "schema", schema, fmt
    raise invalid_value("text.format.type", kind, ("text", "json_object", "json_schema"))
