"""Cache layer: serve a stored answer instead of calling upstream, for unary calls and streams.

Between the ledger and preflight: the ledger records every call, hits included (cost 0,
``cache_hit``), and a hit skips preflight, budgets, rate limits and everything below —
nothing is sent, so nothing is spent or limited. A hit is a complete call:
``call.outcome`` holds the recorded answer with its recorded usage and a cost of 0,
``response.meta.cache`` is ``"hit"`` (``"miss"`` when the call went upstream,
``"stale"`` when an expired answer was served because every deployment failed), and a
streamed hit replays the recorded chunks between a ``StreamStart`` and a ``StreamEnd``.
What a hit saved (the recorded cost) is left as ``call.ext[CacheHit]``.

With the semantic cache on for the alias (``llmrelay.cache.semantic``), a call whose
exact key misses embeds its last user turn and may be served the stored answer of a
paraphrase; ``response.meta.cache_similarity`` then says how close it was. Its own
answer, once stored, is indexed the same way.

Only complete, successful answers are stored (finish ``stop``, ``length`` or
``tool_calls``): never a filtered, errored, truncated or abandoned one. Identical calls
in flight together coalesce (``llmrelay.cache.flight``). The engines — keys, entries,
backends — are ``llmrelay.cache``; which calls are cached is ``llmrelay.cache.policy``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from llmrelay import errors
from llmrelay.cache import (
    CacheOptions,
    Entry,
    Flights,
    Keys,
    Plan,
    Scope,
    Store,
    deterministic,
    from_response,
    namespace,
    open_store,
    plan,
)
from llmrelay.cache.entry import STORABLE, copy_json
from llmrelay.cache.policy import alias_plan
from llmrelay.cache.semantic import Probe, SemanticIndex
from llmrelay.pipeline import Call, Controller, Op, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.settings.cache import CacheSettings
from llmrelay.types import (
    CONTENT_EVENTS,
    ChatResponse,
    FinishEvent,
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)

log = logging.getLogger("llmrelay.cache")

#: aliases whose plan is kept (past it the kept plans are dropped and worked out again)
_MAX_PLANS = 1024

_RECORDED = (TextDelta, ReasoningDelta, ToolCallDelta, UsageEvent, FinishEvent)

#: errors that mean upstream could not answer (a stale answer may stand in), as opposed
#: to errors about the request itself (a stale answer to a bad request is still wrong)
_UPSTREAM_FAILURES = (
    errors.AllDeploymentsFailedError,
    errors.TransportError,
    errors.CircuitOpenError,
    errors.RateLimitError,
    errors.ServiceUnavailableError,
    errors.RequestTimeoutError,
    errors.MalformedResponseError,
    errors.StreamTruncatedError,
)


@dataclass(frozen=True, slots=True)
class CacheHit:
    """Left in ``call.ext`` when a stored answer served the call: its ``verdict``, its
    ``age`` in seconds and what it cost when it was made (``saved``, None: unknown)."""

    verdict: Literal["hit", "stale"]
    age: float
    saved: float | None


class CacheMiddleware(Controller):
    ops: ClassVar[frozenset[Op]] = frozenset(("chat",))

    def __init__(self, settings: CacheSettings, store: Store, semantic: SemanticIndex | None = None) -> None:
        self.settings = settings
        self.store = store
        self.semantic = semantic
        self.flights = Flights()
        self.keys = Keys()
        self._plans: dict[str, tuple[bool, Plan | None]] = {}

    @classmethod
    def from_context(cls, ctx: StackContext) -> CacheMiddleware | None:
        from llmrelay.middleware.cache_semantic import open_semantic

        s = ctx.settings.cache
        if not s.enabled:
            return None
        return cls(s, open_store(s, ctx.settings.state.redis_url), open_semantic(ctx))

    # ------------------------------------------------------------------ unary

    async def unary(self, call: Call, call_next: UnaryHandler) -> Any:
        prep = self._prepare(call)
        if prep is None:
            return await call_next(call)
        p, key, space = prep
        stale: Entry | None = None
        leading = False
        if p.read:
            entry = await self.store.lookup(key)
            if entry is not None:
                if entry.age() <= p.ttl:
                    return self._answer(call, entry, "hit")
                stale = entry
        probe = await self._probe(call, p, space)
        if probe is not None and p.read:
            similar = await self._similar(probe, p)
            if similar is not None:
                return self._answer(call, similar[0], "hit", similarity=similar[1])
        if p.read:
            follow = self._follow(key)
            if follow is None:
                leading = self.settings.single_flight
            else:
                got = await Flights.wait(follow, self.settings.flight_wait)
                if got is not None:
                    return self._answer(call, got, "hit")
        landed: Entry | None = None
        try:
            call.report.cache = "miss"
            try:
                resp: ChatResponse = await call_next(call)
            except errors.LLMRelayError as exc:
                if self._may_serve_stale(stale, p, exc):
                    assert stale is not None
                    return self._answer(call, stale, "stale", exc)
                raise
            if p.write and resp.finish_reason in STORABLE:
                entry = from_response(resp, call.report.deployment)
                if await self.store.save(key, entry, p.keep, Scope(space, call.route.alias)):  # type: ignore[union-attr]
                    landed = entry
                    await self._index(probe, key, p)
            return resp
        finally:
            if leading:
                self.flights.land(key, landed)

    # ------------------------------------------------------------------ streams

    def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        prep = self._prepare(call)  # pure: nothing is looked up before the stream is iterated
        if prep is None:
            return call_next(call)
        return self._stream(call, call_next, *prep)

    async def _stream(
        self, call: Call, call_next: StreamHandler, p: Plan, key: str, space: str
    ) -> AsyncIterator[StreamEvent]:
        stale: Entry | None = None
        leading = False
        probe: Probe | None = None
        if p.read:
            entry = await self.store.lookup(key)
            similarity: float | None = None
            if entry is None or entry.age() > p.ttl:
                stale = entry
                probe = await self._probe(call, p, space)
                similar = await self._similar(probe, p) if probe is not None else None
                if similar is not None:
                    entry, similarity = similar
                else:
                    follow = self._follow(key)
                    if follow is None:
                        leading = self.settings.single_flight
                    else:
                        entry = await Flights.wait(follow, self.settings.flight_wait)
            if entry is not None and stale is not entry:
                async for ev in self._replay(call, entry, "hit", similarity):
                    yield ev
                return
        else:
            probe = await self._probe(call, p, space)
        landed: Entry | None = None
        try:
            call.report.cache = "miss"
            chunks: list[StreamEvent] = []
            delivered = False
            events = call_next(call)
            try:
                async for ev in events:
                    kind = type(ev)
                    if kind is StreamEnd:
                        if p.write and call.outcome.complete and ev.finish_reason in STORABLE:  # type: ignore[union-attr]
                            landed = await self._save_stream(call, key, p, chunks, space)
                            if landed is not None:
                                await self._index(probe, key, p)
                    elif kind in _RECORDED:
                        chunks.append(ev)
                    delivered = True
                    yield ev
            except errors.LLMRelayError as exc:
                if delivered or not self._may_serve_stale(stale, p, exc):
                    raise
                assert stale is not None
                self._warn_stale(call, stale, exc)
                async for ev in self._replay(call, stale, "stale"):
                    yield ev
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            if leading:
                self.flights.land(key, landed)

    async def _save_stream(
        self, call: Call, key: str, p: Plan, chunks: list[StreamEvent], space: str
    ) -> Entry | None:
        out = call.outcome
        entry = Entry(
            id=out.response_id or "",
            model=out.model or "",
            provider=out.provider or "",
            deployment=call.report.deployment,
            text=out.text,
            tool_calls=out.tool_calls(),
            finish_reason=out.finish_reason or "stop",
            native_finish_reason=out.native_finish_reason,
            usage=out.usage,
            cost=out.cost,
            reasoning=out.reasoning or None,
            provider_state=None if out.provider_state is None else copy_json(out.provider_state),
            details=copy_json(out.details) if out.details else {},
            chunks=tuple(chunks),
            created=time.time(),
        )
        alias = call.route.alias if call.route is not None else None
        return entry if await self.store.save(key, entry, p.keep, Scope(space, alias)) else None

    async def _replay(
        self, call: Call, entry: Entry, verdict: Literal["hit", "stale"], similarity: float | None = None
    ) -> AsyncIterator[StreamEvent]:
        self._mark(call, entry, verdict, similarity)
        out = call.outcome
        out.forget_content()  # a stale replay follows failed attempts: only the replay counts
        out.answering = True
        out.response_id = entry.id
        out.model = entry.model
        out.provider = entry.provider
        out.request_id = None
        deployment = entry.deployment or ""
        yield StreamStart(entry.id, entry.model, entry.provider, deployment, None)
        delay = self.settings.replay_delay
        for i, ev in enumerate(entry.events()):
            if delay and i:
                await asyncio.sleep(delay)
            if out.ttft is None and isinstance(ev, CONTENT_EVENTS):
                out.ttft = call.elapsed()
            out.add(ev)
            yield ev
        out.usage = entry.usage
        out.finish_reason = entry.finish_reason
        out.native_finish_reason = entry.native_finish_reason
        out.provider_state = entry.own_state()
        out.details = entry.own_details()
        out.cost = 0.0
        out.complete = True
        yield StreamEnd(entry.finish_reason, entry.native_finish_reason, entry.usage, 0.0, out.provider_state)

    # ------------------------------------------------------------------ shared

    def _prepare(self, call: Call) -> tuple[Plan, str, str] | None:
        route = call.route
        if route is None or call.op != "chat":
            return None
        options = call.get(CacheOptions)
        if options is None:
            # the usual call: the alias's plan, worked out once (settings are frozen)
            known = self._plans.get(route.alias)
            if known is None:
                if len(self._plans) >= _MAX_PLANS:  # model names come from callers
                    self._plans.clear()
                known = self._plans[route.alias] = alias_plan(self.settings, route.alias)
            only, p = known
            if p is None or (only and not deterministic(call.chat)):
                return None
        else:
            p = plan(self.settings, route.alias, call.chat, options)
            if p is None:
                return None
        if call.include_raw and p.read:
            # the provider's raw payload is not stored: a caller who asked for it goes upstream
            p = replace(p, read=False)
        space = namespace(call.subject, p.shared)
        return p, self.keys.key(call.chat, route, space), space

    async def _probe(self, call: Call, p: Plan, space: str) -> Probe | None:
        """The call's question embedded, when the semantic cache is on for it."""
        if p.semantic is None or self.semantic is None or call.route is None:
            return None
        return await self.semantic.probe(call.chat, call.route, space, call.subject)

    async def _similar(self, probe: Probe, p: Plan) -> tuple[Entry, float] | None:
        """A fresh stored answer to a paraphrase of the call's question, with its similarity."""
        assert self.semantic is not None and p.semantic is not None
        match = await self.semantic.find(probe, p.semantic)
        if match is None:
            return None
        entry = await self.store.lookup(match.key)
        if entry is None or entry.age() > p.ttl:
            if entry is None:
                self.semantic.forget(probe.partition, match.key)
            return None
        return entry, match.similarity

    async def _index(self, probe: Probe | None, key: str, p: Plan) -> None:
        if probe is not None and self.semantic is not None:
            await self.semantic.remember(probe, key, p.keep)

    def _follow(self, key: str) -> asyncio.Future[Entry | None] | None:
        """The leader's future when an identical call is in flight; None when this call
        leads (or single flight is off)."""
        if not self.settings.single_flight:
            return None
        return self.flights.join(key)

    @staticmethod
    def _may_serve_stale(stale: Entry | None, p: Plan, exc: BaseException) -> bool:
        return (
            stale is not None
            and p.stale > 0
            and isinstance(exc, _UPSTREAM_FAILURES)
            and stale.age() <= p.ttl + p.stale
        )

    def _answer(
        self,
        call: Call,
        entry: Entry,
        verdict: Literal["hit", "stale"],
        error: BaseException | None = None,
        similarity: float | None = None,
    ) -> ChatResponse:
        if error is not None:
            self._warn_stale(call, entry, error)
        self._mark(call, entry, verdict, similarity)
        resp = ChatResponse(
            id=entry.id,
            model=entry.model,
            provider=entry.provider,
            text=entry.text,
            tool_calls=entry.tool_calls,
            finish_reason=entry.finish_reason,
            native_finish_reason=entry.native_finish_reason,
            usage=entry.usage,
            reasoning=entry.reasoning,
            latency=call.elapsed(),
            cost=0.0,
            provider_state=entry.own_state(),
            details=entry.own_details(),
            meta=call.report,
        )
        call.outcome.set_response(resp)
        return resp

    @staticmethod
    def _mark(
        call: Call, entry: Entry, verdict: Literal["hit", "stale"], similarity: float | None = None
    ) -> None:
        report = call.report
        report.cache = verdict
        report.cache_similarity = similarity
        report.cache_saved = entry.cost
        report.deployment = entry.deployment
        if call.route is not None and report.alias is None:
            report.alias = call.route.alias
        call.ext[CacheHit] = CacheHit(verdict, round(entry.age(), 3), entry.cost)

    @staticmethod
    def _warn_stale(call: Call, entry: Entry, error: BaseException) -> None:
        log.warning(
            "cache: every deployment failed (%s); serving a stale answer %.0fs old",
            type(error).__name__,
            entry.age(),
            extra={"event": "cache_stale", "alias": call.route.alias if call.route else None},
        )

    async def aclose(self) -> None:
        try:
            await self.store.aclose()
        finally:
            if self.semantic is not None:
                await self.semantic.aclose()
