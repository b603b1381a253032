"""Partial objects: every field optional, nested models partial, validators left out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from typing_extensions import TypedDict

from llmrelay.app.structured.partial import PartialBuilder


class Address(BaseModel):
    city: str
    zip: str


class Person(BaseModel):
    name: str = Field(min_length=3)
    age: Annotated[int, Field(ge=18)]
    address: Address
    previous: list[Address] = []
    status: Literal["active", "gone"] | None = None
    by_alias: str = Field(alias="byAlias", default="")

    @field_validator("name")
    @classmethod
    def capitalised(cls, v: str) -> str:
        if not v[:1].isupper():
            raise ValueError("must be capitalised")
        return v


class Tree(BaseModel):
    label: str
    kids: list[Tree] = []


def test_a_partial_model_fills_fields_as_they_arrive() -> None:
    b = PartialBuilder(Person, wrapped=False)
    empty = b.build({})
    assert type(empty).__name__ == "PartialPerson"
    assert (empty.name, empty.age, empty.address, empty.previous) == (None, None, None, None)
    # neither the validator nor the constraints judge a value still arriving
    p = b.build({"name": "a", "age": 1, "address": {"city": "Os"}, "previous": [{}], "byAlias": "x"})
    assert p.name == "a" and p.age == 1 and p.by_alias == "x"
    assert type(p.address).__name__ == "PartialAddress"
    assert p.address.city == "Os" and p.address.zip is None
    assert p.previous[0].city is None


def test_values_of_the_wrong_type_wait_for_a_better_prefix() -> None:
    b = PartialBuilder(Person, wrapped=False)
    assert b.build({"age": "not yet"}) is None
    assert b.build({"status": "act"}) is None  # a Literal only matches whole


def test_lists_of_models_and_wrapped_values() -> None:
    b = PartialBuilder(list[Address], wrapped=True)
    assert b.build({}) is None  # the wrapper key has not arrived
    items = b.build({"value": [{"city": "Oslo", "zip": "0150"}, {"city": "Be"}]})
    assert [(a.city, a.zip) for a in items] == [("Oslo", "0150"), ("Be", None)]
    assert b.build([{"city": "Bare"}])[0].city == "Bare"


def test_recursive_models_stream_their_inner_levels_as_json() -> None:
    b = PartialBuilder(Tree, wrapped=False)
    t = b.build({"label": "root", "kids": [{"label": "a", "kids": [{"label": "b"}]}]})
    assert t.label == "root" and type(t).__name__ == "PartialTree"
    assert t.kids[0] == {"label": "a", "kids": [{"label": "b"}]}


def test_other_types_stream_as_json_values() -> None:
    class Movie(TypedDict):
        title: str

    b = PartialBuilder(Movie, wrapped=False)
    assert b.build({"title": "He"}) == {"title": "He"}
    literal = PartialBuilder(Literal["yes", "no"], wrapped=True)
    assert literal.build({"value": "ye"}) == "ye"
