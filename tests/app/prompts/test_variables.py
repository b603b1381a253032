"""Variable declarations: the short and long forms, type checks, values from text."""

from __future__ import annotations

import pytest

from llmrelay.app.prompts.variables import Variable, parse_variables, resolve, type_matches


def test_short_and_long_forms() -> None:
    declared, problems = parse_variables(
        {
            "question": "str",
            "count": {"type": "int", "default": 3, "description": "how many"},
            "tone": {"enum": ["warm", "dry"], "default": "warm"},
            "tags": "list[str]",
            "note": {"default": None},
            "anything": None,
        },
        "variables",
    )
    assert problems == []
    by = {v.name: v for v in declared}
    assert by["question"].required and by["question"].type == "str"
    assert not by["count"].required and by["count"].default == 3 and by["count"].description == "how many"
    assert by["tone"].enum == ("warm", "dry") and by["tone"].type == "str"
    assert by["tags"].type == "list[str]"
    assert by["note"].has_default and by["note"].default is None and not by["note"].required
    assert by["anything"].required and by["anything"].type == "str"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"x": "integer"}, "unknown type 'integer'"),
        ({"x": {"type": "int", "default": "three"}}, "the default does not fit"),
        ({"x": {"typ": "int"}}, "unknown field(s) typ"),
        ({"x": {"enum": []}}, "enum must be a non-empty list"),
        ({"x": {"enum": ["a"], "default": "b"}}, "must be one of 'a'"),
        ({"1x": "str"}, "not a valid variable name"),
        ({"x": 5}, "give a type name"),
        ({"x": "list[banana]"}, "unknown type"),
        ({True: "str"}, "YAML read a name as True (on, off, yes, no…): quote it"),
    ],
)
def test_bad_declarations_are_named(raw: dict[str, object], fragment: str) -> None:
    declared, problems = parse_variables(raw, "variables")
    assert declared == () and len(problems) == 1
    assert fragment in problems[0]


def test_a_section_that_is_not_a_mapping() -> None:
    assert parse_variables(["x"], "variables")[1] == [
        "variables must be a mapping of name to type or to {type, default, …}"
    ]


def test_types_are_strict() -> None:
    assert type_matches("int", 3) and not type_matches("int", True) and not type_matches("int", 3.0)
    assert type_matches("float", 3) and type_matches("float", 2.5) and not type_matches("float", False)
    assert type_matches("bool", False) and not type_matches("bool", 0)
    assert type_matches("list[int]", [1, 2]) and not type_matches("list[int]", [1, "2"])
    assert type_matches("dict", {"a": 1}) and not type_matches("dict", [("a", 1)])
    assert type_matches("any", object()) and type_matches("str", "") and not type_matches("str", b"x")


def test_from_text_reads_by_declared_type() -> None:
    assert Variable("n", "int").from_text("42") == 42
    assert Variable("x", "float").from_text("2.5") == 2.5
    assert Variable("b", "bool").from_text("Yes") is True and Variable("b", "bool").from_text("off") is False
    assert Variable("l", "list[int]").from_text("[1, 2]") == [1, 2]
    assert Variable("d", "dict").from_text('{"a": 1}') == {"a": 1}
    assert Variable("s", "str").from_text("[1]") == "[1]"
    with pytest.raises(ValueError, match="give true or false"):
        Variable("b", "bool").from_text("maybe")
    with pytest.raises(ValueError, match=r"must be list\[int\] written as JSON"):
        Variable("l", "list[int]").from_text('["a"]')
    with pytest.raises(ValueError):
        Variable("n", "int").from_text("four")


def test_resolve_fills_defaults_and_reports_every_problem() -> None:
    declared = (
        Variable("q", "str"),
        Variable("n", "int", default=2, has_default=True),
        Variable("mood", "str", enum=("up", "down")),
        Variable("opt", "str", default=None, has_default=True),
    )
    ok = resolve(declared, {"q": "hi", "mood": "up", "opt": None})
    assert ok.values == {"q": "hi", "n": 2, "mood": "up", "opt": None}
    assert ok.missing == ok.unexpected == ok.wrong == ()
    bad = resolve(declared, {"n": "2", "mood": "sideways", "extra": 1, "other": 2})
    assert bad.missing == ("q",)
    assert bad.unexpected == ("extra", "other")
    assert [name for name, _ in bad.wrong] == ["n", "mood"]
    assert "n must be int, got str '2'" in bad.wrong[0][1]
    assert "mood must be one of 'up', 'down'" in bad.wrong[1][1]
