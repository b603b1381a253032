"""A function's signature, hints and docstring as a JSON Schema and a validator."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from llmrelay.app.tools.signature import describe, signature_of
from llmrelay.errors import ConfigError


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "NO"


def weather(place: Place, unit: Unit = Unit.C, days: Annotated[int, Field(ge=1, le=7)] = 1) -> str:
    """Forecast for a place.

    Uses the national weather service.

    Args:
        place: where to look
        unit: the temperature unit
        days: how many days ahead
    """
    return f"{place.city} {unit.value} {days}"


def test_schema_from_hints_defaults_and_docstring() -> None:
    sig = signature_of(weather, "weather")
    assert sig.description == "Forecast for a place.\n\nUses the national weather service."
    schema = sig.model.model_json_schema()
    props = schema["properties"]
    assert list(props) == ["place", "unit", "days"]
    assert schema["required"] == ["place"]
    assert schema["additionalProperties"] is False
    assert props["place"]["description"] == "where to look"
    assert props["days"]["minimum"] == 1 and props["days"]["maximum"] == 7 and props["days"]["default"] == 1
    assert props["unit"]["description"] == "the temperature unit"
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]


def test_validated_arguments_call_the_function() -> None:
    sig = signature_of(weather, "weather")
    values = sig.model.model_validate({"place": {"city": "Oslo"}, "unit": "fahrenheit"})
    args, kwargs = sig.call_args(values)
    assert args == ()
    assert weather(*args, **kwargs) == "Oslo fahrenheit 1"
    with pytest.raises(ValidationError):
        sig.model.model_validate({"place": {"city": "Oslo"}, "days": 9})  # constraint from Annotated
    with pytest.raises(ValidationError):
        sig.model.model_validate({"place": {"city": "Oslo"}, "colour": "red"})  # unknown argument


def test_parameters_may_shadow_basemodel_attributes() -> None:
    def save(json: str, copy: bool = False, schema: str = "v1") -> str:
        return f"{json}-{copy}-{schema}"

    sig = signature_of(save, "save")
    assert list(sig.model.model_json_schema()["properties"]) == ["json", "copy", "schema"]
    args, kwargs = sig.call_args(sig.model.model_validate({"json": "{}", "copy": True}))
    assert save(*args, **kwargs) == "{}-True-v1"


def test_positional_only_parameters_are_passed_by_position() -> None:
    def power(base: float, /, exponent: int = 2) -> float:
        return float(base**exponent)

    sig = signature_of(power, "power")
    args, kwargs = sig.call_args(sig.model.model_validate({"base": 3, "exponent": 3}))
    assert (args, kwargs) == ((3.0,), {"exponent": 3})


def test_unannotated_parameters_take_any_json() -> None:
    def echo(value):  # type: ignore[no-untyped-def]
        return value

    schema = signature_of(echo, "echo").model.model_json_schema()
    assert schema["required"] == ["value"] and "type" not in schema["properties"]["value"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (":param city: the city\n:param days: how far ahead", {"city": "the city", "days": "how far ahead"}),
        ("Parameters\n----------\ncity : str\n    the city", {"city": "the city"}),
        ("Args:\n    city (str): the city", {"city": "the city"}),
    ],
    ids=["rest", "numpy", "google"],
)
def test_docstring_styles(doc: str, expected: dict[str, str]) -> None:
    def fn(city: str, days: int = 1) -> None: ...

    fn.__doc__ = "Look something up.\n\n" + doc
    description, params = describe(fn)
    assert description == "Look something up."
    assert params == expected


def test_no_docstring() -> None:
    def bare(x: int) -> int:
        return x

    assert describe(bare) == (None, {})


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda *items: None, r"\*args or \*\*kwargs"),
        (lambda **opts: None, r"\*args or \*\*kwargs"),
    ],
)
def test_variadic_parameters_are_refused(fn: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        signature_of(fn, "f")


class Handle:
    """Not something JSON can carry."""


def test_types_without_a_schema_are_refused() -> None:
    def use(handle: Handle) -> None: ...

    with pytest.raises(ConfigError, match="tool 'use': a parameter's type cannot be described"):
        signature_of(use, "use")


def test_unresolvable_hints_are_refused() -> None:
    def broken(x: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigError, match="cannot resolve the type hints"):
        signature_of(broken, "broken")


def test_literal_parameters() -> None:
    def pick(colour: Literal["red", "green"]) -> str:
        return colour

    schema = signature_of(pick, "pick").model.model_json_schema()
    assert schema["properties"]["colour"]["enum"] == ["red", "green"]


def test_partials_keep_their_functions_hints() -> None:
    import functools

    def scale(value: float, factor: int) -> float:
        return value * factor

    sig = signature_of(functools.partial(scale, factor=3), "triple")
    schema = sig.model.model_json_schema()
    assert schema["properties"]["value"]["type"] == "number"
    assert schema["properties"]["factor"]["default"] == 3 and schema["required"] == ["value"]
