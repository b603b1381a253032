"""``llmrelay prompts list|show|render`` over a library folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.app.prompts.conftest import SUPPORT_V1, SUPPORT_V2, write
from typer.testing import CliRunner

from llmrelay.cli.main import app


@pytest.fixture
def lib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    v1 = SUPPORT_V1.replace("  question: str\n", "  question: str\n  product: {type: str, default: Relay}\n")
    return write(
        tmp_path / "prompts",
        {
            "support/v1.yaml": v1,
            "support/v2.j2": SUPPORT_V2,
            "_partials/tone.j2": "Answer in a {{ tone }} tone.",
            "_library.yaml": "experiments:\n  support: {v1: 3, v2: 1}\n",
            "stats.yaml": "version: 1\ndescription: Numbers.\n"
            "variables: {n: int, xs: 'list[int]', flag: bool}\n"
            "user: '{{ n + 1 }} {{ xs | sum }} {{ flag }}'\n",
        },
    )


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["prompts", *args])


def test_list_shows_versions_defaults_and_splits(lib: Path) -> None:
    result = run("list")  # ./prompts by default
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "support" in out and "v1, v2" in out and "v1 75%, v2 25%" in out
    assert "stats" in out and "Numbers." in out


def test_show_prints_fields_variables_and_text(lib: Path) -> None:
    result = run("show", "support@v1", "--dir", str(lib))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("support@v1\n")  # v2 is the default (highest), so v1 is not marked
    assert "question: str (required)" in out
    assert "tone: str (default 'friendly'; one of 'friendly', 'formal') - how to sound" in out
    assert "params: temperature=0.2, max_tokens=7" in out
    assert '{% include "_partials/tone.j2" %}' in out  # the source, not a rendering
    assert run("show", "support").stdout.startswith("support@v2 (default)")


def test_render_prints_messages_and_json(lib: Path) -> None:
    text = run("render", "support", "-V", "v1", "--var", "question=Where is it?", "--var", "tone=formal")
    assert text.exit_code == 0, text.output
    assert text.stdout == (
        "[system]\nYou are a support agent for Relay.\nAnswer in a formal tone.\n\n[user]\nWhere is it?\n\n"
    )
    as_json = run("render", "stats", "--vars", '{"xs": [1, 2]}', "-v", "n=41", "-v", "flag=yes", "--json")
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["messages"] == [{"role": "user", "content": "42 3 True"}]
    assert doc["metadata"] == {"prompt": "stats", "prompt_version": "1"}


def test_render_by_user_reports_the_ab_choice(lib: Path) -> None:
    result = run("render", "support", "--user", "user-7", "-v", "question=q", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["experiment"] == "support"
    assert f"gets support@{doc['version']}" in result.stderr
    again = run("render", "support", "--user", "user-7", "-v", "question=q", "--json")
    assert json.loads(again.stdout)["version"] == doc["version"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["render", "support"], "needs the variable question"),
        (["render", "support", "-v", "question=q", "-v", "mood=x"], "does not declare mood"),
        (["render", "stats", "-v", "n=four", "-v", "xs=[]", "-v", "flag=1"], "--var n: invalid literal"),
        (["render", "stats", "-v", "n"], "is not NAME=VALUE"),
        (["render", "stats", "--vars", "[1]"], "--vars must be a JSON object"),
        (["render", "stats", "--vars", "{"], "--vars is not valid JSON"),
        (["show", "nothing"], "no prompt named 'nothing'"),
        (["list", "--dir", "elsewhere"], "is not a folder"),
    ],
)
def test_errors_exit_2_and_say_why(lib: Path, args: list[str], fragment: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
