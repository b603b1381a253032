"""Typed template variables: their declaration, checking a value, and reading one from text.

A declaration is written in a template's ``variables`` section, either short (the type
alone: ``question: str``) or long (``tone: {type: str, default: friendly, enum: [friendly,
formal], description: …}``). Types are ``str``, ``int``, ``float``, ``bool``, ``list``,
``dict``, ``any`` and ``list[T]`` of one of those. A variable without a ``default`` is
required; ``default: null`` makes it optional with None as its value.

Everything here is pure: no I/O, no Jinja.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_SCALARS: Mapping[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict, Mapping),
    "any": (object,),
}
_LIST_OF = re.compile(r"^list\[\s*(\w+)\s*\]$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELDS = frozenset({"type", "default", "description", "enum"})
_MISSING: Any = object()
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _valid_type(kind: str) -> bool:
    if kind in _SCALARS:
        return True
    m = _LIST_OF.match(kind)
    return m is not None and m.group(1) in _SCALARS


def type_matches(kind: str, value: Any) -> bool:
    """Whether ``value`` is of the declared type (bools are not ints, ints are floats)."""
    m = _LIST_OF.match(kind)
    if m is not None:
        return isinstance(value, list | tuple) and all(type_matches(m.group(1), v) for v in value)
    if kind in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, _SCALARS[kind])


@dataclass(frozen=True, slots=True)
class Variable:
    """One declared variable. ``has_default`` tells a ``default`` of None from no default."""

    name: str
    type: str = "str"
    default: Any = None
    has_default: bool = False
    description: str | None = None
    enum: tuple[Any, ...] | None = None

    @property
    def required(self) -> bool:
        return not self.has_default

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None when it is."""
        if value is None and self.has_default and self.default is None:
            return None
        if not type_matches(self.type, value):
            return f"{self.name} must be {self.type}, got {type(value).__name__} {_short(value)}"
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(repr(v) for v in self.enum)
            return f"{self.name} must be one of {allowed}, got {_short(value)}"
        return None

    def from_text(self, text: str) -> Any:
        """The value a command-line ``name=text`` stands for, by the declared type.

        Strings are taken as they are; numbers and booleans are parsed; lists and dicts
        are JSON. Raises ``ValueError`` saying what was expected.
        """
        kind = self.type
        if kind in ("str", "any"):
            return text
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(f"{self.name} is a bool: give true or false, not {text!r}")
        value = json.loads(text)
        if not type_matches(kind, value):
            raise ValueError(f"{self.name} must be {kind} written as JSON, got {text!r}")
        return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_variables(raw: Any, where: str) -> tuple[tuple[Variable, ...], list[str]]:
    """The declarations of a ``variables`` section, and the problems found in it
    (each a sentence naming the variable). ``where`` prefixes nothing; it names the section
    in the messages."""
    if raw is None:
        return (), []
    if not isinstance(raw, Mapping):
        return (), [f"{where} must be a mapping of name to type or to {{type, default, …}}"]
    out: list[Variable] = []
    problems: list[str] = []
    for name, spec in raw.items():
        if isinstance(name, bool):
            problems.append(f"{where}: YAML read a name as {name} (on, off, yes, no…): quote it")
            continue
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{where}: {name!r} is not a valid variable name (letters, digits, _)")
            continue
        var, problem = _one(name, spec)
        if problem is not None:
            problems.append(f"{where}.{name}: {problem}")
        elif var is not None:
            out.append(var)
    return tuple(out), problems


def _one(name: str, spec: Any) -> tuple[Variable | None, str | None]:
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        return None, "give a type name (str, int, …) or a mapping with type, default, description, enum"
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        return None, f"unknown field(s) {', '.join(map(str, unknown))}; use {', '.join(sorted(_FIELDS))}"
    kind = str(spec.get("type", "str")).strip()
    if not _valid_type(kind):
        return None, f"unknown type {kind!r}; use one of {', '.join(_SCALARS)} or list[T]"
    enum_raw = spec.get("enum")
    enum: tuple[Any, ...] | None = None
    if enum_raw is not None:
        if not isinstance(enum_raw, Sequence) or isinstance(enum_raw, str) or not enum_raw:
            return None, "enum must be a non-empty list of allowed values"
        enum = tuple(enum_raw)
    default = spec.get("default", _MISSING)
    var = Variable(
        name=name,
        type=kind,
        default=None if default is _MISSING else default,
        has_default=default is not _MISSING,
        description=str(spec["description"]) if spec.get("description") is not None else None,
        enum=enum,
    )
    if var.has_default and default is not None:
        problem = var.check(default)
        if problem is not None:
            return None, f"the default does not fit: {problem}"
    return var, None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The values to render with (defaults filled in), or why the given ones do not fit."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    wrong: tuple[tuple[str, str], ...] = ()  # (name, why)


def resolve(declared: Sequence[Variable], given: Mapping[str, Any]) -> Resolved:
    """Check ``given`` against ``declared`` and fill in defaults (pure)."""
    by_name = {v.name: v for v in declared}
    unexpected = tuple(sorted(k for k in given if k not in by_name))
    values: dict[str, Any] = {}
    missing: list[str] = []
    wrong: list[tuple[str, str]] = []
    for var in declared:
        if var.name in given:
            value = given[var.name]
            problem = var.check(value)
            if problem is not None:
                wrong.append((var.name, problem))
            values[var.name] = value
        elif var.has_default:
            values[var.name] = var.default
        else:
            missing.append(var.name)
    return Resolved(values, tuple(missing), unexpected, tuple(wrong))
