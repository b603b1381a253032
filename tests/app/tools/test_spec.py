"""Tool specs: their definitions, and validation before anything runs."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import llmrelay
from llmrelay.app.tools import (
    ArgumentsError,
    FunctionTool,
    ModelTool,
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
