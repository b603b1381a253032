from __future__ import annotations

import asyncio
import os
import signal

import pytest

from llmrelay import lifecycle
from llmrelay.lifecycle import GracefulShutdown, ShutdownRequested


async def test_the_first_signal_cancels_the_task_and_later_ones_are_ignored() -> None:
    cleaned = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # cleanup that awaits, like Client.aclose
            cleaned.set()

    task = asyncio.create_task(work())
    await asyncio.sleep(0)
    with GracefulShutdown(task) as shutdown:
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(shutdown.wait(), 5) == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGINT)  # a second signal does not interrupt the cleanup
        with pytest.raises(asyncio.CancelledError):
            await task
    assert cleaned.is_set() and shutdown.requested and shutdown.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers removed


def test_run_lets_cleanup_finish_then_exits_with_128_plus_the_signal() -> None:
    steps: list[str] = []

    async def main() -> str:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(30)
            return "not reached"
        finally:
            await asyncio.sleep(0.01)
            steps.append("flushed")

    with pytest.raises(ShutdownRequested) as info:
        lifecycle.run(main())
    assert info.value.code == 143 and info.value.signum == signal.SIGTERM
    assert steps == ["flushed"]


def test_run_returns_the_result_without_a_signal() -> None:
    async def main() -> int:
        return 7

    assert lifecycle.run(main()) == 7
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_a_server_can_just_wait_for_the_signal() -> None:
    with GracefulShutdown(cancel=False) as shutdown:
        waiter = asyncio.create_task(shutdown.wait())
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGINT)
        assert await asyncio.wait_for(waiter, 5) == signal.SIGINT
        await asyncio.sleep(0.01)  # this task was not cancelled: it goes on
    assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
