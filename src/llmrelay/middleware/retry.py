"""Retry: the attempt loop of one alias, for unary calls and streams; streams that finish.

Each attempt asks the router for a deployment and key (so a retry can move to another
deployment), sets ``call.attempt``, sends through the layers below, and gives the lease
back with the result. A failure is tried again when the policy says it is transient
(rate limits, 408, 409, 5xx, 529, timeouts, connection failures, malformed or cut
answers) or that another key/deployment may do (401/403 with a key pool), within
``max_attempts``, the call's deadline and the retry budget. Backoff is exponential with
full jitter; a Retry-After becomes a cool-down of that key/deployment, waited for only
when nothing else is free.

A stream is retried plainly until content has reached the caller; its start event is
held back until then, so the caller's ``StreamStart`` names the deployment that really
answers. After that, a failure is *resumed* when the request allows it (see
``llmrelay.middleware.resume``): another attempt is made and only what comes after the
delivered text is passed on, once the new stream has repeated that text exactly. When
it may not be resumed, or resuming fails, the caller gets ``StreamTruncatedError``
with the text received so far and the provider's error as its ``__cause__``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from llmrelay import errors
from llmrelay.middleware.attempts import AttemptRun, Sleep
from llmrelay.middleware.resume import (
    Delivered,
    Diverged,
    PrefixFilter,
    continuation,
    may_resume,
    truncated,
)
from llmrelay.pipeline import Call, Controller, Resume, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.providers import continues_prefill
from llmrelay.resilience.router import Lease, Router, shared
from llmrelay.resolve import Route
from llmrelay.types import StreamEvent, StreamStart

log = logging.getLogger("llmrelay.retry")


class RetryMiddleware(Controller):
    def __init__(
        self,
        router: Router,
        resolve: Callable[[str | None], Route],
        *,
        deadline: float | None = None,
        resume: Resume = "deterministic",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.router = router
        self._resolve = resolve
        self._deadline = deadline
        self._resume: Resume = resume
        self._sleep = sleep

    @classmethod
    def from_context(cls, ctx: StackContext) -> RetryMiddleware:
        # Always present: even with retries off it is where each attempt gets its deployment.
        r = ctx.settings.retry
        router = shared(ctx.settings, ctx.state, ctx.catalog)
        return cls(router, ctx.resolve, deadline=r.deadline, resume=r.resume)

    def _run(self, call: Call) -> AttemptRun:
        return AttemptRun(
            self.router, call, resolve=self._resolve, deadline=self._deadline, sleep=self._sleep
        )

    async def unary(self, call: Call, call_next: UnaryHandler) -> object:
        run = self._run(call)
        try:
            while True:
                lease = await run.lease()
                try:
                    response = await run.bounded(call_next(call))
                except errors.LLMRelayError as exc:
                    await run.failed(lease, exc)
                    continue
                except BaseException as exc:  # cancelled, or not a provider's doing: just give it back
                    self.router.release(lease, exc)
                    raise
                run.succeeded(lease)
                return response
        finally:
            run.close()

    async def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        run = self._run(call)
        delivered = Delivered()
        try:
            while True:
                lease = await run.lease()
                original = call.request
                prefix = self._resumption(call, lease, delivered) if delivered.committed else None
                events = call_next(call)
                started = self.router.clock()
                held: StreamStart | None = None
                ttft: float | None = None
                try:
                    ev = await run.bounded(anext(events))
                    if prefix is None:
                        # the start waits for the first content: it names who really answers
                        while type(ev) is StreamStart:
                            held = ev
                            ev = await run.bounded(anext(events))
                        delivered.committed = True
                        ttft = self.router.clock() - started
                        if held is not None:
                            yield held
                        yield ev
                        async for ev in events:  # the hot path: a plain relay
                            yield ev
                    else:
                        while True:
                            if type(ev) is not StreamStart:  # the caller has its start already
                                new = prefix.feed(ev)
                                if new is not None:
                                    yield new
                            ev = await anext(events)
                    raise StopAsyncIteration
                except StopAsyncIteration:
                    run.succeeded(lease, ttft=ttft)
                    return
                except errors.LLMRelayError as exc:
                    await _close(events)
                    if not delivered.committed:
                        await run.failed(lease, exc)  # raises when it is not to be retried
                        continue
                    delivered.catch_up(call.outcome)
                    await self._broken(run, lease, exc, delivered)
                    continue
                except Diverged as why:
                    await _close(events)
                    delivered.catch_up(call.outcome)
                    run.router.release(lease, asyncio.CancelledError())
                    assert run.last is not None
                    raise truncated(run.last, delivered, f"it could not be resumed: {why}") from run.last
                except BaseException as exc:  # the caller stopped, or cancelled
                    await _close(events)
                    if isinstance(exc, GeneratorExit) and call.outcome.complete:
                        run.succeeded(lease, ttft=ttft)  # stopped after the end: it was complete
                    else:
                        self.router.release(lease, exc)
                    raise
                finally:
                    call.request = original  # a continuation's request was for that attempt only
        finally:
            run.close()

    @staticmethod
    def _resumption(call: Call, lease: Lease, delivered: Delivered) -> PrefixFilter:
        """Set the call up to resume a broken stream on ``lease``'s deployment; returns
        the filter that passes on only what the caller has not seen."""
        out = call.outcome
        out.forget_content()  # the new stream is folded in from its start
        cont = None
        if continues_prefill(lease.deployment.endpoint.provider):
            cont = continuation(call.chat, delivered)
        if cont is None:
            return PrefixFilter(delivered)
        call.request = cont.request
        out.text_parts.append(cont.prefill)  # the model writes only what follows it
        return PrefixFilter(Delivered(text=cont.tail))

    async def _broken(
        self, run: AttemptRun, lease: Lease, exc: errors.LLMRelayError, delivered: Delivered
    ) -> None:
        """A stream failed after delivering content: arrange its resumption, or raise."""
        if not may_resume(run.call, self._resume, delivered):
            run.router.release(lease, exc)
            log.warning(
                "stream failed after delivering content; not resumed",
                extra={
                    "event": "stream_broken",
                    "deployment": lease.name,
                    "error": type(exc).__name__,
                    "chars_received": len(delivered.partial_text),
                },
            )
            raise truncated(
                exc,
                delivered,
                "the request is not deterministic (set temperature=0 or a seed, or resume=always)",
            ) from exc
        try:
            await run.failed(lease, exc)
        except errors.LLMRelayError as final:
            raise truncated(final, delivered, "resuming it failed too") from final
        run.call.report.resumed += 1
        log.info(
            "stream failed after delivering content; resuming",
            extra={"event": "stream_resume", "deployment": lease.name, "error": type(exc).__name__},
        )


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    # pipeline handlers are typed as iterators; the ones that hold a connection are generators
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
