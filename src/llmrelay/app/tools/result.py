"""What a tool call produced, and what a whole tool run did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from llmrelay.app.structured.result import total_cost, total_usage
from llmrelay.types import ChatResponse, Message, ToolCall, Usage

#: why a call produced an error result instead of running to completion
ErrorKind: TypeAlias = Literal["unknown_tool", "invalid_arguments", "denied", "timeout", "exception"]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One tool call's outcome. ``content`` is what the model is sent (the output as text,
    or ``Error: ...``); ``output`` the Python value the tool returned; ``error`` why it did
    not run to completion; ``duration`` seconds spent (validation and approval included)."""

    call: ToolCall
    content: str
    output: Any = None
    error: ErrorKind | None = None
    duration: float = 0.0

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def is_error(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> Message:
        """The ``tool`` turn that answers the call."""
        return Message.tool(self.call.id, self.content, name=self.call.name)


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A finished tool loop.

    ``messages`` is the whole transcript (the caller's messages, then every assistant turn
    and tool result); ``responses`` every model call in order; ``results`` every tool call's
    outcome in order. ``usage`` and ``cost`` are summed over the model calls (cost None when
    any call's price is unknown).
    """

    messages: Sequence[Message]
    responses: Sequence[ChatResponse]
    results: Sequence[ToolResult]

    @property
    def response(self) -> ChatResponse:
        """The last model call (the final answer, when the run finished)."""
        return self.responses[-1]

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def turns(self) -> int:
        """Model calls made."""
        return len(self.responses)

    @property
    def usage(self) -> Usage | None:
        return total_usage(self.responses)

    @property
    def cost(self) -> float | None:
        return total_cost(self.responses)


__all__ = ["ErrorKind", "ToolResult", "ToolRun"]
