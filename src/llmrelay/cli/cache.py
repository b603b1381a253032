"""``llmrelay cache stats|clear|prune``, and the CLI's own cache default.

The library's cache is off unless configured (and in memory when on). The CLI's is on:
when the configuration has no ``cache`` section (neither in the file nor in
``LLMRELAY_CACHE__…`` variables), ``llmrelay chat`` and ``llmrelay batch`` keep answers
in a SQLite file in the user cache directory (``$XDG_CACHE_HOME/llmrelay/cache.sqlite3``),
so that running the same deterministic request again reuses its answer. ``--no-cache``, or
a ``cache`` section (``enabled: false`` to turn it off), decides otherwise.

The commands work on the backend the configuration names, that default included: the
SQLite file, or the Redis prefix.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmrelay.errors import LLMRelayError

if TYPE_CHECKING:
    from llmrelay.cache import Backend, BackendStats
    from llmrelay.settings import Settings

app = typer.Typer(
    name="cache",
    help="Inspect and empty the response cache (the CLI's SQLite file, or the configured backend).",
    no_args_is_help=True,
)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (default: $LLMRELAY_CONFIG).")
]


def cli_settings(config: str | Path | None, *, no_cache: bool = False) -> Settings:
    """The settings the CLI runs with: the configuration's, with the CLI's cache default
    (a SQLite file) when it has no ``cache`` section, and no cache with ``--no-cache``."""
    from llmrelay.settings import Settings
    from llmrelay.settings.cache import CacheSettings

    settings = Settings.load(config)
    if no_cache:
        return settings.model_copy(update={"cache": settings.cache.model_copy(update={"enabled": False})})
    if "cache" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"cache": CacheSettings(enabled=True, backend="sqlite")})


def _fail(exc: LLMRelayError) -> typer.Exit:
    typer.echo(f"llmrelay: error: {exc}", err=True)
    return typer.Exit(code=2)


def _backend(config: Path | None) -> Backend:
    from llmrelay.cache import open_backend
    from llmrelay.errors import ConfigError

    settings = cli_settings(config)
    if settings.cache.backend == "memory":
        raise ConfigError(
            "the configured cache backend is memory: it lives inside each process, so there is "
            + "nothing here to inspect or clear (the commands work on sqlite and redis)"
        )
    return open_backend(settings.cache, settings.state.redis_url)


def _when(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def _stats_dict(s: BackendStats) -> dict[str, object]:
    return {
        "backend": s.backend,
        "entries": s.entries,
        "bytes": s.bytes,
        "expired": s.expired,
        "oldest": _when(s.oldest),
        "newest": _when(s.newest),
        "hits": s.hits,
        "misses": s.misses,
        "semantic_vectors": s.vectors,
    }


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Entries, bytes, expired entries, oldest and newest answer, recorded hits and misses."""

    async def run() -> BackendStats:
        backend = _backend(config)
        try:
            return await backend.stats()
        finally:
            await backend.aclose()

    try:
        doc = _stats_dict(asyncio.run(run()))
    except LLMRelayError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    hits, misses = doc["hits"], doc["misses"]
    if isinstance(hits, int) and isinstance(misses, int) and hits + misses:
        doc["hit rate"] = f"{hits / (hits + misses):.1%}"
    for name, value in doc.items():
        if value is not None:
            typer.echo(f"{name:>16}: {value}")


@app.command()
def clear(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    all_entries: Annotated[
        bool, typer.Option("--all", help="Every entry (the default without filters).")
    ] = False,
    alias: Annotated[str | None, typer.Option(help="Only the answers of this model alias.")] = None,
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="Only this subject's (with --team/--user).")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this subject's (with --key-id/--user).")] = None,
    user: Annotated[str | None, typer.Option(help="Only this subject's (with --key-id/--team).")] = None,
    shared: Annotated[bool, typer.Option("--shared", help="Only the shared namespace's answers.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Remove stored answers: all of them, or one alias's, or one tenant's (a namespace is
    the subject's key id, team and user together; the CLI's own calls have none of them)."""
    from llmrelay.cache import Scope, namespace
    from llmrelay.types import Subject

    subject = key_id is not None or team is not None or user is not None
    if all_entries and (alias is not None or subject or shared):
        typer.echo(
            "llmrelay: error: --all cannot be combined with --alias, --key-id, --team, --user or --shared",
            err=True,
        )
        raise typer.Exit(code=2)
    if shared and subject:
        typer.echo(
            "llmrelay: error: --shared is a namespace of its own; leave out --key-id/--team/--user", err=True
        )
        raise typer.Exit(code=2)
    space = None
    if shared:
        space = namespace(Subject(), shared=True)
    elif subject:
        space = namespace(Subject(key_id=key_id, user=user, team=team))
    scope = Scope(space, alias)
    parts = ([f"alias {alias!r}"] if alias else []) + ([f"namespace {space}"] if space else [])
    what = "the stored answers of " + " in ".join(parts) if parts else "every stored answer"

    async def run() -> tuple[str, int]:
        backend = _backend(config)
        try:
            return backend.description, await backend.clear(scope)
        finally:
            await backend.aclose()

    if not yes:
        if not sys.stdin.isatty():
            typer.echo(f"llmrelay: error: this would remove {what}; pass --yes to confirm", err=True)
            raise typer.Exit(code=2)
        try:
            ok = typer.confirm(f"Remove {what}?", default=False, err=True)
        except typer.Abort:
            ok = False
        if not ok:
            typer.echo("llmrelay: nothing removed (pass --yes to skip the question)", err=True)
            raise typer.Exit(code=1)
    try:
        where, n = asyncio.run(run())
    except LLMRelayError as exc:
        raise _fail(exc) from None
    typer.echo(f"removed {n} entries from {where}")


@app.command()
def prune(
    max_bytes: Annotated[
        int | None,
        typer.Option("--max-bytes", min=0, help="Then remove the oldest answers until the rest fit (bytes)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Remove expired answers (and, with --max-bytes, the oldest past a size). Redis
    expires answers by itself and bounds its size with its own maxmemory policy."""

    async def run() -> tuple[str, int]:
        backend = _backend(config)
        try:
            return backend.description, await backend.prune(max_bytes)
        finally:
            await backend.aclose()

    try:
        where, n = asyncio.run(run())
    except LLMRelayError as exc:
        raise _fail(exc) from None
    typer.echo(f"removed {n} entries from {where}")
