"""Retry: the attempt loop of one alias, for unary calls and streams.

Each attempt asks the router for a deployment and key (so a retry can move to another
deployment), sends through the layers below, and gives the lease back with the result.
A failure is tried again when the policy says it is transient (rate limits, 408, 409,
5xx, 529, timeouts, connection failures, malformed or cut answers) or that another
key/deployment may do (401/403 with a key pool), within ``max_attempts``, the call's
deadline and the retry budget. Backoff is exponential with full jitter; a Retry-After
becomes a cool-down of that key/deployment, waited for only when nothing else is free.

A stream is retried only until its first event has reached the caller. After that a
failure surfaces carrying the text received so far: ``StreamTruncatedError`` (with the
original error as its cause) when the connection broke or the data went bad, the
provider's own error kind with a ``partial_text`` attribute when it sent an error event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from llmrelay import errors
from llmrelay.middleware import StackContext
from llmrelay.pipeline import Call, StreamHandler, UnaryHandler
from llmrelay.resilience.backoff import Verdict
from llmrelay.resilience.callstate import CallState, call_state, end
from llmrelay.resilience.router import Lease, Router, refused_locally, shared
from llmrelay.resolve import Route
from llmrelay.types import ChatResponse, StreamEvent, TextDelta

#: deployments the preflight layer found too small for the prompt (its EXCEEDED_KEY)
TOO_SMALL_KEY = "context_window_exceeded"

log = logging.getLogger("llmrelay.retry")

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]


def build(ctx: StackContext) -> RetryMiddleware:
    # Always present: even with retries off it is where each attempt gets its deployment.
    return RetryMiddleware(
        shared(ctx.settings, ctx.state, ctx.catalog), ctx.resolve, deadline=ctx.settings.retry.deadline
    )


class RetryMiddleware:
    def __init__(
        self,
        router: Router,
        resolve: Callable[[str | None], Route],
        *,
        deadline: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.router = router
        self._resolve = resolve
        self._deadline = deadline
        self._sleep = sleep

    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
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

    async def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        run = _Run(self, call)
        try:
            while True:
                lease = await run.lease()
                events = call_next(call)
                started = self.router.clock()
                try:
                    first = await run.bounded(anext(events))
                except StopAsyncIteration:
                    run.succeeded(lease)  # a complete stream with no events at all
                    return
                except errors.LLMRelayError as exc:
                    await _close(events)
                    await run.failed(lease, exc)
                    continue
                except BaseException as exc:
                    self.router.release(lease, exc)
                    await _close(events)
                    raise
                # The first event is about to reach the caller: no retry from here on.
                ttft = self.router.clock() - started
                relay = _relay(first, events, run, lease, ttft)
                try:
                    async for ev in relay:
                        yield ev
                finally:
                    await _close(relay)
                return
        finally:
            run.close()


async def _relay(
    first: StreamEvent, events: AsyncIterator[StreamEvent], run: _Run, lease: Lease, ttft: float
) -> AsyncIterator[StreamEvent]:
    text: list[str] = []
    outcome: BaseException | None = asyncio.CancelledError()  # the caller left early unless set below
    try:
        if type(first) is TextDelta:
            text.append(first.text)
        yield first
        async for ev in events:
            if type(ev) is TextDelta:
                text.append(ev.text)
            yield ev
        outcome = None
    except errors.LLMRelayError as exc:
        outcome = exc
        surfaced = mid_stream_error(exc, "".join(text))
        if surfaced is exc:
            raise
        raise surfaced from exc
    finally:
        await _close(events)
        if outcome is None:
            run.succeeded(lease, ttft=ttft)
        else:
            run.router.release(lease, outcome)
            if not isinstance(outcome, asyncio.CancelledError):
                log.warning(
                    "stream failed after its first event; not retried",
                    extra={
                        "event": "stream_broken",
                        "deployment": lease.name,
                        "error": type(outcome).__name__,
                        "chars_received": sum(map(len, text)),
                    },
                )


def mid_stream_error(exc: errors.LLMRelayError, partial: str) -> errors.LLMRelayError:
    """The error a caller sees for a failure after the first event, carrying ``partial``."""
    if isinstance(exc, errors.StreamTruncatedError):
        if not exc.partial_text:
            exc.partial_text = partial
        return exc
    if isinstance(exc, errors.TransportError | errors.MalformedResponseError):
        return errors.StreamTruncatedError(
            f"the stream broke after {len(partial)} characters ({type(exc).__name__}: {exc.message}); "
            + "the answer is incomplete",
            partial_text=partial,
            provider=exc.provider,
            model=exc.model,
            status=exc.status,
            request_id=exc.request_id,
        )
    # An error event from the provider keeps its kind; the text so far rides along.
    setattr(exc, "partial_text", partial)  # noqa: B010 - not a declared attribute of every error
    return exc


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
        self.state, self._owner = call_state(call)
        state: CallState = self.state
        meta = call.meta
        self.alias = str(meta.get("alias") or call.request.model)
        self.route = mw._resolve(self.alias)
        if not state.counted:
            state.counted = True
            self.router.budget.record_call()
            own = meta.get("deadline")  # a caller building its own Call may set one per call
            deadline = float(own) if isinstance(own, int | float) and own > 0 else mw._deadline
            if deadline is not None:
                state.deadline_at = self.router.clock() + deadline
        meta.setdefault("attempts", 0)
        meta.setdefault("deployments_tried", [])
        self.attempts = 0  # on this alias
        self.avoid: set[str] = set()
        self.exclude: set[str] = set()
        self.last: errors.LLMRelayError | None = None
        self._spent = False  # a retry is paid for but not yet sent

    def close(self) -> None:
        if self._spent:
            self.router.budget.refund()
            self._spent = False
        if self._owner:
            end(self.call)

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
        too_small = self.call.meta.get(TOO_SMALL_KEY)
        if not too_small:
            return
        names = {d.name for d in self.route.deployments}
        small = names.intersection(too_small)
        if small == names:
            raise errors.ContextWindowExceededError(
                f"the prompt does not fit the context window of any deployment of {self.alias!r} "
                + f"({', '.join(sorted(small))}); nothing was sent to them",
                code="context_length_exceeded",
            )
        self.exclude |= small

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
                request=self.call.request,
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
        meta = self.call.meta
        meta["attempts"] = self.state.upstream
        meta["deployments_tried"].append(got.name)
        meta["deployment"] = got.deployment
        return got

    async def failed(self, lease: Lease, exc: errors.LLMRelayError) -> None:
        """Account for a failed attempt; return to try again, or raise ``exc``."""
        self._report(self.router.release(lease, exc))
        if refused_locally(exc):
            # Refused before anything was sent (open circuit, local rate limit): not an
            # attempt, and not that deployment again; another one may take it.
            self.attempts -= 1
            self.state.upstream -= 1
            self.call.meta["attempts"] = self.state.upstream
            self.call.meta["deployments_tried"].pop()
            self.exclude.add(lease.name)
            if self.state.upstream > 0:
                self.router.budget.refund()
            self.last = self.last or exc
            return
        self.last = exc
        self.call.meta.setdefault("errors", []).append(_describe(lease.name, exc))
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
        meta = self.call.meta
        meta["waited"] = round(meta.get("waited", 0.0) + seconds, 6)
        await self._sleep(seconds)

    def _report(self, events: list[dict[str, Any]]) -> None:
        if events:
            self.call.meta.setdefault("events", []).extend(events)

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
