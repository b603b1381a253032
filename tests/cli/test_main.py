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


def test_simulate_serves_all_three_protocols() -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx2

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmrelay", "simulate", "--port", str(port), "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError(
                        f"simulator did not start: {proc.stderr.read() if proc.stderr else ''}"
                    ) from None
                time.sleep(0.05)
        with httpx2.Client(base_url=base, timeout=10) as http:
            oa = http.post(
                "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            )
            an = http.post(
                "/v1/messages",
                headers={"anthropic-version": "2023-06-01"},
                json={"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
            )
            ge = http.post(
                "/v1beta/models/m:generateContent", json={"contents": [{"parts": [{"text": "hi"}]}]}
            )
        assert oa.status_code == an.status_code == ge.status_code == 200
        assert oa.json()["choices"][0]["message"]["content"]
        assert an.json()["content"][0]["text"]
        assert ge.json()["candidates"][0]["content"]["parts"][0]["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_usage_line_names_cache_and_reasoning_parts_only_when_there_are_some() -> None:
    from llmrelay.cli.main import _usage_line
    from llmrelay.types import Usage

    assert _usage_line(Usage(10, 5), 0.5) == "10 in / 5 out, $0.500000"
    line = _usage_line(Usage(1200, 300, 1000, 150, 50, cache_write_1h_tokens=100), None)
    assert line == "1200 in (1000 cached, 150 written, 100 for 1h) / 300 out (50 reasoning), cost unknown"
    assert _usage_line(None, None) == "usage not reported"


def test_chat_reasoning_effort(runner) -> None:
    result = runner.invoke(
        app, ["chat", "--json", "--reasoning-effort", "low", "--model", "simulator-responses/o4-mini", "Hi"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["text"] and doc["usage"]["reasoning_tokens"] > 0


def test_chat_reasoning_effort_refused_for_a_model_that_does_not_reason(runner) -> None:
    # the default model is the simulator's sim-1, which the catalog does not mark as reasoning
    result = runner.invoke(app, ["chat", "--reasoning-effort", "high", "Hi"])
    assert result.exit_code == 2
    assert "ChatRequest.reasoning is set" in result.stderr and "sim-1" in result.stderr
