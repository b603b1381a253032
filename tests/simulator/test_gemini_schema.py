"""Gemini's OpenAPI-style Schema objects read as JSON Schema."""

from __future__ import annotations

import pytest

from llmrelay.simulator.gemini_schema import SchemaInvalid, to_json_schema


def test_types_are_lowered_and_nested_schemas_converted() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "tags": {"type": "ARRAY", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": "1"},
            "note": {"type": "STRING", "nullable": True, "description": "free text"},
            "either": {"anyOf": [{"type": "INTEGER"}, {"type": "BOOLEAN"}]},
        },
        "required": ["tags"],
        "propertyOrdering": ["tags", "note", "either"],
    }
    assert to_json_schema(schema, "generation_config.response_schema") == {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 1},
            "note": {"type": ["string", "null"], "description": "free text"},
            "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
        },
        "required": ["tags"],
    }


def test_snake_case_keys_are_read() -> None:
    assert to_json_schema({"type": "ARRAY", "max_items": 3, "any_of": [{"type": "STRING"}]}, "p") == {
        "type": "array",
        "maxItems": 3,
        "anyOf": [{"type": "string"}],
    }


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "THING"}, "Invalid value at 'p.type'"),
        (
            {"type": "OBJECT", "properties": {"a": {"type": 3}}},
            "Invalid value at 'p.properties[a].value.type'",
        ),
        ({"type": "ARRAY", "maxItems": "many"}, "(TYPE_INT64)"),
        (
            {"type": "OBJECT", "properties": {}, "required": ["ghost"]},
            "p.required[0]: property is not defined",
        ),
        ("OBJECT", "Invalid value at 'p'"),
    ],
)
def test_invalid_schemas_are_refused_with_the_field_path(schema: object, fragment: str) -> None:
    with pytest.raises(SchemaInvalid) as refused:
        to_json_schema(schema, "p")
    assert fragment in refused.value.message
