"""Hedged requests (opt-in, non-streaming calls): beat a slow deployment's long tail.

Between retry and circuit, so it works on one attempt at a time. When the attempt's
deployment has not answered within its recent ``routing.hedge.percentile`` latency
(p95 by default, once ``min_samples`` latencies are known), the same request goes to
another deployment of the alias; the first success wins and the other request is
cancelled (its connection closed, so the provider stops generating). A hedge is
extra upstream traffic, so it is paid for from the retry budget and skipped when the
budget is spent. If one side fails, the other is awaited; if both fail, the original
attempt's error goes up to the retry layer.

Streams are not hedged: the caller would have to be shown one of two streams from the
start, and time to first token is the routing strategy's business.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from llmrelay.middleware.callstate import CallState
from llmrelay.pipeline import Attempt, Call, Controller, Op, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.resilience.router import Lease, Router, shared
from llmrelay.resolve import Deployment
from llmrelay.types.report import HedgeInfo

log = logging.getLogger("llmrelay.hedge")


class HedgeMiddleware(Controller):
    ops: ClassVar[frozenset[Op]] = frozenset(("chat",))
    streams: ClassVar[bool] = False

    def __init__(self, router: Router) -> None:
        self.router = router

    @classmethod
    def from_context(cls, ctx: StackContext) -> HedgeMiddleware | None:
        s = ctx.settings
        if not (s.routing.hedge.enabled or any(a.hedge for a in s.models.values())):
            return None
        return cls(shared(s, ctx.state, ctx.catalog))

    async def unary(self, call: Call, call_next: UnaryHandler) -> object:
        attempt, route = call.attempt, call.route
        if attempt is None or route is None or not self.router.hedging(route.alias):
            return await call_next(call)
        dep = attempt.deployment
        delay = self.router.hedge_delay(dep.name)
        if delay is None:
            return await call_next(call)
        primary = asyncio.ensure_future(call_next(call))
        try:
            done, _ = await asyncio.wait({primary}, timeout=delay)
            if done:
                return primary.result()
            lease = await self._second(call, dep)
            if lease is None:
                return await primary
            return await self._race(call, primary, lease, dep.name, delay, call_next)
        finally:
            if not primary.done():
                primary.cancel()
                await asyncio.gather(primary, return_exceptions=True)

    async def _second(self, call: Call, dep: Deployment) -> Lease | None:
        route = call.route
        if route is None or len(route.deployments) < 2:
            return None
        got = await self.router.acquire(
            route, request=call.chat, stream=False, avoid={dep.name}, exclude={dep.name}
        )
        if not isinstance(got, Lease):
            return None
        if not self.router.budget.try_spend():
            self.router.release(got, asyncio.CancelledError())
            return None
        return got

    async def _race(
        self,
        call: Call,
        primary: asyncio.Future[object],
        lease: Lease,
        primary_name: str,
        delay: float,
        call_next: UnaryHandler,
    ) -> object:
        state = call.setdefault(CallState)
        state.upstream += 1
        report = call.report
        report.attempts = state.upstream
        report.deployments_tried.append(lease.name)
        branch = call.branch(Attempt(lease.deployment, state.upstream))
        log.info(
            "hedging a slow request",
            extra={"event": "hedge", "deployment": primary_name, "hedge": lease.name, "after": delay},
        )
        second = asyncio.ensure_future(call_next(branch))
        released = False
        try:
            pending: set[asyncio.Future[object]] = {primary, second}
            primary_error: BaseException | None = None
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                # The primary first when both finished together: it is the one already paid for.
                for fut in sorted(done, key=lambda f: f is not primary):
                    exc = fut.exception()
                    if fut is primary:
                        if exc is None:
                            report.hedged = HedgeInfo(lease.name, round(delay, 4), "primary")
                            report.deployment = primary_name
                            return fut.result()
                        primary_error = exc
                        continue
                    released = True
                    self.router.release(lease, exc)
                    if exc is None:
                        # another deployment answered first: the leased attempt lost the race
                        state.hedge_won = True
                        state.primary_error = primary_error
                        report.hedged = HedgeInfo(lease.name, round(delay, 4), "hedge")
                        report.deployment = lease.name
                        call.outcome = branch.outcome
                        return fut.result()
            assert primary_error is not None
            raise primary_error
        finally:
            if not second.done():
                second.cancel()
                await asyncio.gather(second, return_exceptions=True)
            if not released:
                self.router.release(lease, asyncio.CancelledError())
