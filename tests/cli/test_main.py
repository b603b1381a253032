"""The command line, driven in-process with Typer's runner (no key, no config)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from llmrelay.cli.main import app

KEY = "sk-cli-secret-0123456789abcdef"


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "LLMRELAY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return CliRunner()


def test_chat_streams_from_the_simulator_and_says_so(runner) -> None:
    result = runner.invoke(app, ["chat", "--show-usage", "Hello there"])
    assert result.exit_code == 0, result.output
    assert "built-in simulator" in result.stderr
    assert len(result.stdout.strip().split()) > 5
    assert " in / " in result.stderr and "finish=stop" in result.stderr


def test_chat_json_output(runner) -> None:
    result = runner.invoke(app, ["chat", "--json", "--max-tokens", "5", "Hello"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["finish_reason"] == "length" and doc["usage"]["output_tokens"] == 5
    assert doc["provider"] == "simulator" and doc["text"]


def test_chat_reads_stdin(runner) -> None:
    piped = runner.invoke(app, ["chat", "--json", "-"], input="Summarise this text")
    direct = runner.invoke(app, ["chat", "--json", "Summarise this text"])
    assert piped.exit_code == 0 and json.loads(piped.stdout)["text"] == json.loads(direct.stdout)["text"]


def test_system_prompt_changes_the_reply(runner) -> None:
    plain = runner.invoke(app, ["chat", "--json", "Hi"])
    with_system = runner.invoke(app, ["chat", "--json", "--system", "Be terse", "Hi"])
    assert json.loads(plain.stdout)["text"] != json.loads(with_system.stdout)["text"]


def test_other_protocols(runner) -> None:
    for model in ("simulator-anthropic/claude-haiku-4-5", "simulator-gemini/gemini-2.5-flash"):
        result = runner.invoke(app, ["chat", "-m", model, "Hello"])
        assert result.exit_code == 0, result.output


def test_missing_key_names_the_variable(runner, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    result = runner.invoke(app, ["chat", "-m", "openai/gpt-4o-mini", "Hello"])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.stderr and KEY not in result.output


def test_bad_input(runner, tmp_path) -> None:
    assert runner.invoke(app, ["chat", "-m", "gpt-4o", "Hello"]).exit_code == 2
    too_hot = runner.invoke(app, ["chat", "--temperature", "7", "Hello"])
    assert too_hot.exit_code == 2 and "temperature" in too_hot.stderr
    assert runner.invoke(app, ["chat", "-"], input="   ").exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  x:\n    deployments: []\n")
    result = runner.invoke(app, ["chat", "--config", str(bad), "Hello"])
    assert result.exit_code == 2 and "models.x.deployments" in result.stderr


def test_models_lists_aliases_and_key_status(runner, monkeypatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "local" in out and "GROQ_API_KEY set" in out and "OPENAI_API_KEY missing" in out
    assert KEY not in out
