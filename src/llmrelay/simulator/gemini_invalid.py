"""The Gemini simulator's validation error and the small readers its request modules share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmrelay.simulator.gemini_schema import SchemaInvalid, to_json_schema


class GeminiInvalid(Exception):
    """A request the real API would refuse with 400 INVALID_ARGUMENT."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def field_error(request: str, path: str, problem: str) -> GeminiInvalid:
    return GeminiInvalid(f"* {request}.{path}: {problem}\n")


def get(obj: Mapping[str, Any], camel: str) -> Any:
    """A field by its lowerCamelCase name or its snake_case one, as proto JSON allows."""
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def int_field(config: Mapping[str, Any], camel: str, path: str) -> int | None:
    value = get(config, camel)
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # int64 fields may come as strings in proto JSON
    if not isinstance(value, int) or isinstance(value, bool):
        raise GeminiInvalid(f"Invalid value at '{path}' (TYPE_INT32), {json.dumps(value)}")
    return value


def schema_of(raw: object, path: str) -> dict[str, Any]:
    try:
        return to_json_schema(raw, path)
    except SchemaInvalid as exc:
        raise GeminiInvalid(exc.message) from None
