"""Run one tool call: decode, validate, approve, run under a timeout, and turn whatever
happens into a ``ToolResult`` the model can read.

Nothing a model or a tool does here ends the loop: an unknown tool, bad arguments, a
refusal, a timeout or an exception all become an ``Error: ...`` result, so the model can
correct itself. Only cancellation (and the approval hook's own failures) propagate.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from llmrelay.app.structured.parse import JSONNotFoundError, parse_json
from llmrelay.app.tools.result import ErrorKind, ToolResult
from llmrelay.app.tools.spec import ArgumentsError, ToolSpec
from llmrelay.secrets import redact
from llmrelay.types import ToolCall

__all__ = ["Approver", "PendingCall", "decode_arguments", "execute", "render_output"]

log = logging.getLogger("llmrelay.tools")


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A call to a dangerous tool awaiting approval: ``arguments`` are decoded and valid."""

    tool: ToolSpec
    call: ToolCall
    arguments: Any

    @property
    def name(self) -> str:
        return self.tool.name


#: the approval hook: True runs the tool, False refuses (the model is told); may be async
Approver: TypeAlias = Callable[[PendingCall], bool | Awaitable[bool]]


def decode_arguments(text: str) -> Any:
    """The call's arguments as JSON; models' near-JSON is repaired. Raises ``ArgumentsError``."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return parse_json(text).value
    except JSONNotFoundError as exc:
        raise ArgumentsError(f"the arguments are not JSON ({exc})") from exc


def render_output(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, everything
    else as JSON (Pydantic models, dataclasses, dates...), ``str()`` as a last resort."""
    if isinstance(value, str):
        return value
    from pydantic_core import to_json

    try:
        return to_json(value, fallback=str).decode()
    except (TypeError, ValueError):
        return str(value)


async def execute(
    call: ToolCall,
    tools: Mapping[str, ToolSpec],
    *,
    timeout: float | None,
    approve: Approver | None,
) -> ToolResult:
    """Run ``call`` with the tool of that name; ``timeout`` applies unless the tool has its own."""
    t0 = time.perf_counter()

    def failed(kind: ErrorKind, text: str) -> ToolResult:
        log.info(
            "tool call refused or failed",
            extra={"event": "tool_error", "tool": call.name, "kind": kind, "call_id": call.id},
        )
        return ToolResult(call, f"Error: {text}", error=kind, duration=time.perf_counter() - t0)

    spec = tools.get(call.name)
    if spec is None:
        known = ", ".join(sorted(tools)) or "none"
        return failed("unknown_tool", f"there is no tool named {call.name!r}. Available tools: {known}.")
    try:
        arguments = decode_arguments(call.arguments)
        bound = spec.bind(arguments)
    except ArgumentsError as exc:
        return failed(
            "invalid_arguments",
            f"the arguments for {spec.name!r} are invalid, so it did not run:\n{exc}\n"
            "Call it again with corrected arguments.",
        )
    if spec.dangerous:
        if approve is None:  # run_tools refuses this setup up front; be safe anyway
            return failed(
                "denied", f"{spec.name!r} needs approval and no approver is configured; it did not run."
            )
        decision = approve(PendingCall(spec, call, arguments))
        if inspect.isawaitable(decision):
            decision = await decision
        if not decision:
            return failed("denied", f"running {spec.name!r} was not approved; it did not run.")
    limit = spec.timeout if spec.timeout is not None else timeout
    try:
        async with asyncio.timeout(limit) as scope:
            output = await _invoke(bound, spec.is_async)
    except TimeoutError:
        if scope.expired():
            return failed("timeout", f"{spec.name!r} did not finish within {limit:g} s and was stopped.")
        return _exception(call, spec, TimeoutError("the tool raised TimeoutError"), t0, failed)
    except Exception as exc:
        return _exception(call, spec, exc, t0, failed)
    return ToolResult(call, render_output(output), output=output, duration=time.perf_counter() - t0)


async def _invoke(bound: Callable[[], Any], is_async: bool) -> Any:
    # A plain function runs on a worker thread so that it blocks neither the event loop nor
    # the other tools of the turn. On timeout the thread cannot be killed: it finishes in
    # the background and its result is dropped.
    result = bound() if is_async else await asyncio.to_thread(bound)
    while inspect.isawaitable(result):  # a plain function that returned a coroutine
        result = await result
    return result


def _exception(
    call: ToolCall,
    spec: ToolSpec,
    exc: BaseException,
    t0: float,
    failed: Callable[[ErrorKind, str], ToolResult],
) -> ToolResult:
    log.warning(
        "tool %s raised %s",
        spec.name,
        type(exc).__name__,
        exc_info=exc,
        extra={"event": "tool_exception", "tool": spec.name, "call_id": call.id},
    )
    # redact: an exception message may quote a credential the tool was using
    detail = redact(str(exc))
    return failed(
        "exception", f"{spec.name!r} failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
    )
