"""What an eval will cost before anything is sent: the answer calls (the batch runner's own
estimate) plus an upper bound for the judge's calls.

A judge's prompt holds the answer, which is not known yet, so its bound assumes every
answer writes its whole output bound, every verdict its ``max_tokens``, and every re-ask
happens (each re-ask resends the conversation plus the refused verdict and the problem).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay.app.batch import BatchEstimate
from llmrelay.app.evals.judge import LLMJudge
from llmrelay.app.evals.scorers import Case
from llmrelay.errors import LLMRelayError
from llmrelay.tokens import count_for
from llmrelay.types import ChatRequest

if TYPE_CHECKING:
    from llmrelay.app.evals.dataset import EvalItem
    from llmrelay.client import Client

#: prompt tokens a judge call may carry beyond its messages: the structured-output
#: instructions and schema (json mode), and the problem text of a re-ask
_SCHEMA_TOKENS = 400
_REASK_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class JudgePlan:
    """One answer to be judged: its item, the messages the answer call sends, and that
    call's output bound (None when unknown)."""

    item: EvalItem
    variant: str
    case: Case
    answer_bound: int | None


@dataclass(frozen=True, slots=True)
class EvalEstimate:
    """``answers`` is the batch estimate of the answer calls; ``judge_calls`` the judge's
    first calls, ``judge_max_cost`` their bound with every re-ask (USD, over the calls with
    a known price), ``judge_unpriced`` those without one."""

    answers: BatchEstimate
    judge_calls: int = 0
    judge_max_cost: float = 0.0
    judge_unpriced: int = 0

    @property
    def bounded(self) -> bool:
        return self.answers.bounded and self.judge_unpriced == 0

    @property
    def max_cost(self) -> float:
        return self.answers.max_cost + self.judge_max_cost

    def describe(self) -> str:
        text = f"answers: {self.answers.describe()}"
        if self.judge_calls:
            text += f"; judge: {self.judge_calls} calls, at most ${self.judge_max_cost:.4f} with every re-ask"
            if self.judge_unpriced:
                text += f" ({self.judge_unpriced} have no known price and are not counted)"
        return text


def judge_bound(client: Client, judge: LLMJudge, plans: Sequence[JudgePlan]) -> tuple[int, float, int]:
    """(calls, max cost, unpriced) of judging ``plans``."""
    try:
        route = client.route(judge.model)
    except LLMRelayError:
        return len(plans), 0.0, len(plans)
    ep = route.deployments[0].endpoint
    info = client.catalog.lookup(ep.host or ep.provider, ep.model)
    total = 0.0
    unpriced = 0
    for plan in plans:
        request = ChatRequest(model=route.alias, messages=tuple(judge.messages(plan.case)))
        base = count_for(request, info, ep.provider, ep.model).tokens + _SCHEMA_TOKENS
        bound = plan.answer_bound
        if bound is None:
            unpriced += 1
            continue
        cost = 0.0
        for attempt in range(judge.max_retries + 1):
            prompt = base + bound + attempt * (judge.max_tokens + _REASK_TOKENS)
            one = client.catalog.max_cost(info, prompt, judge.max_tokens)
            if one is None:
                break
            cost += one
        else:
            total += cost
            continue
        unpriced += 1
    return len(plans), total, unpriced


def answer_bound(client: Client, request: ChatRequest) -> int | None:
    """The most output tokens an answer call can write (its ``max_tokens``, else the model's
    maximum output), None when unknown."""
    if request.max_tokens is not None:
        return request.max_tokens
    try:
        ep = client.route(request.model).deployments[0].endpoint
    except LLMRelayError:
        return None
    info = client.catalog.lookup(ep.host or ep.provider, ep.model)
    if info is not None and info.max_output is not None:
        return info.max_output
    default = ep.options.get("default_max_tokens")
    return default if isinstance(default, int) else None
