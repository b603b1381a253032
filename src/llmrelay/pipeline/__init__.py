"""The pipeline: the call contract and the layers that carry it (see ``llmrelay.pipeline.layers``).

Call        one call, typed: request, subject, deadline, route, attempt, outcome, report
Observer    a layer that looks before and after (budget, limits, ledger, circuit…)
Controller  a layer that controls the flow (route, retry, hedge, cache)
Pipeline    the composed handlers, one per operation
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.pipeline.call import Attempt, Call, Op, Request, Resume
from llmrelay.pipeline.hooks import Hooks
from llmrelay.pipeline.layers import (
    Controller,
    Layer,
    Observer,
    StreamHandler,
    UnaryHandler,
    compose_stream,
    compose_unary,
)
from llmrelay.pipeline.outcome import Outcome
from llmrelay.types import StreamEvent

__all__ = [
    "Attempt",
    "Call",
    "Controller",
    "Hooks",
    "Layer",
    "Observer",
    "Op",
    "Outcome",
    "Pipeline",
    "Request",
    "Resume",
    "StreamHandler",
    "UnaryHandler",
]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The stack composed once per operation: ``chat``, ``embed`` and ``count`` unary
    handlers and the ``stream`` handler."""

    chat: UnaryHandler
    embed: UnaryHandler
    count: UnaryHandler
    stream: StreamHandler

    @classmethod
    def build(
        cls,
        layers: Sequence[Layer],
        *,
        chat: UnaryHandler,
        stream: StreamHandler,
        embed: UnaryHandler,
        count: UnaryHandler,
    ) -> Pipeline:
        """Wrap the terminal handlers; ``layers[0]`` is the outermost."""
        return cls(
            compose_unary(layers, chat, "chat"),
            compose_unary(layers, embed, "embed"),
            compose_unary(layers, count, "count"),
            compose_stream(layers, stream),
        )

    def unary(self, call: Call) -> Any:
        op = call.op
        handler = self.chat if op == "chat" else self.embed if op == "embed" else self.count
        return handler(call)

    def events(self, call: Call) -> AsyncIterator[StreamEvent]:
        return self.stream(call)
