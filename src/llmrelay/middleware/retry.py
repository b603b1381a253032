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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from llmrelay import errors
from llmrelay.middleware.callstate import CallState, TooSmall
from llmrelay.middleware.resume import (
    Delivered,
    Diverged,
    PrefixFilter,
    continuation,
    may_resume,
    truncated,
)
from llmrelay.pipeline import Attempt, Call, Controller, Resume, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.providers import continues_prefill
from llmrelay.resilience.backoff import Verdict
from llmrelay.resilience.router import (
    CIRCUIT_OPEN,
    LOCAL_LIMIT,
    TOO_SMALL,
    Exclusions,
    Lease,
    Router,
    refused_locally,
    shared,
)
from llmrelay.resolve import Route
from llmrelay.types import StreamEvent, StreamStart
from llmrelay.types.report import RoutingEvent

log = logging.getLogger("llmrelay.retry")

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]


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

    async def unary(self, call: Call, call_next: UnaryHandler) -> object:
        run = _Run(self, call)
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
        run = _Run(self, call)
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

    async def _broken(self, run: _Run, lease: Lease, exc: errors.LLMRelayError, delivered: Delivered) -> None:
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


class _Run:
    """One call's attempts on one alias."""

    def __init__(self, mw: RetryMiddleware, call: Call) -> None:
        self.router = mw.router
        self.call = call
        self._sleep = mw._sleep
        state = self.state = call.setdefault(CallState)
        if call.route is None:
            call.route = mw._resolve(call.model)
        self.route: Route = call.route
        self.alias = self.route.alias
        call.report.alias = self.alias
        if not state.counted:
            state.counted = True
            self.router.budget.record_call()
            deadline = call.deadline if call.deadline is not None else mw._deadline
            if deadline is not None:
                state.deadline_at = self.router.clock() + deadline
        self.attempts = 0  # on this alias
        self.avoid: set[str] = set()
        self.exclude = Exclusions()
        self.last: errors.LLMRelayError | None = None
        self._spent = False  # a retry is paid for but not yet sent

    def close(self) -> None:
        if self._spent:
            self.router.budget.refund()
            self._spent = False

    # ------------------------------------------------------------------ deadline

    def remaining(self) -> float | None:
        at = self.state.deadline_at
        return None if at is None else at - self.router.clock()

    async def bounded(self, aw: Awaitable[_T]) -> _T:
        left = self.remaining()
        if left is None:
            return await aw
        try:
            async with asyncio.timeout(max(0.0, left)):
                return await aw
        except TimeoutError:
            raise self._deadline_error() from None

    def _skip_too_small(self) -> None:
        """Honour preflight: never send to a deployment whose window the prompt overflows.

        When none of this alias's deployments can take the call, fail it here, before any
        request, as the provider would have: the route layer then takes the alias's
        ``context_window_fallback``.
        """
        found = self.call.get(TooSmall)
        if found is None or not found.names:
            return
        too_small = found.names
        names = {d.name for d in self.route.deployments}
        small = names.intersection(too_small)
        if small == names:
            raise errors.ContextWindowExceededError(
                f"the prompt does not fit the context window of any deployment of {self.alias!r} "
                + f"({', '.join(sorted(small))}); nothing was sent to them",
                code="context_length_exceeded",
            )
        for name in small:
            self.exclude.exclude(name, TOO_SMALL)

    def _deadline_error(self) -> errors.LLMRelayError:
        self.state.deadline_passed = True
        err = errors.TimeoutError(
            f"the call's deadline passed after {self.state.upstream} attempt(s)"
            + (
                f"; the last failure was {type(self.last).__name__}: {self.last.message}" if self.last else ""
            ),
            provider=self.last.provider if self.last else None,
        )
        log.warning("deadline passed", extra={"event": "deadline", "alias": self.alias})
        return err

    # ------------------------------------------------------------------ attempts

    async def lease(self) -> Lease:
        left = self.remaining()
        if left is not None and left <= 0:
            raise self._deadline_error()
        self._skip_too_small()
        while True:
            got = await self.router.acquire(
                self.route,
                request=self.call.chat if self.call.op == "chat" else None,
                stream=self.call.stream,
                avoid=self.avoid,
                exclude=self.exclude,
            )
            if isinstance(got, Lease):
                break
            err = self.last or got.error
            wait = got.wait
            if wait is None or not self.router.policy.honours(wait) or self._past_deadline(wait):
                self._give_up("no_deployment", err)
                raise err
            log.info(
                "every deployment is cooling down; waiting",
                extra={"event": "wait_cooldown", "alias": self.alias, "seconds": round(wait, 3)},
            )
            await self._pause(wait)
        # the first attempt on a fallback alias is extra traffic too
        if self.state.upstream > 0 and not self._spent and not self.router.budget.try_spend():
            err = self.last or errors.RateLimitError(
                "the retry budget is spent: no extra upstream requests until recent calls replenish it"
            )
            self.router.release(got, asyncio.CancelledError())
            self._give_up("budget_exhausted", err)
            raise err
        self._spent = False
        self.attempts += 1
        self.state.upstream += 1
        report = self.call.report
        report.attempts = self.state.upstream
        report.deployments_tried.append(got.name)
        self.call.attempt = Attempt(got.deployment, self.state.upstream)
        return got

    async def failed(self, lease: Lease, exc: errors.LLMRelayError) -> None:
        """Account for a failed attempt; return to try again, or raise ``exc``."""
        self._report(self.router.release(lease, exc))
        if refused_locally(exc):
            # Refused before anything was sent (open circuit, local rate limit): not an
            # attempt, and not that deployment again; another one may take it.
            self.attempts -= 1
            self.state.upstream -= 1
            self.call.report.attempts = self.state.upstream
            self.call.report.deployments_tried.pop()
            self.exclude.exclude(
                lease.name, CIRCUIT_OPEN if isinstance(exc, errors.CircuitOpenError) else LOCAL_LIMIT
            )
            if self.state.upstream > 0:
                self.router.budget.refund()
            self.last = self.last or exc
            return
        self.last = exc
        self.call.report.errors.append(_describe(lease.name, exc))
        policy = self.router.policy
        verdict = policy.verdict(exc)
        if verdict is Verdict.STOP:
            self._give_up("not_retryable", exc)
            raise exc
        if self.attempts >= policy.max_attempts:
            self._give_up("attempts_exhausted", exc)
            raise exc
        delay = 0.0
        if verdict is Verdict.RETRY:
            self.avoid.add(lease.name)
            if exc.retry_after is None:
                delay = policy.backoff(self.attempts, self.router.rng)
            # with a Retry-After the router has cooled the key/deployment down; lease() waits if need be
        if self._past_deadline(delay):
            self._give_up("deadline", exc)
            raise exc
        if not self.router.budget.try_spend():
            self._give_up("budget_exhausted", exc)
            raise exc
        self._spent = True
        log.info(
            "attempt failed; retrying",
            extra={
                "event": "retry",
                "alias": self.alias,
                "deployment": lease.name,
                "attempt": self.attempts,
                "error": type(exc).__name__,
                "status": exc.status,
                "delay": round(delay, 3),
            },
        )
        if delay > 0:
            await self._pause(delay)

    def succeeded(self, lease: Lease, *, ttft: float | None = None) -> None:
        if self.state.hedge_won:
            # another deployment answered first: this one's time says nothing about it
            self.state.hedge_won = False
            lost, self.state.primary_error = self.state.primary_error, None
            self._report(self.router.release(lease, lost or asyncio.CancelledError()))
            return
        self._report(self.router.release(lease, None, ttft=ttft))

    # ------------------------------------------------------------------ helpers

    def _past_deadline(self, wait: float) -> bool:
        left = self.remaining()
        return left is not None and wait >= left

    async def _pause(self, seconds: float) -> None:
        report = self.call.report
        report.waited = round(report.waited + seconds, 6)
        await self._sleep(seconds)

    def _report(self, events: list[RoutingEvent]) -> None:
        if events:
            self.call.report.routing.extend(events)

    def _give_up(self, why: str, exc: errors.LLMRelayError) -> None:
        level = logging.INFO if why == "not_retryable" else logging.WARNING
        log.log(
            level,
            "giving up on %s: %s",
            self.alias,
            why.replace("_", " "),
            extra={
                "event": "give_up",
                "reason": why,
                "alias": self.alias,
                "attempts": self.attempts,
                "error": type(exc).__name__,
                "status": exc.status,
            },
        )


def _describe(deployment: str, exc: errors.LLMRelayError) -> str:
    return f"{deployment}: {type(exc).__name__}" + (f" ({exc.status})" if exc.status is not None else "")
