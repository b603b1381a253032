"""Tools a model can call: a definition it sees, a validator, and what runs.

Three sources, one interface (``ToolSpec``):

* a Python function, sync or async (``FunctionTool``): signature, type hints and
  docstring make the schema; the function runs with the validated arguments;
* a Pydantic model (``ModelTool``): the model is the arguments; a ``handler`` receives
  the validated instance, or the model's own ``__call__`` runs;
* a raw JSON Schema (``SchemaTool``, from a dict or an ``llmrelay.Tool``): validated with
  ``jsonschema``; the ``handler`` receives the arguments as keywords.

``llmrelay.app.tools.tool(...)`` (``define.py``) builds any of them.
"""

from __future__ import annotations

import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError

from llmrelay.app.structured.schema import format_validation_error, strip_titles
from llmrelay.app.tools.signature import Signature, signature_of
from llmrelay.errors import ConfigError
from llmrelay.types import Tool

__all__ = ["ArgumentsError", "FunctionTool", "ModelTool", "SchemaTool", "ToolSpec"]

P = ParamSpec("P")
R = TypeVar("R")

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ArgumentsError(Exception):
    """The model's arguments do not fit the tool; the message is sent back to the model."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"tool name {name!r} is not valid: use 1-64 letters, digits, '_' or '-' "
            "(what every provider accepts)"
        )
    return name


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigError(f"a tool timeout must be a number of seconds > 0 (or None), got {timeout!r}")
    return None if timeout is None else float(timeout)


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    return call is not None and inspect.iscoroutinefunction(call)


class ToolSpec(ABC):
    """A tool: what the model sees (``definition()``) and how a call runs (``bind``).

    ``dangerous`` tools run only when the loop's approval hook says yes; ``timeout``
    (seconds) overrides the loop's per-tool timeout.
    """

    name: str
    description: str | None
    parameters: Mapping[str, Any]
    dangerous: bool
    timeout: float | None
    strict: bool | None

    def __init__(
        self,
        name: str,
        description: str | None,
        parameters: Mapping[str, Any],
        *,
        dangerous: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
    ) -> None:
        self.name = _check_name(name)
        self.description = description
        self.parameters = parameters
        self.dangerous = bool(dangerous)
        self.timeout = _check_timeout(timeout)
        self.strict = strict

    def definition(self) -> Tool:
        """The ``llmrelay.Tool`` sent to the model."""
        return Tool(self.name, self.description, self.parameters, self.strict)

    @property
    @abstractmethod
    def is_async(self) -> bool:
        """Whether the bound call is a coroutine (run on the loop) or a plain function (run
        on a worker thread, so it blocks neither the loop nor the other tools)."""

    @abstractmethod
    def bind(self, arguments: Any) -> Callable[[], Any]:
        """Validate the decoded arguments and return the call to make; raises
        ``ArgumentsError`` with a message for the model."""

    def __repr__(self) -> str:
        flags = ", dangerous" if self.dangerous else ""
        return f"{type(self).__name__}({self.name!r}{flags})"


class FunctionTool(ToolSpec, Generic[P, R]):
    """A Python function as a tool; calling the FunctionTool calls the function."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        dangerous: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
    ) -> None:
        tool_name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.fn = fn
        self.signature: Signature = signature_of(fn, tool_name)
        schema = strip_titles(self.signature.model.model_json_schema())
        super().__init__(
            tool_name,
            description if description is not None else self.signature.description,
            schema,
            dangerous=dangerous,
            timeout=timeout,
            strict=strict,
        )
        # look like the function (help(), introspection); its __dict__ is not copied, so it
        # cannot overwrite this tool's own attributes
        functools.update_wrapper(self, fn, updated=())

    @property
    def is_async(self) -> bool:
        return _is_async(self.fn)

    def bind(self, arguments: Any) -> Callable[[], Any]:
        if not isinstance(arguments, Mapping):
            raise ArgumentsError(f"the arguments must be a JSON object, got {type(arguments).__name__}")
        try:
            values = self.signature.model.model_validate(arguments)
        except ValidationError as exc:
            raise ArgumentsError(format_validation_error(exc)) from exc
        args, kwargs = self.signature.call_args(values)
        return functools.partial(self.fn, *args, **kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)


class ModelTool(ToolSpec):
    """A Pydantic model as a tool's arguments. ``handler(instance)`` runs, or, without a
    handler, the validated instance is called (the model defines ``__call__``)."""

    def __init__(
        self,
        model: type[BaseModel],
        *,
        handler: Callable[[Any], Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        dangerous: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
    ) -> None:
        if handler is None and "__call__" not in _own_attributes(model):
            raise ConfigError(
                f"tool {name or model.__name__!r}: the model {model.__name__} does not define __call__; "
                "give handler=... (a function receiving the validated instance)"
            )
        self.model = model
        self.handler = handler
        schema = strip_titles(model.model_json_schema())
        doc = schema.pop("description", None)
        super().__init__(
            name or model.__name__,
            description if description is not None else doc,
            schema,
            dangerous=dangerous,
            timeout=timeout,
            strict=strict,
        )

    @property
    def is_async(self) -> bool:
        return _is_async(self.handler if self.handler is not None else self.model.__call__)

    def bind(self, arguments: Any) -> Callable[[], Any]:
        try:
            instance = self.model.model_validate(arguments)
        except ValidationError as exc:
            raise ArgumentsError(format_validation_error(exc)) from exc
        if self.handler is not None:
            return functools.partial(self.handler, instance)
        bound: Callable[[], Any] = instance.__call__  # type: ignore[operator]
        return bound


def _own_attributes(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for klass in model.__mro__:
        if klass is BaseModel:
            break
        names.update(vars(klass))
    return names


class SchemaTool(ToolSpec):
    """A tool defined by a raw JSON Schema; ``handler(**arguments)`` runs once the arguments
    validate (with ``jsonschema``, installed by ``pip install 'llmrelay[tools]'``)."""

    def __init__(
        self,
        name: str,
        parameters: Mapping[str, Any],
        handler: Callable[..., Any],
        *,
        description: str | None = None,
        dangerous: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
    ) -> None:
        if not callable(handler):
            raise ConfigError(f"tool {name!r}: handler must be callable, got {type(handler).__name__}")
        if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
            raise ConfigError(
                f"tool {name!r}: parameters must be a JSON Schema of an object (type 'object'), "
                f"got {parameters!r:.80}"
            )
        try:
            import jsonschema
        except ImportError as exc:
            raise ConfigError(
                f"tool {name!r}: tools given as a raw JSON Schema are validated with jsonschema, which is "
                "not installed: pip install 'llmrelay[tools]' (or use a function or a Pydantic model)"
            ) from exc
        validator_class = jsonschema.validators.validator_for(dict(parameters))
        try:
            validator_class.check_schema(dict(parameters))
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"tool {name!r}: parameters is not a valid JSON Schema: {exc.message}") from exc
        self._validator = validator_class(dict(parameters))
        self.handler = handler
        super().__init__(name, description, parameters, dangerous=dangerous, timeout=timeout, strict=strict)

    @property
    def is_async(self) -> bool:
        return _is_async(self.handler)

    def bind(self, arguments: Any) -> Callable[[], Any]:
        errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if errors:
            lines = []
            for err in errors[:20]:
                loc = ".".join(str(p) for p in err.absolute_path) or "(root)"
                lines.append(f"- {loc}: {err.message}")
            raise ArgumentsError("\n".join(lines))
        if not isinstance(arguments, Mapping):
            raise ArgumentsError(f"the arguments must be a JSON object, got {type(arguments).__name__}")
        return functools.partial(self.handler, **arguments)
