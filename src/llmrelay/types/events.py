"""Stream events: what ``Client.stream`` yields, from ``StreamStart`` to ``StreamEnd``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from llmrelay.types.usage import Usage

FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "error"]
FINISH_REASONS: frozenset[str] = frozenset(("stop", "length", "tool_calls", "content_filter", "error"))


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call ``index``: the first delta of a call carries id and name,
    later ones append to ``arguments``."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: Usage
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class FinishEvent:
    reason: FinishReason
    native_reason: str | None = None
    type: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class StreamStart:
    """The first event of every stream: who is answering.

    ``deployment`` is the configured deployment that serves the stream; ``provider`` the
    service (``openai``, ``azure``, ``anthropic``…); ``request_id`` the provider's own id
    for the HTTP request (quote it to their support).
    """

    id: str
    model: str
    provider: str
    deployment: str
    request_id: str | None = None
    type: Literal["start"] = "start"


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of a stream that completed: what it used and cost.

    ``usage`` is the provider's final count (None when it reports none), ``cost`` in US
    dollars (None when the model has no known price), ``provider_state`` what must be
    replayed with this turn (see ``Message.provider_state``).
    """

    finish_reason: FinishReason
    native_finish_reason: str | None = None
    usage: Usage | None = None
    cost: float | None = None
    provider_state: Mapping[str, Any] | None = None
    type: Literal["end"] = "end"


StreamEvent: TypeAlias = (
    StreamStart | TextDelta | ReasoningDelta | ToolCallDelta | UsageEvent | FinishEvent | StreamEnd
)
#: events that carry content for the caller (the first one marks time to first token)
CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallDelta)
