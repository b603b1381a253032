"""The built-in scorers, one answer at a time (none of them calls a model)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.app.evals import (
    Case,
    EvalItem,
    ExactMatch,
    JsonSchemaValid,
    NumericMatch,
    PythonScorer,
    RegexMatch,
    Score,
    ScorerSpecError,
    read_number,
)
from llmrelay.types import Message


def case(answer: str, **item: Any) -> Case:
    return Case(EvalItem("i1", **item), "v", (Message.user("q?"),), answer)


async def test_exact_match_normalises_whitespace_and_takes_a_list(client: llmrelay.Client) -> None:
    exact = ExactMatch()
    assert (await exact.score(case("  Paris \n", expected="Paris"), client)).value == 1.0
    assert (await exact.score(case("paris", expected="Paris"), client)).value == 0.0
    assert (await ExactMatch(casefold=True).score(case("paris", expected="Paris"), client)).value == 1.0
    assert (await exact.score(case("Lyon", expected=["Paris", "Lyon"]), client)).value == 1.0
    assert (await exact.score(case("42", expected=42), client)).value == 1.0
    missing = await exact.score(case("x"), client)
    assert missing.value is None and missing.error and "no expected answer" in missing.error


async def test_regex_uses_its_pattern_or_the_items(client: llmrelay.Client) -> None:
    assert (await RegexMatch(r"\b4\d\b").score(case("it is 42."), client)).value == 1.0
    assert (await RegexMatch(r"^\d+$").score(case("it is 42."), client)).value == 0.0
    assert (await RegexMatch().score(case("abc", pattern="b+"), client)).value == 1.0
    none = await RegexMatch().score(case("abc"), client)
    assert none.value is None and none.error and "no pattern" in none.error
    bad = await RegexMatch().score(case("abc", pattern="("), client)
    assert bad.value is None and bad.error and "does not compile" in bad.error
    with pytest.raises(ScorerSpecError, match="does not compile"):
        RegexMatch("(")


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


async def test_json_schema_validity(client: llmrelay.Client) -> None:
    scorer = JsonSchemaValid(SCHEMA)
    assert (await scorer.score(case('{"n": 3}'), client)).value == 1.0
    fenced = await scorer.score(case('Here:\n```json\n{"n": 3,}\n```'), client)
    assert fenced.value == 1.0 and fenced.detail == "repaired"
    wrong = await scorer.score(case('{"n": "three"}'), client)
    assert wrong.value == 0.0 and "n:" in wrong.detail
    assert (await scorer.score(case("no json at all"), client)).value == 0.0
    strict = JsonSchemaValid(SCHEMA, strict=True)
    assert (await strict.score(case('```json\n{"n": 3}\n```'), client)).value == 0.0
    assert (await strict.score(case('{"n": 3}'), client)).value == 1.0
    per_item = JsonSchemaValid()
    assert (await per_item.score(case('{"n": 1}', schema={"type": "array"}), client)).value == 0.0
    assert (await per_item.score(case("[1]"), client)).value == 1.0  # any JSON without a schema
    bad_item = await per_item.score(case("{}", schema={"type": 5}), client)
    assert bad_item.value is None and bad_item.error and "invalid schema" in bad_item.error
    with pytest.raises(ScorerSpecError, match="JSON Schema is invalid"):
        JsonSchemaValid({"type": 5})


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42.0),
        ("-3.5e2", -350.0),
        ("1,234.5", 1234.5),
        ("First 3 then 4, so the total is 7.", 7.0),
        ("The answer is .5", 0.5),
        ("none here", None),
    ],
)
def test_read_number(text: str, number: float | None) -> None:
    assert read_number(text) == number


async def test_numeric_tolerance_absolute_and_relative(client: llmrelay.Client) -> None:
    assert (await NumericMatch().score(case("The sum is 42.", expected="42"), client)).value == 1.0
    assert (await NumericMatch().score(case("42.01", expected=42), client)).value == 0.0
    assert (await NumericMatch(0.05).score(case("42.01", expected=42), client)).value == 1.0
    assert (await NumericMatch(0.01, relative=True).score(case("1009", expected=1000), client)).value == 1.0
    far = await NumericMatch(0.01, relative=True).score(case("1011", expected=1000), client)
    assert far.value == 0.0 and "1%" in far.detail
    assert (await NumericMatch().score(case("no number", expected=1), client)).value == 0.0
    bad = await NumericMatch().score(case("1", expected="many"), client)
    assert bad.value is None and bad.error and "not a number" in bad.error
    with pytest.raises(ScorerSpecError, match="tolerance"):
        NumericMatch(-1)


async def test_python_scorers_sync_async_and_failing(client: llmrelay.Client) -> None:
    def short(answer: str, item: EvalItem) -> bool:
        return len(answer) < 5

    async def half(answer: str, item: EvalItem) -> float:
        return 0.5

    def boom(answer: str, item: EvalItem) -> float:
        raise RuntimeError("scorer bug")

    def out_of_range(answer: str, item: EvalItem) -> float:
        return 3.0

    def detailed(answer: str, item: EvalItem) -> Score:
        return Score(0.25, "a quarter")

    assert (await PythonScorer(short).score(case("abc"), client)).value == 1.0
    assert PythonScorer(short).name == "short"
    assert (await PythonScorer(half).score(case("abc"), client)).value == 0.5
    failed = await PythonScorer(boom).score(case("abc"), client)
    assert failed.value is None and failed.error == "boom raised RuntimeError: scorer bug"
    wrong = await PythonScorer(out_of_range).score(case("abc"), client)
    assert wrong.value is None and wrong.error and "returned 3.0" in wrong.error
    assert (await PythonScorer(detailed).score(case("abc"), client)).detail == "a quarter"


def test_python_scorers_load_from_module_function() -> None:
    loaded = PythonScorer.load("json:dumps")
    assert loaded.function is json.dumps and loaded.name == "dumps"
    with pytest.raises(ScorerSpecError, match="module:function"):
        PythonScorer.load("json")
    with pytest.raises(ScorerSpecError, match="cannot import 'no_such_mod_xyz'"):
        PythonScorer.load("no_such_mod_xyz:f")
    with pytest.raises(ScorerSpecError, match="json has no function 'nope'"):
        PythonScorer.load("json:nope")
