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
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from llmrelay import errors
from llmrelay.middleware import StackContext
from llmrelay.pipeline import Call, StreamHandler, UnaryHandler
from llmrelay.resilience.callstate import call_state
from llmrelay.resilience.router import Lease, Router, shared
from llmrelay.resolve import Deployment, Route
from llmrelay.types import ChatResponse, StreamEvent

log = logging.getLogger("llmrelay.hedge")


def build(ctx: StackContext) -> HedgeMiddleware | None:
    s = ctx.settings
    if not (s.routing.hedge.enabled or any(a.hedge for a in s.models.values())):
        return None
    return HedgeMiddleware(shared(s, ctx.state, ctx.catalog), ctx.resolve)


class HedgeMiddleware:
    def __init__(self, router: Router, resolve: Callable[[str | None], Route]) -> None:
        self.router = router
        self._resolve = resolve

    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
        dep = call.meta.get("deployment")
        alias = str(call.meta.get("alias") or call.request.model)
        if not isinstance(dep, Deployment) or not self.router.hedging(alias):
            return await call_next(call)
        delay = self.router.hedge_delay(dep.name)
        if delay is None:
            return await call_next(call)
        primary = asyncio.ensure_future(call_next(call))
        try:
            done, _ = await asyncio.wait({primary}, timeout=delay)
            if done:
                return primary.result()
            lease = await self._second(call, dep, alias)
            if lease is None:
                return await primary
            return await self._race(call, primary, lease, dep.name, delay, call_next)
        finally:
            if not primary.done():
                primary.cancel()
                await asyncio.gather(primary, return_exceptions=True)

    async def _second(self, call: Call, dep: Deployment, alias: str) -> Lease | None:
        try:
            route = self._resolve(alias)
        except errors.LLMRelayError:
            return None
        if len(route.deployments) < 2:
            return None
        got = await self.router.acquire(
            route, request=call.request, stream=False, avoid={dep.name}, exclude={dep.name}
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
        primary: asyncio.Future[ChatResponse],
        lease: Lease,
        primary_name: str,
        delay: float,
        call_next: UnaryHandler,
    ) -> ChatResponse:
        branch = Call(
            call.request, call.stream, call.include_raw, {**call.meta, "deployment": lease.deployment}
        )
        state = call_state(call)[0]
        state.upstream += 1
        meta = call.meta
        meta["attempts"] = state.upstream
        meta.setdefault("deployments_tried", []).append(lease.name)
        log.info(
            "hedging a slow request",
            extra={"event": "hedge", "deployment": primary_name, "hedge": lease.name, "after": delay},
        )
        second = asyncio.ensure_future(call_next(branch))
        released = False
        try:
            pending: set[asyncio.Future[ChatResponse]] = {primary, second}
            primary_error: BaseException | None = None
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                # The primary first when both finished together: it is the one already paid for.
                for fut in sorted(done, key=lambda f: f is not primary):
                    exc = fut.exception()
                    if fut is primary:
                        if exc is None:
                            meta["hedged"] = {
                                "hedge": lease.name,
                                "after": round(delay, 4),
                                "winner": "primary",
                            }
                            return fut.result()
                        primary_error = exc
                        continue
                    released = True
                    self.router.release(lease, exc)
                    if exc is None:
                        return self._hedge_won(call, branch, fut.result(), lease, delay, primary_error)
            assert primary_error is not None
            raise primary_error
        finally:
            if not second.done():
                second.cancel()
                await asyncio.gather(second, return_exceptions=True)
            if not released:
                self.router.release(lease, asyncio.CancelledError())

    def _hedge_won(
        self,
        call: Call,
        branch: Call,
        response: ChatResponse,
        lease: Lease,
        delay: float,
        primary_error: BaseException | None,
    ) -> ChatResponse:
        state = call_state(call)[0]
        state.hedge_won = True
        state.primary_error = primary_error
        kept = ("attempts", "deployments_tried")
        call.meta.update({k: v for k, v in branch.meta.items() if k not in kept})
        call.meta["hedged"] = {"hedge": lease.name, "after": round(delay, 4), "winner": "hedge"}
        return replace(response, meta=call.meta)

    def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        return call_next(call)
