"""``tool(...)``: one way to make a tool from a function, a Pydantic model or a JSON Schema,
and ``as_tool`` for whatever ``run_tools`` is given.

    @tool(dangerous=True, timeout=10)
    def delete_file(path: str) -> str:
        '''Delete a file.

        Args:
            path: the file to delete
        '''
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar, overload

from pydantic import BaseModel

from llmrelay.app.tools.spec import FunctionTool, ModelTool, SchemaTool, ToolSpec
from llmrelay.errors import ConfigError
from llmrelay.types import Tool

__all__ = ["as_tool", "tool"]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def tool(  # type: ignore[overload-overlap]  # a model class is also a callable; this one wins
    obj: type[BaseModel],
    /,
    *,
    handler: Callable[[Any], Any] | None = ...,
    name: str | None = ...,
    description: str | None = ...,
    dangerous: bool = ...,
    timeout: float | None = ...,
    strict: bool | None = ...,
) -> ModelTool: ...
@overload
def tool(
    obj: Mapping[str, Any] | Tool,
    /,
    *,
    handler: Callable[..., Any],
    name: str | None = ...,
    description: str | None = ...,
    dangerous: bool = ...,
    timeout: float | None = ...,
    strict: bool | None = ...,
) -> SchemaTool: ...
@overload
def tool(obj: Callable[P, R], /) -> FunctionTool[P, R]: ...
@overload
def tool(
    *,
    name: str | None = ...,
    description: str | None = ...,
    dangerous: bool = ...,
    timeout: float | None = ...,
    strict: bool | None = ...,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...
def tool(
    obj: Any = None,
    /,
    *,
    handler: Callable[..., Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    dangerous: bool = False,
    timeout: float | None = None,
    strict: bool | None = None,
) -> Any:
    """Make a tool from a function (also as ``@tool`` or ``@tool(...)``), a Pydantic model,
    or a raw JSON Schema with a ``handler``. ``dangerous=True`` tools need the loop's
    approval; ``timeout`` is seconds for one call."""
    options: dict[str, Any] = {"dangerous": dangerous, "timeout": timeout, "strict": strict}
    if obj is None:

        def decorate(fn: Callable[P, R]) -> FunctionTool[P, R]:
            return FunctionTool(fn, name=name, description=description, **options)

        return decorate
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return ModelTool(obj, handler=handler, name=name, description=description, **options)
    if isinstance(obj, Tool | Mapping):
        return _schema_tool(obj, handler, name, description, options)
    if callable(obj):
        if handler is not None:
            raise ConfigError(
                "handler= is for Pydantic-model and JSON-Schema tools; a function is its own handler"
            )
        return FunctionTool(obj, name=name, description=description, **options)
    raise ConfigError(
        f"cannot make a tool from {type(obj).__name__}: give a function, a Pydantic model class, "
        "or a JSON Schema dict / llmrelay.Tool with handler=..."
    )


def _schema_tool(
    obj: Mapping[str, Any] | Tool,
    handler: Callable[..., Any] | None,
    name: str | None,
    description: str | None,
    options: dict[str, Any],
) -> SchemaTool:
    given_name: str | None
    given_desc: str | None
    params: Mapping[str, Any]
    strict: bool | None
    if isinstance(obj, Tool):
        given_name, given_desc, params, strict = obj.name, obj.description, obj.parameters, obj.strict
    else:
        fn = obj.get("function", obj) if obj.get("type") == "function" else obj
        if "parameters" in fn or "input_schema" in fn:  # an OpenAI- or Anthropic-style definition
            given_name, given_desc = fn.get("name"), fn.get("description")
            params = fn.get("parameters") or fn.get("input_schema") or {"type": "object", "properties": {}}
            strict = fn.get("strict")
        else:  # a bare JSON Schema of the arguments
            given_name, given_desc, params, strict = None, obj.get("description"), obj, None
    tool_name = name or given_name
    if not tool_name:
        raise ConfigError("a JSON-Schema tool needs a name: tool(schema, name='...', handler=...)")
    if handler is None:
        raise ConfigError(
            f"tool {tool_name!r} is a bare schema; give handler=... (the function that runs it)"
        )
    if options.get("strict") is None:
        options = {**options, "strict": strict}
    return SchemaTool(
        tool_name,
        params,
        handler,
        description=description if description is not None else given_desc,
        **options,
    )


def as_tool(obj: Any) -> ToolSpec:
    """A ToolSpec from anything ``run_tools`` accepts: a ToolSpec, a function, or a Pydantic
    model class that defines ``__call__``."""
    if isinstance(obj, ToolSpec):
        return obj
    if isinstance(obj, Tool | Mapping):
        label = obj.name if isinstance(obj, Tool) else obj.get("name", "?")
        raise ConfigError(
            f"tool {label!r} is only a definition; wrap it with its function: tool(definition, handler=fn)"
        )
    result: ToolSpec = tool(obj)
    return result
