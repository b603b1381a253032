"""Graceful shutdown on SIGTERM / SIGINT.

A process that is told to stop (a container runtime sends SIGTERM, then SIGKILL a
few seconds later) must let its ``Client`` close, so buffered usage records reach the
ledger. ``GracefulShutdown`` turns the first signal into the cancellation of one task
(the program's main task): cancellation unwinds ``async with Client()`` blocks, whose
``aclose`` flushes. A server that stops in its own way uses ``cancel=False`` and awaits
``wait()``. (Under uvicorn, which handles SIGTERM itself, close the Client in the ASGI
lifespan shutdown instead.)

    def main() -> None:
        llmrelay.lifecycle.run(serve_forever())    # exits 143 after SIGTERM, flushed

or, inside a running loop::

    with GracefulShutdown() as shutdown:            # cancels the current task on SIGTERM
        async with Client() as client:
            ...
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from types import FrameType, TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


class ShutdownRequested(SystemExit):
    """Raised by ``run`` when a signal stopped the program; exits with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class GracefulShutdown:
    """On the first of ``signals``: record it, set ``wait()``'s event, and cancel ``task``
    (default: the task that installs it), unless ``cancel=False`` — for a server that
    awaits ``wait()`` and stops in its own way.

    Later signals are ignored, so a second Ctrl-C does not interrupt the flush; a
    process that must die at once can still be sent SIGKILL.
    """

    def __init__(
        self,
        task: asyncio.Task[Any] | None = None,
        signals: tuple[signal.Signals, ...] = DEFAULT_SIGNALS,
        *,
        cancel: bool = True,
    ) -> None:
        self._task = task
        self._cancel = cancel
        self._signals = signals
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, Any] = {}
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    async def wait(self) -> int:
        """Wait for a signal; returns its number."""
        await self._event.wait()
        assert self.signum is not None
        return self.signum

    def install(self) -> None:
        """Install the handlers (call from inside the running loop)."""
        self._loop = asyncio.get_running_loop()
        if self._task is None and self._cancel:
            self._task = asyncio.current_task()
        for sig in self._signals:
            try:
                self._loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):
                # Windows, or not the main thread's loop: the portable (less precise) way
                self._previous[sig] = signal.signal(sig, self._on_signal_sync)

    def remove(self) -> None:
        for sig in self._signals:
            if sig in self._previous:
                signal.signal(sig, self._previous.pop(sig))
            elif self._loop is not None and not self._loop.is_closed():
                self._loop.remove_signal_handler(sig)

    def _on_signal(self, signum: int) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        self._event.set()
        if self._cancel and self._task is not None and not self._task.done():
            self._task.cancel(f"received signal {signal.Signals(signum).name}")

    def _on_signal_sync(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_signal, signum)

    def __enter__(self) -> GracefulShutdown:
        self.install()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


async def _guarded(main: Coroutine[Any, Any, T], signals: tuple[signal.Signals, ...]) -> T:
    task = asyncio.ensure_future(main)
    shutdown = GracefulShutdown(task, signals)
    shutdown.install()
    try:
        return await task
    except asyncio.CancelledError:
        if shutdown.signum is None:
            raise
        # the main task was cancelled by our handler: its cleanup has run; say why we stop
        raise ShutdownRequested(shutdown.signum) from None
    finally:
        shutdown.remove()


def run(main: Coroutine[Any, Any, T], *, signals: tuple[signal.Signals, ...] = DEFAULT_SIGNALS) -> T:
    """``asyncio.run(main)``, but SIGTERM / SIGINT cancel ``main`` so its cleanup runs;
    then ``ShutdownRequested`` (a ``SystemExit`` with code 128 + signal) is raised."""
    return asyncio.run(_guarded(main, signals))
