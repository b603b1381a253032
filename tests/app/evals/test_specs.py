"""Scorers named in text, as ``llmrelay eval --score`` takes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmrelay.app.evals import (
    ExactMatch,
    JsonSchemaValid,
    LLMJudge,
    NumericMatch,
    PythonScorer,
    RegexMatch,
    ScorerSpecError,
    parse_scorer,
)
from llmrelay.app.evals.specs import read_rubric


def test_each_kind_parses(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object"}))
    exact = parse_scorer("exact")
    assert isinstance(exact, ExactMatch) and not exact.casefold
    folded = parse_scorer("exact:casefold")
    assert isinstance(folded, ExactMatch) and folded.casefold and folded.name == "exact_ci"
    regex = parse_scorer(r"regex:\d+:\d+")  # a pattern may hold colons
    assert isinstance(regex, RegexMatch) and regex.pattern is not None and regex.pattern.pattern == r"\d+:\d+"
    js = parse_scorer(f"json-schema:{schema}")
    assert isinstance(js, JsonSchemaValid) and js.schema == {"type": "object"} and not js.strict
    strict = parse_scorer("json-schema-strict")
    assert isinstance(strict, JsonSchemaValid) and strict.strict and strict.name == "json_schema_strict"
    rel = parse_scorer("numeric:2%")
    assert isinstance(rel, NumericMatch) and rel.relative and rel.tolerance == pytest.approx(0.02)
    ab = parse_scorer("numeric:0.5")
    assert isinstance(ab, NumericMatch) and not ab.relative and ab.tolerance == 0.5
    py = parse_scorer("python:json:loads")
    assert isinstance(py, PythonScorer) and py.name == "loads"
    judge = parse_scorer("judge", rubric="Correct?", judge_model="m", judge_scale=(0, 10))
    assert isinstance(judge, LLMJudge) and judge.model == "m" and judge.scale == (0, 10)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fuzzy", "unknown scorer 'fuzzy'"),
        ("exact:loose", "exact takes no argument"),
        ("numeric:abc", "tolerance like 0.01 or 1%"),
        ("python:", "python:module:function"),
        ("judge", "needs a rubric"),
        ("judge:x", "takes no argument"),
        ("json-schema:/nonexistent/s.json", "cannot read the JSON Schema"),
        ("regex:(", "does not compile"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ScorerSpecError) as err:
        parse_scorer(spec)
    assert message in str(err.value)


def test_a_rubric_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("Be right.", encoding="utf-8")
    assert read_rubric(f"@{tmp_path / 'r.txt'}") == "Be right."
    assert read_rubric("inline") == "inline"
    with pytest.raises(ScorerSpecError, match="cannot read the rubric"):
        read_rubric("@/nonexistent/r.txt")
