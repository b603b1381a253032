"""Progress of a batch: a protocol the runner reports to, and a rich progress bar.

The bar shows items done out of the total, throughput of this run, the time left, the
running cost and the errors so far. Items finished by an earlier run count as done from
the start, so the ETA and throughput describe what this run is doing.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class BatchProgress(Protocol):
    """What a batch run reports. ``cost`` is US dollars so far (None: some cost unknown)."""

    def start(self, total: int, done: int, failed: int, cost: float | None, label: str) -> None: ...

    def update(self, done: int, failed: int, cost: float | None) -> None: ...

    def finish(self) -> None: ...


class _Throughput(ProgressColumn):
    """Items per second over this run (rich's own speed column averages a short window)."""

    def render(self, task: Task) -> Text:
        first = task.fields.get("first", 0)
        started = task.fields.get("started", 0.0)
        elapsed = time.monotonic() - started
        rate = (task.completed - first) / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} it/s", style="progress.data.speed")


class _Cost(ProgressColumn):
    def render(self, task: Task) -> Text:
        cost = task.fields.get("cost")
        failed = task.fields.get("failed", 0)
        money = "$?" if cost is None else f"${cost:,.4f}"
        style = "red" if failed else "green"
        return Text.assemble((money, "bold"), "  ", (f"{failed} errors", style))


class RichProgress:
    """A rich progress bar on stderr (or on ``console``)."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console if console is not None else Console(stderr=True)
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, total: int, done: int, failed: int, cost: float | None, label: str) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Throughput(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            _Cost(),
            console=self._console,
            refresh_per_second=8,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            label, total=total, completed=done, first=done, started=time.monotonic(), cost=cost, failed=failed
        )

    def update(self, done: int, failed: int, cost: float | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, cost=cost, failed=failed)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()
            self._progress = None
