"""``llmrelay tail``: follow calls live, one line per call, coloured by outcome.

Two sources, both written by a Client's (or a gateway's) observe settings:

* a JSON-lines log file (``observe.log_file``, or any file of one event object per
  line): followed like ``tail -F`` — from its end unless ``--from-start``, across
  rotation (the path now names another file: read it from its start) and truncation;
* a local socket (``observe.log_socket``): ``--socket PATH`` binds a Unix datagram
  socket there and prints what clients send to it. Clients never wait for it: when
  nobody listens, their events are dropped.

A line shows time, outcome, alias → deployment, the model that answered, tokens
(in/out, cached and reasoning), cost, latency, time to first token, cache verdict,
attempts and the error's type. Never a prompt, a completion or an error message:
those may quote what a user wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

#: how often an idle follower looks again (seconds)
POLL = 0.2
#: the largest datagram read from the socket
_DATAGRAM = 1 << 18
_STYLES = {"ok": "green", "error": "bold red", "cancelled": "yellow"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TailError(Exception):
    """A source that cannot be followed (the message says why and what to do)."""


# ----------------------------------------------------------------------- events


def parse(line: bytes | str) -> dict[str, Any] | None:
    """A call event from one line or datagram; None for anything else (attempt events,
    other log lines, broken JSON). Events written by a stdlib JSON formatter that nests
    the fields under ``llmrelay`` are accepted too."""
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("llmrelay"), dict):
        doc = {**doc["llmrelay"], **({"ts": doc["ts"]} if "ts" in doc else {})}
    if not isinstance(doc, dict) or doc.get("event") != "llm.call":
        return None
    return doc


@dataclass(frozen=True, slots=True)
class Filters:
    aliases: frozenset[str] = frozenset()
    outcomes: frozenset[str] = frozenset()
    #: milliseconds
    min_latency: float = 0.0

    def match(self, e: dict[str, Any]) -> bool:
        if self.aliases and e.get("alias") not in self.aliases and e.get("model") not in self.aliases:
            return False
        if self.outcomes and e.get("outcome") not in self.outcomes:
            return False
        latency = e.get("latency_ms")
        return not self.min_latency or (isinstance(latency, int | float) and latency >= self.min_latency)


def _safe(value: Any) -> str:
    """A field as text with control characters removed: whoever can write to the log file
    must not be able to move the cursor or clear the terminal of whoever reads it."""
    return _CONTROL.sub("", str(value))


def _ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    if value >= 10_000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def line(e: dict[str, Any]) -> Any:
    """One call as a ``rich.text.Text`` line."""
    from rich.text import Text

    ts = e.get("ts")
    try:
        when = datetime.fromtimestamp(ts) if isinstance(ts, int | float) else datetime.now()
    except (OverflowError, OSError, ValueError):  # a time no clock can show
        when = datetime.now()
    outcome = _safe(e.get("outcome", "?"))
    style = _STYLES.get(outcome, "magenta")
    text = Text()
    text.append(when.strftime("%H:%M:%S.%f")[:-3], style="dim")
    text.append(f" {outcome:<9}", style=style)
    op = e.get("op", "chat")
    if op != "chat" or e.get("stream"):
        text.append(f"{_safe(op)}{'/stream' if e.get('stream') else ''} ", style="dim")
    text.append(_safe(e.get("alias") or e.get("model") or "?"), style="bold")
    if e.get("deployment"):
        text.append(f" → {_safe(e['deployment'])}")
    if e.get("response_model"):
        text.append(f" ({_safe(e['response_model'])})", style="cyan")
    if "input_tokens" in e or "output_tokens" in e:
        text.append(f"  in {_safe(e.get('input_tokens', '-'))} out {_safe(e.get('output_tokens', '-'))}")
        extra = [
            f"{label} {_safe(e[key])}"
            for key, label in (
                ("cached_tokens", "cached"),
                ("cache_write_tokens", "cache-write"),
                ("reasoning_tokens", "reasoning"),
            )
            if e.get(key)
        ]
        if extra:
            text.append(f" ({', '.join(extra)})")
    cost = e.get("cost")
    if isinstance(cost, int | float):
        text.append(f"  ${cost:.6f}", style="yellow")
    text.append(f"  {_ms(e.get('latency_ms'))}")
    if e.get("ttft_ms") is not None:
        text.append(f"  ttft {_ms(e['ttft_ms'])}")
    if e.get("cache"):
        text.append(f"  cache {_safe(e['cache'])}", style="blue")
    attempts = e.get("attempts")
    if isinstance(attempts, int) and attempts != 1:
        text.append(f"  {attempts} attempts", style="yellow" if attempts > 1 else "dim")
    if e.get("fallbacks"):
        text.append(f"  fallback {', '.join(map(_safe, e['fallbacks']))}", style="yellow")
    if e.get("guards"):
        text.append(f"  guard {', '.join(map(_safe, e['guards']))}", style="magenta")
    if e.get("error_type"):
        text.append(f"  {_safe(e['error_type'])}", style=style)
    return text


# ---------------------------------------------------------------------- sources


def follow_file(
    path: Path,
    *,
    from_start: bool = False,
    follow: bool = True,
    until: Callable[[], bool] = lambda: False,
    poll: float = POLL,
    idle: Callable[[], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Call events from a JSON-lines file, like ``tail -F``: waits for the file to
    exist, reads a file rotated in at the path from its start, and starts over when
    the file is truncated. Ends at the end of the file unless ``follow``, else when
    ``until()`` says so. ``idle`` is called whenever everything there was has been read."""
    f: IO[bytes] | None = None
    pending = b""
    first = True
    try:
        while True:
            if f is None:
                try:
                    f = path.open("rb")
                except FileNotFoundError:
                    if not follow:
                        raise TailError(f"{path} does not exist") from None
                except OSError as exc:
                    raise TailError(f"cannot read {path}: {exc.strerror}") from None
                else:
                    if first and not from_start:
                        f.seek(0, os.SEEK_END)
                    pending = b""
                first = False
            chunk = f.read(1 << 16) if f is not None else b""
            if chunk:
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for raw in lines:
                    event = parse(raw)
                    if event is not None:
                        yield event
                continue
            if not follow:
                event = parse(pending) if pending.strip() else None
                if event is not None:
                    yield event
                return
            if f is not None and _moved(path, f):
                f.close()
                f = None
                continue
            if until():
                return
            if idle is not None:
                idle()
            time.sleep(poll)
    finally:
        if f is not None:
            f.close()


def _moved(path: Path, f: IO[bytes]) -> bool:
    """Whether ``f`` is no longer what ``path`` names (rotated or deleted) or was truncated
    (then it is rewound and reading goes on)."""
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False  # rotated away and not yet replaced: keep the old file until it is
    mine = os.fstat(f.fileno())
    if (here.st_dev, here.st_ino) != (mine.st_dev, mine.st_ino):
        return True
    if mine.st_size < f.tell():
        f.seek(0)
    return False


def listen(
    path: Path,
    *,
    until: Callable[[], bool] = lambda: False,
    ready: Callable[[], None] | None = None,
    poll: float = POLL,
) -> Iterator[dict[str, Any]]:
    """Call events sent to a Unix datagram socket bound at ``path`` (made only for
    this user, removed on exit). A stale socket file left by an earlier listener is
    replaced; a live one is an error."""
    if not hasattr(socket, "AF_UNIX"):
        raise TailError("--socket needs Unix domain sockets, which this platform lacks")
    _clear(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind(str(path))
        except OSError as exc:
            raise TailError(f"cannot listen at {path}: {exc.strerror}") from None
        os.chmod(path, 0o600)  # call events name users and keys: only this user may send or read
        sock.settimeout(poll)
        if ready is not None:
            ready()
        while not until():
            try:
                data = sock.recv(_DATAGRAM)
            except TimeoutError:
                continue
            event = parse(data)
            if event is not None:
                yield event
    finally:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _clear(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise TailError(f"{path} exists and is not a socket: choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except OSError:
        os.unlink(path)  # nobody is bound there any more
        return
    finally:
        probe.close()
    raise TailError(f"another listener is bound at {path}")


# ---------------------------------------------------------------------- command


def _configured(config: Path | None) -> tuple[Path | None, Path | None]:
    """The log file or socket the configuration's ``observe`` section names."""
    from llmrelay.errors import LLMRelayError
    from llmrelay.settings import Settings

    try:
        observe = Settings.load(config).observe
    except LLMRelayError as exc:
        typer.echo(f"llmrelay tail: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if observe.log_file is not None:
        return Path(observe.log_file), None
    if observe.log_socket is not None:
        return None, Path(observe.log_socket)
    typer.echo(
        "llmrelay tail: give a log FILE or --socket PATH, or set observe.log_file or observe.log_socket "
        "in the configuration (--config or $LLMRELAY_CONFIG)",
        err=True,
    )
    raise typer.Exit(code=2)


def show(events: Iterator[dict[str, Any]], console: Any, filters: Filters, max_lines: int | None) -> int:
    """Print the events that pass ``filters``, at most ``max_lines``; how many were printed."""
    shown = 0
    for e in events:
        if not filters.match(e):
            continue
        console.print(line(e), soft_wrap=True, highlight=False)
        shown += 1
        if max_lines is not None and shown >= max_lines:
            break
    return shown


def tail(
    file: Annotated[
        Path | None, typer.Argument(help="A JSON-lines call log (observe.log_file) to follow.")
    ] = None,
    sock: Annotated[
        Path | None,
        typer.Option("--socket", "-s", help="Listen on this Unix socket path (observe.log_socket)."),
    ] = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Read the file from its start, not its end.")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Print what the file holds and stop.")] = False,
    alias: Annotated[
        list[str] | None, typer.Option("--alias", "-a", help="Only calls to this alias (repeatable).")
    ] = None,
    outcome: Annotated[
        list[str] | None,
        typer.Option("--outcome", "-o", help="Only calls that ended so: ok, error, cancelled (repeatable)."),
    ] = None,
    min_latency: Annotated[
        float, typer.Option("--min-latency", help="Only calls that took at least this many milliseconds.")
    ] = 0.0,
    max_lines: Annotated[
        int | None, typer.Option("--max-lines", "-n", min=1, help="Stop after printing this many calls.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0, help="Stop after following for this long.")
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="With no FILE or --socket: follow the configuration's observe.log_file, else listen "
            "at its observe.log_socket (default config: $LLMRELAY_CONFIG).",
        ),
    ] = None,
) -> None:
    """Follow calls live: one line per call, coloured by outcome."""
    from rich.console import Console

    if file is not None and sock is not None:
        typer.echo("llmrelay tail: give a log FILE or --socket PATH, not both", err=True)
        raise typer.Exit(code=2)
    if file is None and sock is None:
        file, sock = _configured(config)
    for o in outcome or ():
        if o not in _STYLES:
            typer.echo(f"llmrelay tail: --outcome must be ok, error or cancelled, got {o!r}", err=True)
            raise typer.Exit(code=2)
    filters = Filters(frozenset(alias or ()), frozenset(outcome or ()), min_latency)
    end = None if seconds is None else time.monotonic() + seconds

    def until() -> bool:
        return end is not None and time.monotonic() >= end

    console = Console(no_color=no_color, highlight=False)
    try:
        if file is not None:
            events = follow_file(file, from_start=from_start or once, follow=not once, until=until)
        else:
            assert sock is not None
            events = listen(sock, until=until)
        show(events, console, filters, max_lines)
    except TailError as exc:
        typer.echo(f"llmrelay tail: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        pass
