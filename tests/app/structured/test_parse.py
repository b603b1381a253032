"""Reading JSON out of what models really write, whole and while it streams."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmrelay.app.structured.parse import JSONNotFoundError, json_start, parse_json, partial_json


def test_plain_json_is_not_marked_repaired() -> None:
    parsed = parse_json('  {"a": [1, 2], "b": null}\n')
    assert parsed.value == {"a": [1, 2], "b": None} and not parsed.repaired


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('```json\n{"name": "Ada"}\n```', {"name": "Ada"}),
        ("```\n[1, 2]\n```", [1, 2]),
        ('Sure! Here is the JSON:\n```json\n{"a": 1}\n```\nHope this helps.', {"a": 1}),
        ('Here you go: {"a": {"b": 2}} -- done', {"a": {"b": 2}}),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ("{'name': 'Ada', 'tags': ['x', 'y']}", {"name": "Ada", "tags": ["x", "y"]}),
        ("{'ok': True, 'missing': None, 'bad': False}", {"ok": True, "missing": None, "bad": False}),
        ('// the answer\n{"a": 1 /* one */}', {"a": 1}),
        ('{name: "Ada", age: 36}', {"name": "Ada", "age": 36}),
        ("{'name': 'O\\'Brien'}", {"name": "O'Brien"}),
        ("The result is:\n\n```python\n{'a': (1)}\n```", {"a": 1}),
    ],
)
def test_near_json_is_repaired(text: str, value: Any) -> None:
    parsed = parse_json(text)
    assert parsed.value == value
    assert parsed.repaired


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("   \n", "empty"), ("I cannot help with that.", "no JSON")],
)
def test_text_without_json_says_so(text: str, reason: str) -> None:
    with pytest.raises(JSONNotFoundError, match=reason):
        parse_json(text)


def test_an_empty_json_string_is_a_value() -> None:
    assert parse_json('""').value == ""


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )
)
def test_valid_json_always_round_trips(value: Any) -> None:
    import json

    assert parse_json(json.dumps(value)).value == value
    assert parse_json(f"```json\n{json.dumps(value, indent=2)}\n```").value == value


@pytest.mark.parametrize(
    ("text", "start"),
    [('{"a"', 0), ('Sure: {"a"', 6), ("[1", 0), ("```json\n{", 8), ("```js", -1), ("no json yet", -1)],
)
def test_json_start(text: str, start: int) -> None:
    assert json_start(text) == start


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("Let me think", None),
        ("{", {}),
        ('{"name": "Ad', {"name": "Ad"}),
        ('{"name": "Ada", "age": 3', {"name": "Ada"}),  # 3 may become 36: held back
        ('{"name": "Ada", "age": 36,', {"name": "Ada", "age": 36}),
        ('{"x": -', {}),
        ('{"x": 1.5e', {}),
        ('{"tags": ["a", "b', {"tags": ["a", "b"]}),
        ('```json\n{"a": {"b": [1, 2]}}\n```', {"a": {"b": [1, 2]}}),
        ('Here: {"a": 1}', {"a": 1}),
    ],
)
def test_partial_json(text: str, value: Any) -> None:
    assert partial_json(text) == value


def test_every_prefix_of_a_reply_parses_to_a_prefix_of_the_object() -> None:
    import json

    whole = {"title": "Heat", "year": 1995, "cast": ["Pacino", "De Niro"], "rating": 8.3}
    text = json.dumps(whole)
    seen = [partial_json(text[:i]) for i in range(len(text) + 1)]
    assert seen[-1] == whole
    for value in seen:
        if value is None:
            continue
        for key, got in value.items():
            final = whole[key]
            if isinstance(final, str):
                assert final.startswith(got)
            elif isinstance(final, list):
                assert all(final[i].startswith(g) for i, g in enumerate(got))
            else:
                assert got == final  # numbers never show a prefix of themselves
