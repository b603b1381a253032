"""extract / extract_result against the simulator, which misbehaves on purpose."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, field_validator
from tests.app.conftest import PROTOCOL_MODELS
from tests.app.script import Script
from typing_extensions import TypedDict

import llmrelay
from llmrelay import Settings
from llmrelay.app.structured import (
    OutputTruncatedError,
    OutputValidationError,
    extract,
    extract_result,
    parse_json,
)
from llmrelay.simulator import Fault, FaultSequence, Reply
from llmrelay.simulator.engine import split_tokens


class City(BaseModel):
    name: str
    population: int


SIM_PRICES = (1.0, 2.0)  # sim-1's notional USD per million input / output tokens (catalog.yaml)


def sim_cost(usage: llmrelay.Usage) -> float:
    return (usage.input_tokens * SIM_PRICES[0] + usage.output_tokens * SIM_PRICES[1]) / 1e6


async def test_malformed_json_is_re_asked_and_every_call_is_accounted(client: llmrelay.Client) -> None:
    script = Script(
        [
            # fenced, single-quoted, a trailing comma, and a value of the wrong type
            Reply("Sure! ```json\n{'name': 'Oslo', 'population': 'about 700k',}\n```"),
            Reply('{"name": "Oslo", "population": 709000}'),
        ]
    )
    client.simulator.replies = script
    result = await extract_result(client, City, "What is the biggest city in Norway?")
    assert result.value == City(name="Oslo", population=709000)
    assert result.attempts == 2 and result.mode == "native" and not result.repaired
    first, second = result.responses
    assert first.usage is not None and second.usage is not None
    assert result.usage == first.usage + second.usage
    stats = client.simulator.stats
    assert result.usage.input_tokens == stats.prompt_tokens
    assert result.usage.output_tokens == stats.completion_tokens
    assert first.cost is not None and second.cost is not None
    assert result.cost == pytest.approx(first.cost + second.cost)
    assert result.cost == pytest.approx(sim_cost(result.usage))
    # the re-ask showed the model its reply and what was wrong with it
    reask = script.seen[1].conversation
    assert "about 700k" in reask
    assert "Your previous reply could not be used" in reask
    assert "population: Input should be a valid integer" in reask


async def test_repairable_json_is_accepted_at_once(client: llmrelay.Client) -> None:
    client.simulator.replies = Script(
        [Reply("Here you go:\n{'name': 'Bergen', 'population': 291940,}\nCheers")]
    )
    result = await extract_result(client, City, "Second city?")
    assert result.value == City(name="Bergen", population=291940)
    assert result.attempts == 1 and result.repaired


async def test_extract_returns_the_value(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply('{"name": "Oslo", "population": 1}')])
    city = await extract(client, City, "Oslo?")
    assert city == City(name="Oslo", population=1)


async def test_a_truncated_object_fails_saying_so_even_when_repair_would_close_it(
    client: llmrelay.Client,
) -> None:
    text = '{"name": "Oslo", "population": 709000, "country": "Norway"}'
    cut = 11  # tokens: ends right after 709000, which repair would happily close into a City
    prefix = "".join(split_tokens(text)[:cut])
    assert City.model_validate(parse_json(prefix).value)  # the trap is real
    client.simulator.replies = Script([Reply(text), Reply(text)])
    with pytest.raises(OutputTruncatedError) as info:
        await extract_result(client, City, "Oslo?", max_tokens=cut)
    err = info.value
    assert "cut off at its output limit" in str(err) and "finish reason 'length'" in str(err)
    assert "raise max_tokens" in str(err)
    assert err.text == prefix
    assert err.attempts == 1 and client.simulator.stats.total_requests == 1  # no re-ask: it would be cut too
    assert err.usage is not None and err.usage.output_tokens == cut
    assert err.cost == pytest.approx(sim_cost(err.usage))
    assert isinstance(err, llmrelay.OutputParseError)


async def test_giving_up_after_max_retries_reports_every_attempt(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply("I'd rather not say."), Reply('{"name": 5}'), Reply("[]")])
    with pytest.raises(OutputValidationError) as info:
        await extract_result(client, City, "Oslo?", max_retries=2)
    err = info.value
    assert err.attempts == 3 and client.simulator.stats.total_requests == 3
    assert len(err.problems) == 3
    assert "no JSON" in err.problems[0]
    assert "name: Input should be a valid string" in err.problems[1]
    assert "population: Field required" in err.problems[1]
    assert "Input should be a valid dictionary" in err.problems[2]
    assert err.text == "[]"
    assert "no valid City after 3 attempt(s)" in str(err)
    assert err.usage is not None and err.usage.input_tokens == client.simulator.stats.prompt_tokens
    assert err.cost == pytest.approx(sim_cost(err.usage))


async def test_max_retries_zero_means_one_call(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply("nope")])
    with pytest.raises(OutputValidationError):
        await extract_result(client, City, "Oslo?", max_retries=0)
    assert client.simulator.stats.total_requests == 1


async def test_the_models_own_validators_drive_re_asks(client: llmrelay.Client) -> None:
    class Upper(BaseModel):
        code: str

        @field_validator("code")
        @classmethod
        def upper(cls, v: str) -> str:
            if v != v.upper():
                raise ValueError("the code must be upper case")
            return v

    script = Script([Reply('{"code": "osl"}'), Reply('{"code": "OSL"}')])
    client.simulator.replies = script
    result = await extract_result(client, Upper, "Airport code of Oslo?")
    assert result.value.code == "OSL" and result.attempts == 2
    assert "the code must be upper case" in script.seen[1].conversation


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
@pytest.mark.parametrize("mode", ["native", "json", "tool", "prompt"])
async def test_every_mode_on_every_protocol(client: llmrelay.Client, model: str, mode: Any) -> None:
    answer = {"name": "Oslo", "population": 709000}
    reply = Reply.calls(("City", answer)) if mode == "tool" else Reply(f"```json\n{json.dumps(answer)}\n```")
    script = Script([reply])
    client.simulator.replies = script
    result = await extract_result(client, City, "Oslo?", model=model, mode=mode)
    assert result.value == City(**answer) and result.mode == mode and result.attempts == 1
    (seen,) = script.seen
    if mode == "native":
        assert seen.json_mode == "schema" and seen.schema is not None
        assert seen.schema["required"] == ["name", "population"]
    if mode == "tool":
        assert seen.tool_choice == ("tool", "City")
        assert [t.name for t in seen.tools] == ["City"]
    if mode in ("json", "prompt"):
        assert "matches this JSON Schema" in seen.conversation
    if mode == "prompt":
        assert seen.json_mode is None and not seen.tools


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
async def test_tool_mode_re_asks_through_a_tool_result(client: llmrelay.Client, model: str) -> None:
    script = Script(
        [Reply.calls(("City", {"name": "Oslo"})), Reply.calls(("City", {"name": "Oslo", "population": 3}))]
    )
    client.simulator.replies = script
    result = await extract_result(client, City, "Oslo?", model=model, mode="tool")
    assert result.value == City(name="Oslo", population=3) and result.attempts == 2
    assert script.seen[1].last_is_tool_result
    assert "population: Field required" in script.seen[1].conversation


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
@pytest.mark.parametrize(
    ("tp", "check"),
    [
        (list[City], lambda v: isinstance(v, list) and all(isinstance(c, City) for c in v)),
        (Literal["yes", "no"], lambda v: v in ("yes", "no")),
        (Color, lambda v: isinstance(v, Color)),
        (Point, lambda v: isinstance(v, Point) and isinstance(v.x, int)),
        (Movie, lambda v: isinstance(v["title"], str) and isinstance(v["year"], int)),
    ],
    ids=["list", "literal", "enum", "dataclass", "typeddict"],
)
async def test_result_types_with_the_engines_own_answers(
    client: llmrelay.Client, model: str, tp: Any, check: Any
) -> None:
    result = await extract_result(client, tp, "Give me one.", model=model)
    assert result.mode == "native" and result.attempts == 1
    assert check(result.value)


async def test_json_mode_accepts_the_bare_value_of_a_wrapped_type(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply('["yes"]'), Reply('"no"')])
    value = await extract(client, list[Literal["yes", "no"]], "Agree?", model="simulator/gpt-4-turbo")
    assert value == ["yes"]
    value = await extract(client, Literal["yes", "no"], "Agree?", mode="json")
    assert value == "no"


async def test_the_pipelines_retries_apply_to_each_attempt() -> None:
    settings = Settings.load(ledger={"enabled": False}, retry={"base_delay": 0.01, "max_delay": 0.02})
    async with llmrelay.Client(settings, environ={}) as client:
        client.simulator.faults = FaultSequence([Fault.error(503)])
        client.simulator.replies = Script([Reply('{"name": "Oslo", "population": 1}')])
        result = await extract_result(client, City, "Oslo?", temperature=0.1, tags=["geo"])
    assert result.value.name == "Oslo" and result.attempts == 1
    assert client.simulator.stats.total_requests == 2  # the 503 was retried under the call
