"""The LLM judge: what it is sent, and how its verdict is read (scripted simulator replies)."""

from __future__ import annotations

import pytest
from tests.app.script import Script

import llmrelay
from llmrelay.app.evals import Case, EvalItem, LLMJudge, ScorerSpecError
from llmrelay.simulator import Fault, FaultSequence, Reply
from llmrelay.types import Message

JUDGE = "simulator/gpt-4o-mini"


def case(answer: str = "Paris is the capital.") -> Case:
    item = EvalItem("i1", expected="Paris")
    return Case(item, "v1", (Message.system("Be brief."), Message.user("Capital of France?")), answer)


async def test_the_judge_sees_rubric_task_reference_and_answer(client: llmrelay.Client) -> None:
    script = Script([Reply('{"score": 4, "reason": "right, a bit wordy"}')])
    client.simulator.replies = script
    judge = LLMJudge("Names the capital correctly.", model=JUDGE)
    score = await judge.score(case(), client)
    assert score.value == pytest.approx(0.75) and score.detail == "4/5: right, a bit wordy"
    assert score.cost is not None and score.cost > 0
    sent = script.seen[0].conversation
    for part in (
        "Names the capital correctly.",
        "Capital of France?",
        "Reference answer:\nParis",
        "Paris is the capital.",
    ):
        assert part in sent
    assert "Be brief." not in sent  # the variant's system prompt is not the task


async def test_prose_is_read_and_an_off_scale_verdict_is_asked_again(
    client: llmrelay.Client,
) -> None:
    script = Script(
        [Reply('Sure! Here you go:\n```json\n{"score": 9, "reason": "great"}\n```'), Reply("{'score': 2,}")]
    )
    client.simulator.replies = script
    score = await LLMJudge("Correct?", model=JUDGE).score(case(), client)
    assert len(script.seen) == 2  # the score 9 (off the 1-5 scale) was sent back
    assert "less than or equal to 5" in script.seen[1].conversation
    assert score.value == pytest.approx(0.25)


async def test_an_unusable_verdict_is_a_scorer_error_not_a_guess(client: llmrelay.Client) -> None:
    client.simulator.replies = Script([Reply("I think it is fine."), Reply("Really, it is fine.")])
    score = await LLMJudge("Correct?", model=JUDGE, max_retries=1).score(case(), client)
    assert score.value is None and score.error and "unusable" in score.error
    assert score.cost is not None and score.cost > 0  # both calls were paid for and are counted


async def test_a_failed_judge_call_is_a_scorer_error(client: llmrelay.Client) -> None:
    client.simulator.faults = FaultSequence([Fault.error(400)])
    score = await LLMJudge("Correct?", model=JUDGE).score(case(), client)
    assert score.value is None and score.error and score.error.startswith("judge call failed")


def test_a_judge_needs_a_rubric_and_a_scale() -> None:
    with pytest.raises(ScorerSpecError, match="needs a rubric"):
        LLMJudge("  ")
    with pytest.raises(ScorerSpecError, match="low < high"):
        LLMJudge("ok", scale=(5, 1))
