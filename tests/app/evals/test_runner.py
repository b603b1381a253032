"""run_eval and estimate_eval against the simulator: failures, resuming, cost, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llmrelay
from llmrelay.app.evals import (
    Case,
    DatasetError,
    EvalError,
    EvalItem,
    ExactMatch,
    LLMJudge,
    NumericMatch,
    PythonScorer,
    RegexMatch,
    Score,
    estimate_eval,
    make_variants,
    run_eval,
)
from llmrelay.app.prompts import PromptLibrary
from llmrelay.errors import BudgetExceededError
from llmrelay.simulator import Fault, FaultSequence

from .support import ArithmeticModel, dataset_rows, write_library

MINI = "simulator/gpt-4o-mini"


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    return PromptLibrary.load(write_library(tmp_path / "prompts"))


async def test_a_failed_answer_scores_zero_and_is_counted(
    client: llmrelay.Client, library: PromptLibrary
) -> None:
    client.simulator.replies = ArithmeticModel()
    client.simulator.faults = FaultSequence([Fault.error(400)])  # the first answer call is refused
    variants = make_variants(["arith@v2"], [MINI], library=library)
    report = await run_eval(client, dataset_rows(6), variants, [NumericMatch()], concurrency=1)
    v = report.variants[0]
    assert (v.items, v.answered, v.failed) == (6, 5, 1)
    failed = [c for c in report.cases if c.error is not None]
    assert len(failed) == 1 and failed[0].quality == 0.0 and failed[0].error.startswith("InvalidRequestError")
    assert v.quality is not None and v.quality.estimate == pytest.approx(
        sum(c.quality or 0.0 for c in report.cases) / 6
    )


async def test_a_scorer_error_leaves_the_other_scores(
    client: llmrelay.Client, library: PromptLibrary
) -> None:
    client.simulator.replies = ArithmeticModel()

    def fails_on_q001(answer: str, item: EvalItem) -> bool:
        if item.id == "q001":
            raise ValueError("no")
        return True

    report = await run_eval(
        client,
        dataset_rows(3),
        make_variants(["arith@v2"], [MINI], library=library),
        [NumericMatch(), PythonScorer(fails_on_q001)],
    )

    class Broken:
        name = "broken"

        async def score(self, case: Case, client: llmrelay.Client) -> Score:
            raise KeyError("bug")

    report2 = await run_eval(
        client, dataset_rows(2), make_variants(["arith@v2"], [MINI], library=library), [Broken()]
    )
    assert [c.scores["broken"].error for c in report2.cases] == ["broken raised KeyError: 'bug'"] * 2
    assert report2.variants[0].quality is None  # nothing could be scored
    case = next(c for c in report.cases if c.item_id == "q001")
    assert case.scores["fails_on_q001"].error == "fails_on_q001 raised ValueError: no"
    assert case.quality == case.scores["numeric"].value
    assert report.variants[0].scorer_errors == {"numeric": 0, "fails_on_q001": 1}


async def test_a_rerun_resumes_without_asking_again(
    client: llmrelay.Client, library: PromptLibrary, tmp_path: Path
) -> None:
    client.simulator.replies = ArithmeticModel()
    variants = make_variants(["arith@v1", "arith@v2"], [MINI], library=library)
    out = tmp_path / "out"
    first = await run_eval(client, dataset_rows(10), variants, [NumericMatch()], output_dir=out)
    served = client.simulator.stats.total_requests
    assert served == 20
    estimate = await estimate_eval(client, dataset_rows(10), variants, [NumericMatch()], output_dir=out)
    assert estimate.answers.items == 0 and "nothing to send" in estimate.describe()
    again = await run_eval(client, dataset_rows(10), variants, [NumericMatch()], output_dir=out)
    assert client.simulator.stats.total_requests == served  # every answer came from the journal
    assert [c.answer for c in again.cases] == [c.answer for c in first.cases]
    assert again.variants[1].quality == first.variants[1].quality
    restarted = await run_eval(
        client, dataset_rows(10), variants, [NumericMatch()], output_dir=out, restart=True
    )
    assert client.simulator.stats.total_requests == served + 20 and len(restarted.cases) == 20


async def test_the_estimate_bounds_answers_and_judge(client: llmrelay.Client, library: PromptLibrary) -> None:
    variants = make_variants(["arith@v1", "arith@v2"], [MINI], library=library)
    plain = await estimate_eval(client, dataset_rows(5), variants, [ExactMatch()], params={"max_tokens": 20})
    assert plain.answers.items == 10 and plain.judge_calls == 0 and plain.bounded
    judged = await estimate_eval(
        client,
        dataset_rows(5),
        variants,
        [ExactMatch(), LLMJudge("ok?", model=MINI)],
        params={"max_tokens": 20},
    )
    assert judged.judge_calls == 10 and judged.judge_max_cost > 0
    assert judged.max_cost == pytest.approx(plain.max_cost + judged.judge_max_cost)
    assert "judge: 10 calls" in judged.describe()
    # the bound holds: what the eval really costs is under it
    client.simulator.replies = ArithmeticModel()
    report = await run_eval(
        client,
        dataset_rows(5),
        variants,
        [ExactMatch(), LLMJudge("ok?", model=MINI)],
        params={"max_tokens": 20},
        max_cost=judged.max_cost * 1.01,
    )
    assert report.answer_cost is not None and report.scoring_cost is not None
    assert 0 < report.answer_cost + report.scoring_cost < judged.max_cost


async def test_max_cost_refuses_before_sending(client: llmrelay.Client, library: PromptLibrary) -> None:
    variants = make_variants(["arith@v1"], [MINI], library=library)
    with pytest.raises(BudgetExceededError, match="could cost up to"):
        await run_eval(client, dataset_rows(5), variants, [ExactMatch()], max_cost=1e-9)
    assert client.simulator.stats.total_requests == 0


async def test_inputs_without_a_template_and_the_baseline(client: llmrelay.Client) -> None:
    items = [
        {"id": "a", "input": "Say hello", "pattern": "."},
        {"id": "b", "input": "Say bye", "pattern": "."},
    ]
    variants = make_variants([], [MINI, "simulator/gpt-4o"])
    assert [v.label for v in variants] == [MINI, "simulator/gpt-4o"]
    report = await run_eval(client, items, variants, [RegexMatch()], baseline="simulator/gpt-4o")
    assert report.baseline == "simulator/gpt-4o"
    assert [(c.baseline, c.variant) for c in report.comparisons] == [("simulator/gpt-4o", MINI)]
    assert report.variant(MINI).model == MINI and report.variant(MINI).quality is not None


async def test_bad_evals_fail_before_anything_is_sent(
    client: llmrelay.Client, library: PromptLibrary
) -> None:
    v2 = make_variants(["arith@v2"], [MINI], library=library)
    with pytest.raises(DatasetError, match="item 'x': prompt arith@v2 needs the variable question"):
        await run_eval(client, [{"id": "x", "vars": {}}], v2, [ExactMatch()])
    with pytest.raises(DatasetError, match="item 'y' has no input"):
        await run_eval(
            client, [{"id": "y", "vars": {"question": "q"}}], make_variants([], [MINI]), [ExactMatch()]
        )
    with pytest.raises(EvalError, match="at least one scorer"):
        await run_eval(client, dataset_rows(1), v2, [])
    with pytest.raises(EvalError, match="distinct names"):
        await run_eval(client, dataset_rows(1), v2, [ExactMatch(), ExactMatch()])
    with pytest.raises(EvalError, match="baseline 'nope'"):
        await run_eval(client, dataset_rows(1), v2, [ExactMatch()], baseline="nope")
    with pytest.raises(EvalError, match="max_tokens"):
        await run_eval(client, dataset_rows(1), v2, [ExactMatch()], params={"max_tokens": 0})
    assert client.simulator.stats.total_requests == 0


def test_variant_labels(library: PromptLibrary) -> None:
    both = make_variants(["arith@v1", "arith@v2"], ["a", "b"], library=library)
    assert [v.label for v in both] == ["arith@v1 · a", "arith@v1 · b", "arith@v2 · a", "arith@v2 · b"]
    assert [v.label for v in make_variants(["arith@v1", "arith@v2"], ["a"], library=library)] == [
        "arith@v1",
        "arith@v2",
    ]
    assert [v.label for v in make_variants(["arith@v1"], library=library)] == ["arith@v1"]
    assert [v.label for v in make_variants([], [])] == ["default model"]
    with pytest.raises(EvalError, match="variants repeat"):
        make_variants([], ["a", "a"])
    with pytest.raises(EvalError, match="no prompt library"):
        make_variants(["arith@v1"])


async def test_results_file_has_a_line_per_answer(
    client: llmrelay.Client, library: PromptLibrary, tmp_path: Path
) -> None:
    client.simulator.replies = ArithmeticModel()
    variants = make_variants(["arith@v1", "arith@v2"], [MINI], library=library)
    report = await run_eval(client, dataset_rows(4), variants, [NumericMatch()], output_dir=tmp_path / "o")
    lines = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    assert [(x["variant"], x["item"]) for x in lines] == [
        (v.label, f"q{i:03d}") for v in variants for i in range(4)
    ]
    first = lines[0]
    assert first["status"] == "ok" and first["scores"]["numeric"]["value"] in (0.0, 1.0)
    assert first["cost"] > 0 and first["latency"] > 0 and first["input_tokens"] > 0
    assert report.html_path is not None and report.html_path.exists()
