"""``llmrelay eval dataset.jsonl --prompt NAME@v1 --prompt NAME@v2 --model a --model b``: run a
dataset through prompt versions × models, score every answer, and compare the variants.

Exit status: 0 the eval ran and every answer call succeeded; 1 some answer calls failed (they
score 0 and are in the results) or a budget stopped the run; 2 the dataset, prompts, scorers,
options or configuration are wrong, or the estimate was not confirmed (nothing was sent);
130/143 interrupted — run the same command again to resume (answers already got are kept).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmrelay.cli.confirm import ask_to_spend

if TYPE_CHECKING:
    from llmrelay.app.evals import EvalEstimate, EvalReport, Variant
    from llmrelay.app.evals.scorers import Scorer


def eval_command(
    dataset: Annotated[
        Path, typer.Argument(metavar="DATASET", help="JSONL: one item per line (see docs/evals.md).")
    ],
    prompt: Annotated[
        list[str] | None,
        typer.Option("--prompt", "-p", help="A prompt version, NAME@VERSION (repeatable)."),
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="A model or alias (repeatable).")
    ] = None,
    score: Annotated[
        list[str] | None,
        typer.Option(
            "--score",
            "-s",
            help="A scorer (repeatable): exact, exact:casefold, regex[:PATTERN], json-schema[:FILE], "
            "json-schema-strict[:FILE], numeric[:TOL or N%], python:MODULE:FUNCTION, judge. "
            "Default: exact, plus judge when --rubric is given.",
        ),
    ] = None,
    rubric: Annotated[
        str | None, typer.Option(help="The judge's rubric: TEXT, or @FILE. Adds the judge scorer.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="The judge's model (default: the config's default model).")
    ] = None,
    judge_scale: Annotated[
        str, typer.Option(help="The judge's scale, LOW-HIGH (mapped onto quality 0-1).")
    ] = "1-5",
    prompts_dir: Annotated[Path, typer.Option("--dir", "-d", help="The prompt library folder.")] = Path(
        "prompts"
    ),
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", help="Where results go (default: DATASET's name + '-eval' in this folder)."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Cap on each answer's tokens.")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature of the answers.")] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Calls in flight at once.")
    ] = 8,
    baseline: Annotated[
        str | None, typer.Option(help="The variant the others are compared with (default: the first).")
    ] = None,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Confidence of the intervals.")
    ] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a large run.")] = False,
    confirm_above: Annotated[
        float,
        typer.Option(help="Ask before running when the worst-case cost (USD) is above this, or unknown."),
    ] = 1.0,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard the answers of an earlier run and ask again.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config file (default: $LLMRELAY_CONFIG).")
    ] = None,
) -> None:
    """Run a dataset through prompt versions × models; score, compare, and write an HTML report."""
    from llmrelay import lifecycle
    from llmrelay.errors import ConfigError, InvalidRequestError, LLMRelayError

    out = output_dir if output_dir is not None else Path(f"{dataset.name.split('.')[0]}-eval")
    params: dict[str, object] = {}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    try:
        variants = _variants(prompt or [], model or [], prompts_dir)
        scorers = _scorers(score or [], rubric, judge_model, judge_scale)
        estimate = lifecycle.run(_estimate(dataset, variants, scorers, params, out, restart, config))
        typer.echo(f"llmrelay: {estimate.describe()}", err=True)
        if not _confirmed(estimate, yes, confirm_above):
            raise typer.Exit(code=2)
        report = lifecycle.run(
            _run(
                dataset,
                variants,
                scorers,
                params,
                out,
                restart,
                config,
                concurrency,
                progress,
                baseline,
                confidence,
                seed,
            )
        )
    except lifecycle.ShutdownRequested as stop:
        typer.echo(
            f"\nllmrelay: interrupted; run the same command again to resume (answers in {out} are kept)",
            err=True,
        )
        raise typer.Exit(code=128 + stop.signum) from None
    except LLMRelayError as exc:
        typer.echo(f"llmrelay: error: {exc}", err=True)
        local = isinstance(exc, ConfigError) or (isinstance(exc, InvalidRequestError) and exc.status is None)
        raise typer.Exit(code=2 if local else 1) from None
    _show(report)
    failed = sum(v.failed for v in report.variants)
    if report.stopped:
        typer.echo(f"llmrelay: stopped early ({report.stopped}); run again to resume", err=True)
    raise typer.Exit(code=1 if failed or report.stopped else 0)


def _variants(prompts: list[str], models: list[str], folder: Path) -> list[Variant]:
    from llmrelay.app.evals import make_variants

    library = None
    if prompts:
        from llmrelay.app.prompts import PromptLibrary

        library = PromptLibrary.load(folder)
    return make_variants(prompts, models, library=library)


def _scorers(specs: list[str], rubric: str | None, judge_model: str | None, scale: str) -> list[Scorer]:
    from llmrelay.app.evals import ScorerSpecError, parse_scorer
    from llmrelay.app.evals.specs import read_rubric

    low, sep, high = scale.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ScorerSpecError(f"--judge-scale is LOW-HIGH in whole numbers, like 1-5; got {scale!r}")
    text = read_rubric(rubric) if rubric is not None else None
    wanted = list(specs) or ["exact"]
    if text is not None and not any(s.strip().lower() == "judge" for s in wanted):
        wanted.append("judge")
    if os.getcwd() not in sys.path:  # python:MODULE:FUNCTION scorers live beside the dataset, as a rule
        sys.path.insert(0, os.getcwd())
    return [
        parse_scorer(s, rubric=text, judge_model=judge_model, judge_scale=(int(low), int(high)))
        for s in wanted
    ]


def _confirmed(estimate: EvalEstimate, yes: bool, confirm_above: float) -> bool:
    """Go ahead at once for a small run, else with --yes or the user's answer (asked
    outside the event loop, so that Ctrl-C at the prompt works)."""
    large = not estimate.bounded or estimate.max_cost > confirm_above
    if not large or yes or not (estimate.answers.items or estimate.judge_calls):
        return True
    return ask_to_spend("the eval", confirm_above)


async def _estimate(
    dataset: Path,
    variants: list[Variant],
    scorers: list[Scorer],
    params: dict[str, object],
    out: Path,
    restart: bool,
    config: Path | None,
) -> EvalEstimate:
    from llmrelay.app.evals import estimate_eval
    from llmrelay.client import Client

    async with Client(config=config) as client:
        return await estimate_eval(
            client, dataset, variants, scorers, params=params, output_dir=out, restart=restart
        )


async def _run(
    dataset: Path,
    variants: list[Variant],
    scorers: list[Scorer],
    params: dict[str, object],
    out: Path,
    restart: bool,
    config: Path | None,
    concurrency: int,
    progress: bool,
    baseline: str | None,
    confidence: float,
    seed: int,
) -> EvalReport:
    from llmrelay.app.evals import run_eval
    from llmrelay.client import Client

    async with Client(config=config) as client:
        return await run_eval(
            client,
            dataset,
            variants,
            scorers,
            params=params,
            concurrency=concurrency,
            output_dir=out,
            restart=restart,
            progress=progress,
            baseline=baseline,
            confidence=confidence,
            seed=seed,
        )


def _show(report: EvalReport) -> None:
    from rich.console import Console
    from rich.table import Table

    conf = f"{report.confidence * 100:g}%"
    table = Table(title=f"{report.title}: {report.items} items", title_justify="left")
    for col in ("variant", "quality", f"{conf} CI", *report.scorers, "failed", "cost", "p50", "p95"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for v in report.variants:
        q = v.quality
        table.add_row(
            v.label,
            "–" if q is None else f"{q.estimate:.3f}",
            "–" if q is None else f"{q.low:.3f}–{q.high:.3f}",
            *("–" if v.scorers.get(n) is None else f"{v.scorers[n]:.3f}" for n in report.scorers),
            str(v.failed),
            "unknown" if v.cost is None else f"${v.cost:.4f}",
            "–" if v.latency_p50 is None else f"{v.latency_p50 * 1000:.0f} ms",
            "–" if v.latency_p95 is None else f"{v.latency_p95 * 1000:.0f} ms",
        )
    console = Console()
    console.print(table)
    for c in report.comparisons:
        d = c.difference
        if d is None:
            console.print(f"{c.variant} vs {c.baseline}: no items to pair")
            continue
        verdict = "significant" if c.significant else "not significant"
        console.print(
            f"{c.variant} − {c.baseline}: {d.estimate:+.3f} ({conf} CI {d.low:+.3f} to {d.high:+.3f}, "
            f"{c.items} paired items, {verdict})",
            highlight=False,
        )
    scoring = "unknown" if report.scoring_cost is None else f"${report.scoring_cost:.4f}"
    answers = "unknown" if report.answer_cost is None else f"${report.answer_cost:.4f}"
    typer.echo(
        f"llmrelay: answers cost {answers}, scoring {scoring}; results in {report.results_path}, "
        f"report in {report.html_path}",
        err=True,
    )
