"""Route: the model alias a call is served by, and the fallbacks when it cannot be.

The call starts on the route the client resolved for it (``call.route``). When that alias fails
for good — its retries spent, or every deployment unavailable — the fallback rules
(``llmrelay.resilience.fallbacks``) pick the next alias by the kind of failure: a
context window exceeded goes to the alias's ``context_window_fallback``, filtered
content to its ``content_filter_fallback`` (a reply that finished with
``content_filter`` counts, when such a fallback is configured), rate limits and
unavailability to the next alias of the original alias's ``fallbacks``. When the last
one fails too, ``AllDeploymentsFailedError`` lists every alias's failure.

Which deployment of an alias serves each attempt is chosen by the router (the
strategies of ``llmrelay.resilience.strategies``), at each attempt of the retry
layer below, so that a retry can move to another deployment.

The route layer moves ``call.route`` to the fallback alias, so the layers inside it
(retry, hedge, limits) always work on the alias being tried. A stream falls back only
while nothing has reached the caller.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping

from llmrelay import errors
from llmrelay.middleware.callstate import CallState
from llmrelay.pipeline import Call, Controller, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.resilience.fallbacks import Fallback, next_fallback
from llmrelay.resolve import Route
from llmrelay.settings import AliasSettings
from llmrelay.types import ChatResponse, StreamEvent, StreamStart
from llmrelay.types.report import FallbackStep

log = logging.getLogger("llmrelay.route")


class RouteMiddleware(Controller):
    def __init__(self, aliases: Mapping[str, AliasSettings], resolve: Callable[[str | None], Route]) -> None:
        self._aliases = aliases
        self._resolve = resolve

    @classmethod
    def from_context(cls, ctx: StackContext) -> RouteMiddleware:
        return cls(ctx.settings.models, ctx.resolve)

    def _route(self, call: Call) -> Route:
        if call.route is None:
            call.route = self._resolve(call.model)
        return call.route

    async def unary(self, call: Call, call_next: UnaryHandler) -> object:
        route = self._route(call)
        call.report.alias = route.alias
        if not _has_fallbacks(self._aliases.get(route.alias)):
            return await call_next(call)
        walk = _Walk(self, call)
        while True:
            try:
                response = await call_next(call)
            except errors.LLMRelayError as exc:
                walk.failed(exc)
                continue
            filtered = isinstance(response, ChatResponse) and response.finish_reason == "content_filter"
            if filtered and walk.filtered():
                continue
            return response

    def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        # Decides which generator to return and does nothing else: errors surface when iterated.
        if call.route is not None and not _has_fallbacks(self._aliases.get(call.route.alias)):
            call.report.alias = call.route.alias
            return call_next(call)  # nowhere to fall back to: no per-event layer
        return self._walk_stream(call, call_next)

    async def _walk_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        call.report.alias = self._route(call).alias
        walk = _Walk(self, call)
        while True:
            events = call_next(call)
            started = False
            try:
                async for ev in events:
                    if type(ev) is not StreamStart:
                        started = True
                    yield ev
                return
            except errors.LLMRelayError as exc:
                if started:
                    raise
                walk.failed(exc)
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()


def _has_fallbacks(cfg: AliasSettings | None) -> bool:
    return cfg is not None and bool(
        cfg.fallbacks or cfg.context_window_fallback or cfg.content_filter_fallback
    )


class _Walk:
    """One call's way through the aliases."""

    def __init__(self, mw: RouteMiddleware, call: Call) -> None:
        self._aliases = mw._aliases
        self._resolve = mw._resolve
        self.call = call
        self.state = call.setdefault(CallState)
        assert call.route is not None
        self.original = call.route.alias
        self.alias = self.original
        self.tried = [self.original]
        self.failures: list[tuple[str, errors.LLMRelayError]] = []

    def failed(self, exc: errors.LLMRelayError) -> None:
        """Move to the fallback alias for ``exc``, or raise."""
        spent = self.state.deadline_passed
        nxt = None if spent else next_fallback(self._aliases, self.original, self.alias, exc, self.tried)
        if nxt is None:
            if not self.failures:
                raise exc
            self.failures.append((self.alias, exc))
            raise self._all_failed(exc) from exc
        self.failures.append((self.alias, exc))
        try:
            self._move(nxt, type(exc).__name__)
        except errors.LLMRelayError as unusable:  # the fallback cannot be resolved: it fails in turn
            self.tried.append(nxt.alias)
            self.alias = nxt.alias
            self.failed(unusable)

    def filtered(self) -> bool:
        """A reply stopped by the content filter: move to the content fallback if there is one."""
        here = self._aliases.get(self.alias)
        target = here.content_filter_fallback if here is not None else None
        if not target or target in self.tried:
            return False
        self._move(Fallback(target, "content_filter"), "finish_reason=content_filter")
        return True

    def _move(self, nxt: Fallback, cause: str) -> None:
        route = self._resolve(nxt.alias)
        self.call.report.fallbacks.append(FallbackStep(self.alias, nxt.alias, nxt.reason, cause))
        log.warning(
            "falling back from %s to %s (%s)",
            self.alias,
            nxt.alias,
            nxt.reason,
            extra={
                "event": "fallback",
                "from_alias": self.alias,
                "to_alias": nxt.alias,
                "reason": nxt.reason,
            },
        )
        self.alias = nxt.alias
        self.tried.append(nxt.alias)
        self.call.route = route
        self.call.attempt = None
        self.call.report.alias = nxt.alias

    def _all_failed(self, last: errors.LLMRelayError) -> errors.AllDeploymentsFailedError:
        detail = "; ".join(
            f"{alias}: {type(e).__name__}" + (f" ({e.status})" if e.status is not None else "")
            for alias, e in self.failures
        )
        return errors.AllDeploymentsFailedError(
            f"every alias tried for this call failed — {detail}",
            errors=[e for _, e in self.failures],
            provider=last.provider,
            model=last.model,
            status=last.status,
            request_id=last.request_id,
            retry_after=last.retry_after,
        )
