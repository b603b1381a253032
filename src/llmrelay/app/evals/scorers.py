"""Scorers: how good one answer is, as a number from 0 to 1.

Each scorer has a ``name`` (a column of the report) and ``async score(case, client)``
returning a ``Score``. The built-in ones:

* ``ExactMatch`` — the answer equals ``expected`` (or one of a list), after trimming and
  collapsing whitespace; ``casefold=True`` ignores case.
* ``RegexMatch`` — the pattern (or the item's ``pattern``) is found in the answer.
* ``JsonSchemaValid`` — the answer holds JSON (read as structured output reads it: code
  fences and prose around it are allowed unless ``strict``) that is valid against the
  schema (or the item's ``schema``).
* ``NumericMatch`` — the number in the answer (the whole answer when it is one number,
  else the last number written) is within a tolerance of ``expected``.
* ``PythonScorer`` — your function ``f(answer, item)``, sync or async, returning a bool, a
  number from 0 to 1, or a ``Score``.
* ``LLMJudge`` (``llmrelay.app.evals.judge``) — a model grades the answer against a rubric.

A scorer that cannot score an answer (a judge that failed, your function raising) gives a
``Score`` with ``error`` set and no value; the item's quality is then the mean of its other
scores, and the report counts the errors.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from llmrelay.app.evals.dataset import EvalItem
from llmrelay.app.evals.errors import ScorerSpecError
from llmrelay.types import Message

if TYPE_CHECKING:
    from llmrelay.client import Client


@dataclass(frozen=True, slots=True)
class Score:
    """``value`` from 0 (wrong) to 1 (right), or None with ``error`` when it could not be
    scored; ``detail`` says why (shown in the results); ``cost`` is what scoring it cost (a
    judge's calls), None when unknown."""

    value: float | None
    detail: str = ""
    error: str | None = None
    cost: float | None = 0.0

    @classmethod
    def of(cls, value: bool | float, detail: str = "") -> Score:
        return cls(1.0 if value is True else 0.0 if value is False else float(value), detail)

    @classmethod
    def failed(cls, error: str, cost: float | None = 0.0) -> Score:
        return cls(None, error=error, cost=cost)


@dataclass(frozen=True, slots=True)
class Case:
    """One answer to score: the item, the variant's label, the messages it sent and the
    text it got back."""

    item: EvalItem
    variant: str
    messages: tuple[Message, ...]
    answer: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str:
        """The prompt as text (the user turns), for judges and reports."""
        return "\n\n".join(m.text() for m in self.messages if m.role == "user" and m.text())


@runtime_checkable
class Scorer(Protocol):
    name: str

    async def score(self, case: Case, client: Client) -> Score: ...


def _normal(text: str) -> str:
    return " ".join(text.split())


def _expected(item: EvalItem, scorer: str) -> list[Any]:
    if item.expected is None:
        raise ValueError(f"item {item.id!r} has no expected answer, which the {scorer} scorer needs")
    return list(item.expected) if isinstance(item.expected, list) else [item.expected]


class ExactMatch:
    """The answer equals the expected text (or one of a list of them)."""

    def __init__(self, *, casefold: bool = False, name: str | None = None) -> None:
        self.casefold = casefold
        self.name = name or ("exact_ci" if casefold else "exact")

    async def score(self, case: Case, client: Client) -> Score:
        try:
            wanted = _expected(case.item, self.name)
        except ValueError as exc:
            return Score.failed(str(exc))
        got = _normal(case.answer)
        for want in wanted:
            text = want if isinstance(want, str) else json.dumps(want)
            a, b = (got.casefold(), _normal(text).casefold()) if self.casefold else (got, _normal(text))
            if a == b:
                return Score.of(True)
        return Score.of(False, "differs from the expected answer")


class RegexMatch:
    """The pattern is found (``re.search``) in the answer; without a pattern here, the
    item's own ``pattern``."""

    def __init__(self, pattern: str | None = None, *, flags: int = 0, name: str = "regex") -> None:
        self.name = name
        self.flags = flags
        self.pattern = _compile(pattern, flags) if pattern is not None else None

    async def score(self, case: Case, client: Client) -> Score:
        pattern = self.pattern
        if pattern is None:
            if case.item.pattern is None:
                return Score.failed(
                    f"item {case.item.id!r} has no pattern and the regex scorer was given none"
                )
            try:
                pattern = _compile(case.item.pattern, self.flags)
            except ScorerSpecError as exc:
                return Score.failed(f"item {case.item.id!r}: {exc.message}")
        hit = pattern.search(case.answer)
        return Score.of(hit is not None, "" if hit else f"no match for {pattern.pattern!r}")


def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ScorerSpecError(f"the regex {pattern!r} does not compile: {exc}") from None


class JsonSchemaValid:
    """The answer is JSON valid against a JSON Schema (``jsonschema`` validates it; install
    ``llmrelay[evals]``). Without a schema here, the item's own ``schema``; with neither,
    any JSON value passes. ``strict``: the whole answer must be plain JSON; otherwise it is
    read as structured output reads replies (fences, prose around it, small repairs)."""

    def __init__(
        self, schema: Mapping[str, Any] | None = None, *, strict: bool = False, name: str = "json_schema"
    ) -> None:
        self.name = name
        self.strict = strict
        self.schema = dict(schema) if schema is not None else None
        if self.schema is not None:
            _check_schema(self.schema)

    async def score(self, case: Case, client: Client) -> Score:
        from llmrelay.app.structured import JSONNotFoundError, parse_json

        schema = self.schema if self.schema is not None else case.item.schema
        if self.strict:
            try:
                value, repaired = json.loads(case.answer), False
            except ValueError as exc:
                return Score.of(False, f"not plain JSON: {exc}")
        else:
            try:
                parsed = parse_json(case.answer)
            except JSONNotFoundError as exc:
                return Score.of(False, f"no JSON: {exc}")
            value, repaired = parsed.value, parsed.repaired
        if schema is None:
            return Score.of(True, "repaired" if repaired else "")
        import jsonschema

        target = dict(schema)
        cls = jsonschema.validators.validator_for(target)
        if self.schema is None:  # an item's own schema; the scorer's was checked up front
            try:
                cls.check_schema(target)
            except jsonschema.SchemaError as exc:
                return Score.failed(f"item {case.item.id!r} has an invalid schema: {exc.message}")
        validator = cls(target)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return Score.of(False, f"{where}: {error.message}")
        return Score.of(True, "repaired" if repaired else "")


def _check_schema(schema: Mapping[str, Any]) -> None:
    try:
        import jsonschema
    except ImportError:
        raise ScorerSpecError(
            "the json-schema scorer needs jsonschema: pip install 'llmrelay[evals]'"
        ) from None
    try:
        jsonschema.validators.validator_for(schema).check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        raise ScorerSpecError(f"the JSON Schema is invalid: {exc.message}") from None


_NUMBER = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+(?:[eE][-+]?\d+)?"
)


def read_number(text: str) -> float | None:
    """The number an answer gives: the whole text when it is one number (``"1,234.5"``,
    ``"-3e2"``), else the last number in it ("... so the total is 42.") — models state the
    result last. None when it has no number."""
    stripped = text.strip().rstrip(".")
    found = _NUMBER.findall(stripped)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:  # pragma: no cover - the pattern only matches numbers
        return None


class NumericMatch:
    """The answer's number is within ``tolerance`` of ``expected``: absolute, or relative
    to the expected value when ``relative`` (``0.01`` = 1%)."""

    def __init__(self, tolerance: float = 1e-9, *, relative: bool = False, name: str = "numeric") -> None:
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance >= 0:
            raise ScorerSpecError(f"the numeric tolerance must be a number >= 0, got {tolerance!r}")
        self.tolerance = float(tolerance)
        self.relative = relative
        self.name = name

    async def score(self, case: Case, client: Client) -> Score:
        try:
            wanted = _expected(case.item, self.name)
        except ValueError as exc:
            return Score.failed(str(exc))
        targets: list[float] = []
        for want in wanted:
            number = read_number(want) if isinstance(want, str) else want
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                return Score.failed(f"item {case.item.id!r}: expected {want!r} is not a number")
            targets.append(float(number))
        got = read_number(case.answer)
        if got is None:
            return Score.of(False, "no number in the answer")
        for target in targets:
            bound = self.tolerance * abs(target) if self.relative else self.tolerance
            if abs(got - target) <= bound:
                return Score.of(True)
        return Score.of(
            False, f"{got:g} is not within {self._tol()} of {', '.join(f'{t:g}' for t in targets)}"
        )

    def _tol(self) -> str:
        return f"{self.tolerance * 100:g}%" if self.relative else f"{self.tolerance:g}"


ScoreFunction = Callable[[str, EvalItem], "bool | float | Score | Awaitable[bool | float | Score]"]


class PythonScorer:
    """Your own function ``f(answer: str, item: EvalItem)``, sync or async, returning a
    bool, a number from 0 to 1, or a ``Score``. An exception it raises, or a value outside
    0..1, is that answer's scorer error (the eval goes on)."""

    def __init__(self, function: ScoreFunction, *, name: str | None = None) -> None:
        if not callable(function):
            raise ScorerSpecError(f"a Python scorer must be callable, got {type(function).__name__}")
        self.function = function
        self.name: str = name or str(getattr(function, "__name__", "python"))

    @classmethod
    def load(cls, target: str, *, name: str | None = None) -> PythonScorer:
        """``module:function`` (``package.module:function``), imported now."""
        module_name, sep, attr = target.partition(":")
        if not sep or not module_name or not attr:
            raise ScorerSpecError(f"a Python scorer is given as module:function, got {target!r}")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ScorerSpecError(
                f"cannot import {module_name!r} for the scorer {target}: {exc} "
                "(run from the folder that holds it, or put it on PYTHONPATH)"
            ) from None
        function = getattr(module, attr, None)
        if function is None or not callable(function):
            raise ScorerSpecError(f"{module_name} has no function {attr!r} for the scorer {target}")
        return cls(function, name=name or attr)

    async def score(self, case: Case, client: Client) -> Score:
        try:
            result = self.function(case.answer, case.item)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # the user's code: its failure is this answer's scorer error
            return Score.failed(f"{self.name} raised {type(exc).__name__}: {exc}")
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score.of(result)
        if isinstance(result, int | float) and 0 <= result <= 1:
            return Score.of(float(result))
        return Score.failed(
            f"{self.name} returned {result!r}; a scorer returns a bool, a number from 0 to 1 or a Score"
        )
