"""Gemini's ``Schema`` object (an OpenAPI 3.0 subset) read as JSON Schema for the engine.

``responseSchema`` and ``functionDeclarations[].parameters`` use it; ``responseJsonSchema``
and ``parametersJsonSchema`` are plain JSON Schema and need no conversion.
"""

from __future__ import annotations

from typing import Any

_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
# Keys that mean the same in both dialects and pass through untouched.
_SAME = ("description", "title", "enum", "format", "minimum", "maximum", "pattern", "default", "example")
# int64 fields, which proto JSON may carry as strings ("1").
_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")


class SchemaInvalid(Exception):
    """A schema the real API refuses; ``message`` is the service's whole error message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bad_value(path: str, what: str, value: object) -> SchemaInvalid:
    return SchemaInvalid(f"Invalid value at '{path}' ({what}), {value!r}")


def _camel_or_snake(schema: dict[str, Any], camel: str) -> Any:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return schema.get(camel, schema.get(snake))


def to_json_schema(schema: object, path: str) -> dict[str, Any]:
    """Convert, checking each ``type`` the way the service does (names are case-insensitive)."""
    if not isinstance(schema, dict):
        raise _bad_value(path, "google.ai.generativelanguage.v1beta.Schema", schema)
    out: dict[str, Any] = {key: schema[key] for key in _SAME if key in schema}
    for key in _COUNTS:
        value = _camel_or_snake(schema, key)
        if value is not None:
            try:
                out[key] = int(value)
            except (TypeError, ValueError):
                raise _bad_value(f"{path}.{key}", "TYPE_INT64", value) from None
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(kind, str) or kind.upper() not in _TYPES:
            raise _bad_value(
                f"{path}.type", "type.googleapis.com/google.ai.generativelanguage.v1beta.Type", kind
            )
        out["type"] = kind.lower()
        if _camel_or_snake(schema, "nullable") is True:
            out["type"] = [kind.lower(), "null"]
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise _bad_value(f"{path}.properties", "map", properties)
        out["properties"] = {
            name: to_json_schema(sub, f"{path}.properties[{name}].value") for name, sub in properties.items()
        }
    required = schema.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise _bad_value(f"{path}.required", "TYPE_STRING", required)
        for i, name in enumerate(required):
            if name not in out.get("properties", {}):
                raise SchemaInvalid(
                    f"* GenerateContentRequest.{path}.required[{i}]: property is not defined\n"
                )
        out["required"] = list(required)
    if "items" in schema:
        out["items"] = to_json_schema(schema["items"], f"{path}.items")
    any_of = _camel_or_snake(schema, "anyOf")
    if any_of is not None:
        if not isinstance(any_of, list):
            raise _bad_value(f"{path}.any_of", "list", any_of)
        out["anyOf"] = [to_json_schema(sub, f"{path}.any_of[{i}]") for i, sub in enumerate(any_of)]
    return out
