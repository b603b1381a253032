"""Evals: a dataset through prompt versions × models, every answer scored, the variants
compared on quality, cost and latency, with a confidence interval on the difference.

    from llmrelay.app.evals import ExactMatch, LLMJudge, make_variants, run_eval
    from llmrelay.app.prompts import PromptLibrary

    library = PromptLibrary.load("prompts")
    variants = make_variants(["qa@v1", "qa@v2"], ["openai/gpt-4o-mini"], library=library)
    report = await run_eval(client, "dataset.jsonl", variants, [ExactMatch(), LLMJudge("Correct?")],
                            output_dir="qa-eval")

See docs/evals.md; ``llmrelay eval`` is the command line.
"""

from llmrelay.app.evals.dataset import EvalItem, load_dataset
from llmrelay.app.evals.errors import DatasetError, EvalError, ScorerSpecError
from llmrelay.app.evals.estimate import EvalEstimate
from llmrelay.app.evals.judge import LLMJudge
from llmrelay.app.evals.report import EvalReport
from llmrelay.app.evals.runner import estimate_eval, run_eval
from llmrelay.app.evals.scorers import (
    Case,
    ExactMatch,
    JsonSchemaValid,
    NumericMatch,
    PythonScorer,
    RegexMatch,
    Score,
    Scorer,
    read_number,
)
from llmrelay.app.evals.specs import parse_scorer
from llmrelay.app.evals.stats import Interval, bootstrap_mean, paired_difference
from llmrelay.app.evals.summary import CaseResult, Comparison, VariantSummary
from llmrelay.app.evals.variants import Variant, make_variants

__all__ = [
    "Case",
    "CaseResult",
    "Comparison",
    "DatasetError",
    "EvalError",
    "EvalEstimate",
    "EvalItem",
    "EvalReport",
    "ExactMatch",
    "Interval",
    "JsonSchemaValid",
    "LLMJudge",
    "NumericMatch",
    "PythonScorer",
    "RegexMatch",
    "Score",
    "Scorer",
    "ScorerSpecError",
    "Variant",
    "VariantSummary",
    "bootstrap_mean",
    "estimate_eval",
    "load_dataset",
    "make_variants",
    "paired_difference",
    "parse_scorer",
    "read_number",
    "run_eval",
]
