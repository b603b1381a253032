"""What came back for a call, computed once by the terminal handler and read by every layer.

For a unary call it is filled from the response; for a stream it is folded event by
event as the events leave the terminal, so that when any layer's ``after`` runs the
usage, cost, finish reason and time to first token are already there, and the text
delivered so far is known when a stream breaks. ``ChatStream`` builds its final
response from it: nothing is scanned twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmrelay.types import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


@dataclass(slots=True, eq=False)
class Outcome:
    """The result of a call as it is known so far."""

    usage: Usage | None = None
    #: US dollars, from usage and the catalog's prices (None: unknown price or no usage)
    cost: float | None = None
    #: US dollars the provider's cache reads saved: those tokens at the input price less
    #: what they cost (0.0 without cache reads; None: unknown price, or nothing billed)
    cache_savings: float | None = None
    #: seconds from sending the call to its first content (streams; unary: None)
    ttft: float | None = None
    finish_reason: FinishReason | None = None
    native_finish_reason: str | None = None
    response_id: str | None = None
    model: str | None = None
    provider: str | None = None
    request_id: str | None = None
    provider_state: Mapping[str, Any] | None = None
    #: what the provider reported beyond the common model (``ChatResponse.details``)
    details: Mapping[str, Any] = field(default_factory=dict)
    #: the provider accepted the stream and began answering (it may bill from here on)
    answering: bool = False
    #: the stream finished with its provider's end marker
    complete: bool = False
    #: the unary call's response (None for streams)
    response: Any = None
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    #: index -> [id, name, argument pieces...]
    calls: dict[int, list[str]] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        """The provider began answering (for a stream: its first event arrived)."""
        return self.answering or self.ttft is not None or bool(self.text_parts or self.calls)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    def add(self, ev: StreamEvent) -> None:
        """Fold one stream event in (the terminal calls this for every event)."""
        kind = type(ev)
        if kind is TextDelta:
            self.text_parts.append(ev.text)  # type: ignore[union-attr]
        elif kind is ToolCallDelta:
            self._tool_delta(ev)  # type: ignore[arg-type]
        elif kind is ReasoningDelta:
            self.reasoning_parts.append(ev.text)  # type: ignore[union-attr]
        elif kind is UsageEvent:
            self.usage = ev.usage  # type: ignore[union-attr]
        elif kind is FinishEvent:
            self.finish_reason = ev.reason  # type: ignore[union-attr]
            self.native_finish_reason = ev.native_reason  # type: ignore[union-attr]

    def _tool_delta(self, ev: ToolCallDelta) -> None:
        slot = self.calls.get(ev.index)
        if slot is None:
            slot = self.calls[ev.index] = [ev.id or "", ev.name or ""]
        else:
            if ev.id and not slot[0]:
                slot[0] = ev.id
            if ev.name and not slot[1]:
                slot[1] = ev.name
        if ev.arguments:
            slot.append(ev.arguments)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=s[0] or f"call_{i}", name=s[1], arguments="".join(s[2:]) or "{}")
            for i, s in sorted(self.calls.items())
        )

    def forget_content(self) -> None:
        """Drop the content folded so far (a stream re-requested from the start)."""
        self.text_parts = []
        self.reasoning_parts = []
        self.calls = {}
        self.usage = None
        self.cost = None
        self.cache_savings = None
        self.finish_reason = None
        self.native_finish_reason = None
        self.complete = False

    def set_response(self, resp: ChatResponse) -> None:
        self.response = resp
        self.usage = resp.usage
        self.cost = resp.cost
        self.finish_reason = resp.finish_reason
        self.native_finish_reason = resp.native_finish_reason
        self.response_id = resp.id
        self.model = resp.model
        self.provider = resp.provider
        self.request_id = resp.request_id
        self.provider_state = resp.provider_state
        self.details = resp.details
        self.complete = True
