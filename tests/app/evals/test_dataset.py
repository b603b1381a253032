"""Reading an eval dataset: items, defaults, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.app.evals import DatasetError, EvalItem, load_dataset


def test_a_jsonl_file_becomes_items(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": "a", "vars": {"q": "hi"}, "expected": ["x", "y"], "meta": {"tag": 1}}\n'
        "\n"
        '{"input": [{"role": "user", "content": "hello"}], "pattern": "h.llo", '
        '"schema": {"type": "object"}}\n'
        '{"id": 7, "input": "plain"}\n',
        encoding="utf-8",
    )
    items = load_dataset(path)
    assert [i.id for i in items] == ["a", "line-3", "7"]
    assert items[0].vars == {"q": "hi"} and items[0].expected == ["x", "y"] and items[0].meta == {"tag": 1}
    assert items[1].input == ({"role": "user", "content": "hello"},) and items[1].pattern == "h.llo"
    assert items[1].schema == {"type": "object"} and items[2].input == "plain"


def test_items_can_be_given_in_code() -> None:
    items = load_dataset([EvalItem("x", input="a"), {"input": "b"}])
    assert [i.id for i in items] == ["x", "1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"input": "a"}\nnot json\n', "d.jsonl line 2 is not valid JSON"),
        ("[1, 2]\n", "line 1 must be a JSON object"),
        ('{"input": "a", "expect": "b"}\n', "unknown field(s) expect"),
        ('{"id": "a", "input": "x"}\n{"id": "a", "input": "y"}\n', "two items have the id 'a'"),
        ('{"input": 5}\n', "input must be a string or a list"),
        ('{"vars": [1]}\n', "vars must be an object"),
        ('{"id": true}\n', "id must be a non-empty string"),
        ('{"pattern": 3}\n', "pattern must be a regular expression"),
        ("\n\n", "has no items"),
    ],
)
def test_a_bad_dataset_is_refused_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert message in str(err.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read the dataset"):
        load_dataset(tmp_path / "nope.jsonl")
