"""``llmrelay batch in.jsonl out.jsonl``: run a file of requests, resumably, in input order.

Exit status: 0 every item succeeded; 1 the run finished but some items failed (their errors
are in the output), or a budget stopped it; 2 the input, options or configuration are
wrong, or the estimate was not confirmed (nothing was sent); 130/143 interrupted — run the
same command again to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmrelay.cli.confirm import ask_to_spend

if TYPE_CHECKING:
    from llmrelay.app.batch import BatchEstimate, BatchReport, BatchResult
    from llmrelay.app.batch.runner import Mode


def batch(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT", help="JSONL: one request per line (see docs/batches.md).")
    ],
    output_file: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="JSONL results, in input order, with each input's id.")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model for lines that name none (default: the config's)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Calls in flight at once.")
    ] = 8,
    mode: Annotated[
        str,
        typer.Option(help="sync: one call per line; provider: the provider's batch API, at its batch price."),
    ] = "sync",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a large run.")] = False,
    confirm_above: Annotated[
        float,
        typer.Option(help="Ask before running when the worst-case cost (USD) is above this, or unknown."),
    ] = 1.0,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="Send again the items an earlier run recorded as failed.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard the journal of an earlier run and start over.")
    ] = False,
    journal: Annotated[
        Path | None, typer.Option(help="Journal file (default: OUTPUT.journal beside the output).")
    ] = None,
    poll_interval: Annotated[
        float | None, typer.Option(help="Provider mode: seconds between polls (default 30; simulator 0.05).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither reuse nor keep answers (by default deterministic ones are kept)."
        ),
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config file (default: $LLMRELAY_CONFIG).")
    ] = None,
) -> None:
    """Run every request of a JSONL file: results in input order, resumable, with cost."""
    from llmrelay import lifecycle
    from llmrelay.errors import ConfigError, InvalidRequestError, LLMRelayError

    if mode not in ("sync", "provider"):
        typer.echo(f"llmrelay: error: --mode must be sync or provider, got {mode!r}", err=True)
        raise typer.Exit(code=2)
    if input_file.resolve() == output_file.resolve():
        typer.echo("llmrelay: error: the output must be another file than the input", err=True)
        raise typer.Exit(code=2)
    done: list[BatchResult] = []
    o = _Options(
        model, concurrency, mode, yes, confirm_above, retry_errors, restart, journal, poll_interval, no_cache
    )
    try:
        estimate = lifecycle.run(_estimate(input_file, output_file, o, config))
        typer.echo(f"llmrelay: {estimate.describe()}", err=True)
        if not _confirmed(estimate, o):
            raise typer.Exit(code=2)
        code = lifecycle.run(_run(input_file, output_file, o, progress, config, done))
    except lifecycle.ShutdownRequested as stop:
        typer.echo(
            f"\nllmrelay: interrupted after {len(done)} results in order; "
            "run the same command again to resume (finished items are not sent again)",
            err=True,
        )
        raise typer.Exit(code=128 + stop.signum) from None
    except LLMRelayError as exc:
        typer.echo(f"llmrelay: error: {exc}", err=True)
        local = isinstance(exc, ConfigError) or (isinstance(exc, InvalidRequestError) and exc.status is None)
        raise typer.Exit(code=2 if local else 1) from None
    raise typer.Exit(code=code)


def _confirmed(estimate: BatchEstimate, o: _Options) -> bool:
    """Whether to go ahead: at once for a small run, else with --yes or the user's answer.
    (Asked outside the event loop, so that Ctrl-C at the prompt works as usual.)"""
    large = not estimate.bounded or estimate.max_cost > o.confirm_above
    if not estimate.items or not large or o.yes:
        return True
    return ask_to_spend("the run", o.confirm_above)


class _Options:
    def __init__(
        self,
        model: str | None,
        concurrency: int,
        mode: str,
        yes: bool,
        confirm_above: float,
        retry_errors: bool,
        restart: bool,
        journal: Path | None,
        poll_interval: float | None,
        no_cache: bool = False,
    ) -> None:
        self.model = model
        self.concurrency = concurrency
        self.mode = mode
        self.yes = yes
        self.confirm_above = confirm_above
        self.retry_errors = retry_errors
        self.restart = restart
        self.journal = journal
        self.poll_interval = poll_interval
        self.no_cache = no_cache


def _mode(o: _Options) -> Mode:
    return "provider" if o.mode == "provider" else "sync"


async def _estimate(input_file: Path, output_file: Path, o: _Options, config: Path | None) -> BatchEstimate:
    from llmrelay.app.batch import estimate_batch
    from llmrelay.cli.cache import cli_settings
    from llmrelay.client import Client

    async with Client(cli_settings(config, no_cache=o.no_cache)) as client:
        return await estimate_batch(
            client,
            input_file,
            model=o.model,
            mode=_mode(o),
            output=None if o.restart else output_file,
            journal=None if o.restart else o.journal,
            retry_errors=o.retry_errors,
        )


async def _run(
    input_file: Path,
    output_file: Path,
    o: _Options,
    progress: bool,
    config: Path | None,
    done: list[BatchResult],
) -> int:
    from llmrelay.app.batch import RichProgress, run_batch
    from llmrelay.cli.cache import cli_settings
    from llmrelay.client import Client

    async with Client(cli_settings(config, no_cache=o.no_cache)) as client:
        report = await run_batch(
            client,
            input_file,
            concurrency=o.concurrency,
            model=o.model,
            mode=_mode(o),
            output=output_file,
            journal=o.journal,
            restart=o.restart,
            retry_errors=o.retry_errors,
            progress=RichProgress() if progress else False,
            on_result=done.append,
            poll_interval=o.poll_interval,
        )
    typer.echo(_summary(report), err=True)
    if report.stopped:
        typer.echo(f"llmrelay: stopped early ({report.stopped}); run again to resume", err=True)
        return 1
    return 0 if report.failed == 0 else 1


def _summary(report: BatchReport) -> str:
    cost = "unknown" if report.cost is None else f"${report.cost:.4f}"
    earlier = f" ({report.resumed} from an earlier run)" if report.resumed else ""
    return (
        f"llmrelay: {len(report.results)}/{report.total} items done{earlier}: {report.succeeded} ok, "
        f"{report.failed} failed; cost {cost} (this run ${report.run_cost:.4f}, {report.elapsed:.1f}s); "
        f"results in {report.output}"
    )
