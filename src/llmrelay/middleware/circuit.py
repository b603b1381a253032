"""Circuit breaker: refuse to send to a deployment whose breaker is open; report every result.

The innermost resilience layer, so that it sees exactly one upstream request per
attempt. It asks the breaker store for a permit (closed: go; open: ``CircuitOpenError``
with the seconds left, which the retry layer answers by trying another deployment;
after the cool-down: the single probe), then records how the request went. Circuit
transitions go to ``call.report.circuit`` and to the ``llmrelay.circuit`` log.
A stream counts as a success only once it has ended properly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NamedTuple

from llmrelay import errors
from llmrelay.pipeline import Call, Observer
from llmrelay.pipeline.context import StackContext
from llmrelay.resilience.breaker import BreakerStore, Outcome, Transition, outcome_of
from llmrelay.resilience.router import shared
from llmrelay.types.report import CircuitChange

log = logging.getLogger("llmrelay.circuit")


class _Entry(NamedTuple):
    name: str
    probe: bool


class CircuitMiddleware(Observer):
    def __init__(self, store: BreakerStore) -> None:
        self.store = store

    @classmethod
    def from_context(cls, ctx: StackContext) -> CircuitMiddleware | None:
        store = shared(ctx.settings, ctx.state, ctx.catalog).breakers
        return cls(store) if store is not None else None

    async def before(self, call: Call) -> _Entry:
        name = call.deployment().name
        permit = await self.store.acquire(name)
        if not permit.allowed:
            raise errors.CircuitOpenError(
                f"the circuit of deployment {name} is open after repeated failures; "
                + f"the next probe is in {permit.retry_in:.1f} s",
                retry_after=permit.retry_in,
            )
        _report(call, permit.transition)
        return _Entry(name, permit.probe)

    async def after(self, call: Call, state: _Entry, error: BaseException | None) -> None:
        outcome: Outcome
        if error is None:
            outcome = "success"
        elif isinstance(error, Exception):
            outcome = outcome_of(error)
        else:
            outcome = (
                "ignore"  # the caller stopped (cancelled, stream closed): says nothing of the deployment
            )
        if outcome == "ignore" and not state.probe:
            return  # nothing to count, and no probe to hand back
        record = self.store.record(state.name, outcome, state.probe)
        if isinstance(error, asyncio.CancelledError):
            # a cancelled call must still hand its probe back (a shield costs a task: only here)
            _report(call, await asyncio.shield(record))
        else:
            _report(call, await record)


def _report(call: Call, t: Transition | None) -> None:
    if t is None:
        return
    call.report.circuit.append(CircuitChange(t.deployment, t.old, t.new))
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
