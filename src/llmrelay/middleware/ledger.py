"""Ledger layer: one usage record per call, unary or stream, chat or embedding, success or failure.

It is the outermost layer, so it sees the call as the caller does: total latency
(retries and fallbacks included), the final outcome (``call.outcome``: usage, cost,
time to first token) and the call's report (deployment, attempts, alias). The key is
the call's subject (``call.subject.key_id``, set by the face that authenticated the
caller), never anything from the request. A stream is recorded when it ends, fails or
is closed. A record without a cost is priced from the catalog by the writer, off the
hot path. Besides tokens and cost it keeps the service tier the provider reported, the
response cache's verdict and what caches saved (a hit records cost 0 and, as
``saved_response_cache``, what the call that made the answer cost), and the guard's
decisions by kind and action — never the values they were about.

Recording is a non-blocking append (see ``LedgerWriter``); a fault in building the
record is logged and never fails the call. ``response.meta.ledger_id`` is the record's
id, so a response can be matched with its record.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import ClassVar, NamedTuple

from llmrelay.errors import LLMRelayError
from llmrelay.ledger import OK, CatalogPricer, GuardMark, LedgerWriter, UsageRecord, error_kind, open_writer
from llmrelay.middleware.cache import CacheHit
from llmrelay.middleware.guard import GuardDecisions
from llmrelay.pipeline import Call, Observer, Op
from llmrelay.pipeline.context import StackContext
from llmrelay.resolve import Route
from llmrelay.types import ChatResponse


class _Start(NamedTuple):
    wall: float
    t0: float


log = logging.getLogger("llmrelay.ledger")


class LedgerMiddleware(Observer):
    ops: ClassVar[frozenset[Op]] = frozenset(("chat", "embed"))

    def __init__(
        self,
        writer: LedgerWriter,
        *,
        resolve: Callable[[str | None], Route] | None = None,
    ) -> None:
        self.writer = writer
        self._resolve = resolve

    @classmethod
    def from_context(cls, ctx: StackContext) -> LedgerMiddleware | None:
        settings = ctx.settings.ledger
        if not settings.enabled:
            return None
        return cls(open_writer(settings, CatalogPricer(catalog=ctx.model_catalog())), resolve=ctx.resolve)

    async def before(self, call: Call) -> _Start:
        call.report.ledger_id = os.urandom(16).hex()
        return _Start(time.time(), time.perf_counter())

    async def after(self, call: Call, state: _Start, error: BaseException | None) -> None:
        try:
            self.writer.record(self._build(call, state, time.perf_counter() - state.t0, error))
        except Exception:
            log.exception("ledger: could not record a call")

    def _build(self, call: Call, start: _Start, latency: float, failure: BaseException | None) -> UsageRecord:
        req = call.request
        out = call.outcome
        report = call.report
        err = failure if isinstance(failure, LLMRelayError) else None
        resp = out.response if isinstance(out.response, ChatResponse) else None
        usage = out.usage
        subject = call.subject
        metadata = getattr(req, "metadata", None)
        tier = out.details.get("service_tier") if out.details else None
        hit = call.get(CacheHit)
        guard = call.get(GuardDecisions)
        return UsageRecord(
            id=report.ledger_id or os.urandom(16).hex(),
            ts=start.wall,
            status=OK if failure is None else error_kind(failure),
            stream=call.stream,
            request_id=out.request_id or (err.request_id if err else None),
            response_id=out.response_id,
            key=subject.key_id,
            user=subject.user or getattr(req, "user", None),
            tags=subject.tags,
            metadata=dict(metadata) if metadata else None,
            alias=report.alias or self._alias(req.model),
            deployment=report.deployment,
            provider=out.provider or (err.provider if err else None),
            model=out.model or (err.model if err else None),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            cached_input_tokens=usage.cached_input_tokens if usage else None,
            cache_write_tokens=usage.cache_write_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            cost=out.cost,
            latency=latency,
            ttft=out.ttft if call.stream else (resp.time_to_first_token if resp else None),
            http_status=err.status if err else None,
            cache_hit=report.cache == "hit",
            attempts=max(report.attempts, 1),
            cache_write_1h_tokens=usage.cache_write_1h_tokens if usage else None,
            service_tier=tier if isinstance(tier, str) else None,
            cache=report.cache,
            # a hit billed nothing, so its provider cache saved nothing either
            saved_provider_cache=None if hit is not None else out.cache_savings,
            saved_response_cache=hit.saved if hit is not None else None,
            guard=_marks(guard),
        )

    def _alias(self, model: str) -> str:
        if self._resolve is None:
            return model
        try:
            return self._resolve(model).alias
        except LLMRelayError:
            return model

    async def aclose(self) -> None:
        await self.writer.aclose()


def _marks(guard: GuardDecisions | None) -> tuple[GuardMark, ...]:
    if guard is None:
        return ()
    return tuple(GuardMark(d.kind, d.action, d.where, d.count) for d in guard.decisions)
