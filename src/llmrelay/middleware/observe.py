"""Observe layers: per-call logs, metrics and spans (``llmrelay.observe``), in two slots.

* ``observe`` (just inside the ledger) sees the call as the caller does: it opens the
  call's span and in-flight gauge in ``before`` and, in ``after``, reads the call's
  outcome and report into a ``CallRecord`` for the log event, the metrics and the
  span's closing attributes.
* ``observe_attempt`` (innermost, right before the request is built and sent) sees each
  upstream request: a child span per attempt, an attempt counter and a DEBUG log line.
  It is also the seam for trace propagation: for the attempt it sets the call's
  ``trace_headers`` (``traceparent``: the attempt span's context), which the terminal
  adds to the HTTP request, and restores them after; the caller's request is never
  copied or changed (a copy per attempt costs more than the header).

Both are observers, so they are written once for unary calls and streams. The inner
layer finds the telemetry through the call (``_Observed`` in ``call.ext``) and does
nothing for calls the outer one did not see. Neither holds state beyond the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay.hosts import HOSTS
from llmrelay.middleware.budget import BudgetSpend
from llmrelay.middleware.guard import GuardDecisions
from llmrelay.observe import AttemptRecord, CallRecord, LabelBounds, Telemetry
from llmrelay.observe.labels import error_label
from llmrelay.observe.logs import attempt_event, call_event
from llmrelay.pipeline import Call, Observer
from llmrelay.pipeline.context import StackContext
from llmrelay.resolve import LOCAL_MODEL
from llmrelay.secrets import redact
from llmrelay.settings import Settings
from llmrelay.types import ChatRequest, CountRequest

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from llmrelay.middleware.stack import Placement

_CANCELLED = (GeneratorExit, asyncio.CancelledError, KeyboardInterrupt)


@dataclass(slots=True)
class _Observed:
    """What the outer layer leaves on the call for the inner one."""

    telemetry: Telemetry
    t0: float
    span: Span | None = None
    #: the request's part of the record, when the span needed it at the start
    record: CallRecord | None = None
    #: the call span's propagation headers (without attempt spans: made once per call)
    headers: dict[str, str] | None = None
    #: the attempt layer that reports this call's attempts (the first to see one), so a
    #: client with two of them (settings and ``instrument``) does not report twice
    claimed: AttemptObserver | None = None


@dataclass(slots=True)
class _AttemptState:
    record: AttemptRecord
    t0: float
    span: Span | None
    #: the call's trace headers before this attempt set its own
    restore: Mapping[str, str] | None


class _CountOnly:
    """The state of an attempt only the attempts counter hears of: nothing to keep."""

    __slots__ = ()


_COUNT = _CountOnly()


def bounds_from_settings(settings: Settings) -> LabelBounds:
    """Label values the configuration knows: aliases (with the default ``local``),
    deployment names, deployment models and ``observe.labels``, host names."""
    aliases = {"local", settings.default_model, *settings.models}
    deployments: set[str] = {f"simulator/{LOCAL_MODEL}"}
    models: set[str] = {LOCAL_MODEL, *settings.observe.labels}
    for cfg in settings.models.values():
        for d in cfg.deployments:
            deployments.add(d.name or f"{d.provider}/{d.model}")
            models.add(d.model)
    return LabelBounds.of(aliases, deployments, models, HOSTS)


class ObserveMiddleware(Observer):
    """The call-level half (slot ``observe``)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    @classmethod
    def from_context(cls, ctx: StackContext) -> ObserveMiddleware | None:
        s = ctx.settings.observe
        if not s.enabled:
            return None
        return cls(Telemetry.from_settings(s, bounds_from_settings(ctx.settings)))

    async def before(self, call: Call) -> _Observed:
        t = self.telemetry
        state = _Observed(t, time.perf_counter())
        call.ext[_Observed] = state
        if t.metrics is not None:
            t.metrics.started(call.stream)
            call.setdefault(BudgetSpend)  # asks the budget layer to say what budgets hold
        if t.tracing is not None:
            state.record = _request_record(call)
            state.span = t.tracing.start_call(state.record)
        return state

    async def after(self, call: Call, state: _Observed, error: BaseException | None) -> None:
        t = self.telemetry
        level = logging.INFO if error is None or isinstance(error, _CANCELLED) else logging.WARNING
        if t.metrics is None and t.tracing is None and (t.log is None or not t.log.enabled(level)):
            return  # nobody would hear of this call (a socket sink with no listener, say)
        r = call_record(call, state.t0, error, t, state.record)
        if t.metrics is not None:
            t.metrics.finished(r)
        if t.tracing is not None and state.span is not None:
            t.tracing.end_call(state.span, r)
        if t.log is not None and t.log.enabled(level):
            t.log(level, call_event(r))

    async def aclose(self) -> None:
        self.telemetry.close()


class AttemptObserver(Observer):
    """The attempt-level half (slot ``observe_attempt``)."""

    @classmethod
    def from_context(cls, ctx: StackContext) -> AttemptObserver | None:
        return cls() if ctx.settings.observe.enabled else None

    async def before(self, call: Call) -> _AttemptState | _CountOnly | None:
        obs: _Observed | None = call.ext.get(_Observed)
        attempt = call.attempt
        if obs is None or attempt is None:
            return None
        if obs.claimed is None:
            obs.claimed = self
        elif obs.claimed is not self:
            return None
        t = obs.telemetry
        if t.tracing is None and (t.log is None or not t.log.enabled(logging.DEBUG)):
            # nobody would hear of this attempt, or only the attempts counter: it needs
            # no record, only the attempt's outcome
            return _COUNT if t.metrics is not None else None
        dep = attempt.deployment
        ep = dep.endpoint
        tracing = t.tracing
        server = tracing.server(ep.base_url) if tracing is not None else None  # only spans name the server
        rec = AttemptRecord(
            attempt.number, dep.name, ep.provider, ep.host or ep.provider, ep.model, server, 0.0
        )
        span = None
        restore = call.trace_headers
        if tracing is not None:
            if tracing.attempt_spans and (obs.span is None or obs.span.is_recording()):
                span = tracing.start_attempt(obs.span, call.op, rec)
                headers = tracing.headers(span)
            elif obs.span is not None:
                # the call's span is every attempt's parent (no attempt spans, or the
                # sampler dropped the call: its children would be dropped too, and
                # nobody will see which unexported span a request names): its headers
                # are made once
                if obs.headers is None:
                    obs.headers = tracing.headers(obs.span)
                headers = obs.headers
            else:
                headers = None
            call.trace_headers = headers or None
        return _AttemptState(rec, time.perf_counter(), span, restore)

    async def after(
        self, call: Call, state: _AttemptState | _CountOnly | None, error: BaseException | None
    ) -> None:
        if state is None:
            return
        if isinstance(state, _CountOnly):
            attempt = call.attempt
            metrics = call.ext[_Observed].telemetry.metrics
            if attempt is not None and metrics is not None:
                ep = attempt.deployment.endpoint
                outcome = "ok" if error is None else "cancelled" if isinstance(error, _CANCELLED) else "error"
                metrics.count_attempt(attempt.deployment.name, ep.host or ep.provider, outcome)
            return
        call.trace_headers = state.restore
        obs: _Observed = call.ext[_Observed]
        t = obs.telemetry
        rec = state.record
        rec.latency = time.perf_counter() - state.t0
        if error is not None:
            rec.outcome = "cancelled" if isinstance(error, _CANCELLED) else "error"
            rec.error_type = error_label(type(error))
            status = getattr(error, "status", None)
            rec.status = status if isinstance(status, int) else None
        if t.metrics is not None:
            t.metrics.attempt(rec)
        if t.tracing is not None:
            if state.span is not None:
                t.tracing.end_attempt(state.span, rec, call.outcome.model if error is None else None)
            if rec.outcome == "error":
                t.tracing.retried(obs.span, rec)
        if t.log is not None and t.log.enabled(logging.DEBUG):
            t.log(logging.DEBUG, attempt_event(call.model, rec))


def instrument(telemetry: Telemetry) -> list[Placement]:
    """Placements that report a client's calls to ``telemetry``:
    ``Client(settings, layers=instrument(telemetry))``. For clients whose
    ``observe`` settings are off (else the client reports to its own telemetry too)."""
    from llmrelay.middleware.stack import after

    return [after("observe", ObserveMiddleware(telemetry)), after("observe_attempt", AttemptObserver())]


# ---------------------------------------------------------------------- records


def _chat_of(call: Call) -> ChatRequest | None:
    req = call.request
    if type(req) is ChatRequest:
        return req
    if type(req) is CountRequest:
        return req.chat
    return None


def _request_record(call: Call) -> CallRecord:
    r = CallRecord(call.op, call.stream, call.model)
    chat = _chat_of(call)
    if chat is not None:
        r.temperature = chat.temperature
        r.top_p = chat.top_p
        r.max_tokens = chat.max_tokens
        r.seed = chat.seed
    return r


def call_record(
    call: Call, t0: float, error: BaseException | None, t: Telemetry, started: CallRecord | None = None
) -> CallRecord:
    """Everything the engines report about a finished call, read off the call (onto
    ``started``, the request's part, when the call's start already read it)."""
    r = started if started is not None else _request_record(call)
    rep = call.report
    out = call.outcome
    r.latency = time.perf_counter() - t0
    r.alias = rep.alias or (call.route.alias if call.route is not None else None)
    r.deployment = rep.deployment
    attempt = call.attempt
    if attempt is not None:
        ep = attempt.deployment.endpoint
        r.protocol = ep.provider
        r.provider = ep.host or ep.provider
        r.model = ep.model
        r.deployment = r.deployment or attempt.deployment.name
    r.response_model = out.model
    r.request_id = out.request_id
    r.response_id = out.response_id or None
    r.ledger_id = rep.ledger_id
    s = call.subject
    r.key_id, r.user, r.team, r.tags = s.key_id, s.user, s.team, s.tags
    u = out.usage
    if u is not None:
        r.input_tokens = u.input_tokens
        r.output_tokens = u.output_tokens
        r.cached_tokens = u.cached_input_tokens
        r.cache_write_tokens = u.cache_write_tokens
        r.reasoning_tokens = u.reasoning_tokens
    r.cost = out.cost
    r.ttft = out.ttft
    r.cache = rep.cache
    r.attempts = rep.attempts
    if rep.fallbacks:
        r.fallbacks = [(f.from_alias, f.to_alias, f.reason) for f in rep.fallbacks]
    if rep.circuit:
        r.circuit = [(c.deployment, c.old, c.new) for c in rep.circuit]
    if rep.errors:
        r.errors = [redact(e) for e in rep.errors]
    r.resumed = rep.resumed
    r.waited = rep.waited
    r.rate_limit_wait = rep.rate_limit_wait
    r.finish_reason = out.finish_reason
    guarded = call.get(GuardDecisions)
    if guarded is not None:
        r.guards = [(d.kind, d.action, d.where) for d in guarded.decisions]
    spend = call.get(BudgetSpend)
    if spend is not None:
        r.budgets = spend.levels
    if error is not None:
        r.outcome = "cancelled" if isinstance(error, _CANCELLED) else "error"
        r.error_type = error_label(type(error))
        if r.outcome == "error":
            from llmrelay.observe.content import clip  # a provider's message may quote the prompt

            r.error_message = clip(str(error), 500)
    if t.content:
        from llmrelay.observe.content import messages_json  # only with content capture on

        chat = _chat_of(call)
        if chat is not None:
            r.prompt = messages_json(chat.messages, t.content_limit)
        text = out.text or getattr(out.response, "text", "") or ""
        if text:
            from llmrelay.observe.content import clip

            r.completion = clip(text, t.content_limit)
    return r
