"""JSON Schema instances for the simulator: generate a valid value, and check one.

The simulator must hand back tool arguments and structured output that *validate*
against the schema a caller sent, as a real model constrained by structured outputs
does. ``schema_instance`` covers the subset of JSON Schema providers accept for tools
and response formats; ``schema_check.conforms`` (re-exported here) checks it.

Generation is pure: all randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import datetime
import json
import math
import random
from collections.abc import Mapping
from typing import Any

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.schema_check import HARD_DEPTH, check, conforms, resolve, types_of

__all__ = ["conforms", "schema_instance"]

# Recursion guard for ``$ref`` cycles: past this depth only what the schema requires
# is generated, and beyond the hard limit the schema is deemed unsatisfiable.
_SOFT_DEPTH = 5
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


def _merge_all_of(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """Fold ``allOf`` branches (and ``$ref``) into one schema; enough for the usual composition."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in ("allOf", "$ref")}
    parts: list[Any] = list(schema.get("allOf", ()))
    if "$ref" in schema:
        parts.append(resolve(str(schema["$ref"]), root))
    for part in parts:
        if part is True:
            continue
        if part is False:
            raise InvalidRequestError("schema contains 'false' inside allOf; no value can satisfy it")
        if depth > HARD_DEPTH:
            raise InvalidRequestError("schema references nest too deeply (a $ref cycle with no way out?)")
        sub = _merge_all_of(part, root, depth + 1)
        for key, value in sub.items():
            if key == "properties" and key in merged:
                merged[key] = {**merged[key], **value}
            elif key == "required" and key in merged:
                merged[key] = list(dict.fromkeys([*merged[key], *value]))
            elif key == "type" and key in merged:
                mine, theirs = types_of(merged) or list(_TYPES), types_of(sub) or list(_TYPES)
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
        if depth > HARD_DEPTH:
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
            if not any(check(candidate, b, self.root, 0) for b in others):
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
        types = types_of(schema)
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
            if check(value, schema, self.root, 0):
                return value
        if check(0, schema, self.root, 0):
            return 0.0
        raise InvalidRequestError(f"no multiple of {step} found within the schema's bounds")
