"""What an eval found: the figures per variant, the comparisons, every scored answer, and
where the files are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrelay.app.evals.summary import CaseResult, Comparison, VariantSummary

ANSWERS = "answers.jsonl"
RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.html"


@dataclass(frozen=True, slots=True)
class EvalReport:
    """What an eval found. ``variants`` in the order given, ``comparisons`` of each other
    variant against the ``baseline``; ``cases`` every scored answer, variant by variant in
    dataset order; ``answer_cost`` and ``scoring_cost`` in USD (None when a price is
    unknown); ``stopped`` says why answers are missing when a budget stopped the run."""

    title: str
    items: int
    scorers: tuple[str, ...]
    variants: tuple[VariantSummary, ...]
    comparisons: tuple[Comparison, ...]
    cases: tuple[CaseResult, ...]
    baseline: str
    answer_cost: float | None
    scoring_cost: float | None
    elapsed: float
    confidence: float
    resamples: int
    output_dir: Path | None = None
    stopped: str | None = None

    def variant(self, label: str) -> VariantSummary:
        for v in self.variants:
            if v.label == label:
                return v
        raise KeyError(label)

    @property
    def results_path(self) -> Path | None:
        return self.output_dir / RESULTS if self.output_dir is not None else None

    @property
    def html_path(self) -> Path | None:
        return self.output_dir / REPORT if self.output_dir is not None else None

    @property
    def summary_path(self) -> Path | None:
        return self.output_dir / SUMMARY if self.output_dir is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "items": self.items,
            "scorers": list(self.scorers),
            "baseline": self.baseline,
            "variants": [v.to_json() for v in self.variants],
            "comparisons": [c.to_json() for c in self.comparisons],
            "answer_cost": self.answer_cost,
            "scoring_cost": self.scoring_cost,
            "elapsed": self.elapsed,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "stopped": self.stopped,
        }
