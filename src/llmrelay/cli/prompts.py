"""``llmrelay prompts list|show|render``: look into a prompt library from the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from llmrelay.errors import LLMRelayError

if TYPE_CHECKING:
    from llmrelay.app.prompts import PromptLibrary, PromptTemplate

app = typer.Typer(
    name="prompts",
    help="List, show and render the prompt templates of a library folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DirOpt = Annotated[Path, typer.Option("--dir", "-d", help="The prompt library folder.")]
VersionOpt = Annotated[
    str | None, typer.Option("--version", "-V", help="A version (default: the name's default).")
]


def _fail(exc: LLMRelayError) -> typer.Exit:
    from llmrelay.cli.main import _fail as report

    return report(exc)


def _library(folder: Path) -> PromptLibrary:
    from llmrelay.app.prompts import PromptLibrary

    try:
        return PromptLibrary.load(folder)
    except LLMRelayError as exc:
        raise _fail(exc) from None


@app.command("list")
def list_prompts(folder: DirOpt = Path("prompts")) -> None:
    """Every prompt: its versions, the default, any A/B split, and what it is for."""
    from rich.console import Console
    from rich.table import Table

    lib = _library(folder)
    table = Table(title=f"Prompts in {folder}", title_justify="left")
    for col in ("name", "versions", "default", "A/B split", "description"):
        table.add_column(col)
    for name in lib.names():
        default = lib.default_version(name)
        exp = lib.experiment(name)
        split = ", ".join(f"{v} {share:.0%}" for v, share in exp.shares.items()) if exp else "-"
        table.add_row(
            name,
            ", ".join(lib.versions(name)),
            default,
            split,
            lib.get(name, default).description or "",
        )
    Console().print(table)
    if not len(lib):
        typer.echo(f"no templates in {folder} (*.yaml, *.yml, *.j2, *.jinja)", err=True)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The prompt's name (name@version works too).")],
    version: VersionOpt = None,
    folder: DirOpt = Path("prompts"),
) -> None:
    """A template's fields, variables and text."""
    lib = _library(folder)
    try:
        t = lib.get(name, version)
    except LLMRelayError as exc:
        raise _fail(exc) from None
    default = lib.default_version(t.name)
    lines = [f"{t.label}" + (" (default)" if t.version == default else "")]
    if t.description:
        lines.append(f"description: {t.description}")
    if t.source:
        lines.append(f"file: {t.source}")
    if t.model:
        lines.append(f"model: {t.model}")
    if t.params:
        lines.append("params: " + ", ".join(f"{k}={v!r}" for k, v in t.params.items()))
    lines.append("variables:" if t.variables else "variables: none")
    for v in t.variables:
        req = "required" if v.required else f"default {v.default!r}"
        extra = f"; one of {', '.join(map(repr, v.enum))}" if v.enum else ""
        about = f" - {v.description}" if v.description else ""
        lines.append(f"  {v.name}: {v.type} ({req}{extra}){about}")
    for part, text in (("system", t.system_source), ("user", t.user_source)):
        if text:
            lines.append(f"--- {part} ---")
            lines.append(text.rstrip("\n"))
    typer.echo("\n".join(lines))


@app.command()
def render(
    name: Annotated[str, typer.Argument(help="The prompt's name (name@version works too).")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="A variable as NAME=VALUE (repeatable; lists and dicts as JSON)."),
    ] = None,
    vars_json: Annotated[
        str | None, typer.Option("--vars", help="All variables as one JSON object (a --var wins over it).")
    ] = None,
    version: VersionOpt = None,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Pick the version by A/B split for this user id.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages and metadata as JSON.")] = False,
    folder: DirOpt = Path("prompts"),
) -> None:
    """Fill a template in and print what would be sent (nothing is sent)."""
    lib = _library(folder)
    try:
        template, experiment = lib.choose(name, version=version, user_id=user)
        values = _values(template, vars_json, var or [])
        rendered = template.render(values)
        if experiment is not None:
            rendered = replace(rendered, experiment=experiment.salt or experiment.prompt)
    except LLMRelayError as exc:
        raise _fail(exc) from None
    if experiment is not None:
        typer.echo(f"A/B: user {user!r} gets {template.label}", err=True)
    if as_json:
        doc = {
            "prompt": rendered.name,
            "version": rendered.version,
            "experiment": rendered.experiment,
            "model": rendered.model,
            "params": dict(rendered.params),
            "metadata": rendered.metadata,
            "messages": [{"role": m.role, "content": m.text()} for m in rendered.messages()],
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    for m in rendered.messages():
        typer.echo(f"[{m.role}]\n{m.text()}\n")


def _values(template: PromptTemplate, vars_json: str | None, pairs: list[str]) -> dict[str, Any]:
    """The variables from ``--vars`` JSON and ``--var NAME=VALUE`` pairs, each read by its
    declared type (an undeclared name is kept as text, for ``render`` to refuse by name)."""
    from llmrelay.errors import ConfigError

    values: dict[str, Any] = {}
    if vars_json is not None:
        try:
            loaded = json.loads(vars_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--vars is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError('--vars must be a JSON object, e.g. {"question": "Hi"}')
        values.update(loaded)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--var {pair!r} is not NAME=VALUE")
        declared = template.variable(key)
        try:
            values[key] = declared.from_text(text) if declared is not None else text
        except (ValueError, json.JSONDecodeError) as exc:
            raise ConfigError(f"--var {key}: {exc}") from None
    return values
