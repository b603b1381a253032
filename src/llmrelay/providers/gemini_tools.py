"""Gemini ``tools`` (function declarations) and ``toolConfig.functionCallingConfig``
(pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from llmrelay.errors import InvalidRequestError
from llmrelay.types import ForcedTool, Tool, ToolChoice

_TOOL_CHOICE_MODES: Mapping[str, str] = MappingProxyType({"auto": "AUTO", "none": "NONE", "required": "ANY"})
_EMPTY_SCHEMA_KEYS = frozenset(("type", "properties", "required", "additionalProperties", "$schema"))


def declaration(tool: Tool) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": tool.name}
    if tool.description:
        decl["description"] = tool.description
    params = tool.parameters
    if not _is_empty_object_schema(params):
        # parametersJsonSchema accepts standard JSON Schema; `parameters` would reject
        # keywords such as const or $ref.
        decl["parametersJsonSchema"] = dict(params)
    return decl


def _is_empty_object_schema(schema: Mapping[str, Any]) -> bool:
    """A no-argument function: Gemini wants the schema left unset rather than an empty object."""
    return (
        set(schema) <= _EMPTY_SCHEMA_KEYS
        and schema.get("type", "object") == "object"
        and not schema.get("properties")
        and not schema.get("required")
    )


def calling_config(choice: ToolChoice, tools: Sequence[Tool] | None) -> dict[str, Any]:
    if isinstance(choice, ForcedTool):
        if tools and choice.name not in {t.name for t in tools}:
            known = ", ".join(t.name for t in tools)
            raise InvalidRequestError(
                f"tool_choice forces tool {choice.name!r}, which is not among the request's tools ({known})"
            )
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    try:
        return {"mode": _TOOL_CHOICE_MODES[choice]}
    except KeyError:
        raise InvalidRequestError(
            f"tool_choice is {choice!r}; use 'auto', 'none', 'required' or ForcedTool(name)"
        ) from None
