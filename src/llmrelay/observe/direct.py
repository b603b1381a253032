"""Spans recorded by llmrelay itself and handed, finished, to a span processor of its own.

The OpenTelemetry SDK's ``Span`` is built for spans that code mutates while they are
open: it takes a lock per change, checks every attribute's type and copies the whole
span for the processors when it ends. A call's spans need none of that: their
attributes come from typed records (always strings, numbers, booleans and tuples of
strings, fewer than the SDK's limit), and they are described once, when they end. So
here a span is a context and a start time while it is open, and one ``ReadableSpan``
when it ends, given straight to the processor's ``on_end`` — what the SDK gives an
exporter, at about a fifth of its cost (``benchmarks/bench_observe.py``).

This is used only where llmrelay owns the processor: ``observe.otlp_endpoint`` (a
``BatchSpanProcessor`` over an OTLP exporter) or a ``span_processor`` passed to
``Telemetry.from_settings``. Spans for a tracer provider — the global one or one you
pass — go through the SDK (``tracing.Tracing``), so its samplers, limits and every
processor's ``on_start`` apply. Here, ``on_start`` is never called (spans reach the
processor finished); sampling is parent-based — a call inside a sampled span is
recorded, one inside an unsampled span is not — and a call with no parent is
recorded at ``sample_rate``, decided from its trace id as ``TraceIdRatioBased`` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from llmrelay.observe import genai
from llmrelay.observe.genai import Attributes
from llmrelay.observe.record import AttemptRecord, CallRecord
from llmrelay.observe.tracing import INSTRUMENTATION, Tracing

_log = logging.getLogger(__name__)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)


class OpenSpan(NonRecordingSpan):
    """A recorded span while it is open: its context, parent, name, kind, start time and
    the events added so far. It is a ``Span`` only so that propagators and
    ``trace.set_span_in_context`` take it; nobody but llmrelay holds one, and its own
    mutators are the no-ops of ``NonRecordingSpan``."""

    __slots__ = ("attributes", "events", "kind", "name", "parent", "start")

    def __init__(
        self,
        context: SpanContext,
        parent: SpanContext | None,
        name: str,
        kind: SpanKind,
        start: int,
        attributes: Attributes | None = None,
    ) -> None:
        super().__init__(context)
        self.parent = parent
        self.name = name
        self.kind = kind
        self.start = start
        #: what was known when it started (an attempt's deployment and server)
        self.attributes = attributes
        self.events: list[Event] | None = None

    def is_recording(self) -> bool:
        return True

    def event(self, name: str, attributes: Attributes) -> None:
        ev = Event(name, attributes, time.time_ns())
        if self.events is None:
            self.events = [ev]
        else:
            self.events.append(ev)


class DirectTracing(Tracing):
    """``Tracing`` whose spans are recorded here and handed to ``processor`` when they end."""

    def __init__(
        self,
        processor: SpanProcessor,
        *,
        resource: Resource | None = None,
        sample_rate: float = 1.0,
        content: bool = False,
        attempt_spans: bool = True,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, not {sample_rate!r}")
        super().__init__(trace.NoOpTracer(), content=content, attempt_spans=attempt_spans)
        self.processor = processor
        # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, as the
        # SDK's provider does
        self.resource = resource if resource is not None else Resource.create({})
        # as the SDK names the scope of ``trace.get_tracer("llmrelay")``
        self.scope = InstrumentationScope(INSTRUMENTATION)
        self.sample_rate = sample_rate
        self._bound = TraceIdRatioBased.get_bound_for_rate(sample_rate)
        self._ids = RandomIdGenerator()

    # ------------------------------------------------------------------ calls

    def start_call(self, r: CallRecord) -> Span:
        ctx, parent = self._context(trace.get_current_span().get_span_context())
        if not ctx.trace_flags.sampled:  # the context still travels upstream, marked not sampled
            return NonRecordingSpan(ctx)
        name = genai.span_name(r.op, r.requested_model)
        return OpenSpan(ctx, parent, name, SpanKind.INTERNAL, time.time_ns())

    def _context(self, parent: SpanContext) -> tuple[SpanContext, SpanContext | None]:
        """A new span's context and parent: in ``parent``'s trace, sampled as it is;
        else (no valid parent) in a new trace, sampled at the rate."""
        ids = self._ids
        if parent.is_valid:
            flags = parent.trace_flags
            return SpanContext(
                parent.trace_id, ids.generate_span_id(), False, flags, parent.trace_state
            ), parent
        trace_id = ids.generate_trace_id()
        flags = _SAMPLED if trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self._bound else _NOT_SAMPLED
        return SpanContext(trace_id, ids.generate_span_id(), False, flags), None

    def end_call(self, span: Span, r: CallRecord) -> None:
        if type(span) is not OpenSpan:
            return
        attrs = genai.start_attributes(r)
        attrs.update(genai.closing_attributes(r, self.content))
        for name, event in genai.call_events(r):
            span.event(name, event)
        status = Status(StatusCode.ERROR, r.error_type) if r.outcome == "error" else _UNSET
        self._finish(span, attrs, status)

    # --------------------------------------------------------------- attempts

    def start_attempt(self, call_span: Span | None, op: str, a: AttemptRecord) -> Span:
        span = call_span if call_span is not None else trace.INVALID_SPAN
        ctx, parent = self._context(span.get_span_context())
        if not ctx.trace_flags.sampled or (call_span is not None and type(call_span) is not OpenSpan):
            return NonRecordingSpan(ctx)
        name = genai.span_name(op, a.model)
        attrs = genai.attempt_start_attributes(op, a)
        return OpenSpan(ctx, parent, name, SpanKind.CLIENT, time.time_ns(), attrs)

    def retried(self, call_span: Span | None, a: AttemptRecord) -> None:
        if type(call_span) is OpenSpan:
            call_span.event("llmrelay.retry", genai.retry_event(a))

    def end_attempt(self, span: Span, a: AttemptRecord, response_model: str | None) -> None:
        if type(span) is not OpenSpan:
            return
        attrs = span.attributes or {}
        attrs.update(genai.attempt_end_attributes(a, response_model))
        status = Status(StatusCode.ERROR, a.error_type) if a.outcome != "ok" else _UNSET
        self._finish(span, attrs, status)

    # ----------------------------------------------------------------- ending

    def _finish(self, span: OpenSpan, attrs: Attributes, status: Status) -> None:
        events: Sequence[Event] = tuple(span.events) if span.events else ()
        finished = ReadableSpan(
            span.name,
            span.get_span_context(),
            span.parent,
            self.resource,
            attrs,
            events,
            (),
            span.kind,
            None,
            status,
            span.start,
            time.time_ns(),
            self.scope,
        )
        try:
            self.processor.on_end(finished)
        except Exception:  # a processor's failure is not the call's: the answer stands
            _log.warning("the span processor failed on span %r; the span is lost", span.name, exc_info=True)
