"""``run_eval``: a dataset through every variant (prompt version × model), each answer scored,
and the variants compared.

    report = await run_eval(client, "dataset.jsonl", make_variants(["qa@v1", "qa@v2"], library=lib),
                            [ExactMatch(), LLMJudge("Is it correct and brief?")], output_dir="out")

The answer calls are one batch (``llmrelay.app.batch.run_batch``): each is a ``Client.chat``
call, so retries, routing, the configured RPM/TPM limits and budgets apply, and with
``output_dir`` the answers are journaled there — an interrupted eval run again with the same
output directory pays only for the answers it had not got. Scoring comes next (a judge's calls
also go through the client), then the figures, the results file and the HTML report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmrelay.app.batch import (
    BatchProgress,
    BatchRequest,
    BatchResult,
    RichProgress,
    estimate_batch,
    run_batch,
)
from llmrelay.app.batch.items import load_items
from llmrelay.app.evals.dataset import EvalItem, load_dataset
from llmrelay.app.evals.errors import EvalError
from llmrelay.app.evals.estimate import EvalEstimate, JudgePlan, answer_bound, judge_bound
from llmrelay.app.evals.judge import LLMJudge
from llmrelay.app.evals.report import ANSWERS, EvalReport
from llmrelay.app.evals.scorers import Case, Score, Scorer
from llmrelay.app.evals.stats import RESAMPLES
from llmrelay.app.evals.summary import CaseResult, case_quality, compare, summarize_variant
from llmrelay.app.evals.variants import Variant
from llmrelay.errors import BudgetExceededError
from llmrelay.types import Message

if TYPE_CHECKING:
    from llmrelay.client import Client

log = logging.getLogger("llmrelay.evals")

DatasetLike = str | Path | Iterable[EvalItem | Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class _Planned:
    items: list[EvalItem]
    variants: list[Variant]
    scorers: list[Scorer]
    requests: list[BatchRequest]
    #: batch id -> (variant, item, messages sent)
    cases: dict[str, tuple[Variant, EvalItem, tuple[Message, ...]]]


def _plan(
    client: Client,
    dataset: DatasetLike,
    variants: Sequence[Variant],
    scorers: Sequence[Scorer],
    params: Mapping[str, Any] | None,
) -> _Planned:
    items = load_dataset(dataset)
    if not variants:
        raise EvalError("an eval needs at least one variant (a prompt version or a model)")
    if not scorers:
        raise EvalError(
            "an eval needs at least one scorer (exact, regex, json-schema, numeric, python, judge)"
        )
    names = [s.name for s in scorers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise EvalError(f"scorers must have distinct names; {', '.join(dupes)} is used twice (pass name=...)")
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise EvalError("variants must have distinct labels")
    raw: list[dict[str, Any]] = []
    cases: dict[str, tuple[Variant, EvalItem, tuple[Message, ...]]] = {}
    for index, variant in enumerate(variants):
        for item in items:
            messages, kwargs = variant.messages(item, params)
            key = f"{index}:{item.id}"
            cases[key] = (variant, item, messages)
            raw.append({"id": key, "messages": list(messages), **kwargs})
    requests: list[BatchRequest] = []
    for built in load_items(raw, model=client.settings.default_model):
        if built.request is None:
            variant, item, _ = cases[built.id]
            detail = built.problem.message if built.problem is not None else "invalid request"
            raise EvalError(f"variant {variant.label}, item {item.id!r}: {detail}")
        requests.append(BatchRequest(built.request, built.id))
    return _Planned(items, list(variants), list(scorers), requests, cases)


async def estimate_eval(
    client: Client,
    dataset: DatasetLike,
    variants: Sequence[Variant],
    scorers: Sequence[Scorer],
    *,
    params: Mapping[str, Any] | None = None,
    output_dir: str | Path | None = None,
    restart: bool = False,
) -> EvalEstimate:
    """What ``run_eval`` with the same arguments would send, and its cost: answers already
    journaled in ``output_dir`` are left out; the judge's calls are bounded (see
    ``llmrelay.app.evals.estimate``). Raises the same errors as ``run_eval`` for a bad
    dataset, variants or scorers, before anything is sent."""
    planned = _plan(client, dataset, variants, scorers, params)
    return await _estimate(client, planned, output_dir, restart)


async def _estimate(
    client: Client, planned: _Planned, output_dir: str | Path | None, restart: bool
) -> EvalEstimate:
    output = Path(output_dir) / ANSWERS if output_dir is not None and not restart else None
    answers = await estimate_batch(client, planned.requests, output=output)
    calls, judge_cost, unpriced = 0, 0.0, 0
    for scorer in planned.scorers:
        if isinstance(scorer, LLMJudge):
            plans = []
            for request in planned.requests:
                variant, item, messages = planned.cases[request.id or ""]
                case = Case(item, variant.label, messages, "")
                plans.append(JudgePlan(item, variant.label, case, answer_bound(client, request.request)))
            n, cost, missing = judge_bound(client, scorer, plans)
            calls, judge_cost, unpriced = calls + n, judge_cost + cost, unpriced + missing
    return EvalEstimate(answers, calls, judge_cost, unpriced)


async def run_eval(
    client: Client,
    dataset: DatasetLike,
    variants: Sequence[Variant],
    scorers: Sequence[Scorer],
    *,
    params: Mapping[str, Any] | None = None,
    concurrency: int = 8,
    output_dir: str | Path | None = None,
    restart: bool = False,
    max_cost: float | None = None,
    progress: bool | BatchProgress = False,
    baseline: str | None = None,
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
    title: str | None = None,
) -> EvalReport:
    """Run ``dataset`` through every variant, score each answer with every scorer, and
    report. See the module docstring and docs/evals.md.

    ``dataset``: a JSONL path, or ``EvalItem``s / dicts. ``params`` go to every answer call
    (``max_tokens``, ``temperature``…; they win over a template's). ``output_dir``: where
    ``answers.jsonl`` (with its journal: a re-run resumes), ``results.jsonl``,
    ``summary.json`` and ``report.html`` are written. ``max_cost`` (USD) refuses to start,
    with ``BudgetExceededError``, an eval whose estimate's upper bound is above it or
    unbounded. ``baseline`` is the variant the others are compared with (default: the
    first). The quality difference's interval is a paired bootstrap at ``confidence`` with
    ``resamples`` resamples, seeded with ``seed``.
    """
    started = time.monotonic()
    planned = _plan(client, dataset, variants, scorers, params)
    labels = [v.label for v in planned.variants]
    base = baseline or labels[0]
    if base not in labels:
        raise EvalError(f"the baseline {base!r} is not one of the variants: {', '.join(labels)}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise EvalError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    out_dir = Path(output_dir) if output_dir is not None else None
    if max_cost is not None:
        _check_cost(await _estimate(client, planned, out_dir, restart), max_cost)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    batch = await run_batch(
        client,
        planned.requests,
        concurrency=concurrency,
        output=out_dir / ANSWERS if out_dir is not None else None,
        restart=restart,
        progress=RichProgress() if progress is True else progress,
    )
    cases = await _score_all(client, planned, batch.results, concurrency, progress)
    names = tuple(s.name for s in planned.scorers)
    by_variant = {v.label: [c for c in cases if c.variant == v.label] for v in planned.variants}
    summaries = tuple(
        summarize_variant(
            v.label,
            _model_of(v, planned, batch.results),
            v.prompt_label,
            by_variant[v.label],
            names,
            confidence=confidence,
            resamples=resamples,
            seed=seed,
        )
        for v in planned.variants
    )
    comparisons = tuple(
        compare(base, label, cases, confidence=confidence, resamples=resamples, seed=seed)
        for label in labels
        if label != base
    )
    report = EvalReport(
        title=title or (Path(dataset).name if isinstance(dataset, str | Path) else "eval"),
        items=len(planned.items),
        scorers=names,
        variants=summaries,
        comparisons=comparisons,
        cases=tuple(cases),
        baseline=base,
        answer_cost=_sum(c.cost for c in cases if c.error is None),
        scoring_cost=_sum(c.scoring_cost for c in cases),
        elapsed=time.monotonic() - started,
        confidence=confidence,
        resamples=resamples,
        output_dir=out_dir,
        stopped=batch.stopped,
    )
    if out_dir is not None:
        from llmrelay.app.evals.files import write_report

        write_report(report, out_dir)
    return report


def _check_cost(estimate: EvalEstimate, max_cost: float) -> None:
    if not estimate.bounded:
        raise BudgetExceededError(
            f"the eval's cost cannot be bounded (a model has no known price), so it cannot be held under "
            f"max_cost ${max_cost:g}; add the prices to the catalog or drop max_cost",
            code="budget_price_unknown",
        )
    if estimate.max_cost > max_cost:
        raise BudgetExceededError(
            f"the eval could cost up to ${estimate.max_cost:.4f}, over max_cost ${max_cost:g} "
            f"({estimate.describe()}); set max_tokens, use fewer items or variants, or raise max_cost",
            code="budget_exceeded",
        )


def _model_of(variant: Variant, planned: _Planned, results: Sequence[BatchResult]) -> str | None:
    """The model the variant's calls named (its own, the template's, or the default)."""
    index = planned.variants.index(variant)
    prefix = f"{index}:"
    for request in planned.requests:
        if (request.id or "").startswith(prefix):
            return request.request.model
    return variant.model


async def _score_all(
    client: Client,
    planned: _Planned,
    results: Sequence[BatchResult],
    concurrency: int,
    progress: bool | BatchProgress,
) -> list[CaseResult]:
    shown: BatchProgress | None = RichProgress() if progress is True else (progress or None)
    gate = asyncio.Semaphore(concurrency)
    done = 0
    failed = 0
    spent: float | None = 0.0
    out: dict[str, CaseResult] = {}

    async def one(result: BatchResult) -> None:
        nonlocal done, failed, spent
        variant, item, messages = planned.cases[result.id]
        async with gate:
            case_result = await _score_one(client, planned.scorers, variant, item, messages, result)
        out[result.id] = case_result
        done += 1
        failed += any(s.error for s in case_result.scores.values())
        cost = case_result.scoring_cost
        spent = None if spent is None or cost is None else spent + cost
        if shown is not None:
            shown.update(done, failed, spent)

    if shown is not None:
        shown.start(len(results), 0, 0, 0.0, "scoring")
    try:
        async with asyncio.TaskGroup() as group:
            for result in results:
                group.create_task(one(result))
    finally:
        if shown is not None:
            shown.finish()
    order = {r.id: i for i, r in enumerate(planned.requests)}
    return [out[k] for k in sorted(out, key=lambda k: order[k])]


async def _score_one(
    client: Client,
    scorers: Sequence[Scorer],
    variant: Variant,
    item: EvalItem,
    messages: tuple[Message, ...],
    result: BatchResult,
) -> CaseResult:
    response = result.response
    if response is None:
        error = result.error.message if result.error is not None else "no answer"
        kind = result.error.type if result.error is not None else "Error"
        return CaseResult(variant.label, item.id, None, f"{kind}: {error}", {}, 0.0, None, None)
    case = Case(item, variant.label, messages, response.text)
    scored = await asyncio.gather(*(_safe_score(s, case, client) for s in scorers))
    scores: dict[str, Score] = {s.name: value for s, value in zip(scorers, scored, strict=True)}
    usage = response.usage
    return CaseResult(
        variant=variant.label,
        item_id=item.id,
        answer=response.text,
        error=None,
        scores=scores,
        quality=case_quality(scores, None),
        cost=response.cost,
        latency=response.latency,
        input_tokens=usage.input_tokens if usage is not None else None,
        output_tokens=usage.output_tokens if usage is not None else None,
    )


async def _safe_score(scorer: Scorer, case: Case, client: Client) -> Score:
    """A scorer's verdict; a scorer of your own that raises gives that answer a scorer error
    instead of ending the eval (the answers are paid for already)."""
    try:
        return await scorer.score(case, client)
    except Exception as exc:
        log.warning("scorer %s failed on item %r", scorer.name, case.item.id, exc_info=True)
        return Score.failed(f"{scorer.name} raised {type(exc).__name__}: {exc}")


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


__all__ = ["estimate_eval", "run_eval"]
