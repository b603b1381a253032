"""extract_stream: partial objects as the reply streams, then the validated value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from tests.app.conftest import PROTOCOL_MODELS
from tests.app.script import Script

import llmrelay
from llmrelay.app.structured import (
    ExtractStream,
    OutputTruncatedError,
    OutputValidationError,
    extract_stream,
)
from llmrelay.errors import ConfigError
from llmrelay.simulator import Reply


class Step(BaseModel):
    title: str
    minutes: int


class Recipe(BaseModel):
    name: str
    serves: int
    steps: list[Step]


RECIPE = {
    "name": "Pancakes",
    "serves": 4,
    "steps": [{"title": "Mix the batter", "minutes": 5}, {"title": "Fry each side", "minutes": 10}],
}


def assert_grows_toward(partials: list[Any], final: Recipe) -> None:
    """Every partial agrees with the final object on what it has; fields only ever fill in."""
    for p in partials:
        if p.name is not None:
            assert final.name.startswith(p.name)
        if p.serves is not None:
            assert p.serves == final.serves  # numbers appear whole
        for got, want in zip(p.steps or [], final.steps, strict=False):
            if got.title is not None:
                assert want.title.startswith(got.title)
            if got.minutes is not None:
                assert got.minutes == want.minutes
    filled = [sum(v is not None for v in (p.name, p.serves, p.steps)) for p in partials]
    assert filled == sorted(filled)


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
async def test_fields_fill_as_they_arrive(client: llmrelay.Client, model: str) -> None:
    client.simulator.replies = Script([Reply(json.dumps(RECIPE))])
    stream = extract_stream(client, Recipe, "Pancakes for four?", model=model)
    items = [item async for item in stream]
    final = items[-1]
    assert isinstance(final, Recipe) and final == Recipe.model_validate(RECIPE)
    partials = items[:-1]
    assert len(partials) > 10  # the reply streams one token at a time
    assert all(type(p).__name__ == "PartialRecipe" for p in partials)
    assert partials[0].steps is None and partials[-1].steps is not None
    assert len({repr(p) for p in partials}) == len(partials)  # only changes are yielded
    assert_grows_toward(partials, final)
    result = await stream.final()
    assert result.value == final and result.attempts == 1 and stream.attempt == 1
    assert result.usage is not None and result.usage.output_tokens > 0 and result.cost is not None


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
async def test_tool_mode_streams_the_arguments(client: llmrelay.Client, model: str) -> None:
    client.simulator.replies = Script([Reply.calls(("Recipe", RECIPE))])
    stream = extract_stream(client, Recipe, "Pancakes?", model=model, mode="tool")
    items = [item async for item in stream]
    assert items[-1] == Recipe.model_validate(RECIPE)
    assert items[:-1], "no partial objects were streamed"
    assert (await stream.final()).mode == "tool"


async def test_the_engines_own_answer_streams_in_native_mode(client: llmrelay.Client) -> None:
    async with extract_stream(client, Recipe, "Any recipe.") as stream:
        items = [item async for item in stream]
    assert isinstance(items[-1], Recipe)
    result = await stream.final()
    assert result.mode == "native" and result.value == items[-1]


async def test_a_failed_reply_is_re_asked_on_a_new_stream(client: llmrelay.Client) -> None:
    bad = dict(RECIPE, serves="four")
    script = Script([Reply(json.dumps(bad)), Reply(json.dumps(RECIPE))])
    client.simulator.replies = script
    stream = extract_stream(client, Recipe, "Pancakes?")
    attempts_seen = []
    async for item in stream:
        attempts_seen.append(stream.attempt)
        last = item
    assert last == Recipe.model_validate(RECIPE)
    assert attempts_seen[0] == 1 and attempts_seen[-1] == 2
    result = await stream.final()
    assert result.attempts == 2
    first, second = result.responses
    assert result.usage == first.usage + second.usage  # type: ignore[operator]
    assert "serves: Input should be a valid integer" in script.seen[1].conversation


async def test_a_truncated_stream_fails_saying_so(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply(json.dumps(RECIPE))])
    stream = extract_stream(client, Recipe, "Pancakes?", max_tokens=12)
    partials: list[Any] = []

    async def consume() -> None:
        async for item in stream:
            partials.append(item)

    with pytest.raises(OutputTruncatedError, match="cut off at its output limit") as info:
        await consume()
    assert partials and all(type(p).__name__ == "PartialRecipe" for p in partials)
    assert json.dumps(RECIPE).startswith(info.value.text)
    assert info.value.attempts == 1 and info.value.usage is not None


async def test_giving_up_in_a_stream(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply("no"), Reply("still no")])
    stream = extract_stream(client, Recipe, "Pancakes?", max_retries=1)
    with pytest.raises(OutputValidationError) as info:
        await stream.final()
    assert info.value.attempts == 2 and stream.attempt == 2


async def test_closing_early_stops_the_stream(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply(json.dumps(RECIPE))])
    stream = extract_stream(client, Recipe, "Pancakes?")
    first = await stream.__anext__()
    assert type(first).__name__ == "PartialRecipe"
    await stream.aclose()
    assert [item async for item in stream] == []
    with pytest.raises(RuntimeError, match="closed before it completed"):
        await stream.final()


async def test_non_model_types_stream_json_values(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply('{"value": ["alpha", "beta", "gamma"]}')])
    stream: ExtractStream[list[str]] = extract_stream(client, list[str], "Three words?")
    items = [item async for item in stream]
    assert items[-1] == ["alpha", "beta", "gamma"]
    assert ["alpha"] in items[:-1] and ["alpha", "beta"] in items[:-1]


def test_arguments_are_checked_before_anything_is_sent(client: llmrelay.Client) -> None:
    with pytest.raises(ConfigError, match="response_format"):
        extract_stream(client, Recipe, "x", response_format="json_object")
