"""JSON Schema instances for the simulator: generate a valid value, and check one.

The simulator must hand back tool arguments and structured output that *validate*
against the schema a caller sent, as a real model constrained by structured outputs
does. ``schema_instance`` covers the subset of JSON Schema providers accept for tools
and response formats; ``conforms`` checks the same subset and lets the generator
honour ``oneOf`` (an instance must match exactly one branch).

Both are pure: all randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import re
from collections.abc import Mapping
from typing import Any

from llmrelay.errors import InvalidRequestError

# Recursion guard for ``$ref`` cycles: past this depth only what the schema requires
# is generated, and beyond the hard limit the schema is deemed unsatisfiable.
_SOFT_DEPTH = 5
_HARD_DEPTH = 40
_RETRIES = 24

_WORDS = (
    "alpha", "amber", "atlas", "beacon", "birch", "cedar", "comet", "coral", "delta", "ember",
    "falcon", "fern", "garnet", "harbor", "indigo", "jasper", "juniper", "kestrel", "lumen", "maple",
    "meadow", "nova", "onyx", "orbit", "pearl", "quartz", "raven", "river", "sage", "summit",
    "tidal", "topaz", "umber", "valley", "willow", "zephyr",
)  # fmt: skip

_TYPES = ("string", "integer", "number", "boolean", "null", "object", "array")


def schema_instance(schema: Mapping[str, Any] | bool, rng: random.Random) -> Any:
    """A value that validates against ``schema``.

    Supports type (incl. lists and ``nullable``), properties, required,
    additionalProperties, enum, const, items/prefixItems, minItems/maxItems, uniqueItems,
    minimum/maximum (incl. exclusive), multipleOf, minLength/maxLength, anyOf, oneOf,
    allOf, ``$ref`` into ``$defs``/``definitions``, and formats date, date-time, time,
    email, uri, uuid, ipv4, hostname. ``pattern`` and ``not`` are not honoured.
    Raises ``InvalidRequestError`` for a schema no value can satisfy.
    """
    root = schema if isinstance(schema, Mapping) else {}
    return _Generator(root, rng).value(schema, 0)


def conforms(instance: Any, schema: Mapping[str, Any] | bool, root: Mapping[str, Any] | None = None) -> bool:
    """Whether ``instance`` validates against ``schema`` (same subset as ``schema_instance``)."""
    if root is None:
        root = schema if isinstance(schema, Mapping) else {}
    return _conforms(instance, schema, root, 0)


# --------------------------------------------------------------------------- shared helpers


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any] | bool:
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


def _types_of(schema: Mapping[str, Any]) -> list[str] | None:
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


def _merge_all_of(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """Fold ``allOf`` branches (and ``$ref``) into one schema; enough for the usual composition."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in ("allOf", "$ref")}
    parts: list[Any] = list(schema.get("allOf", ()))
    if "$ref" in schema:
        parts.append(_resolve(str(schema["$ref"]), root))
    for part in parts:
        if part is True:
            continue
        if part is False:
            raise InvalidRequestError("schema contains 'false' inside allOf; no value can satisfy it")
        if depth > _HARD_DEPTH:
            raise InvalidRequestError("schema references nest too deeply (a $ref cycle with no way out?)")
        sub = _merge_all_of(part, root, depth + 1)
        for key, value in sub.items():
            if key == "properties" and key in merged:
                merged[key] = {**merged[key], **value}
            elif key == "required" and key in merged:
                merged[key] = list(dict.fromkeys([*merged[key], *value]))
            elif key == "type" and key in merged:
                mine, theirs = _types_of(merged) or list(_TYPES), _types_of(sub) or list(_TYPES)
                both = [t for t in mine if t in theirs or (t == "integer" and "number" in theirs)]
                both += [t for t in theirs if t == "integer" and "number" in mine and t not in both]
                if not both:
                    raise InvalidRequestError("allOf branches require incompatible types")
                merged["type"] = both
                merged.pop("nullable", None)
            elif key in ("minimum", "minLength", "minItems", "exclusiveMinimum") and key in merged:
                merged[key] = max(merged[key], value)
            elif key in ("maximum", "maxLength", "maxItems", "exclusiveMaximum") and key in merged:
                merged[key] = min(merged[key], value)
            else:
                merged[key] = value
    return merged


# --------------------------------------------------------------------------- generation


class _Generator:
    __slots__ = ("rng", "root")

    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def value(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if depth > _HARD_DEPTH:
            raise InvalidRequestError(
                "schema nests too deeply to build a value (a $ref cycle with no way out?)"
            )
        if schema is True:
            return self.rng.choice(_WORDS)
        if schema is False or not isinstance(schema, Mapping):
            raise InvalidRequestError("schema 'false' accepts no value")
        if "$ref" in schema or "allOf" in schema:
            schema = _merge_all_of(schema, self.root, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise InvalidRequestError("schema has an empty 'enum'; list at least one value")
            return self.rng.choice(options)
        if "anyOf" in schema:
            return self._any_of(schema, depth)
        if "oneOf" in schema:
            return self._one_of(schema, depth)
        kinds = self._type_order(schema, depth)
        for kind in kinds[:-1]:
            try:
                return self._typed(schema, kind, depth)
            except InvalidRequestError:
                continue  # e.g. empty integer bounds on ["integer", "null"]: null still fits
        return self._typed(schema, kinds[-1], depth)

    def _branch(self, base: Mapping[str, Any], branch: Any) -> Mapping[str, Any] | bool:
        # Keywords beside anyOf/oneOf (e.g. a shared "type") apply to every branch.
        rest = {k: v for k, v in base.items() if k not in ("anyOf", "oneOf")}
        if not rest or isinstance(branch, bool):
            return branch if isinstance(branch, Mapping | bool) else True
        return {"allOf": [rest, branch]}

    def _any_of(self, schema: Mapping[str, Any], depth: int) -> Any:
        branches = list(schema["anyOf"])
        if not branches:
            raise InvalidRequestError("schema has an empty 'anyOf'")
        order = self._branch_order(branches, depth)
        last: InvalidRequestError | None = None
        for index in order:
            try:
                return self.value(self._branch(schema, branches[index]), depth + 1)
            except InvalidRequestError as exc:
                last = exc
        assert last is not None
        raise last

    def _one_of(self, schema: Mapping[str, Any], depth: int) -> Any:
        branches = [self._branch(schema, b) for b in schema["oneOf"]]
        if not branches:
            raise InvalidRequestError("schema has an empty 'oneOf'")
        for attempt in range(_RETRIES):
            order = self._branch_order(list(schema["oneOf"]), depth)
            index = order[attempt % len(order)]
            candidate = self.value(branches[index], depth + 1)
            others = (b for i, b in enumerate(branches) if i != index)
            if not any(_conforms(candidate, b, self.root, 0) for b in others):
                return candidate
        raise InvalidRequestError("no value matches exactly one 'oneOf' branch; make the branches disjoint")

    def _branch_order(self, branches: list[Any], depth: int) -> list[int]:
        order = list(range(len(branches)))
        self.rng.shuffle(order)
        if depth >= _SOFT_DEPTH:
            # Deep in a recursive schema: prefer branches that do not recurse again.
            order.sort(key=lambda i: "$ref" in json.dumps(branches[i], default=str))
        return order

    def _type_order(self, schema: Mapping[str, Any], depth: int) -> list[str]:
        """The types to try, the randomly preferred one first."""
        types = _types_of(schema)
        if types is None:
            if "properties" in schema or "required" in schema or "additionalProperties" in schema:
                return ["object"]
            if "items" in schema or "prefixItems" in schema or "minItems" in schema:
                return ["array"]
            if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
                return ["number"]
            return ["string"]
        if not types:
            raise InvalidRequestError("schema has an empty 'type' list")
        non_null = [t for t in types if t != "null"]
        self.rng.shuffle(non_null)
        if "null" not in types:
            return non_null
        if not non_null or depth >= _SOFT_DEPTH or self.rng.random() < 0.2:
            return ["null", *non_null]
        return [*non_null, "null"]

    def _typed(self, schema: Mapping[str, Any], kind: str, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        raise InvalidRequestError(
            f"schema type {kind!r} is not a JSON Schema type; use one of {', '.join(_TYPES)}"
        )

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = list(schema.get("required") or ())
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in required or (depth < _SOFT_DEPTH and self.rng.random() < 0.5):
                out[name] = self.value(sub, depth + 1)
        for name in required:
            if name not in out:
                if extra is False:
                    raise InvalidRequestError(
                        f"schema requires {name!r} but forbids it "
                        "(not in properties, additionalProperties false)"
                    )
                out[name] = self.value(extra if isinstance(extra, Mapping) else True, depth + 1)
        wanted = int(schema.get("minProperties", 0))
        spare = [n for n in props if n not in out]
        while len(out) < wanted and spare:
            name = spare.pop(0)
            out[name] = self.value(props[name], depth + 1)
        counter = 0
        while len(out) < wanted:
            if extra is False:
                raise InvalidRequestError("schema minProperties exceeds the properties it allows")
            counter += 1
            out[f"extra_{counter}"] = self.value(extra if isinstance(extra, Mapping) else True, depth + 1)
        return out

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        high = int(high) if high is not None else low + (3 if depth < _SOFT_DEPTH else 0)
        if high < low:
            raise InvalidRequestError(f"schema maxItems ({high}) is below minItems ({low})")
        prefix: list[Any] = list(schema.get("prefixItems") or ())
        items: Any = schema.get("items", True)
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        count = self.rng.randint(low, high)
        if items is False:
            count = min(count, len(prefix))
        unique = bool(schema.get("uniqueItems"))
        out: list[Any] = []
        seen: set[str] = set()
        for position in range(count):
            sub = prefix[position] if position < len(prefix) else items
            for _ in range(_RETRIES):
                candidate = self.value(sub, depth + 1)
                key = json.dumps(candidate, sort_keys=True)
                if not unique or key not in seen:
                    break
            else:
                if position >= low:
                    break  # enough items already; stop rather than repeat one
                raise InvalidRequestError("schema uniqueItems cannot be met with minItems distinct values")
            seen.add(key)
            out.append(candidate)
        return out

    def _string(self, schema: Mapping[str, Any]) -> str:
        fmt = schema.get("format")
        text = self._formatted(fmt) if isinstance(fmt, str) else None
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if high is not None and int(high) < low:
            raise InvalidRequestError(f"schema maxLength ({high}) is below minLength ({low})")
        if text is not None and len(text) >= low and (high is None or len(text) <= int(high)):
            return text
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 3))]
        text = " ".join(words)
        while len(text) < low:
            text += " " + self.rng.choice(_WORDS)
        if high is not None and len(text) > int(high):
            text = text[: int(high)].rstrip() if int(high) > 0 else ""
            text = text.ljust(low, "x")
        return text

    def _formatted(self, fmt: str) -> str | None:
        rng = self.rng
        day = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(3650))
        clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        if fmt == "date":
            return day.isoformat()
        if fmt == "date-time":
            return f"{day.isoformat()}T{clock}Z"
        if fmt == "time":
            return f"{clock}Z"
        if fmt == "email":
            return f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}@example.com"
        if fmt in ("uri", "url", "iri"):
            return f"https://example.com/{rng.choice(_WORDS)}/{rng.randrange(1000)}"
        if fmt == "hostname":
            return f"{rng.choice(_WORDS)}.example.com"
        if fmt == "ipv4":
            return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        if fmt == "uuid":
            digits = f"{rng.getrandbits(128):032x}"
            return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"
        return None

    def _bounds(self, schema: Mapping[str, Any]) -> tuple[float, float, bool, bool]:
        """(low, high, low exclusive, high exclusive) for numbers, across drafts 4 to 2020-12."""
        low, high = schema.get("minimum"), schema.get("maximum")
        low_ex = high_ex = False
        ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(ex_min, bool):
            low_ex = ex_min
        elif ex_min is not None and (low is None or ex_min >= low):
            low, low_ex = ex_min, True
        if isinstance(ex_max, bool):
            high_ex = ex_max
        elif ex_max is not None and (high is None or ex_max <= high):
            high, high_ex = ex_max, True
        lo = float(low) if low is not None else (float(high) - 100 if high is not None else 0.0)
        hi = float(high) if high is not None else lo + 100
        return lo, hi, low_ex, high_ex

    def _integer(self, schema: Mapping[str, Any]) -> int:
        lo_f, hi_f, low_ex, high_ex = self._bounds(schema)
        lo = math.floor(lo_f) + 1 if low_ex or lo_f != math.floor(lo_f) else int(lo_f)
        hi = math.ceil(hi_f) - 1 if high_ex or hi_f != math.ceil(hi_f) else int(hi_f)
        step = schema.get("multipleOf")
        if step is not None and float(step) == int(step) and int(step) > 0:
            k = int(step)
            first, last = -(-lo // k), hi // k
            if first > last:
                raise InvalidRequestError(f"no multiple of {k} lies between {lo} and {hi}")
            return self.rng.randint(first, last) * k
        if lo > hi:
            raise InvalidRequestError(f"schema integer bounds are empty (minimum {lo_f}, maximum {hi_f})")
        return self.rng.randint(lo, hi)

    def _number(self, schema: Mapping[str, Any]) -> float | int:
        step = schema.get("multipleOf")
        if step is not None:
            return (
                self._integer(schema)
                if float(step) == int(step)
                else self._float_multiple(schema, float(step))
            )
        lo, hi, low_ex, high_ex = self._bounds(schema)
        if lo > hi or (lo == hi and (low_ex or high_ex)):
            raise InvalidRequestError(f"schema number bounds are empty (minimum {lo}, maximum {hi})")
        for _ in range(_RETRIES):
            value = round(self.rng.uniform(lo, hi), 2)
            if (lo < value or (not low_ex and value == lo)) and (value < hi or (not high_ex and value == hi)):
                return value
        return (lo + hi) / 2

    def _float_multiple(self, schema: Mapping[str, Any], step: float) -> float:
        lo, hi, _, _ = self._bounds(schema)
        first, last = math.ceil(lo / step), math.floor(hi / step)
        for _ in range(_RETRIES):
            if first > last:
                break
            value = self.rng.randint(first, last) * step
            if _conforms(value, schema, self.root, 0):
                return value
        if _conforms(0, schema, self.root, 0):
            return 0.0
        raise InvalidRequestError(f"no multiple of {step} found within the schema's bounds")


# --------------------------------------------------------------------------- validation


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


def _conforms(instance: Any, schema: Mapping[str, Any] | bool, root: Mapping[str, Any], depth: int) -> bool:
    if schema is True:
        return True
    if schema is False or depth > _HARD_DEPTH:
        return False
    if "$ref" in schema and not _conforms(instance, _resolve(str(schema["$ref"]), root), root, depth + 1):
        return False
    types = _types_of(schema)
    if types is not None and not any(_type_ok(instance, t) for t in types):
        return False
    if "const" in schema and not _same(instance, schema["const"]):
        return False
    if "enum" in schema and not any(_same(instance, option) for option in schema["enum"]):
        return False
    if not all(_conforms(instance, s, root, depth + 1) for s in schema.get("allOf", ())):
        return False
    if "anyOf" in schema and not any(_conforms(instance, s, root, depth + 1) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(_conforms(instance, s, root, depth + 1) for s in schema["oneOf"]) != 1:
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
        if not _conforms(value, sub, root, depth + 1):
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
        if not _conforms(value, sub, root, depth + 1):
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
