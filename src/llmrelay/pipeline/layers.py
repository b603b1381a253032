"""The two kinds of layer, and how a stack of them becomes one handler per operation.

**Observers** look before and after; they are written once and serve unary calls and
streams alike. ``before(call)`` runs before the call goes on (raise to refuse it) and
returns a state of the layer's own choosing; ``after(call, state, error)`` runs when the
call is over — for a stream, when it has ended, failed or been closed by the caller —
with ``call.outcome`` complete and ``error`` the exception it ended with (None on
success; ``GeneratorExit`` or ``CancelledError`` when the caller stopped).

**Controllers** wrap the rest of the pipeline and may short-circuit, repeat or
transform it: ``unary(call, call_next)`` and ``stream(call, call_next)``.

**When an error surfaces.** ``Client.stream()`` raises only for what it checks itself
(an invalid request, an unknown model, a missing key). Everything the pipeline does —
every layer's refusal, every connection or provider error — surfaces at the first
iteration of the stream, whichever layers are on: observers' ``before`` run inside the
stream's first step, and a controller's ``stream`` must do nothing before it is
iterated (write it as an async generator, or as a plain function that only picks which
generator to return).

Consecutive observers are fused into one step, so a stream pays one generator hop per
run of observers, not one per observer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, ClassVar, TypeAlias

from llmrelay.pipeline.call import Call, Op
from llmrelay.types import StreamEvent

UnaryHandler: TypeAlias = Callable[[Call], Awaitable[Any]]
StreamHandler: TypeAlias = Callable[[Call], AsyncIterator[StreamEvent]]

ALL_OPS: frozenset[Op] = frozenset(("chat", "embed", "count"))


class Layer:
    """What every layer has: which operations it applies to."""

    #: the operations this layer takes part in
    ops: ClassVar[frozenset[Op]] = ALL_OPS
    #: whether it takes part in streamed calls
    streams: ClassVar[bool] = True

    def applies(self, op: Op, stream: bool) -> bool:
        return op in self.ops and (self.streams or not stream)

    async def aclose(self) -> None:
        """Release what the layer holds (called by ``Client.aclose``)."""


class Observer(Layer):
    """A layer that only looks before and after the call (see the module docstring)."""

    async def before(self, call: Call) -> Any:
        return None

    async def after(self, call: Call, state: Any, error: BaseException | None) -> None:
        return None


class Controller(Layer):
    """A layer that controls the flow of the call (see the module docstring)."""

    async def unary(self, call: Call, call_next: UnaryHandler) -> Any:
        return await call_next(call)

    def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        return call_next(call)


async def _unwind(
    group: Sequence[Observer], states: list[Any], call: Call, error: BaseException | None
) -> None:
    """Run the ``after`` of every observer that ran ``before``, innermost first; the
    first failure among them is raised once all have run."""
    failure: BaseException | None = None
    for i in range(len(states) - 1, -1, -1):
        try:
            await group[i].after(call, states[i], error)
        except BaseException as exc:  # the others must still see the end of the call
            failure = failure or exc
    if failure is not None and failure is not error:
        raise failure


def _observe_unary(group: Sequence[Observer], inner: UnaryHandler) -> UnaryHandler:
    async def observed(call: Call) -> Any:
        states: list[Any] = []
        try:
            for o in group:
                states.append(await o.before(call))
            result = await inner(call)
        except BaseException as exc:
            await _unwind(group, states, call, exc)
            raise
        await _unwind(group, states, call, None)
        return result

    return observed


def _observe_stream(group: Sequence[Observer], inner: StreamHandler) -> StreamHandler:
    async def observed(call: Call) -> AsyncIterator[StreamEvent]:
        states: list[Any] = []
        try:
            for o in group:
                states.append(await o.before(call))
        except BaseException as exc:
            await _unwind(group, states, call, exc)
            raise
        error: BaseException | None = None
        events = inner(call)
        try:
            async for ev in events:
                yield ev
        except BaseException as exc:  # GeneratorExit included: the caller stopped reading
            # stopping after the end event is not a failure: the answer was complete
            error = None if isinstance(exc, GeneratorExit) and call.outcome.complete else exc
            raise
        finally:
            # close the inner layers now (and with them the connection), not at garbage collection
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            await _unwind(group, states, call, error)

    return observed


def _runs(layers: Sequence[Layer]) -> list[Controller | list[Observer]]:
    """Consecutive observers grouped; controllers on their own."""
    out: list[Controller | list[Observer]] = []
    for layer in layers:
        if isinstance(layer, Observer):
            if out and isinstance(out[-1], list):
                out[-1].append(layer)
            else:
                out.append([layer])
        elif isinstance(layer, Controller):
            out.append(layer)
        else:
            raise TypeError(
                f"{type(layer).__name__} is not a pipeline layer: subclass llmrelay.pipeline.Observer "
                + "(before/after) or llmrelay.pipeline.Controller (unary/stream)"
            )
    return out


def _keep(run: Controller | list[Observer], op: Op, stream: bool) -> bool:
    if isinstance(run, list):
        run[:] = [o for o in run if o.applies(op, stream)]
        return bool(run)
    return run.applies(op, stream)


def compose_unary(layers: Sequence[Layer], terminal: UnaryHandler, op: Op) -> UnaryHandler:
    """One handler for unary ``op`` calls: ``layers[0]`` outermost, ``terminal`` innermost."""
    handler = terminal
    for run in reversed([r for r in _runs(layers) if _keep(r, op, False)]):
        if isinstance(run, list):
            handler = _observe_unary(run, handler)
        else:
            handler = partial(run.unary, call_next=handler)
    return handler


def compose_stream(layers: Sequence[Layer], terminal: StreamHandler) -> StreamHandler:
    """One handler for streamed chat calls."""
    handler = terminal
    for run in reversed([r for r in _runs(layers) if _keep(r, "chat", True)]):
        if isinstance(run, list):
            handler = _observe_stream(run, handler)
        else:
            handler = partial(run.stream, call_next=handler)
    return handler
