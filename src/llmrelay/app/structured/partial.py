"""Partial objects for streaming: the caller's type with every field optional.

``PartialBuilder(Person).build(data)`` turns the JSON received so far into a
``PartialPerson``: the same field names, each ``None`` until it arrives, nested models
partial too, and no validators or constraints (they judge whole values; the final
object is validated against the caller's own type). A type that is not a model (a
``TypedDict``, a dataclass, a ``dict``) streams as the plain JSON value so far.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from llmrelay.app.structured.schema import WRAPPER_KEY

__all__ = ["PartialBuilder"]

# Typing forms subscripted with types computed at run time; held as Any so that the
# checker does not read them as annotations.
_OPTIONAL: Any = Optional
_UNION: Any = Union
_LIST: Any = list
_DICT: Any = dict
_PARTIAL_CONFIG = ConfigDict(extra="ignore", populate_by_name=True, arbitrary_types_allowed=True)


class PartialBuilder:
    """Builds the partial version of one target type (models are made once per builder)."""

    def __init__(self, tp: Any, *, wrapped: bool) -> None:
        self._made: dict[type[BaseModel], type[BaseModel]] = {}
        self._building: set[type[BaseModel]] = set()
        self._wrapped = wrapped
        lenient = self._partial(tp)
        # one adapter per stream: building it costs far more than validating with it
        self._adapter: TypeAdapter[Any] | None = None if lenient is None else TypeAdapter(lenient)

    def build(self, data: Any) -> Any:
        """The partial object for ``data`` (JSON so far), or None when it does not fit yet."""
        if self._wrapped and isinstance(data, dict):
            if WRAPPER_KEY not in data:
                return None
            data = data[WRAPPER_KEY]
        if self._adapter is None:
            return data
        try:
            return self._adapter.validate_python(data)
        except ValidationError:
            return None

    def _partial(self, tp: Any) -> Any:
        """The lenient type for ``tp``, or None when the raw JSON value is streamed."""
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self._model(tp)
        origin = get_origin(tp)
        if origin in (list, typing.List):  # noqa: UP006 - matches what get_origin returns
            (item,) = get_args(tp) or (Any,)
            return _LIST[self._field(item)]
        return None

    def _field(self, tp: Any) -> Any:
        """A field's lenient type: models partial, containers of models partial, unions
        member by member, everything else as declared."""
        origin = get_origin(tp)
        if origin is typing.Annotated:
            return self._field(get_args(tp)[0])
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self._model(tp)
        if origin in (Union, types.UnionType):
            args = tuple(self._field(a) for a in get_args(tp))
            return _UNION[args]
        if origin is list:
            (item,) = get_args(tp) or (Any,)
            return _LIST[self._field(item)]
        if origin is dict:
            key, value = get_args(tp) or (str, Any)
            return _DICT[key, self._field(value)]
        return tp

    def _model(self, model: type[BaseModel]) -> type[BaseModel] | Any:
        made = self._made.get(model)
        if made is not None:
            return made
        if model in self._building:
            return Any  # a recursive model: its inner levels stream as plain JSON
        self._building.add(model)
        try:
            fields: dict[str, Any] = {}
            for name, info in model.model_fields.items():
                fields[name] = (
                    _OPTIONAL[self._field(info.annotation)],
                    Field(default=None, alias=info.alias),
                )
            partial = create_model(f"Partial{model.__name__}", __config__=_PARTIAL_CONFIG, **fields)
        finally:
            self._building.discard(model)
        self._made[model] = partial
        return partial
