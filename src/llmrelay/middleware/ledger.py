"""Ledger middleware: one usage record per call, unary or stream, success or failure.

It is the outermost layer, so it sees the call as the caller does: total latency
(retries and fallbacks included), the final outcome, and what the inner layers noted
in ``call.meta`` — ``deployment`` (terminal handler or router), ``attempts``
(resilience layer), ``cache_hit`` (cache), ``cost`` (pricing, for streams) and ``key``
(the gateway's virtual key). A stream is recorded when it ends, fails or is closed.
A record without a cost is priced from the catalog by the writer, off the hot path.

Recording is a non-blocking append (see ``LedgerWriter``); a fault in building the
record is logged and never fails the call. ``call.meta["ledger_id"]`` is the record's
id, so a response can be matched with its record (``response.meta["ledger_id"]``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from llmrelay.errors import LLMRelayError
from llmrelay.ledger import OK, CatalogPricer, LedgerWriter, UsageRecord, error_kind, key_label, open_writer
from llmrelay.middleware import StackContext
from llmrelay.pipeline import Call, StreamHandler, UnaryHandler
from llmrelay.resolve import Route
from llmrelay.types import (
    ChatResponse,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

log = logging.getLogger("llmrelay.ledger")


class LedgerMiddleware:
    def __init__(
        self,
        writer: LedgerWriter,
        *,
        resolve: Callable[[str | None], Route] | None = None,
    ) -> None:
        self.writer = writer
        self._resolve = resolve

    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
        started = time.time()
        t0 = time.perf_counter()
        call.meta["ledger_id"] = os.urandom(16).hex()
        try:
            resp = await call_next(call)
        except BaseException as exc:
            self._emit(call, started, time.perf_counter() - t0, None, exc, None, None)
            raise
        self._emit(call, started, time.perf_counter() - t0, resp, None, resp.usage, resp.time_to_first_token)
        return resp

    async def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        started = time.time()
        t0 = time.perf_counter()
        call.meta["ledger_id"] = os.urandom(16).hex()
        usage: Usage | None = None
        ttft: float | None = None
        failure: BaseException | None = None
        events = call_next(call)
        try:
            async for ev in events:
                if isinstance(ev, UsageEvent):
                    usage = ev.usage
                elif ttft is None and isinstance(ev, TextDelta | ToolCallDelta | ReasoningDelta):
                    ttft = time.perf_counter() - t0
                yield ev
        except BaseException as exc:  # GeneratorExit included: the caller stopped reading
            failure = exc
            raise
        finally:
            self._emit(call, started, time.perf_counter() - t0, None, failure, usage, ttft)
            # close the inner layers now (and with them the connection), not at garbage collection
            closer = getattr(events, "aclose", None)
            if closer is not None:
                await closer()

    def _emit(
        self,
        call: Call,
        started: float,
        latency: float,
        resp: ChatResponse | None,
        failure: BaseException | None,
        usage: Usage | None,
        ttft: float | None,
    ) -> None:
        try:
            self.writer.record(self._build(call, started, latency, resp, failure, usage, ttft))
        except Exception:
            log.exception("ledger: could not record a call")

    def _build(
        self,
        call: Call,
        started: float,
        latency: float,
        resp: ChatResponse | None,
        failure: BaseException | None,
        usage: Usage | None,
        ttft: float | None,
    ) -> UsageRecord:
        req = call.request
        meta = call.meta
        err = failure if isinstance(failure, LLMRelayError) else None
        provider = resp.provider if resp else meta.get("provider") or (err.provider if err else None)
        model = resp.model if resp else meta.get("model") or (err.model if err else None)
        cost = resp.cost if resp is not None else meta.get("cost")
        deployment: Any = meta.get("deployment")
        key = meta.get("key")
        if key is None and req.metadata:
            key = req.metadata.get("key")
        return UsageRecord(
            id=meta["ledger_id"],
            ts=started,
            status=OK if failure is None else error_kind(failure),
            stream=call.stream,
            request_id=(resp.request_id if resp else None)
            or meta.get("request_id")
            or (err.request_id if err else None),
            response_id=(resp.id if resp else None) or meta.get("response_id"),
            key=key_label(key),
            user=req.user,
            tags=tuple(req.tags),
            metadata=dict(req.metadata) if req.metadata else None,
            alias=meta.get("alias") or self._alias(req.model),
            deployment=getattr(deployment, "name", deployment),
            provider=provider,
            model=model,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            cached_input_tokens=usage.cached_input_tokens if usage else None,
            cache_write_tokens=usage.cache_write_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            cost=cost,
            latency=latency,
            ttft=ttft,
            http_status=err.status if err else None,
            cache_hit=bool(meta.get("cache_hit", False)),
            attempts=int(meta.get("attempts", 1)),
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


def build(ctx: StackContext) -> LedgerMiddleware | None:
    settings = ctx.settings.ledger
    if not settings.enabled:
        return None
    if ctx.catalog is not None:
        pricer = CatalogPricer(catalog=ctx.catalog)
    else:
        from llmrelay.catalog import overrides_from_settings

        pricer = CatalogPricer(overrides_from_settings(ctx.settings))
    return LedgerMiddleware(open_writer(settings, pricer), resolve=ctx.resolve)
