"""Anthropic ``tools`` and ``tool_choice`` as the simulator reads them (pure; raising
``AnthropicInvalid`` with the API's messages)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid
from llmrelay.simulator.engine import ToolSpec

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


def parse_tools(raw: object) -> tuple[ToolSpec, ...]:
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


def parse_tool_choice(raw: object, tools: Sequence[ToolSpec]) -> tuple[str | tuple[str, str], bool]:
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
