"""Acceptance: a batch of 1,000 interrupted at half by a real signal and resumed.

``llmrelay batch`` runs in a subprocess against a simulator served over TCP in this
process; a counting middleware in front of the simulator records the upstream calls each
prompt got. After a SIGINT (and, separately, a SIGKILL) at half way and a second run of the
same command, the output holds 1,000 results in input order, and no item that the first
run had finished was sent upstream again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.app.batch.support import PromptCounter, read_output, served, write_config, write_input

from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.simulator.engine import expected_text

N = 1000
CONCURRENCY = 8


def _command(tmp: Path, config: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmrelay",
        "batch",
        str(tmp / "in.jsonl"),
        str(tmp / "out.jsonl"),
        "--config",
        str(config),
        "--yes",
        "--no-progress",
        "-j",
        str(CONCURRENCY),
    ]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMRELAY_")}
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _interrupt_at_half(tmp: Path, config: Path, sig: signal.Signals) -> int:
    proc = subprocess.Popen(_command(tmp, config), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while _lines(tmp / "out.jsonl") < N // 2:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the batch did not reach half way in 60 s"
            time.sleep(0.002)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return_code = proc.returncode
    if sig == signal.SIGINT:
        assert return_code == 130, err.decode()
        assert b"run the same command again to resume" in err
    return _lines(tmp / "out.jsonl")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_interrupted_at_half_and_resumed(tmp_path: Path, sig: signal.Signals) -> None:
    prompts = write_input(tmp_path / "in.jsonl", N)
    sim = Simulator(SimulatorConfig(seed=3, latency=0.003))
    counter = PromptCounter(sim.app)
    with served(counter) as base:
        config = write_config(tmp_path / "config.yaml", base, simulator={"seed": 3})
        written = _interrupt_at_half(tmp_path, config, sig)
        assert N // 2 <= written < N, "the interruption came too late to test anything"
        # whole lines only: what follows the last newline (nothing, in practice) is not a result
        whole = (tmp_path / "out.jsonl").read_bytes().split(b"\n")[:-1]
        finished_first = {json.loads(line)["id"] for line in whole}
        assert len(finished_first) == written
        calls_after_first = sum(counter.calls.values())

        resumed = subprocess.run(_command(tmp_path, config), env=_env(), capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()

    results = read_output(tmp_path / "out.jsonl")
    assert [r["id"] for r in results] == [f"item-{i:04d}" for i in range(N)]
    assert [r["index"] for r in results] == list(range(N))
    assert all(r["status"] == "ok" for r in results)
    for r, prompt in zip(results, prompts, strict=True):
        assert r["response"]["text"] == expected_text(prompt, seed=3)
    # the first run's finished items were never sent again; every item was sent at least once
    for r, prompt in zip(results, prompts, strict=True):
        if r["id"] in finished_first:
            assert counter.calls[prompt] == 1, f"{r['id']} was sent again after it had finished"
        assert counter.calls[prompt] >= 1
    # only calls not yet durable at the interruption can have been repeated: per worker, the
    # one in flight and the previous one whose commit it overlaps (runner._run_sync)
    assert sum(counter.calls.values()) - N <= 2 * CONCURRENCY
    assert calls_after_first < sum(counter.calls.values())
    assert b"from an earlier run" in resumed.stderr
