"""Circuit breaker: refuse to send to a deployment whose breaker is open; report every result.

The innermost resilience layer, so that it sees exactly one upstream request per
attempt. It asks the breaker store for a permit (closed: go; open: ``CircuitOpenError``
with the seconds left, which the retry layer answers by trying another deployment;
after the cool-down: the single probe), then records how the request went. Circuit
transitions go to ``call.meta["circuit"]`` and to the ``llmrelay.circuit`` log.
A stream counts as a success only once it has ended properly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from llmrelay import errors
from llmrelay.middleware import StackContext
from llmrelay.pipeline import Call, StreamHandler, UnaryHandler
from llmrelay.resilience.breaker import BreakerStore, Outcome, Transition, outcome_of
from llmrelay.resilience.router import shared
from llmrelay.resolve import Deployment, Route
from llmrelay.types import ChatResponse, StreamEvent

log = logging.getLogger("llmrelay.circuit")


def build(ctx: StackContext) -> CircuitMiddleware | None:
    store = shared(ctx.settings, ctx.state, ctx.catalog).breakers
    return CircuitMiddleware(store, ctx.resolve) if store is not None else None


class CircuitMiddleware:
    def __init__(self, store: BreakerStore, resolve: Callable[[str | None], Route]) -> None:
        self.store = store
        self._resolve = resolve

    def _name(self, call: Call) -> str:
        dep = call.meta.get("deployment")
        if isinstance(dep, Deployment):
            return dep.name
        return self._resolve(call.request.model).deployments[0].name  # no routing layer: the first

    async def _enter(self, call: Call, name: str) -> bool:
        permit = await self.store.acquire(name)
        if not permit.allowed:
            raise errors.CircuitOpenError(
                f"the circuit of deployment {name} is open after repeated failures; "
                + f"the next probe is in {permit.retry_in:.1f} s",
                retry_after=permit.retry_in,
            )
        _report(call, permit.transition)
        return permit.probe

    async def _exit(self, call: Call, name: str, outcome: Outcome, probe: bool) -> None:
        if outcome == "ignore" and not probe:
            return  # nothing to count, and no probe to hand back
        _report(call, await self.store.record(name, outcome, probe))

    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
        name = self._name(call)
        probe = await self._enter(call, name)
        try:
            response = await call_next(call)
        except asyncio.CancelledError:
            await asyncio.shield(self._exit(call, name, "ignore", probe))
            raise
        except Exception as exc:
            await self._exit(call, name, outcome_of(exc), probe)
            raise
        await self._exit(call, name, "success", probe)
        return response

    async def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        name = self._name(call)
        probe = await self._enter(call, name)
        events = call_next(call)
        outcome: Outcome = "ignore"  # the caller stopped reading: says nothing about the deployment
        try:
            async for ev in events:
                yield ev
            outcome = "success"
        except Exception as exc:
            outcome = outcome_of(exc)
            raise
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            await asyncio.shield(self._exit(call, name, outcome, probe))


def _report(call: Call, t: Transition | None) -> None:
    if t is None:
        return
    call.meta.setdefault("circuit", []).append(t.as_dict())
    level = logging.WARNING if t.new == "open" else logging.INFO
    log.log(
        level,
        "circuit of %s: %s -> %s",
        t.deployment,
        t.old,
        t.new,
        extra={
            "event": "circuit_transition",
            "deployment": t.deployment,
            "old_state": t.old,
            "new_state": t.new,
            "failures": t.failures,
            "volume": t.total,
        },
    )
