from __future__ import annotations

from typing import Any

import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.schema_check import conforms, resolve, types_of


@pytest.mark.parametrize(
    ("instance", "schema", "ok"),
    [
        (1, {"type": "integer"}, True),
        (1.0, {"type": "integer"}, True),
        (1.5, {"type": "integer"}, False),
        (True, {"type": "integer"}, False),
        (True, {"type": "number"}, False),
        (None, {"type": "string", "nullable": True}, True),
        (None, {"type": ["string", "null"]}, True),
        ("abc", {"type": "string", "maxLength": 2}, False),
        ("2024-02-03", {"type": "string", "format": "date"}, True),
        ("yesterday", {"type": "string", "format": "date"}, False),
        ("a@b.c", {"type": "string", "format": "email"}, True),
        ("not mail", {"type": "string", "format": "email"}, False),
        ("https://x.y/z", {"type": "string", "format": "uri"}, True),
        ("no scheme", {"type": "string", "format": "uri"}, False),
        (5, {"minimum": 5}, True),
        (5, {"minimum": 5, "exclusiveMinimum": True}, False),  # draft 4
        (5, {"exclusiveMaximum": 5}, False),  # draft 2020-12
        (6, {"multipleOf": 3}, True),
        (7, {"multipleOf": 3}, False),
        (1, {"enum": [True, 1]}, True),
        (True, {"enum": [1]}, False),
        (1, {"const": 1.0}, True),
        ([1, 1], {"uniqueItems": True}, False),
        ([1, "a"], {"prefixItems": [{"type": "integer"}], "items": {"type": "string"}}, True),
        ([1, 2], {"prefixItems": [{"type": "integer"}], "items": False}, False),
        ({"a": 1}, {"required": ["a", "b"]}, False),
        ({"a": 1, "z": 2}, {"properties": {"a": {}}, "additionalProperties": False}, False),
        ({"z": "x"}, {"additionalProperties": {"type": "integer"}}, False),
        ({}, {"minProperties": 1}, False),
        ("x", {"anyOf": [{"type": "integer"}, {"type": "string"}]}, True),
        ("x", {"oneOf": [{"type": "string"}, {"minLength": 1}]}, False),
        ("x", {"allOf": [{"type": "string"}, {"minLength": 2}]}, False),
        (3, {"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n"}, True),
        ("3", {"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n"}, False),
        ("anything", True, True),
        ("anything", False, False),
    ],
)
def test_conforms(instance: Any, schema: Any, ok: bool) -> None:
    assert conforms(instance, schema) is ok


def test_resolve_follows_json_pointers() -> None:
    root = {"$defs": {"a/b": {"type": "string"}, "list": [{"type": "integer"}]}}
    assert resolve("#/$defs/a~1b", root) == {"type": "string"}
    assert resolve("#/$defs/list/0", root) == {"type": "integer"}
    with pytest.raises(InvalidRequestError, match="points at nothing"):
        resolve("#/$defs/missing", root)
    with pytest.raises(InvalidRequestError, match="not local"):
        resolve("other.json#/x", root)


def test_types_of() -> None:
    assert types_of({}) is None
    assert types_of({"type": "string"}) == ["string"]
    assert types_of({"type": "string", "nullable": True}) == ["string", "null"]
    assert types_of({"type": ["integer", "null"], "nullable": True}) == ["integer", "null"]
