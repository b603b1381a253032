"""One template: the two file forms, load-time checks, strict and sandboxed rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.app.prompts import (
    MissingVariableError,
    PromptRenderError,
    PromptTemplate,
    PromptTemplateError,
    UnexpectedVariableError,
    VariableTypeError,
)
from llmrelay.errors import ConfigError
from llmrelay.types import Message

YAML = """\
name: summarize
version: v3
description: Summarize a text.
model: openai/gpt-4o-mini
params: {temperature: 0.1}
variables:
  text: str
  words: {type: int, default: 50}
system: You summarize in at most {{ words }} words.
user: |
  {{ text }}
"""


def test_yaml_template_renders_system_and_user() -> None:
    t = PromptTemplate.from_text(YAML)
    assert (t.name, t.version, t.label) == ("summarize", "v3", "summarize@v3")
    assert t.description == "Summarize a text." and t.model == "openai/gpt-4o-mini"
    out = t.render(text="A long story.")
    assert out.system == "You summarize in at most 50 words."
    assert out.user == "A long story."
    assert out.params == {"temperature": 0.1} and out.model == "openai/gpt-4o-mini"
    assert out.variables == {"text": "A long story.", "words": 50}
    assert out.metadata == {"prompt": "summarize", "prompt_version": "v3"}
    assert out.messages() == [Message.system(out.system), Message.user("A long story.")]
    assert t.render({"text": "x"}, words=7).system == "You summarize in at most 7 words."


def test_jinja_file_with_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "ask.v2.j2"
    path.write_text("---\nversion: '2.10'\nvariables: {q: str}\nsystem: Be kind.\n---\nQ: {{ q }}\n")
    t = PromptTemplate.from_file(path)
    assert (t.name, t.version, t.source) == ("ask", "2.10", str(path))
    out = t.render(q="why?")
    assert (out.system, out.user) == ("Be kind.", "Q: why?")


def test_a_system_only_template_makes_one_message() -> None:
    t = PromptTemplate.from_dict({"name": "persona", "version": "1", "system": "You are terse."})
    assert t.render().messages() == [Message.system("You are terse.")]


def test_missing_variable_is_named() -> None:
    t = PromptTemplate.from_text(YAML)
    with pytest.raises(MissingVariableError) as info:
        t.render(words=3)
    assert info.value.variables == ("text",)
    assert "summarize@v3 needs the variable text" in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_unexpected_variable_is_named_with_the_declared_ones() -> None:
    t = PromptTemplate.from_text(YAML)
    with pytest.raises(UnexpectedVariableError) as info:
        t.render(text="x", word=3)
    assert info.value.variables == ("word",)
    assert "does not declare word (it declares: text, words)" in str(info.value)


def test_wrong_type_is_named() -> None:
    t = PromptTemplate.from_text(YAML)
    with pytest.raises(VariableTypeError) as info:
        t.render(text="x", words="fifty")
    assert info.value.variables == ("words",)
    assert "words must be int, got str 'fifty'" in str(info.value)


def test_undeclared_name_in_the_text_fails_at_load() -> None:
    with pytest.raises(PromptTemplateError, match="uses topic but does not declare it under variables"):
        PromptTemplate.from_dict(
            {"name": "t", "version": "1", "user": "{{ topic }} and {{ n }}", "variables": {"n": "int"}}
        )


def test_loop_and_set_names_are_not_variables() -> None:
    t = PromptTemplate.from_dict(
        {
            "name": "t",
            "version": "1",
            "variables": {"items": "list[str]"},
            "user": "{% set sep = '; ' %}{% for i in items %}{{ loop.index }}. {{ i }}{{ sep }}{% endfor %}",
        }
    )
    assert t.render(items=["a", "b"]).user == "1. a; 2. b;"


def test_missing_attribute_at_render_time_is_an_error_not_empty_text() -> None:
    t = PromptTemplate.from_dict(
        {"name": "t", "version": "1", "variables": {"user": "dict"}, "user": "Hello {{ user.name }}"}
    )
    assert t.render(user={"name": "Ann"}).user == "Hello Ann"
    with pytest.raises(PromptRenderError, match=r"has no attribute 'name'.*nothing was sent"):
        t.render(user={"nick": "A"})


@pytest.mark.parametrize(
    "text",
    [
        "{{ items.append(1) }}",  # the immutable sandbox refuses to change a value
        "{{ items.__class__.__mro__ }}",  # and to reach into Python's internals
    ],
)
def test_the_sandbox_refuses_unsafe_operations(text: str) -> None:
    t = PromptTemplate.from_dict({"name": "t", "version": "1", "variables": {"items": "list"}, "user": text})
    items: list[int] = []
    with pytest.raises(PromptRenderError):
        t.render(items=items)
    assert items == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "t", "user": "x"}, "needs a version"),
        ({"name": "t", "version": 1.1, "user": "x"}, "version 1.1 is a number: quote it"),
        ({"name": "t", "version": "a@b", "user": "x"}, "without '@'"),
        ({"name": "bad name!", "version": "1", "user": "x"}, "name 'bad name!' is not valid"),
        ({"name": "t", "version": "1"}, "neither a system nor a user part"),
        ({"name": "t", "version": "1", "user": "x", "temperature": 1}, "unknown field(s) temperature"),
        (
            {"name": "t", "version": "1", "user": "x", "params": {"tools": []}},
            "params tools are not suggestions",
        ),
        (
            {"name": "t", "version": "1", "user": "{{ x }", "variables": {"x": "str"}},
            "Jinja syntax error at line 1",
        ),
        (
            {"name": "t", "version": "1", "user": "{% include 'nope.j2' %}"},
            "includes 'nope.j2', which is not a partial",
        ),
        (
            {"name": "t", "version": "1", "user": "{% include name %}", "variables": {"name": "str"}},
            "with an expression",
        ),
        ({"name": "t", "version": "1", "user": ["x"]}, "user must be text"),
        ({"name": "t", "version": "1", "user": "x", "default": "yes"}, "default must be true or false"),
        ({"name": "t", "version": "1", "user": "x", "variables": {"n": "num"}}, "variables.n: unknown type"),
    ],
)
def test_malformed_templates_say_what_is_wrong(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(PromptTemplateError) as info:
        PromptTemplate.from_dict(data, source="prompts/t.yaml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("prompts/t.yaml")  # names the file


def test_file_forms_are_checked(tmp_path: Path) -> None:
    bare = tmp_path / "bare.j2"
    bare.write_text("Hello {{ x }}")
    with pytest.raises(PromptTemplateError, match="starts with YAML front matter"):
        PromptTemplate.from_file(bare)
    both = tmp_path / "both.j2"
    both.write_text("---\nversion: 1\nuser: hi\n---\nbody\n")
    with pytest.raises(PromptTemplateError, match="both a user field in its front matter and a body"):
        PromptTemplate.from_file(both)
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n")
    with pytest.raises(PromptTemplateError, match="is not valid YAML"):
        PromptTemplate.from_file(broken)
    with pytest.raises(PromptTemplateError, match="is not a template file"):
        PromptTemplate.from_file(tmp_path / "notes.txt")
    with pytest.raises(PromptTemplateError, match="cannot be read"):
        PromptTemplate.from_file(tmp_path / "missing.yaml")


def test_includes_render_with_the_callers_variables() -> None:
    t = PromptTemplate.from_dict(
        {"name": "t", "version": "1", "variables": {"tone": "str"}, "system": "{% include 'tone' %}!"},
        partials={"tone": "Sound {{ tone }}"},
    )
    assert t.render(tone="calm").system == "Sound calm!"
    with pytest.raises(PromptTemplateError, match="uses mood but does not declare it"):
        PromptTemplate.from_dict(
            {"name": "t", "version": "1", "system": "{% include 'tone' %}"}, partials={"tone": "{{ mood }}"}
        )


def test_without_jinja2_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"pip install 'llmrelay\[prompts\]'"):
        PromptTemplate.from_dict({"name": "t", "version": "1", "user": "x"})
