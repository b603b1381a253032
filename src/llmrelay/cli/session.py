"""``llmrelay chat --session NAME`` and the interactive ``llmrelay chat`` REPL.

The conversation logic is ``llmrelay.app.conversations`` (``Conversation``, ``ChatSession``);
this module is the terminal around it: reading lines (with line editing and a history file
when stdin is a terminal), Ctrl-C (stops the reply being written, and nothing is stored) and
Ctrl-D (leaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from llmrelay import lifecycle
from llmrelay.errors import LLMRelayError

if TYPE_CHECKING:
    from llmrelay.app.conversations import Conversation, ConversationStore
    from llmrelay.client import Client


def wants_session(prompt: str | None, session: str | None, interactive: bool) -> bool:
    """Whether ``llmrelay chat`` runs as a conversation: a named session, ``-i``, or no
    prompt given on a terminal."""
    return session is not None or interactive or (prompt is None and sys.stdin.isatty())


def chat_session(
    prompt: str | None,
    *,
    model: str | None,
    system: str | None,
    params: dict[str, Any],
    session: str | None,
    store: str | None,
    interactive: bool,
    as_json: bool,
    show_usage: bool,
    config: Path | None,
    no_cache: bool = False,
) -> int:
    """Run one turn of a saved session, or the REPL; returns the exit code. ``params``:
    the call options the command line gave (temperature, max_tokens, reasoning)."""
    from llmrelay.cli.main import _fail, _read_prompt

    if interactive or (prompt is None and sys.stdin.isatty()):
        if as_json:
            typer.echo("llmrelay: error: --json needs a prompt; it cannot be used interactively", err=True)
            return 2
        return _repl(model, system, params, session, store, show_usage, config, no_cache)
    text = _read_prompt(prompt)
    try:
        return lifecycle.run(
            _one_turn(text, model, system, params, session, store, as_json, show_usage, config, no_cache)
        )
    except LLMRelayError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        return 130


async def _open(
    client: Client, model: str | None, system: str | None, session: str | None, store: ConversationStore
) -> Conversation:
    from llmrelay.app.conversations import Conversation

    if session is None:
        return Conversation(client, model=model, system=system, store=store)
    return await Conversation.open(client, session, store=store, model=model, system=system)


async def _one_turn(
    text: str,
    model: str | None,
    system: str | None,
    params: dict[str, Any],
    session: str | None,
    store_url: str | None,
    as_json: bool,
    show_usage: bool,
    config: Path | None,
    no_cache: bool = False,
) -> int:
    from llmrelay.app.conversations import ChatSession, open_store
    from llmrelay.cli.cache import cli_settings
    from llmrelay.cli.main import _response_dict
    from llmrelay.client import Client

    store = open_store(store_url)
    try:
        async with Client(cli_settings(config, no_cache=no_cache)) as client:
            conv = await _open(client, model, system, session, store)
            typer.echo(_banner(client, conv, session, None), err=True)
            if as_json:
                reply = await conv.send(text, **params)
                typer.echo(json.dumps(_response_dict(reply), indent=2))
                return 0
            out = sys.stdout
            chat = ChatSession(
                conv, _writer(out), note=_writer(sys.stderr), params=params, show_usage=show_usage
            )
            await chat.say(text)
    finally:
        await store.aclose()
    return 0


def _banner(client: Client, conv: Conversation, session: str | None, hint: str | None) -> str:
    """One line on what the chat talks to and where it is kept."""
    from llmrelay.hosts import is_simulator

    route = client.route(conv.model)
    sim = (
        " (the built-in simulator, not a real provider)"
        if is_simulator(route.deployments[0].endpoint.base_url)
        else ""
    )
    where = (
        f"conversation {session!r}, {len(conv.turns)} turns" if session else "not saved (/save NAME keeps it)"
    )
    return f"llmrelay chat: model {route.alias}{sim}; {where}." + (f" {hint}" if hint else "")


def _writer(out: Any) -> Any:
    def write(text: str) -> None:
        out.write(text)
        out.flush()

    return write


def _repl(
    model: str | None,
    system: str | None,
    params: dict[str, Any],
    session: str | None,
    store_url: str | None,
    show_usage: bool,
    config: Path | None,
    no_cache: bool = False,
) -> int:
    from llmrelay.app.conversations import ChatSession, MemoryStore, open_store
    from llmrelay.cli.cache import cli_settings
    from llmrelay.cli.main import _fail
    from llmrelay.client import Client

    tty = sys.stdin.isatty()
    history = _line_history() if tty else None
    with asyncio.Runner() as runner:
        try:
            saved = open_store(store_url)
            client = Client(cli_settings(config, no_cache=no_cache))
        except LLMRelayError as exc:
            raise _fail(exc) from None
        store: ConversationStore = saved if session is not None else MemoryStore()
        try:
            try:
                conv = runner.run(_open(client, model, system, session, store))
                typer.echo(_banner(client, conv, session, "/help for commands, Ctrl-D leaves."), err=True)
            except LLMRelayError as exc:
                raise _fail(exc) from None
            chat = ChatSession(
                conv,
                _writer(sys.stdout),
                note=_writer(sys.stderr),
                save_store=saved,
                show_usage=show_usage,
                params=params,
            )
            while True:
                try:
                    line = input("you> " if tty else "")
                except EOFError:
                    break
                except KeyboardInterrupt:
                    typer.echo("", err=True)
                    break
                try:
                    if not runner.run(chat.handle(line)):
                        break
                except KeyboardInterrupt:
                    typer.echo("\n[interrupted: this turn was not stored]", err=True)
                except LLMRelayError as exc:
                    typer.echo(f"llmrelay: error: {exc}", err=True)
        finally:
            runner.run(_close(client, saved, store))
            if history is not None:
                history()
    return 0


async def _close(client: Client, saved: ConversationStore, store: ConversationStore) -> None:
    try:
        await client.aclose()
    finally:
        await saved.aclose()
        if store is not saved:
            await store.aclose()


def _line_history() -> Any:
    """Line editing and a history file for ``input()`` (when readline exists); returns the
    function that saves the history."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    from platformdirs import user_data_path

    path = user_data_path("llmrelay", appauthor=False) / "chat_history"
    with contextlib.suppress(OSError):  # first run, or unreadable: start empty
        readline.read_history_file(path)
    readline.set_history_length(1000)

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass  # history is a convenience; never fail the session over it

    return save
