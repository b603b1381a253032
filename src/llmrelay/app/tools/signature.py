"""A Python function's parameters as a Pydantic model: its JSON Schema is what the model
sees, its validation is what runs before the function.

Type hints give the types (``Annotated[int, Field(ge=1)]`` constraints included),
defaults make a parameter optional, and the docstring (Google, reST, NumPy or Epydoc
style, read by ``docstring_parser``) gives the tool's description and each parameter's.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model

from llmrelay.errors import ConfigError

__all__ = ["Signature", "describe", "signature_of"]

_KINDS_REFUSED = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True, slots=True)
class Signature:
    """The arguments model of a function and how to call it with a validated instance."""

    model: type[BaseModel]
    description: str | None
    #: parameter names in order, and which are positional-only
    names: tuple[str, ...]
    positional_only: frozenset[str]

    def call_args(self, values: BaseModel) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` for the function from a validated arguments model (parameters
        the model left out hold their defaults)."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for i, name in enumerate(self.names):
            value = getattr(values, f"p{i}")
            if name in self.positional_only:
                args.append(value)
            else:
                kwargs[name] = value
        return tuple(args), kwargs


def _label(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def describe(fn: Callable[..., Any]) -> tuple[str | None, dict[str, str]]:
    """The docstring's description and its per-parameter descriptions."""
    doc = inspect.getdoc(fn)
    if not doc:
        return None, {}
    import docstring_parser

    parsed = docstring_parser.parse(doc)
    parts = [p for p in (parsed.short_description, parsed.long_description) if p]
    params = {p.arg_name: p.description for p in parsed.params if p.description}
    return ("\n\n".join(parts) or None), params


def signature_of(fn: Callable[..., Any], name: str) -> Signature:
    """Build the arguments model of ``fn``; ``ConfigError`` names what cannot be a tool parameter."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"tool {name!r}: cannot read the signature of {_label(fn)}: {exc}") from exc
    try:
        # a partial's hints are its function's; a callable object's are on its __call__
        hinted: Any = fn.func if isinstance(fn, functools.partial) else fn
        if not (inspect.isroutine(hinted) or isinstance(hinted, type)):
            hinted = type(hinted).__call__
        hints = typing.get_type_hints(hinted, include_extras=True)
    except Exception as exc:  # NameError for an unresolvable forward reference, and others
        raise ConfigError(
            f"tool {name!r}: cannot resolve the type hints of {_label(fn)}: {exc} (a type named in a hint "
            "must be importable from the function's module)"
        ) from exc
    description, param_docs = describe(fn)
    fields: dict[str, Any] = {}
    names: list[str] = []
    positional_only: set[str] = set()
    for i, param in enumerate(sig.parameters.values()):
        if param.kind in _KINDS_REFUSED:
            raise ConfigError(
                f"tool {name!r}: parameter {param.name!r} is *args or **kwargs; a tool's parameters must "
                "be named, so that the model knows what to send"
            )
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only.add(param.name)
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        # Fields get neutral names with the parameter name as alias: a parameter may be
        # called "json", "copy" or "schema" without shadowing BaseModel's attributes.
        fields[f"p{i}"] = (
            annotation,
            Field(default, alias=param.name, description=param_docs.get(param.name)),
        )
        names.append(param.name)
    try:
        model = create_model(
            f"{name}_arguments",
            __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False),
            **fields,
        )
        model.model_json_schema()  # fail now, not when the first call arrives
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"tool {name!r}: a parameter's type cannot be described as JSON Schema: {exc}. Use JSON-like "
            "types (str, int, float, bool, list, dict, Literal, Enum, Pydantic models, dataclasses)"
        ) from exc
    return Signature(model, description, tuple(names), frozenset(positional_only))
