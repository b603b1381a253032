"""What the caller asked for: a Python type, its JSON Schema, and its validator.

Any type Pydantic can validate works: a ``BaseModel``, a dataclass, a ``TypedDict``,
``list[Model]``, ``Literal[...]``, an ``Enum``, ``dict[str, int]``. Providers (and JSON
mode) want a JSON *object* at the root, so a type whose schema is not an object is
wrapped as ``{"value": ...}`` on the way out and unwrapped on the way back.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import PydanticUserError, TypeAdapter, ValidationError

from llmrelay.errors import ConfigError

T = TypeVar("T")

#: the property a non-object result is wrapped in
WRAPPER_KEY = "value"
_NAME_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
#: keys whose value maps names to schemas (not a schema itself)
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
#: keys whose value is a schema
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "propertyNames")
#: keys whose value is a list of schemas
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


@dataclass(frozen=True, slots=True, eq=False)
class Target(Generic[T]):
    """A result type, ready to ask for and to validate.

    ``schema`` is what is sent (an object at the root); ``wrapped`` says the value lives
    under ``"value"``; ``name`` is a provider-safe schema name.
    """

    type: Any
    adapter: TypeAdapter[T]
    schema: Mapping[str, Any]
    wrapped: bool
    name: str
    description: str | None

    def validate(self, data: Any) -> T:
        """The validated value (raises ``pydantic.ValidationError``).

        A wrapped target also takes the bare value: models in JSON mode often answer
        ``[...]`` when asked for ``{"value": [...]}``.
        """
        if self.wrapped and isinstance(data, dict) and set(data) == {WRAPPER_KEY}:
            data = data[WRAPPER_KEY]
        return self.adapter.validate_python(data)


def target_for(tp: Any) -> Target[Any]:
    """Build the ``Target`` of a type; ``ConfigError`` when Pydantic cannot use it."""
    if isinstance(tp, Target):
        return tp
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(tp)
        schema = adapter.json_schema()
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"cannot build a JSON Schema for {_type_name(tp)}: {_first_line(exc)}. Use a Pydantic model, "
            "a dataclass, a typing_extensions.TypedDict, list[...], Literal[...] or an Enum"
        ) from exc
    schema = inline_root_ref(schema)
    wrapped = schema.get("type") != "object"
    if wrapped:
        schema = wrap(schema)
    description = schema.get("description") if isinstance(schema.get("description"), str) else None
    return Target(
        type=tp,
        adapter=adapter,
        schema=schema,
        wrapped=wrapped,
        name=schema_name(tp),
        description=description,
    )


def inline_root_ref(schema: dict[str, Any]) -> dict[str, Any]:
    """A root that is only ``$ref`` into ``$defs`` (a recursive model) becomes the definition
    itself, keeping ``$defs`` so that the inner references still resolve."""
    ref = schema.get("$ref")
    defs = schema.get("$defs")
    if not isinstance(ref, str) or not isinstance(defs, dict) or not ref.startswith("#/$defs/"):
        return schema
    body = defs.get(ref[len("#/$defs/") :])
    if not isinstance(body, dict):
        return schema
    out = {k: v for k, v in schema.items() if k != "$ref"}
    return {**copy.deepcopy(body), **out}


def wrap(schema: dict[str, Any]) -> dict[str, Any]:
    inner = {k: v for k, v in schema.items() if k != "$defs"}
    out: dict[str, Any] = {
        "type": "object",
        "properties": {WRAPPER_KEY: inner},
        "required": [WRAPPER_KEY],
        "additionalProperties": False,
    }
    if "$defs" in schema:
        out["$defs"] = schema["$defs"]
    return out


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema in the form strict structured outputs require (OpenAI ``strict: true``;
    Anthropic wants the same closed objects): every object closed
    (``additionalProperties: false``) with every property required, and no ``default``.
    None when the schema cannot be put in that form (an open ``dict[str, X]``).

    Making an optional field required only asks the model to always write it; the answer
    is still validated against the caller's own type.
    """
    out = copy.deepcopy(dict(schema))
    return out if _close(out) else None


def _close(node: Any) -> bool:
    if not isinstance(node, dict):
        return True
    node.pop("default", None)
    if "$ref" in node:
        # strict mode takes no keywords beside a $ref (Pydantic puts a field's description there)
        for key in [k for k in node if k != "$ref"]:
            del node[key]
        return True
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            return False
        if "patternProperties" in node:
            return False
        props = node.get("properties") or {}
        node["additionalProperties"] = False
        node["required"] = list(props)
        node.setdefault("properties", props)
    for key in _SCHEMA_MAPS:
        sub = node.get(key)
        if isinstance(sub, dict) and not all(_close(v) for v in sub.values()):
            return False
    for key in _SCHEMA_KEYS:
        if key != "additionalProperties" and not _close(node.get(key)):
            return False
    for key in _SCHEMA_LISTS:
        sub = node.get(key)
        if isinstance(sub, list) and not all(_close(v) for v in sub):
            return False
    return True


def strip_titles(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without the ``title`` keywords Pydantic adds everywhere (prompt tokens the
    model does not need); a *property* named ``title`` is kept."""
    out = copy.deepcopy(dict(schema))
    _strip(out)
    return out


def _strip(node: Any) -> None:
    if not isinstance(node, dict):
        return
    if isinstance(node.get("title"), str):
        del node["title"]
    for key in _SCHEMA_MAPS:
        sub = node.get(key)
        if isinstance(sub, dict):
            for v in sub.values():
                _strip(v)
    for key in _SCHEMA_KEYS:
        _strip(node.get(key))
    for key in _SCHEMA_LISTS:
        sub = node.get(key)
        if isinstance(sub, list):
            for v in sub:
                _strip(v)


def schema_name(tp: Any) -> str:
    """A name providers accept (``^[A-Za-z0-9_-]{1,64}$``): ``Person``, ``list_Person``."""
    raw = getattr(tp, "__name__", None)
    if not isinstance(raw, str) or getattr(tp, "__args__", None):
        raw = _type_name(tp)
    name = _NAME_INVALID.sub("_", raw).strip("_")[:64]
    return name or "response"


def _type_name(tp: Any) -> str:
    text = repr(tp) if not isinstance(tp, type) else tp.__name__
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", text.replace("typing.", ""))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n", 1)[0].rstrip(".")


def format_validation_error(exc: ValidationError, *, limit: int = 20) -> str:
    """One line per problem, ``path: message (got ...)``, as a model can act on it."""
    lines = []
    for err in exc.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        got = repr(err.get("input"))
        if len(got) > 80:
            got = got[:77] + "..."
        lines.append(f"- {loc}: {err.get('msg', 'invalid')} (got {got})")
    more = exc.error_count() - limit
    if more > 0:
        lines.append(f"- ... and {more} more")
    return "\n".join(lines)


__all__ = [
    "WRAPPER_KEY",
    "Target",
    "ValidationError",
    "format_validation_error",
    "schema_name",
    "strict_schema",
    "strip_titles",
    "target_for",
]
