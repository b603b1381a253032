"""Middleware composition: one calling convention for unary calls and streams.

A middleware sees the ``Call`` and a ``call_next``. For unary calls it returns a
``ChatResponse``; for streams it is an async generator of ``StreamEvent`` that wraps
``call_next(call)``. It can short-circuit (answer without calling next), retry (call
next again) or transform. The order is given once, outermost first, where the client
builds its pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from llmrelay.types import ChatRequest, ChatResponse, StreamEvent

UnaryHandler = Callable[["Call"], Awaitable[ChatResponse]]
StreamHandler = Callable[["Call"], AsyncIterator[StreamEvent]]


@dataclass(slots=True)
class Call:
    """One logical call as it travels the pipeline.

    ``meta`` collects what the layers learn and report: the terminal handler sets
    ``provider``, ``model``, ``response_id``, ``request_id`` and ``deployment``; the
    resilience layer adds ``attempts`` and ``deployments_tried``. It ends up on the
    response's ``meta``.
    """

    request: ChatRequest
    stream: bool = False
    include_raw: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


class Middleware(Protocol):
    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse: ...

    def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]: ...


@dataclass(frozen=True, slots=True)
class Pipeline:
    unary: UnaryHandler
    stream: StreamHandler

    @classmethod
    def build(cls, middlewares: Sequence[Middleware], unary: UnaryHandler, stream: StreamHandler) -> Pipeline:
        """Wrap the terminal handlers; ``middlewares[0]`` is the outermost."""
        for mw in reversed(middlewares):
            unary = partial(mw.handle, call_next=unary)
            stream = partial(mw.handle_stream, call_next=stream)
        return cls(unary, stream)
