"""Asking before a run that may cost more than ``--confirm-above`` (batch, eval)."""

from __future__ import annotations

import sys

import typer


def ask_to_spend(what: str, confirm_above: float) -> bool:
    """The user's answer to going ahead with ``what`` (``"the run"``, ``"the eval"``).
    Without a terminal to ask at, no: the error says to pass --yes. Called outside the
    event loop, so that Ctrl-C at the prompt works as usual."""
    if not sys.stdin.isatty():
        typer.echo(
            f"llmrelay: error: {what} could cost more than ${confirm_above:g} (--confirm-above); "
            "pass --yes to run it without asking",
            err=True,
        )
        return False
    try:
        return typer.confirm("Run it?", default=False, err=True)
    except (typer.Abort, KeyboardInterrupt):
        raise typer.Exit(code=130) from None
