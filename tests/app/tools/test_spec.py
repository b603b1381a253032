"""tool(): functions, Pydantic models and raw schemas as tools, and their validation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

import llmrelay
from llmrelay.app.tools import (
    ArgumentsError,
    FunctionTool,
    ModelTool,
    SchemaTool,
    as_tool,
    tool,
)
from llmrelay.errors import ConfigError


def add(a: int, b: int = 0) -> int:
    """Add two integers.

    Args:
        a: the first
        b: the second
    """
    return a + b


async def fetch(url: str) -> str:
    """Fetch a page."""
    await asyncio.sleep(0)
    return f"<html>{url}</html>"


class Search(BaseModel):
    """Search the catalogue."""

    query: str
    limit: int = 5

    def __call__(self) -> list[str]:
        return [f"{self.query}-{i}" for i in range(self.limit)]


class Lookup(BaseModel):
    """Look a word up."""

    word: str


def test_a_function_becomes_a_tool_and_stays_callable() -> None:
    t = tool(add)
    assert isinstance(t, FunctionTool)
    assert t(2, 3) == 5 and t.__name__ == "add" and t.__doc__ is not None
    d = t.definition()
    assert isinstance(d, llmrelay.Tool)
    assert d.name == "add" and d.description == "Add two integers."
    assert d.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "the first"},
            "b": {"type": "integer", "description": "the second", "default": 0},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert not t.is_async and not t.dangerous and t.timeout is None


def test_the_decorator_with_options() -> None:
    @tool(name="remove", description="Delete a file", dangerous=True, timeout=2)
    async def delete(path: str) -> str:
        return path

    assert isinstance(delete, FunctionTool)
    assert delete.name == "remove" and delete.description == "Delete a file"
    assert delete.dangerous and delete.timeout == 2.0 and delete.is_async
    assert repr(delete) == "FunctionTool('remove', dangerous)"


def test_bind_validates_before_anything_runs() -> None:
    calls: list[int] = []

    def record(n: int) -> int:
        calls.append(n)
        return n

    t = tool(record)
    with pytest.raises(ArgumentsError, match="n: Input should be a valid integer"):
        t.bind({"n": "many"})
    with pytest.raises(ArgumentsError, match="must be a JSON object"):
        t.bind([1])
    with pytest.raises(ArgumentsError, match="extra: Extra inputs are not permitted"):
        t.bind({"n": 1, "extra": 2})
    assert calls == []
    assert t.bind({"n": "7"})() == 7 and calls == [7]  # lax: "7" is an integer


def test_a_model_with_call_is_a_tool() -> None:
    t = as_tool(Search)
    assert isinstance(t, ModelTool)
    assert t.name == "Search" and t.description == "Search the catalogue."
    assert "description" not in t.parameters and t.parameters["required"] == ["query"]
    assert t.bind({"query": "tea", "limit": 2})() == ["tea-0", "tea-1"]
    with pytest.raises(ArgumentsError, match="query: Field required"):
        t.bind({})


async def test_a_model_with_a_handler() -> None:
    seen: list[Lookup] = []

    async def handle(args: Lookup) -> str:
        seen.append(args)
        return args.word.upper()

    t = tool(Lookup, handler=handle, name="lookup", dangerous=True)
    assert t.name == "lookup" and t.is_async and t.dangerous
    assert await t.bind({"word": "tea"})() == "TEA"
    assert seen == [Lookup(word="tea")]


def test_a_model_without_call_or_handler_is_refused() -> None:
    with pytest.raises(ConfigError, match="does not define __call__; give handler="):
        tool(Lookup)


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
