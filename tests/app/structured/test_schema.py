"""Target types: their schema (object at the root), validation, strict form and names."""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from llmrelay.app.structured.schema import (
    format_validation_error,
    schema_name,
    strict_schema,
    strip_titles,
    target_for,
)
from llmrelay.errors import ConfigError


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(ge=0)
    nickname: str | None = None
    favourite: Color | None = Field(default=None, description="their colour")


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Movie(TypedDict):
    title: str
    year: int


@dataclasses.dataclass
class Point:
    x: float
    y: float


def test_a_model_is_an_object_at_the_root() -> None:
    t = target_for(Person)
    assert not t.wrapped and t.name == "Person" and t.description == "A person."
    assert t.schema["type"] == "object" and set(t.schema["properties"]) == {
        "name",
        "age",
        "nickname",
        "favourite",
    }
    assert t.validate({"name": "Ada", "age": 36}) == Person(name="Ada", age=36)
    with pytest.raises(ValidationError):
        t.validate({"name": "Ada", "age": -1})  # the model's own constraints apply


@pytest.mark.parametrize(
    ("tp", "good", "expected"),
    [
        (list[Person], [{"name": "A", "age": 1}], [Person(name="A", age=1)]),
        (Literal["yes", "no"], "yes", "yes"),
        (Color, "green", Color.GREEN),
        (int, 7, 7),
    ],
)
def test_other_roots_are_wrapped_and_unwrapped(tp: Any, good: Any, expected: Any) -> None:
    t = target_for(tp)
    assert t.wrapped
    assert t.schema["type"] == "object" and t.schema["required"] == ["value"]
    assert t.schema["additionalProperties"] is False
    assert t.validate({"value": good}) == expected
    assert t.validate(good) == expected  # models in JSON mode often answer the bare value


def test_wrapping_keeps_definitions_at_the_root() -> None:
    t = target_for(list[Person])
    assert t.schema["properties"]["value"]["items"] == {"$ref": "#/$defs/Person"}
    assert "Person" in t.schema["$defs"] and "$defs" not in t.schema["properties"]["value"]


def test_typed_dicts_dataclasses_and_dicts_are_objects() -> None:
    assert target_for(Movie).validate({"title": "Heat", "year": 1995}) == {"title": "Heat", "year": 1995}
    assert target_for(Point).validate({"x": 1, "y": 2.5}) == Point(1.0, 2.5)
    counts = target_for(dict[str, int])
    assert not counts.wrapped and counts.validate({"a": 1}) == {"a": 1}


def test_a_recursive_model_is_inlined_at_the_root() -> None:
    t = target_for(Node)
    assert t.schema["type"] == "object" and "$ref" not in t.schema
    assert t.schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert t.validate({"value": 1, "children": [{"value": 2}]}).children[0].value == 2


def test_types_pydantic_cannot_describe_are_a_config_error() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigError, match="cannot build a JSON Schema for Opaque"):
        target_for(Opaque)

    class Old(typing.TypedDict):  # typing.TypedDict is refused by Pydantic before 3.12
        a: int

    if not hasattr(typing, "ReadOnly"):  # Python < 3.13
        with pytest.raises(ConfigError, match=r"typing_extensions\.TypedDict"):
            target_for(Old)


def test_strict_schema_closes_every_object_and_requires_every_field() -> None:
    closed = strict_schema(target_for(Person).schema)
    assert closed is not None
    assert closed["additionalProperties"] is False
    assert closed["required"] == ["name", "age", "nickname", "favourite"]
    assert "default" not in closed["properties"]["nickname"]
    nested = strict_schema(target_for(list[Person]).schema)
    assert nested is not None and nested["$defs"]["Person"]["additionalProperties"] is False
    # a $ref takes no sibling keywords in strict mode
    refs = strict_schema({"type": "object", "properties": {"c": {"$ref": "#/$defs/C", "description": "d"}}})
    assert refs is not None and refs["properties"]["c"] == {"$ref": "#/$defs/C"}


def test_strict_schema_refuses_open_objects() -> None:
    assert strict_schema(target_for(dict[str, int]).schema) is None

    class Bag(BaseModel):
        items: dict[str, int]

    assert strict_schema(target_for(Bag).schema) is None


def test_strict_schema_leaves_the_original_alone() -> None:
    original = target_for(Person).schema
    before = repr(original)
    strict_schema(original)
    assert repr(original) == before


def test_strip_titles_keeps_a_property_named_title() -> None:
    schema = target_for(Movie).schema
    stripped = strip_titles(schema)
    assert "title" not in stripped  # the schema's own title is gone
    assert "title" in stripped["properties"]  # the field called "title" stays
    assert "title" not in stripped["properties"]["year"]


@pytest.mark.parametrize(
    ("tp", "name"),
    [(Person, "Person"), (list[Person], "list_Person"), (Literal["a", "b"], "Literal_a_b"), (Color, "Color")],
)
def test_schema_names_are_provider_safe(tp: Any, name: str) -> None:
    assert schema_name(tp) == name


def test_validation_errors_read_as_a_list_of_problems() -> None:
    with pytest.raises(ValidationError) as info:
        target_for(Person).validate({"age": "old"})
    text = format_validation_error(info.value)
    assert "- name: Field required" in text
    assert "- age: Input should be a valid integer" in text and "(got 'old')" in text
