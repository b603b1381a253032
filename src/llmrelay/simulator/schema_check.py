"""Check a value against a JSON Schema: the subset the simulator generates from.

The generator (``schema``) uses this to honour ``oneOf``, where a value must match
exactly one branch; tests use it as an independent check of generated values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from llmrelay.errors import InvalidRequestError

HARD_DEPTH = 40  # deeper than any sane schema: a $ref cycle with no way out


def conforms(instance: Any, schema: Mapping[str, Any] | bool, root: Mapping[str, Any] | None = None) -> bool:
    """Whether ``instance`` validates against ``schema`` (same subset as ``schema_instance``)."""
    if root is None:
        root = schema if isinstance(schema, Mapping) else {}
    return check(instance, schema, root, 0)


def resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any] | bool:
    if not ref.startswith("#"):
        raise InvalidRequestError(f"schema $ref {ref!r} is not local; only '#/...' references are supported")
    node: Any = root
    for raw in ref[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise InvalidRequestError(f"schema $ref {ref!r} points at nothing; define it under '$defs'")
    if not isinstance(node, Mapping | bool):
        raise InvalidRequestError(f"schema $ref {ref!r} does not point at a schema")
    return node


def types_of(schema: Mapping[str, Any]) -> list[str] | None:
    """The allowed JSON types, or None when the schema does not restrict them."""
    declared = schema.get("type")
    if declared is None:
        types = None
    elif isinstance(declared, str):
        types = [declared]
    else:
        types = [str(t) for t in declared]
    if types is not None and schema.get("nullable") is True and "null" not in types:
        types.append("null")
    return types


def _type_ok(instance: Any, kind: str) -> bool:
    if kind == "null":
        return instance is None
    if kind == "boolean":
        return isinstance(instance, bool)
    if kind == "integer":
        return (isinstance(instance, int) and not isinstance(instance, bool)) or (
            isinstance(instance, float) and instance.is_integer()
        )
    if kind == "number":
        return isinstance(instance, int | float) and not isinstance(instance, bool)
    if kind == "string":
        return isinstance(instance, str)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "object":
        return isinstance(instance, dict)
    return False


_FORMATS: dict[str, re.Pattern[str]] = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}\Z"),
    "email": re.compile(r"[^@\s]+@[^@\s]+\Z"),
    "uri": re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*\Z"),
}


def check(instance: Any, schema: Mapping[str, Any] | bool, root: Mapping[str, Any], depth: int) -> bool:
    """``conforms`` with the root for ``$ref`` and the current depth (for the generator)."""
    if schema is True:
        return True
    if schema is False or depth > HARD_DEPTH:
        return False
    if "$ref" in schema and not check(instance, resolve(str(schema["$ref"]), root), root, depth + 1):
        return False
    types = types_of(schema)
    if types is not None and not any(_type_ok(instance, t) for t in types):
        return False
    if "const" in schema and not _same(instance, schema["const"]):
        return False
    if "enum" in schema and not any(_same(instance, option) for option in schema["enum"]):
        return False
    if not all(check(instance, s, root, depth + 1) for s in schema.get("allOf", ())):
        return False
    if "anyOf" in schema and not any(check(instance, s, root, depth + 1) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(check(instance, s, root, depth + 1) for s in schema["oneOf"]) != 1:
        return False
    if isinstance(instance, dict):
        return _object_ok(instance, schema, root, depth)
    if isinstance(instance, list):
        return _array_ok(instance, schema, root, depth)
    if isinstance(instance, str):
        fmt = _FORMATS.get(str(schema.get("format")))
        if fmt is not None and not fmt.match(instance):
            return False
        return bool(schema.get("minLength", 0) <= len(instance) <= schema.get("maxLength", math.inf))
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        return _number_ok(instance, schema)
    return True


def _same(a: Any, b: Any) -> bool:
    # JSON equality: 1 == 1.0 but True != 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _object_ok(
    instance: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> bool:
    props: Mapping[str, Any] = schema.get("properties") or {}
    if any(name not in instance for name in schema.get("required", ())):
        return False
    extra = schema.get("additionalProperties", True)
    for name, value in instance.items():
        sub = props.get(name, extra)
        if not check(value, sub, root, depth + 1):
            return False
    return bool(schema.get("minProperties", 0) <= len(instance) <= schema.get("maxProperties", math.inf))


def _array_ok(instance: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> bool:
    if not schema.get("minItems", 0) <= len(instance) <= schema.get("maxItems", math.inf):
        return False
    prefix: list[Any] = list(schema.get("prefixItems") or ())
    items: Any = schema.get("items", True)
    if isinstance(items, list):
        prefix, items = items, schema.get("additionalItems", True)
    for position, value in enumerate(instance):
        sub = prefix[position] if position < len(prefix) else items
        if not check(value, sub, root, depth + 1):
            return False
    if schema.get("uniqueItems"):
        keys = [json.dumps(v, sort_keys=True) for v in instance]
        return len(set(keys)) == len(keys)
    return True


def _number_ok(instance: float, schema: Mapping[str, Any]) -> bool:
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and (instance < low or (ex_min is True and instance == low)):
        return False
    if high is not None and (instance > high or (ex_max is True and instance == high)):
        return False
    if not isinstance(ex_min, bool) and ex_min is not None and instance <= ex_min:
        return False
    if not isinstance(ex_max, bool) and ex_max is not None and instance >= ex_max:
        return False
    step = schema.get("multipleOf")
    if step is not None:
        quotient = instance / step
        return math.isfinite(quotient) and float(quotient).is_integer()
    return True
