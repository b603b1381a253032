"""The ``llmrelay`` command line: a thin face over the library."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from llmrelay import lifecycle
from llmrelay.cli import session as session_cli
from llmrelay.cli.batch import batch
from llmrelay.cli.cache import app as cache_app
from llmrelay.cli.cache import cli_settings
from llmrelay.cli.eval import eval_command
from llmrelay.cli.prompts import app as prompts_app
from llmrelay.cli.tail import tail
from llmrelay.errors import ConfigError, InvalidRequestError, LLMRelayError
from llmrelay.types import Usage

app = typer.Typer(
    name="llmrelay",
    help="Talk to any LLM provider through one reliable pipeline (or the built-in simulator).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(batch)
app.command(name="eval")(eval_command)
app.command()(tail)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (default: $LLMRELAY_CONFIG).")
]


def _fail(exc: LLMRelayError) -> typer.Exit:
    typer.echo(f"llmrelay: error: {exc}", err=True)
    # 2: the user's input or configuration is wrong (nothing was sent); 1: the call failed
    local = isinstance(exc, ConfigError) or (isinstance(exc, InvalidRequestError) and exc.status is None)
    return typer.Exit(code=2 if local else 1)


@app.command()
def chat(
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; '-' (or nothing, with a pipe) reads stdin.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Alias or provider/model.")] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="System instruction.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Cap on generated tokens.")] = None,
    reasoning_effort: Annotated[
        str | None,
        typer.Option(
            "--reasoning-effort",
            help="How hard a reasoning model thinks: none, minimal, low, medium, high, xhigh or max "
            "(which ones depends on the model; see docs/library.md).",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the whole response as one JSON object instead of streaming text."),
    ] = False,
    show_usage: Annotated[
        bool, typer.Option("--show-usage", help="Print token usage and timing after the reply.")
    ] = False,
    session: Annotated[
        str | None, typer.Option(help="Continue (or start) the saved conversation NAME.")
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="Where sessions are kept (sqlite:///…, postgresql://…, redis://…).")
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Chat turn by turn (default on a terminal with no prompt)."),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither reuse nor keep answers (by default --temperature 0 answers are kept)."
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Send a prompt and stream the reply to the terminal, or chat turn by turn."""
    params: dict[str, Any] = {}
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if reasoning_effort is not None:
        params["reasoning"] = reasoning_effort  # a plain effort; Client.chat makes it a Reasoning
    if session_cli.wants_session(prompt, session, interactive):
        code = session_cli.chat_session(
            prompt,
            model=model,
            system=system,
            params=params,
            session=session,
            store=store,
            interactive=interactive,
            as_json=as_json,
            show_usage=show_usage,
            config=config,
            no_cache=no_cache,
        )
        raise typer.Exit(code=code)
    text = _read_prompt(prompt)
    try:
        # SIGTERM/SIGINT cancel the call and let the client close, so its usage record is written
        code = lifecycle.run(_chat(text, model, system, params, as_json, show_usage, config, no_cache))
    except LLMRelayError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None
    raise typer.Exit(code=code)


def _read_prompt(prompt: str | None) -> str:
    if prompt == "-" or (prompt is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
    elif prompt is None:
        typer.echo(
            "llmrelay: error: give a prompt, e.g. llmrelay chat \"Hello\", or '-' to read stdin", err=True
        )
        raise typer.Exit(code=2)
    else:
        text = prompt
    if not text.strip():
        typer.echo("llmrelay: error: the prompt is empty", err=True)
        raise typer.Exit(code=2)
    return text


async def _chat(
    text: str,
    model: str | None,
    system: str | None,
    params: dict[str, Any],
    as_json: bool,
    show_usage: bool,
    config: Path | None,
    no_cache: bool = False,
) -> int:
    from llmrelay.client import Client
    from llmrelay.hosts import is_simulator
    from llmrelay.types import Message, TextDelta

    messages = ([Message.system(system)] if system else []) + [Message.user(text)]
    async with Client(cli_settings(config, no_cache=no_cache)) as client:
        route = client.route(model)
        ep = route.deployments[0].endpoint
        if is_simulator(ep.base_url):
            typer.echo(
                f"llmrelay: model {route.alias!r} is the built-in simulator, not a real provider; "
                "for one, set e.g. OPENAI_API_KEY and pass --model openai/gpt-4o-mini.",
                err=True,
            )
        if as_json:
            resp = await client.chat(messages, model=model, **params)
            typer.echo(json.dumps(_response_dict(resp), indent=2))
            return 0
        out = sys.stdout
        async with client.stream(messages, model=model, **params) as stream:
            async for ev in stream:
                if isinstance(ev, TextDelta):
                    out.write(ev.text)
                    out.flush()
            resp = await stream.final()
        for call in resp.tool_calls:
            out.write(f"\n[tool call] {call.name}({call.arguments})")
        out.write("\n")
        if show_usage:
            usage = _usage_line(resp.usage, resp.cost)
            ttft = (
                f", first token {resp.time_to_first_token * 1000:.0f} ms" if resp.time_to_first_token else ""
            )
            latency = f"{(resp.latency or 0) * 1000:.0f} ms"
            typer.echo(
                f"[{resp.provider}/{resp.model}] {usage}; finish={resp.finish_reason}; {latency}{ttft}",
                err=True,
            )
    return 0


def _response_dict(resp: Any) -> dict[str, Any]:
    d = asdict(resp)
    d.pop("raw", None)
    d["meta"] = resp.meta.as_dict()
    return d


@app.command()
def models(config: ConfigOpt = None) -> None:
    """List configured aliases and known providers (with whether their key is set)."""
    import os

    from rich.console import Console
    from rich.table import Table

    from llmrelay.hosts import HOSTS
    from llmrelay.resolve import LOCAL_ALIAS, LOCAL_MODEL
    from llmrelay.settings import Settings

    try:
        settings = Settings.load(config)
    except LLMRelayError as exc:
        raise _fail(exc) from None
    console = Console()
    aliases = Table(title="Model aliases", title_justify="left")
    for col in ("alias", "deployments", "fallbacks"):
        aliases.add_column(col)
    for name, alias in settings.models.items():
        deps = ", ".join(
            f"{d.provider}/{d.model}" + (f" (w={d.weight:g})" if d.weight != 1 else "")
            for d in alias.deployments
        )
        aliases.add_row(name, deps, ", ".join(alias.fallbacks) or "-")
    if LOCAL_ALIAS not in settings.models:
        aliases.add_row(LOCAL_ALIAS, f"simulator/{LOCAL_MODEL} (built in)", "-")
    console.print(aliases)
    providers = Table(title="Providers (use as provider/model)", title_justify="left")
    for col in ("provider", "protocol", "key", "description"):
        providers.add_column(col)
    for host in HOSTS.values():
        if not host.key_env:
            key = "not needed"
        else:
            present = next((v for v in host.key_env if os.environ.get(v)), None)
            key = (
                f"{present} set"
                if present
                else (f"{host.key_env[0]} missing" if host.key_required else "optional")
            )
        providers.add_row(host.name, host.protocol, key, host.description)
    console.print(providers)
    console.print(f"default model: [bold]{settings.default_model}[/bold]")


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    seed: Annotated[int, typer.Option(help="Seed for the deterministic replies.")] = 0,
    latency: Annotated[float, typer.Option(help="Seconds before each response starts.")] = 0.0,
    ttft: Annotated[float, typer.Option(help="Extra seconds before the first streamed token.")] = 0.0,
    tps: Annotated[float | None, typer.Option(help="Streamed tokens per second (default: unpaced).")] = None,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="Accept only these keys (repeatable); default: any.")
    ] = None,
) -> None:
    """Run the provider simulator as an HTTP server (OpenAI, Anthropic and Gemini wire protocols)."""
    from llmrelay.simulator import SimulatorConfig
    from llmrelay.simulator.server import serve

    cfg = SimulatorConfig(
        seed=seed,
        latency=latency,
        ttft=ttft,
        tokens_per_second=tps,
        api_keys=frozenset(api_key) if api_key else None,
    )
    typer.echo(
        f"llmrelay simulator on http://{host}:{port}  "
        + "(OpenAI: /v1/chat/completions, Anthropic: /v1/messages, "
        + "Gemini: /v1beta/models/{model}:generateContent)",
        err=True,
    )
    serve(host=host, port=port, config=cfg)


def _usage_line(u: Usage | None, cost: float | None) -> str:
    """``1200 in (1000 cached, 150 written) / 300 out (50 reasoning), $0.0012``: the parts
    only when there are some."""
    if u is None:
        return "usage not reported"
    parts = [f"{u.cached_input_tokens} cached"] if u.cached_input_tokens else []
    if u.cache_write_tokens:
        hour = f", {u.cache_write_1h_tokens} for 1h" if u.cache_write_1h_tokens else ""
        parts.append(f"{u.cache_write_tokens} written{hour}")
    text = f"{u.input_tokens} in" + (f" ({', '.join(parts)})" if parts else "")
    text += f" / {u.output_tokens} out" + (f" ({u.reasoning_tokens} reasoning)" if u.reasoning_tokens else "")
    return text + (f", ${cost:.6f}" if cost is not None else ", cost unknown")


@app.command()
def usage(
    by: Annotated[
        str,
        typer.Option(
            "--by", "-b", help="Group by day, model, key, tag, user, alias, provider, status or prompt."
        ),
    ] = "day",
    since: Annotated[
        str | None,
        typer.Option(help="From (inclusive): 2026-11-01, 2026-11-01T09:00 (UTC), today, yesterday, 7d, 24h."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="To (exclusive), in the same forms.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: the query, a row per group and the total.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV to this file (implies --csv).")
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger", help="Ledger URL (default: ledger.url from the config, else the local file)."
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Show usage and cost totals from the ledger, by day, model, key or tag.

    Besides tokens and cost: reasoning tokens, cache reads, cache writes by lifetime (5m,
    1h), and what the provider's cache and llmrelay's response cache saved.
    """
    from llmrelay.ledger.query import UsageQuery, parse_when
    from llmrelay.ledger.report import usage_report, usage_table, write_csv
    from llmrelay.settings import Settings

    try:
        settings = Settings.load(config)
        query = UsageQuery(
            by=by,
            since=parse_when(since) if since else None,
            until=parse_when(until) if until else None,
        )
        url = ledger or (settings.ledger.url.get_secret_value() if settings.ledger.url else None)
        report = asyncio.run(usage_report(url, settings.ledger.table_prefix, query))
    except LLMRelayError as exc:
        raise _fail(exc) from None
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as f:
            write_csv(report.rows, by, f)
        typer.echo(f"wrote {len(report.rows)} rows to {output}", err=True)
    elif as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    elif as_csv:
        write_csv(report.rows, by, sys.stdout)
    else:
        from rich.console import Console

        Console().print(usage_table(report.rows, report.total, by, report.title))


app.add_typer(prompts_app)
app.add_typer(cache_app)


def run() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
