"""From scored answers to the figures of the report: per-variant quality, cost and latency,
and each variant's quality difference from the baseline with its confidence interval (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmrelay.app.evals.scorers import Score
from llmrelay.app.evals.stats import RESAMPLES, Interval, bootstrap_mean, mean, paired_difference, percentile

#: how the difference's interval is computed, as the report states it
METHOD = "paired percentile bootstrap over items"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One variant's answer to one item, scored. ``error`` is the answer call's failure
    (then ``quality`` is 0: a missing answer is a wrong one); ``quality`` is the mean of the
    scores that have a value, None when every scorer failed on it."""

    variant: str
    item_id: str
    answer: str | None
    error: str | None
    scores: Mapping[str, Score]
    quality: float | None
    cost: float | None
    latency: float | None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def scoring_cost(self) -> float | None:
        total = 0.0
        for s in self.scores.values():
            if s.cost is None:
                return None
            total += s.cost
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "item": self.item_id,
            "status": "error" if self.error is not None else "ok",
            "answer": self.answer,
            "error": self.error,
            "quality": self.quality,
            "scores": {
                name: {"value": s.value, "detail": s.detail or None, "error": s.error, "cost": s.cost}
                for name, s in self.scores.items()
            },
            "cost": self.cost,
            "scoring_cost": self.scoring_cost,
            "latency": self.latency,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


def case_quality(scores: Mapping[str, Score], error: str | None) -> float | None:
    if error is not None:
        return 0.0
    values = [s.value for s in scores.values() if s.value is not None]
    return mean(values) if values else None


@dataclass(frozen=True, slots=True)
class VariantSummary:
    """One variant's figures. ``quality`` is the mean item quality with its bootstrap
    interval (None when nothing could be scored); ``cost`` is the answers' total in USD
    (None when a price is unknown); latencies are seconds over the answers that have one."""

    label: str
    model: str | None
    prompt: str | None
    items: int
    answered: int
    failed: int
    quality: Interval | None
    scorers: Mapping[str, float | None]
    scorer_errors: Mapping[str, int]
    cost: float | None
    latency_mean: float | None
    latency_p50: float | None
    latency_p95: float | None
    input_tokens: int
    output_tokens: int

    @property
    def cost_per_item(self) -> float | None:
        return self.cost / self.items if self.cost is not None and self.items else None

    def to_json(self) -> dict[str, Any]:
        q = self.quality
        return {
            "variant": self.label,
            "model": self.model,
            "prompt": self.prompt,
            "items": self.items,
            "answered": self.answered,
            "failed": self.failed,
            "quality": None if q is None else q.estimate,
            "quality_ci": None if q is None else [q.low, q.high],
            "scorers": dict(self.scorers),
            "scorer_errors": dict(self.scorer_errors),
            "cost": self.cost,
            "cost_per_item": self.cost_per_item,
            "latency_mean": self.latency_mean,
            "latency_p50": self.latency_p50,
            "latency_p95": self.latency_p95,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """``variant``'s quality minus ``baseline``'s over the ``items`` both could score, with
    its interval. ``significant``: the interval does not contain 0."""

    baseline: str
    variant: str
    items: int
    difference: Interval | None
    method: str = field(default=METHOD)

    @property
    def significant(self) -> bool:
        return self.difference is not None and self.difference.excludes(0.0)

    def to_json(self) -> dict[str, Any]:
        d = self.difference
        return {
            "baseline": self.baseline,
            "variant": self.variant,
            "items": self.items,
            "difference": None if d is None else d.estimate,
            "ci": None if d is None else [d.low, d.high],
            "confidence": None if d is None else d.confidence,
            "significant": self.significant,
            "method": self.method,
        }


def summarize_variant(
    label: str,
    model: str | None,
    prompt: str | None,
    cases: Sequence[CaseResult],
    scorer_names: Sequence[str],
    *,
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> VariantSummary:
    qualities = [c.quality for c in cases if c.quality is not None]
    latencies = [c.latency for c in cases if c.latency is not None and c.error is None]
    answered = [c for c in cases if c.error is None]
    scorers: dict[str, float | None] = {}
    errors: dict[str, int] = {}
    for name in scorer_names:
        values = [c.scores[name].value for c in answered if name in c.scores]
        got = [v for v in values if v is not None]
        scorers[name] = mean(got) if got else None
        errors[name] = len(values) - len(got)
    cost: float | None = 0.0
    for c in cases:
        if c.error is None and c.cost is None:
            cost = None
            break
        if cost is not None and c.cost is not None:
            cost += c.cost
    return VariantSummary(
        label=label,
        model=model,
        prompt=prompt,
        items=len(cases),
        answered=len(answered),
        failed=len(cases) - len(answered),
        quality=(
            bootstrap_mean(qualities, confidence=confidence, resamples=resamples, seed=seed)
            if qualities
            else None
        ),
        scorers=scorers,
        scorer_errors=errors,
        cost=cost,
        latency_mean=mean(latencies) if latencies else None,
        latency_p50=percentile(latencies, 0.5) if latencies else None,
        latency_p95=percentile(latencies, 0.95) if latencies else None,
        input_tokens=sum(c.input_tokens or 0 for c in cases),
        output_tokens=sum(c.output_tokens or 0 for c in cases),
    )


def compare(
    baseline: str,
    variant: str,
    cases: Sequence[CaseResult],
    *,
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """``variant`` against ``baseline``, paired by item over the items both have a quality for."""
    a = {c.item_id: c.quality for c in cases if c.variant == baseline and c.quality is not None}
    b = {c.item_id: c.quality for c in cases if c.variant == variant and c.quality is not None}
    common = [i for i in a if i in b]
    if not common:
        return Comparison(baseline, variant, 0, None)
    diff = paired_difference(
        [a[i] for i in common],
        [b[i] for i in common],
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    return Comparison(baseline, variant, len(common), diff)


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
