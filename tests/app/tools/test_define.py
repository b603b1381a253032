"""tool() and as_tool(): every way of making a tool, and what is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmrelay
from llmrelay.app.tools import ArgumentsError, FunctionTool, SchemaTool, as_tool, tool
from llmrelay.errors import ConfigError


def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    return a + b


async def fetch(url: str) -> str:
    """Fetch a page."""
    await asyncio.sleep(0)
    return f"<html>{url}</html>"


def test_the_decorator_with_options() -> None:
    @tool(name="remove", description="Delete a file", dangerous=True, timeout=2)
    async def delete(path: str) -> str:
        return path

    assert isinstance(delete, FunctionTool)
    assert delete.name == "remove" and delete.description == "Delete a file"
    assert delete.dangerous and delete.timeout == 2.0 and delete.is_async
    assert repr(delete) == "FunctionTool('remove', dangerous)"


def test_a_raw_schema_with_a_handler() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
    }

    def forecast(city: str, days: int = 1) -> str:
        return f"{city}:{days}"

    forms: list[Any] = [
        llmrelay.Tool("forecast", "Weather", schema),
        {
            "type": "function",
            "function": {"name": "forecast", "description": "Weather", "parameters": schema},
        },
        {"name": "forecast", "description": "Weather", "input_schema": schema},
    ]
    for form in forms:
        t = tool(form, handler=forecast)
        assert isinstance(t, SchemaTool) and t.name == "forecast" and t.description == "Weather"
        assert t.bind({"city": "Oslo", "days": 2})() == "Oslo:2"
        with pytest.raises(ArgumentsError) as info:
            t.bind({"days": 0})
        assert "(root): 'city' is a required property" in str(info.value)
        assert "days: 0 is less than the minimum of 1" in str(info.value)
    bare = tool(schema, name="forecast", handler=forecast)
    assert bare.definition().parameters == schema


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: tool({"type": "object"}, handler=add), "needs a name"),
        (lambda: tool({"type": "object"}, name="x"), "give handler="),  # type: ignore[call-overload]
        (lambda: tool({"type": "string"}, name="x", handler=add), "JSON Schema of an object"),
        (lambda: tool({"type": "object", "properties": 3}, name="x", handler=add), "not a valid JSON Schema"),
        (lambda: tool(add, handler=add), "a function is its own handler"),  # type: ignore[call-overload]
        (lambda: tool(add, name="has space"), "tool name 'has space' is not valid"),  # type: ignore[call-overload]
        (lambda: tool(name="x" * 65)(add), "is not valid"),
        (lambda: tool(timeout=0)(add), "timeout must be a number of seconds > 0"),
        (lambda: tool(42), "cannot make a tool from int"),  # type: ignore[call-overload]
        (lambda: as_tool(llmrelay.Tool("t")), "only a definition"),
        (lambda: as_tool({"name": "t"}), "only a definition"),
    ],
)
def test_bad_tools_are_config_errors(build: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_as_tool_passes_specs_through_and_wraps_functions() -> None:
    spec = tool(add)
    assert as_tool(spec) is spec
    wrapped = as_tool(fetch)
    assert isinstance(wrapped, FunctionTool) and wrapped.is_async and wrapped.description == "Fetch a page."


def test_callable_objects_with_async_call() -> None:
    class Pinger:
        async def __call__(self, host: str) -> str:
            return host

    t = tool(Pinger(), name="ping")  # type: ignore[call-overload]
    assert t.is_async and t.definition().parameters["required"] == ["host"]
