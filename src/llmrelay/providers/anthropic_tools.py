"""Anthropic ``tools`` and ``tool_choice``, and the forced tool that emulates JSON mode.

``response_format=json_object`` (and ``json_schema`` when the endpoint option
``structured_outputs`` is ``"tool"``) is emulated by a reserved tool the model is made to
call; native structured outputs go to ``output_config.format``. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers import anthropic_cache
from llmrelay.providers import anthropic_options as options
from llmrelay.types import ChatRequest, ForcedTool, Tool
from llmrelay.wire import Endpoint

#: The tool llmrelay adds to emulate ``response_format=json_object`` (and ``json_schema``
#: when ``options["structured_outputs"] == "tool"``). Replies that call it are turned back
#: into JSON text by the response and stream parsers, so the name is reserved.
JSON_TOOL_NAME = "llmrelay_json_response"
_JSON_TOOL_DESCRIPTION = (
    "Give your complete answer to the user by calling this tool exactly once; "
    "its input is the JSON object that is your answer."
)

_STRUCTURED_MODES = frozenset(("native", "tool"))


def _tool_def(tool: Tool) -> dict[str, Any]:
    if tool.name == JSON_TOOL_NAME:
        raise errors.InvalidRequestError(
            f"tool name {JSON_TOOL_NAME!r} is reserved by llmrelay (it emulates JSON mode on Anthropic); "
            "rename the tool"
        )
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["input_schema"] = dict(tool.parameters)
    if tool.strict is not None:
        out["strict"] = tool.strict
    if tool.cache is not None:
        out["cache_control"] = anthropic_cache.control(tool.cache)
    return out


def _json_tool(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "name": JSON_TOOL_NAME,
        "description": _JSON_TOOL_DESCRIPTION,
        "input_schema": dict(schema or {"type": "object"}),
    }


def apply_tools(body: dict[str, Any], req: ChatRequest, ep: Endpoint, thinking: bool = False) -> None:
    tools = [_tool_def(t) for t in req.tools or ()]
    choice = req.tool_choice
    if not tools and (choice == "required" or isinstance(choice, ForcedTool)):
        raise errors.InvalidRequestError(
            f"tool_choice={choice!r} needs tools, but the request has none; add tools or drop tool_choice"
        )
    if isinstance(choice, ForcedTool) and choice.name not in {t["name"] for t in tools}:
        raise errors.InvalidRequestError(
            f"tool_choice forces tool {choice.name!r}, which is not among the request's tools"
        )
    tool_choice = _tool_choice(choice) if tools else None
    if tools and tool_choice is None and req.parallel_tool_calls is False:
        tool_choice = {"type": "auto"}
    emulate = _json_emulation(req, ep)
    if emulate is not None:
        tools, tool_choice = _with_json_tool(tools, tool_choice, emulate, req, ep, thinking)
    if tool_choice is not None and req.parallel_tool_calls is False and tool_choice["type"] != "none":
        tool_choice["disable_parallel_tool_use"] = True
    if tools:
        body["tools"] = tools
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and emulate is None:
        if fmt.schema is None:
            raise errors.InvalidRequestError("response_format json_schema needs a schema")
        body["output_config"] = {"format": {"type": "json_schema", "schema": dict(fmt.schema)}}


def _tool_choice(choice: str | ForcedTool | None) -> dict[str, Any] | None:
    if choice is None:
        # Anthropic's default is auto; only spell it out when something must be attached to it.
        return None
    if isinstance(choice, ForcedTool):
        return {"type": "tool", "name": choice.name}
    mapped = {"auto": "auto", "required": "any", "none": "none"}.get(choice)
    if mapped is None:
        raise errors.InvalidRequestError(
            f"unknown tool_choice {choice!r}; use 'auto', 'required', 'none' or ForcedTool(name)"
        )
    return {"type": mapped}


def _json_emulation(req: ChatRequest, ep: Endpoint) -> Mapping[str, Any] | None:
    """The schema of the forced JSON tool, or None when no emulation is needed."""
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "object"}
    mode = str(ep.options.get("structured_outputs", "native"))
    if mode not in _STRUCTURED_MODES:
        raise errors.ConfigError(
            f"unknown structured_outputs option {mode!r} for Anthropic; use 'native' (output_config.format) "
            "or 'tool' (a forced tool, for models without structured outputs)"
        )
    if mode == "native":
        return None
    if fmt.schema is None or fmt.schema.get("type") != "object":
        raise options.unsupported_feature(
            "structured_outputs='tool' can only emulate a JSON schema whose root is an object; "
            "wrap the value in an object or use the native structured outputs",
            ep,
        )
    return fmt.schema


def _with_json_tool(
    tools: list[dict[str, Any]],
    tool_choice: dict[str, Any] | None,
    schema: Mapping[str, Any],
    req: ChatRequest,
    ep: Endpoint,
    thinking_on: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if tool_choice is not None and tool_choice["type"] == "tool":
        return tools, tool_choice  # the caller forces one of its own tools: the reply is that call
    thinking = (req.extra or {}).get("thinking")
    if thinking_on or (isinstance(thinking, Mapping) and thinking.get("type") not in (None, "disabled")):
        raise options.unsupported_feature(
            "JSON mode is emulated on Anthropic by forcing a tool, and Anthropic does not allow forcing a "
            "tool while extended thinking is on; use response_format=ResponseFormat.json_schema(...) "
            "(native structured outputs) or turn thinking off",
            ep,
        )
    json_tool = _json_tool(schema)
    if tools and (tool_choice is None or tool_choice["type"] in ("auto", "any")):
        # The model must either call one of the caller's tools or answer through the JSON tool.
        return [*tools, json_tool], {"type": "any"}
    return [*tools, json_tool], {"type": "tool", "name": JSON_TOOL_NAME}
