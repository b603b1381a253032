from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.schema import schema_instance
from llmrelay.simulator.schema_check import conforms

Validator = jsonschema.Draft202012Validator


def assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    Validator(schema, format_checker=Validator.FORMAT_CHECKER).validate(instance)
    assert conforms(instance, schema)


# --------------------------------------------------------------------------- schema strategies
# Every schema drawn here is satisfiable, so a failure is the generator's fault.

NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {
            "type": "string",
            "format": draw(st.sampled_from(["date", "date-time", "email", "uri", "uuid"])),
        }
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.integers(0, 12))
    if draw(st.booleans()):
        schema["minLength"] = low
    if draw(st.booleans()):
        schema["maxLength"] = draw(st.integers(low if "minLength" in schema else 0, 30))
    return schema


@st.composite
def integers(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(-1000, 1000))
    high = draw(st.integers(low + 8, low + 500))  # room for a multiple of 3 within exclusive bounds
    schema: dict[str, Any] = {"type": "integer"}
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.integers(1, 3))
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.floats(-1e6, 1e6, allow_nan=False))
    high = low + draw(st.floats(0.5, 1e4))
    schema: dict[str, Any] = {"type": "number"}
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


SCALARS = st.one_of(
    strings(),
    integers(),
    numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(
        st.one_of(st.integers(), st.text(max_size=5), st.none()), min_size=1, max_size=4, unique=True
    ).map(lambda values: {"enum": values}),
    st.one_of(st.integers(), st.text(max_size=5)).map(lambda v: {"const": v}),
)


def nullable(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def widen(schema: dict[str, Any]) -> dict[str, Any]:
        if "type" not in schema:
            return schema
        return {**schema, "type": [schema["type"], "null"]}

    return inner.map(widen)


@st.composite
def objects(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    props = draw(st.dictionaries(NAMES, children, max_size=4))
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if props:
        schema["required"] = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
    extra = draw(st.sampled_from(["absent", "false", "schema"]))
    if extra == "false":
        schema["additionalProperties"] = False
    elif extra == "schema":
        schema["additionalProperties"] = {"type": "integer"}
        schema["minProperties"] = len(props) + 1
    return schema


@st.composite
def arrays(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    low = draw(st.integers(0, 3))
    schema: dict[str, Any] = {"type": "array", "minItems": low, "maxItems": draw(st.integers(low, 5))}
    if draw(st.booleans()):
        schema["items"] = {"type": "string", "minLength": 3}
        schema["uniqueItems"] = True
    else:
        schema["items"] = draw(children)
    if draw(st.booleans()):
        schema["prefixItems"] = [{"type": "boolean"}]
    return schema


DISJOINT = [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "null"}, {"type": "array"}]


@st.composite
def compositions(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["anyOf", "oneOf", "allOf"]))
    if kind == "anyOf":
        return {"anyOf": draw(st.lists(children, min_size=1, max_size=3))}
    if kind == "oneOf":
        return {"oneOf": draw(st.lists(st.sampled_from(DISJOINT), min_size=1, max_size=4, unique_by=str))}
    left = draw(st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=2))
    right = draw(st.dictionaries(st.sampled_from(["x", "y"]), children, max_size=2))
    return {
        "allOf": [
            {"type": "object", "properties": left, "required": sorted(left)},
            {"properties": right, "required": sorted(right)},
        ]
    }


SCHEMAS = st.recursive(
    nullable(SCALARS) | SCALARS,
    lambda children: objects(children) | arrays(children) | compositions(children),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(SCHEMAS, st.integers(0, 2**32))
def test_generated_instances_validate(schema: dict[str, Any], seed: int) -> None:
    assert_valid(schema_instance(schema, random.Random(seed)), schema)


@settings(max_examples=100, deadline=None)
@given(SCHEMAS, st.integers(0, 2**16))
def test_generation_is_deterministic_in_the_rng(schema: dict[str, Any], seed: int) -> None:
    assert schema_instance(schema, random.Random(seed)) == schema_instance(schema, random.Random(seed))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-50, 50) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=8,
)
NO_FORMATS = st.recursive(
    SCALARS.filter(lambda s: "format" not in s and "const" not in s and "enum" not in s),
    lambda children: objects(children) | arrays(children) | compositions(children),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, NO_FORMATS)
def test_conforms_agrees_with_jsonschema(instance: Any, schema: dict[str, Any]) -> None:
    assert conforms(instance, schema) == Validator(schema).is_valid(instance)


# --------------------------------------------------------------------------- specific keywords


def many(schema: dict[str, Any], count: int = 40) -> list[Any]:
    return [schema_instance(schema, random.Random(i)) for i in range(count)]


def test_ref_into_defs_and_recursion_terminates() -> None:
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["value", "children"],
            }
        },
        "$ref": "#/$defs/node",
    }
    for value in many(schema):
        assert_valid(value, schema)


def test_recursive_any_of_prefers_the_exit_when_deep() -> None:
    schema = {
        "definitions": {
            "list": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {"next": {"$ref": "#/definitions/list"}},
                        "required": ["next"],
                    },
                ]
            }
        },
        "$ref": "#/definitions/list",
    }
    for value in many(schema):
        assert_valid(value, schema)


def test_openapi_nullable_can_yield_null() -> None:
    schema = {"type": "string", "nullable": True}
    values = many(schema, 60)
    assert None in values
    assert any(isinstance(v, str) for v in values)


def test_an_impossible_type_falls_back_to_another() -> None:
    schema = {"type": ["integer", "null"], "minimum": 3, "maximum": 1}
    assert many(schema, 10) == [None] * 10


def test_optional_properties_sometimes_present_required_always() -> None:
    schema = {
        "type": "object",
        "properties": {"r": {"type": "integer"}, "o": {"type": "integer"}},
        "required": ["r"],
    }
    values = many(schema)
    assert all("r" in v for v in values)
    assert any("o" in v for v in values)
    assert any("o" not in v for v in values)


def test_formats_produce_their_shapes() -> None:
    rng = random.Random(0)
    assert schema_instance({"type": "string", "format": "date"}, rng)[4] == "-"
    assert "@" in schema_instance({"type": "string", "format": "email"}, rng)
    assert schema_instance({"type": "string", "format": "uri"}, rng).startswith("https://")
    for fmt in ("date-time", "time", "hostname", "ipv4", "uuid"):
        schema = {"type": "string", "format": fmt}
        assert_valid(schema_instance(schema, rng), schema)


def test_number_bounds_and_float_multiple() -> None:
    exact = {"type": "number", "minimum": 2.5, "maximum": 2.5}
    assert many(exact, 3) == [2.5, 2.5, 2.5]
    step = {"type": "number", "minimum": 0, "maximum": 10, "multipleOf": 0.5}
    for value in many(step):
        assert_valid(value, step)


def test_schema_true_and_empty_accept_anything() -> None:
    assert isinstance(schema_instance(True, random.Random(0)), str)
    assert isinstance(schema_instance({}, random.Random(0)), str)


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "integer", "minimum": 5, "maximum": 1}, "bounds"),
        ({"type": "array", "minItems": 3, "maxItems": 1}, "maxItems"),
        ({"type": "string", "minLength": 3, "maxLength": 1}, "maxLength"),
        ({"enum": []}, "enum"),
        ({"type": "object", "required": ["x"], "additionalProperties": False}, "forbids"),
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
        ({"$ref": "https://example.com/schema"}, "not local"),
        ({"oneOf": [{"type": "string"}, {"type": "string"}]}, "exactly one"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "incompatible"),
        ({"type": "date"}, "not a JSON Schema type"),
        (
            {"type": ["integer", "string"], "minimum": 3, "maximum": 1, "minLength": 3, "maxLength": 1},
            "bounds|maxLength",
        ),
        ({"type": "integer", "minimum": 1, "maximum": 2, "multipleOf": 5}, "multiple"),
        ({"type": "array", "items": {"enum": [1]}, "minItems": 2, "uniqueItems": True}, "uniqueItems"),
    ],
)
def test_unsatisfiable_schemas_get_a_clear_error(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidRequestError, match=why):
        schema_instance(schema, random.Random(0))


def test_false_schema_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        schema_instance(False, random.Random(0))
