"""Event hooks: request, attempt, response, error — for every operation, unary and stream."""

from __future__ import annotations

import logging

import pytest

import llmrelay
from llmrelay.pipeline import Call
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence


def hooked(client: llmrelay.Client) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    h = client.hooks
    h.request.append(lambda c: seen.append(("request", c.op, c.report.attempts)))
    h.attempt.append(lambda c: seen.append(("attempt", c.op, c.attempt.number if c.attempt else 0)))
    h.response.append(lambda c: seen.append(("response", c.op, c.report.attempts)))
    h.error.append(lambda c, e: seen.append((f"error:{type(e).__name__}", c.op, c.report.attempts)))
    return seen


async def test_hooks_see_every_operation_and_attempt() -> None:
    settings = Settings.load(retry={"base_delay": 0.01, "max_delay": 0.02})
    async with llmrelay.Client(settings, environ={}) as client:
        seen = hooked(client)
        await client.chat("hi")
        assert seen == [("request", "chat", 0), ("attempt", "chat", 1), ("response", "chat", 1)]
        seen.clear()
        client.simulator.faults = FaultSequence([Fault.error(503)])
        await client.stream("hi").final()
        assert seen == [
            ("request", "chat", 0),
            ("attempt", "chat", 1),
            ("attempt", "chat", 2),
            ("response", "chat", 2),
        ]
        seen.clear()
        await client.embed(["a", "b"])
        assert [s[:2] for s in seen] == [("request", "embed"), ("attempt", "embed"), ("response", "embed")]
        seen.clear()
        client.simulator.faults = FaultSequence([Fault.error(400)])
        with pytest.raises(llmrelay.InvalidRequestError):
            await client.chat("hi")
        assert seen[-1] == ("error:InvalidRequestError", "chat", 1)
        seen.clear()
        stream = client.stream("a long story please")
        await stream.__anext__()
        await stream.aclose()
        assert seen[-1][0] == "error:GeneratorExit"


async def test_a_failing_hook_never_fails_the_call(caplog: pytest.LogCaptureFixture) -> None:
    async with llmrelay.Client(Settings.load(), environ={}) as client:

        def boom(call: Call) -> None:
            raise RuntimeError("hook bug")

        client.hooks.response.append(boom)
        with caplog.at_level(logging.ERROR, logger="llmrelay.hooks"):
            assert (await client.chat("hi")).text
        assert "hook failed" in caplog.text
