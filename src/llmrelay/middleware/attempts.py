"""The attempts of one call on one alias, for ``RetryMiddleware``.

``AttemptRun`` leases a deployment and key for each attempt from the router, keeps the
call's deadline, and accounts for each failure: whether it is tried again (policy
verdict, ``max_attempts``, deadline, retry budget), after what backoff, and what the
call's report records. The unary and stream loops that drive it are in ``retry``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from llmrelay import errors
from llmrelay.middleware.callstate import CallState, TooSmall
from llmrelay.pipeline import Attempt, Call
from llmrelay.resilience.backoff import Verdict
from llmrelay.resilience.router import (
    CIRCUIT_OPEN,
    LOCAL_LIMIT,
    TOO_SMALL,
    Exclusions,
    Lease,
    Router,
    refused_locally,
)
from llmrelay.resolve import Route
from llmrelay.types.report import RoutingEvent

# The retry layer's logger: operators filter on it, and the records keep their name.
log = logging.getLogger("llmrelay.retry")

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]


class AttemptRun:
    """One call's attempts on one alias: leases, deadline, accounting of failures."""

    def __init__(
        self,
        router: Router,
        call: Call,
        *,
        resolve: Callable[[str | None], Route],
        deadline: float | None,
        sleep: Sleep,
    ) -> None:
        self.router = router
        self.call = call
        self._sleep = sleep
        state = self.state = call.setdefault(CallState)
        if call.route is None:
            call.route = resolve(call.model)
        self.route: Route = call.route
        self.alias = self.route.alias
        call.report.alias = self.alias
        if not state.counted:
            state.counted = True
            self.router.budget.record_call()
            deadline = call.deadline if call.deadline is not None else deadline
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
