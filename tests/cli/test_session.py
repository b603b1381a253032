"""``llmrelay chat --session NAME`` and the interactive REPL, driven with Typer's runner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmrelay.app.conversations import open_store
from llmrelay.cli.main import app


@pytest.fixture
def store_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMRELAY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{tmp_path}/sessions.sqlite3"


def load(url: str, name: str) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        store = open_store(url)
        try:
            return [(m.role, m.text()) for m in (await store.load(name)).messages]
        finally:
            await store.aclose()

    return asyncio.run(read())


def test_a_session_continues_across_commands(store_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(
        app, ["chat", "--session", "trip", "--store", store_url, "-s", "Be brief.", "Plan a trip."]
    )
    assert first.exit_code == 0, first.output
    assert "conversation 'trip', 0 turns" in first.stderr and "built-in simulator" in first.stderr
    second = runner.invoke(
        app, ["chat", "--session", "trip", "--store", store_url, "--json", "And the budget?"]
    )
    assert second.exit_code == 0, second.output
    assert "conversation 'trip', 2 turns" in second.stderr
    doc = json.loads(second.stdout)
    turns = load(store_url, "trip")
    assert [r for r, _ in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0] == ("user", "Plan a trip.") and turns[1][1] == first.stdout.strip()
    assert turns[3] == ("assistant", doc["text"])
    assert (
        doc["usage"]["input_tokens"]
        > json.loads(runner.invoke(app, ["chat", "--json", "And the budget?"]).stdout)["usage"][
            "input_tokens"
        ]
    )  # the earlier turns were sent too


def test_the_repl_reads_lines_until_eof(store_url: str) -> None:
    lines = "Hello\n/history\n/save kept\nSecond question\n"
    result = CliRunner().invoke(app, ["chat", "-i", "--store", store_url, "--show-usage"], input=lines)
    assert result.exit_code == 0, result.output
    assert "not saved (/save NAME keeps it)" in result.stderr
    assert "user: Hello\nassistant: " in result.stdout
    assert f"saved as 'kept' in {store_url}" in result.stdout
    assert result.stderr.count("[simulator/sim-1]") == 2  # usage lines go to stderr
    assert [r for r, _ in load(store_url, "kept")] == ["user", "assistant"]  # saved before turn 2


def test_the_repl_on_a_session_stores_as_it_goes(store_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["chat", "--session", "live", "--store", store_url, "-i"],
        input="One\n/bogus\nTwo\n/exit\nThree\n",
    )
    assert result.exit_code == 0, result.output
    assert "unknown command /bogus" in result.stdout
    assert [t for r, t in load(store_url, "live") if r == "user"] == ["One", "Two"]  # /exit ended it


def test_session_errors(store_url: str) -> None:
    runner = CliRunner()
    bad_store = runner.invoke(app, ["chat", "--session", "x", "--store", "ftp://nowhere", "hi"])
    assert bad_store.exit_code == 2 and "unsupported conversation store" in bad_store.stderr
    bad_name = runner.invoke(app, ["chat", "--session", "no spaces allowed", "--store", store_url, "hi"])
    assert bad_name.exit_code == 2 and "is not valid" in bad_name.stderr
    json_repl = runner.invoke(app, ["chat", "-i", "--json"], input="")
    assert json_repl.exit_code == 2 and "--json needs a prompt" in json_repl.stderr


def test_a_session_turn_takes_a_reasoning_effort(store_url: str) -> None:
    runner = CliRunner()
    args = [
        "chat",
        "--session",
        "r",
        "--store",
        store_url,
        "--model",
        "simulator-responses/o4-mini",
        "--json",
    ]
    ok = runner.invoke(app, [*args, "--reasoning-effort", "low", "Hi"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["usage"]["reasoning_tokens"] > 0
    # o4-mini takes low, medium and high only: refused before sending, nothing stored
    refused = runner.invoke(app, [*args, "--reasoning-effort", "minimal", "Again"])
    assert refused.exit_code == 2 and "ChatRequest.reasoning.effort is set" in refused.stderr
    assert len(load(store_url, "r")) == 2
