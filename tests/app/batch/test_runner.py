"""run_batch in sync mode: per-item errors, what a resumed run sends again, order of results,
cost limits, budgets and progress."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import llmrelay
from llmrelay.app.batch import BatchResult, RichProgress, run_batch
from llmrelay.errors import BudgetExceededError, ConfigError
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.simulator.engine import expected_text


def client(**extra: Any) -> llmrelay.Client:
    return llmrelay.Client(Settings.load(ledger={"enabled": False}, **extra))


async def test_an_upstream_error_is_recorded_and_the_rest_run(tmp_path: Path) -> None:
    prompts = [f"question {i}" for i in range(6)]
    out = tmp_path / "out.jsonl"
    async with client() as c:
        c.simulator.faults = FaultSequence([None, None, Fault.error(400)])  # the third call is refused
        first = await run_batch(c, prompts, concurrency=1, output=out)
        failed = [r for r in first.results if not r.ok]
        assert [r.index for r in failed] == [2]
        assert failed[0].error is not None and failed[0].error.type == "InvalidRequestError"
        assert failed[0].error.status == 400 and not failed[0].error.retryable
        # a permanent error stands on resume...
        again = await run_batch(c, prompts, output=out)
        assert again.sent == 0 and again.failed == 1 and again.resumed == 6
        # ...unless asked for
        retried = await run_batch(c, prompts, output=out, retry_errors=True)
    assert retried.sent == 1 and retried.failed == 0 and retried.resumed == 5
    assert [r.response.text for r in retried.results if r.response] == [
        expected_text(p, seed=0) for p in prompts
    ]
    assert c.simulator.stats.total_requests == 7


async def test_a_retryable_error_is_sent_again_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    async with client(retry={"max_attempts": 1}) as c:
        c.simulator.faults = FaultSequence([Fault.error(503)])
        first = await run_batch(c, ["a", "b", "c"], concurrency=1, output=out)
        assert first.failed == 1 and first.results[0].error is not None and first.results[0].error.retryable
        second = await run_batch(c, ["a", "b", "c"], output=out)
    assert second.sent == 1 and second.failed == 0 and second.resumed == 2


async def test_results_reach_the_callback_in_input_order(tmp_path: Path) -> None:
    seen: list[int] = []

    async def on_result(result: BatchResult) -> None:
        seen.append(result.index)

    prompts = [f"p{i}" for i in range(40)]
    async with client(simulator={"latency": 0.001}) as c:
        await run_batch(c, prompts[:10], output=tmp_path / "out.jsonl")
        report = await run_batch(
            c, prompts, concurrency=16, output=tmp_path / "out.jsonl", on_result=on_result
        )
    assert seen == list(range(40))  # earlier results first, then the new ones, in order
    assert report.resumed == 10 and report.sent == 30 and report.complete


async def test_without_output_results_come_back_in_memory() -> None:
    async with client() as c:
        report = await run_batch(c, [{"id": "x", "prompt": "one"}, {"id": "y", "prompt": "two"}])
    assert [r.id for r in report.results] == ["x", "y"] and report.output is None and report.journal is None
    assert report.cost is not None and report.cost == pytest.approx(sum(r.cost or 0 for r in report.results))
    assert report.run_cost == pytest.approx(report.cost)


async def test_max_cost_refuses_before_anything_is_sent() -> None:
    async with client() as c:
        with pytest.raises(BudgetExceededError, match="could cost up to"):
            await run_batch(c, ["a", "b"], max_cost=0.000001)
        with pytest.raises(BudgetExceededError, match="cannot be bounded"):
            await run_batch(c, ["a"], model="simulator/unpriced-model", max_cost=1.0)
        report = await run_batch(c, [{"prompt": "a", "max_tokens": 10}], max_cost=1.0)
    assert report.succeeded == 1
    assert c.simulator.stats.total_requests == 1


async def test_an_exhausted_budget_stops_the_run_resumably(tmp_path: Path) -> None:
    # sim-1 made dear: each call reserves about $0.003 and costs about $0.001-$0.002
    dear = {"models": {"simulator/sim-1": {"input_price": 20.0, "output_price": 40.0}}}
    budget = {"rules": [{"scope": "global", "period": "lifetime", "hard": 0.01}]}
    prompts = [{"prompt": f"q{i}", "max_tokens": 60} for i in range(30)]
    async with client(catalog=dear, budgets=budget) as c:
        report = await run_batch(c, prompts, concurrency=1, output=tmp_path / "out.jsonl")
    assert report.stopped is not None and "budget" in report.stopped
    assert 0 < report.succeeded < 30 and report.failed == 0 and not report.complete
    assert report.cost is not None and report.cost <= 0.01
    # the rest is pending, not failed: another run (with money) finishes it
    async with client(catalog=dear) as c:
        rest = await run_batch(c, prompts, output=tmp_path / "out.jsonl")
    assert rest.complete and rest.resumed == report.succeeded


async def test_an_unexpected_exception_fails_only_its_item() -> None:
    async with client() as c:
        real = c.chat

        async def flaky(req: Any, **kw: Any) -> Any:
            if "boom" in req.messages[-1].text():
                raise TypeError("a bug somewhere")
            return await real(req, **kw)

        c.chat = flaky  # type: ignore[method-assign]
        report = await run_batch(c, ["fine", "boom", "also fine"])
    assert [r.ok for r in report.results] == [True, False, True]
    assert report.results[1].error is not None and report.results[1].error.type == "TypeError"


async def test_bad_arguments_are_refused() -> None:
    async with client() as c:
        with pytest.raises(ConfigError, match="not one string"):
            await run_batch(c, "a single prompt")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="concurrency"):
            await run_batch(c, ["a"], concurrency=0)
        with pytest.raises(ConfigError, match="mode"):
            await run_batch(c, ["a"], mode="later")  # type: ignore[arg-type]


async def test_the_progress_bar_shows_counts_and_cost(tmp_path: Path) -> None:
    buffer = io.StringIO()
    bar = RichProgress(Console(file=buffer, width=140, force_terminal=False))
    async with client() as c:
        report = await run_batch(c, ["a", "b", {"prompt": 7}], progress=bar)
    text = buffer.getvalue()
    assert "3/3" in text and "1 errors" in text
    assert report.cost is not None and f"${report.cost:,.4f}" in text


async def test_an_output_no_journal_accounts_for_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "precious.jsonl"
    out.write_text('{"mine": true}\n')
    async with client() as c:
        with pytest.raises(ConfigError, match="no batch journal accounts for"):
            await run_batch(c, ["a"], output=out)
        assert out.read_text() == '{"mine": true}\n' and c.simulator.stats.total_requests == 0
        report = await run_batch(c, ["a"], output=out, restart=True)
    assert report.succeeded == 1 and '"mine"' not in out.read_text()
