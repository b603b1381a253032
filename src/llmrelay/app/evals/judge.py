"""An LLM judge: a model grades each answer against a rubric, on a scale (1 to 5 by default).

The judge's call goes through ``extract_result`` (structured output), so its verdict is a
validated ``{"score": n, "reason": "..."}``: the model's JSON is read as structured output
reads it (fences, prose around it, small repairs) and a reply that does not parse, or a
score off the scale, is sent back with the problem, up to ``max_retries`` times. A verdict
that is still unusable is that answer's scorer error, never a guessed score. The score is
mapped onto 0..1: ``(score - low) / (high - low)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from llmrelay.app.evals.errors import ScorerSpecError
from llmrelay.app.evals.scorers import Case, Score
from llmrelay.errors import LLMRelayError, RateLimitError
from llmrelay.types import Message

if TYPE_CHECKING:
    from llmrelay.client import Client

#: the shortest pause before asking again after llmrelay's own rate limiter turned a call away
_MIN_LOCAL_WAIT = 0.02

SYSTEM = (
    "You are a careful, strict evaluator. You grade one answer against a rubric and reply with "
    'a JSON object: {{"score": <a number from {low} to {high}>, "reason": <one sentence>}}. '
    "{low} means the answer fails the rubric entirely, {high} that it meets it fully."
)


class LLMJudge:
    """Grade answers with ``model`` (default: the client's default model) against ``rubric``.

    ``scale`` is the (low, high) range the judge scores on; ``max_retries`` re-asks when its
    reply is unusable; ``max_tokens`` bounds each verdict; ``temperature`` (None: the
    model's default) is 0 so that grading is as repeatable as the model allows.
    """

    def __init__(
        self,
        rubric: str,
        *,
        model: str | None = None,
        scale: tuple[int, int] = (1, 5),
        max_retries: int = 1,
        max_tokens: int = 300,
        temperature: float | None = 0.0,
        name: str = "judge",
    ) -> None:
        if not isinstance(rubric, str) or not rubric.strip():
            raise ScorerSpecError(
                "the judge needs a rubric: what a good answer does (--rubric TEXT or @FILE)"
            )
        low, high = scale
        if not (isinstance(low, int) and isinstance(high, int)) or high <= low:
            raise ScorerSpecError(f"the judge's scale must be two whole numbers, low < high, got {scale!r}")
        if max_retries < 0 or max_tokens < 1:
            raise ScorerSpecError("the judge's max_retries must be >= 0 and max_tokens >= 1")
        self.rubric = rubric.strip()
        self.model = model
        self.scale = (low, high)
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.name = name
        # the verdict's schema carries the scale, so an off-scale score is a validation error
        # (and a re-ask), not a value clipped into range
        self.verdict: type[BaseModel] = create_model(
            "JudgeVerdict",
            score=(float, Field(ge=low, le=high, description=f"from {low} (fails) to {high} (fully meets)")),
            reason=(str, Field(default="", description="one sentence: why this score")),
        )

    def messages(self, case: Case) -> list[Message]:
        """What the judge is sent for one answer (pure)."""
        low, high = self.scale
        parts = [f"Rubric:\n{self.rubric}", f"Task given to the model:\n{case.question or '(none)'}"]
        if case.item.expected is not None:
            parts.append(f"Reference answer:\n{_text(case.item.expected)}")
        parts.append(f"Answer to grade:\n{case.answer}")
        parts.append(f"Grade the answer from {low} to {high}. Reply with the JSON object only.")
        return [Message.system(SYSTEM.format(low=low, high=high)), Message.user("\n\n".join(parts))]

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_tokens": self.max_tokens}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out

    async def score(self, case: Case, client: Client) -> Score:
        import asyncio

        from llmrelay.app.structured import OutputTruncatedError, OutputValidationError, extract_result

        while True:
            try:
                result = await extract_result(
                    client,
                    self.verdict,
                    self.messages(case),
                    model=self.model,
                    max_retries=self.max_retries,
                    **self.params(),
                )
                break
            except RateLimitError as exc:
                if exc.status is not None:
                    return Score.failed(f"judge call failed: {exc}", cost=None)
                # llmrelay's own limiter refused it locally (nothing sent): wait for the slot
                await asyncio.sleep(max(exc.retry_after or 0.0, _MIN_LOCAL_WAIT))
            except (OutputValidationError, OutputTruncatedError) as exc:
                return Score.failed(f"the judge's verdict was unusable: {exc.message}", cost=exc.cost)
            except LLMRelayError as exc:
                return Score.failed(f"judge call failed: {exc}", cost=None)
        low, high = self.scale
        raw = float(result.value.score)
        reason = str(result.value.reason)
        return Score((raw - low) / (high - low), f"{raw:g}/{high}: {reason}".strip(), cost=result.cost)


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
