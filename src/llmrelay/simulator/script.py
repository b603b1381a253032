"""Scripted replies: what the simulated model says instead of its generated reply.

Faults (``faults.py``) break the protocol; a scripted reply is a well-formed answer whose
*content* is chosen by the test: JSON with a trailing comma, an object that fails its
schema, a call to a tool that does not exist, two parallel calls with bad arguments.
Toolkits that must cope with what real models return are tested with these.

A ``ReplyPlan`` is asked once per generated reply (``Simulator.generate``) and gets the
engine's view of the request, so a plan may also look at what was asked (a test can
record ``inp.json_mode`` or ``inp.tools`` and return None to let the engine answer).
The reply is rendered by each protocol in its own wire shape, streamed piece by piece
like a generated one, and honours ``max_tokens`` and stop sequences (a scripted text
longer than ``max_tokens`` finishes with ``length``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmrelay.errors import ConfigError
from llmrelay.simulator.engine import GenerationInput

__all__ = ["NoReplies", "Reply", "ReplyPlan", "ReplySequence", "ScriptedCall"]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """A tool call the scripted model makes. ``arguments`` is a JSON object (every protocol
    can carry one) and need not match the tool's schema: that is the point of scripting it."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"ScriptedCall.name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.arguments, Mapping):
            raise ConfigError(
                "ScriptedCall.arguments must be a mapping (a JSON object), "
                f"got {type(self.arguments).__name__}"
            )
        try:
            json.dumps(self.arguments)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"ScriptedCall.arguments for {self.name!r} must be JSON-serializable: {exc}"
            ) from exc

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Reply:
    """What the model answers: ``text``, ``tool_calls``, or both (OpenAI's chat format has no
    text beside tool calls; Anthropic and Gemini send both)."""

    text: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConfigError(f"Reply.text must be a string, got {type(self.text).__name__}")
        calls: Any = self.tool_calls
        if not isinstance(calls, tuple):
            object.__setattr__(self, "tool_calls", tuple(calls))
        for call in self.tool_calls:
            if not isinstance(call, ScriptedCall):
                raise ConfigError(f"Reply.tool_calls takes ScriptedCall items, got {type(call).__name__}")
        if not self.text and not self.tool_calls:
            raise ConfigError(
                "a scripted Reply needs text or tool calls (an empty reply is not a model answer)"
            )

    @classmethod
    def calls(cls, *calls: tuple[str, Mapping[str, Any]]) -> Reply:
        """``Reply.calls(("add", {"a": 1}), ("mul", {"a": "x"}))``: parallel tool calls."""
        return cls(tool_calls=tuple(ScriptedCall(name, args) for name, args in calls))


class ReplyPlan(Protocol):
    def next_reply(self, inp: GenerationInput) -> Reply | None: ...


class NoReplies:
    """The engine generates every reply."""

    def next_reply(self, inp: GenerationInput) -> Reply | None:
        return None

    def __repr__(self) -> str:
        return "NoReplies()"


class ReplySequence:
    """Replies in order, one per generated reply (``None`` = let the engine answer); then none.

    ``ReplySequence([Reply('{"name": "Ada",}'), None])`` makes the first answer JSON with a
    trailing comma and lets the second be generated.
    """

    def __init__(self, replies: Iterable[Reply | None]) -> None:
        self._replies: tuple[Reply | None, ...] = tuple(replies)
        for r in self._replies:
            if r is not None and not isinstance(r, Reply):
                raise ConfigError(f"ReplySequence takes Reply or None items, got {type(r).__name__}")
        self._position = 0

    @property
    def remaining(self) -> int:
        """Entries not yet played."""
        return len(self._replies) - self._position

    def next_reply(self, inp: GenerationInput) -> Reply | None:
        if self._position >= len(self._replies):
            return None
        reply = self._replies[self._position]
        self._position += 1
        return reply

    def __repr__(self) -> str:
        return f"ReplySequence({len(self._replies)} items, {self.remaining} left)"
