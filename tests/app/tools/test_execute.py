"""One tool call: every way it can go wrong becomes an error result, never an exception."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from llmrelay.app.tools import (
    ArgumentsError,
    PendingCall,
    ToolSpec,
    decode_arguments,
    execute,
    render_output,
    tool,
)
from llmrelay.types import ToolCall


def call(name: str, arguments: str = "{}", call_id: str = "call_1") -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def table(*fns: Any) -> dict[str, ToolSpec]:
    specs = [f if isinstance(f, ToolSpec) else tool(f) for f in fns]
    return {s.name: s for s in specs}


def add(a: int, b: int) -> int:
    return a + b


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", {}),
        ("  ", {}),
        ('{"a": 1}', {"a": 1}),
        ("{'a': 1, 'b': [1, 2,],}", {"a": 1, "b": [1, 2]}),  # near-JSON is repaired
    ],
)
def test_decode_arguments(text: str, value: Any) -> None:
    assert decode_arguments(text) == value


def test_decode_arguments_refuses_text() -> None:
    with pytest.raises(ArgumentsError, match="not JSON"):
        decode_arguments("please add them")


@dataclasses.dataclass
class Row:
    when: datetime.date
    n: int


class Item(BaseModel):
    name: str


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        (3, "3"),
        (None, "null"),
        ({"a": [1, True]}, '{"a":[1,true]}'),
        (Item(name="x"), '{"name":"x"}'),
        (Row(datetime.date(2025, 1, 2), 1), '{"when":"2025-01-02","n":1}'),
        ({"odd": object}, '{"odd":"<class \'object\'>"}'),
    ],
)
def test_render_output(value: Any, text: str) -> None:
    assert render_output(value) == text


async def test_a_successful_call() -> None:
    result = await execute(call("add", '{"a": 2, "b": 3}'), table(add), timeout=5, approve=None)
    assert (result.content, result.output, result.error, result.is_error) == ("5", 5, None, False)
    assert result.duration >= 0 and result.name == "add"
    msg = result.message
    assert (msg.role, msg.tool_call_id, msg.content, msg.name) == ("tool", "call_1", "5", "add")


async def test_an_unknown_tool() -> None:
    result = await execute(call("mul"), table(add), timeout=5, approve=None)
    assert result.error == "unknown_tool"
    assert result.content == "Error: there is no tool named 'mul'. Available tools: add."


async def test_invalid_arguments_never_reach_the_function() -> None:
    ran: list[Any] = []

    def record(n: int) -> int:
        ran.append(n)
        return n

    for args in ('{"n": "many"}', "{}", "not json at all", '{"n": 1, "m": 2}'):
        result = await execute(call("record", args), table(record), timeout=5, approve=None)
        assert result.error == "invalid_arguments", args
        assert result.content.startswith("Error: the arguments for 'record' are invalid, so it did not run:")
        assert result.content.endswith("Call it again with corrected arguments.")
    assert ran == []


async def test_an_exception_becomes_an_error_result(caplog: pytest.LogCaptureFixture) -> None:
    def explode() -> None:
        raise ValueError("the disk is full (key sk-abcdefghijklmnopqrstuvwxyz0123456789)")

    with caplog.at_level(logging.WARNING, logger="llmrelay.tools"):
        result = await execute(call("explode"), table(explode), timeout=5, approve=None)
    assert result.error == "exception"
    assert result.content.startswith("Error: 'explode' failed: ValueError: the disk is full")
    assert "sk-abcdef" not in result.content and "[REDACTED]" in result.content
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "tool_exception"]
    assert record.exc_info is not None and record.tool == "explode"  # type: ignore[attr-defined]


async def test_a_hanging_async_tool_times_out() -> None:
    cancelled = asyncio.Event()

    async def hang() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    result = await execute(call("hang"), table(hang), timeout=0.05, approve=None)
    assert result.error == "timeout"
    assert result.content == "Error: 'hang' did not finish within 0.05 s and was stopped."
    assert cancelled.is_set()  # the coroutine was cancelled, not left running


async def test_a_tools_own_timeout_wins() -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        await asyncio.sleep(3600)
        return "never"

    result = await execute(call("slow"), table(slow), timeout=None, approve=None)
    assert result.error == "timeout" and "within 0.05 s" in result.content


async def test_a_tool_raising_timeout_error_itself_is_an_exception() -> None:
    async def upstream() -> str:
        raise TimeoutError("the upstream API timed out")

    result = await execute(call("upstream"), table(upstream), timeout=5, approve=None)
    assert result.error == "exception" and "TimeoutError" in result.content


async def test_sync_tools_run_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()

    def where() -> int:
        return threading.get_ident()

    result = await execute(call("where"), table(where), timeout=5, approve=None)
    assert result.output != loop_thread


async def test_a_sync_tool_that_hangs_times_out_without_blocking_the_loop() -> None:
    release = threading.Event()

    def block() -> str:
        release.wait(5)
        return "late"

    try:
        result = await execute(call("block"), table(block), timeout=0.05, approve=None)
    finally:
        release.set()  # let the worker thread finish
    assert result.error == "timeout"


async def test_a_sync_function_returning_a_coroutine_is_awaited() -> None:
    async def inner() -> str:
        return "awaited"

    def outer() -> Any:
        return inner()

    result = await execute(call("outer"), table(outer), timeout=5, approve=None)
    assert result.content == "awaited"


async def test_dangerous_tools_ask_for_approval() -> None:
    ran: list[str] = []

    @tool(dangerous=True)
    def delete(path: str) -> str:
        ran.append(path)
        return "deleted"

    asked: list[PendingCall] = []

    def no(pending: PendingCall) -> bool:
        asked.append(pending)
        return False

    async def yes(pending: PendingCall) -> bool:
        asked.append(pending)
        return True

    refused = await execute(call("delete", '{"path": "/tmp/x"}'), table(delete), timeout=5, approve=no)
    assert (
        refused.error == "denied"
        and refused.content == "Error: running 'delete' was not approved; it did not run."
    )
    assert ran == []
    done = await execute(call("delete", '{"path": "/tmp/y"}'), table(delete), timeout=5, approve=yes)
    assert done.content == "deleted" and ran == ["/tmp/y"]
    assert [(p.name, p.arguments, p.call.id) for p in asked] == [
        ("delete", {"path": "/tmp/x"}, "call_1"),
        ("delete", {"path": "/tmp/y"}, "call_1"),
    ]
    # invalid arguments are refused before the approver is bothered
    await execute(call("delete", "{}"), table(delete), timeout=5, approve=yes)
    assert len(asked) == 2
    unguarded = await execute(call("delete", '{"path": "/"}'), table(delete), timeout=5, approve=None)
    assert unguarded.error == "denied" and ran == ["/tmp/y"]


async def test_an_approvers_own_failure_propagates() -> None:
    @tool(dangerous=True)
    def risky() -> str:
        return "ran"

    def broken(pending: PendingCall) -> bool:
        raise RuntimeError("approval service down")

    with pytest.raises(RuntimeError, match="approval service down"):
        await execute(call("risky"), table(risky), timeout=5, approve=broken)
