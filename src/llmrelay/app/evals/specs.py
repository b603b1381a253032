"""Scorers named in text, as the command line takes them (``--score SPEC``), pure but for
reading a schema file or importing a Python scorer:

============================  ==============================================================
``exact``                      the answer equals ``expected`` (whitespace-normalised)
``exact:casefold``             the same, ignoring case
``regex`` / ``regex:PATTERN``  the item's ``pattern`` / PATTERN is found in the answer
``json-schema[:FILE]``         the answer holds JSON valid against FILE (or the item's ``schema``;
                               with neither, any JSON); ``json-schema-strict``: only plain JSON
``numeric[:TOL]``              the answer's number is within TOL of ``expected`` (``0.01``
                               absolute, ``1%`` relative; default exact to 1e-9)
``python:MODULE:FUNCTION``     your function ``f(answer, item)``
``judge``                      an LLM judge, with ``rubric`` (and ``judge_model``)
============================  ==============================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmrelay.app.evals.errors import ScorerSpecError
from llmrelay.app.evals.judge import LLMJudge
from llmrelay.app.evals.scorers import (
    ExactMatch,
    JsonSchemaValid,
    NumericMatch,
    PythonScorer,
    RegexMatch,
    Scorer,
)

KINDS = ("exact", "regex", "json-schema", "json-schema-strict", "numeric", "python", "judge")


def parse_scorer(
    spec: str,
    *,
    rubric: str | None = None,
    judge_model: str | None = None,
    judge_scale: tuple[int, int] = (1, 5),
) -> Scorer:
    """The scorer ``spec`` names (see the module docstring); ``ScorerSpecError`` naming what
    is wrong otherwise."""
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "exact":
        if arg not in ("", "casefold"):
            raise ScorerSpecError(f"exact takes no argument or :casefold, got {spec!r}")
        return ExactMatch(casefold=arg == "casefold")
    if kind == "regex":
        return RegexMatch(arg or None)
    if kind in ("json-schema", "json-schema-strict"):
        strict = kind == "json-schema-strict"
        return JsonSchemaValid(_schema(arg) if arg else None, strict=strict, name=kind.replace("-", "_"))
    if kind == "numeric":
        return _numeric(arg, spec)
    if kind == "python":
        if not arg:
            raise ScorerSpecError("python scorers are given as python:module:function")
        return PythonScorer.load(arg)
    if kind == "judge":
        if arg:
            raise ScorerSpecError(
                "judge takes no argument: give the rubric with --rubric (and --judge-model)"
            )
        if rubric is None:
            raise ScorerSpecError("the judge scorer needs a rubric: --rubric TEXT or --rubric @FILE")
        return LLMJudge(rubric, model=judge_model, scale=judge_scale)
    raise ScorerSpecError(f"unknown scorer {kind!r} in {spec!r}; use one of {', '.join(KINDS)}")


def _numeric(arg: str, spec: str) -> NumericMatch:
    if not arg:
        return NumericMatch()
    relative = arg.endswith("%")
    text = arg[:-1] if relative else arg
    try:
        value = float(text)
    except ValueError:
        raise ScorerSpecError(f"numeric takes a tolerance like 0.01 or 1%, got {spec!r}") from None
    return NumericMatch(value / 100 if relative else value, relative=relative)


def _schema(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScorerSpecError(f"cannot read the JSON Schema {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ScorerSpecError(f"the JSON Schema {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ScorerSpecError(f"the JSON Schema {path} must be a JSON object")
    return data


def read_rubric(value: str) -> str:
    """``--rubric``: the text itself, or ``@FILE`` for a file's text."""
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScorerSpecError(f"cannot read the rubric {value[1:]}: {exc.strerror or exc}") from None
    return value
