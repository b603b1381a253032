"""``llmrelay eval``, driven in-process with Typer's runner against the built-in simulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tests.app.evals.support import write_dataset, write_library
from typer.testing import CliRunner

from llmrelay.cli.main import app


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMRELAY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LLMRELAY_LEDGER__ENABLED", "false")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts the folder on it for python: scorers
    write_library(tmp_path / "prompts")
    write_dataset(tmp_path / "arith.jsonl", 12)
    return CliRunner()


def test_an_eval_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "my_scores.py").write_text(
        "def wordy(answer, item):\n    return len(answer.split()) > 3\n", encoding="utf-8"
    )
    args = ["eval", "arith.jsonl", "-p", "arith@v1", "-p", "arith@v2", "-m", "simulator/gpt-4o-mini"]
    args += ["-s", "numeric", "-s", "python:my_scores:wordy", "--rubric", "The sum is right."]
    args += ["--judge-model", "simulator/gpt-4o-mini", "--max-tokens", "30", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "answers: 24 items" in result.stderr and "judge: 24 calls" in result.stderr
    assert "arith@v2 − arith@v1:" in result.stdout
    assert "12 paired items" in result.stdout
    out = tmp_path / "arith-eval"
    summary = json.loads((out / "summary.json").read_text())
    assert [v["variant"] for v in summary["variants"]] == ["arith@v1", "arith@v2"]
    assert set(summary["variants"][0]["scorers"]) == {"numeric", "wordy", "judge"}
    assert summary["variants"][0]["scorer_errors"] == {"numeric": 0, "wordy": 0, "judge": 0}
    assert (out / "report.html").read_text().count('<tr><td class="l"><span class="swatch"') == 2
    again = runner.invoke(app, args)  # the answers are resumed from the journal
    assert again.exit_code == 0 and "answers: nothing to send" in again.stderr


def test_a_large_eval_needs_confirmation(runner: CliRunner, tmp_path: Path) -> None:
    args = ["eval", "arith.jsonl", "-p", "arith@v1", "-s", "numeric", "--confirm-above", "0", "--no-progress"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    assert not (tmp_path / "arith-eval").exists()
    accepted = runner.invoke(app, [*args, "--yes"])
    assert accepted.exit_code == 0, accepted.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-p", "arith@v9"], "prompt arith has no version 'v9'"),
        (["-p", "arith@v1", "-s", "fuzzy"], "unknown scorer 'fuzzy'"),
        (["-p", "arith@v1", "-s", "judge"], "needs a rubric"),
        (["-p", "arith@v1", "--judge-scale", "five"], "--judge-scale is LOW-HIGH"),
        (["-p", "arith@v1", "--baseline", "nope"], "baseline 'nope'"),
        ([], "has no input"),
    ],
)
def test_mistakes_exit_with_2_and_say_what_is_wrong(
    runner: CliRunner, extra: list[str], message: str
) -> None:
    result = runner.invoke(app, ["eval", "arith.jsonl", *extra, "--yes", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
