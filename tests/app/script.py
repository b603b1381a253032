"""A reply plan for the simulator that plays scripted replies and records every request."""

from __future__ import annotations

from collections.abc import Iterable

from llmrelay.simulator import Reply, ReplySequence
from llmrelay.simulator.engine import GenerationInput


class Script:
    """``Script([Reply(...), None])``: the replies in order (None: the engine answers), then
    the engine; ``seen`` holds the engine's view of every request, in order."""

    def __init__(self, replies: Iterable[Reply | None] = ()) -> None:
        self._sequence = ReplySequence(replies)
        self.seen: list[GenerationInput] = []

    def next_reply(self, inp: GenerationInput) -> Reply | None:
        self.seen.append(inp)
        return self._sequence.next_reply(inp)
