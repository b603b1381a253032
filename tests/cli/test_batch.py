"""``llmrelay batch``, driven in-process with Typer's runner against the built-in simulator."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from llmrelay.cli import confirm as confirm_cli
from llmrelay.cli.main import app
from llmrelay.simulator.engine import expected_text


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMRELAY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LLMRELAY_LEDGER__ENABLED", "false")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_run_writes_results_in_order_and_says_what_it_did(runner: CliRunner, tmp_path: Path) -> None:
    write(
        tmp_path / "in.jsonl",
        [{"id": f"q{i}", "prompt": f"question {i}", "max_tokens": 20} for i in range(5)],
    )
    result = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [f"q{i}" for i in range(5)]
    assert all(x["status"] == "ok" and x["response"]["cost"] > 0 for x in lines)
    assert "5 items" in result.stderr and "5 ok, 0 failed" in result.stderr
    again = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"])
    assert (
        again.exit_code == 0 and "nothing to send" in again.stderr and "5 from an earlier run" in again.stderr
    )


def test_failed_items_make_the_exit_status_1(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"prompt": "fine", "max_tokens": 5}\nnot json\n', encoding="utf-8")
    result = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "1 ok, 1 failed" in result.stderr


def test_a_large_run_needs_confirmation(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "in.jsonl", [{"prompt": "no max_tokens: the bound is the model's 16k output"}])
    args = ["batch", "in.jsonl", "out.jsonl", "--confirm-above", "0.001", "--no-progress"]
    refused = runner.invoke(app, args)  # no terminal to ask on
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    assert not (tmp_path / "out.jsonl").exists()
    monkeypatch.setattr(confirm_cli, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    declined = runner.invoke(app, args, input="n\n")
    assert declined.exit_code == 2 and "Run it?" in declined.stderr
    assert not (tmp_path / "out.jsonl").exists()
    accepted = runner.invoke(app, args, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1
    small = runner.invoke(app, [*args[:3], "--confirm-above", "100", "--no-progress", "--restart"])
    assert small.exit_code == 0 and "Run it?" not in small.stderr


def test_provider_mode_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    write(tmp_path / "in.jsonl", [{"id": f"q{i}", "prompt": f"question {i}"} for i in range(4)])
    result = runner.invoke(
        app, ["batch", "in.jsonl", "out.jsonl", "--mode", "provider", "--yes", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "at the batch price" in result.stderr
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == ["q0", "q1", "q2", "q3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["in.jsonl", "out.jsonl", "--mode", "later"], "--mode must be sync or provider"),
        (["in.jsonl", "in.jsonl"], "must be another file"),
        (["missing.jsonl", "out.jsonl"], "cannot read the batch input"),
    ],
)
def test_bad_invocations_exit_2(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path / "in.jsonl", [{"prompt": "x"}])
    result = runner.invoke(app, ["batch", *args, "--yes"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_another_input_against_the_same_output_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    write(tmp_path / "in.jsonl", [{"prompt": "first", "max_tokens": 5}])
    assert runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"]).exit_code == 0
    write(tmp_path / "in.jsonl", [{"prompt": "changed", "max_tokens": 5}])
    changed = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"])
    assert changed.exit_code == 2 and "different input" in changed.stderr
    restarted = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress", "--restart"])
    assert restarted.exit_code == 0, restarted.output
    (line,) = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(line)["response"]["text"] == expected_text("changed", seed=0, max_tokens=5)
