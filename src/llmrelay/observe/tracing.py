"""OpenTelemetry spans for calls and attempts (GenAI conventions, see ``genai``).

One span per call (kind INTERNAL, a child of whatever span is current when the call
starts) and one child per upstream request (kind CLIENT), whose context is propagated
to the provider as a W3C ``traceparent`` header. Retries, fallbacks and circuit changes
are events on the call's span. Spans are passed explicitly, never attached to the
current context: a stream's steps run in whichever task iterates it, and a context
token attached in one step could not be detached in another.

Import this module only when traces are on: it imports ``opentelemetry`` (the ``otel``
extra).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmrelay.observe import genai
from llmrelay.observe.record import AttemptRecord, CallRecord

INSTRUMENTATION = "llmrelay"
#: trace flags as the header writes them (formatting the int each time costs more)
_FLAGS = tuple(f"{i:02x}" for i in range(256))


class Tracing:
    def __init__(self, tracer: Tracer, *, content: bool = False, attempt_spans: bool = True) -> None:
        self.tracer = tracer
        self.content = content
        #: a child span per upstream request; without them the call's span is the only
        #: one, and the parent every request names
        self.attempt_spans = attempt_spans
        # ``host:port`` per base URL: parsing a URL on every attempt costs more than the
        # attribute; bounded by the configured deployments (cleared if it ever fills)
        self._servers: dict[str, str | None] = {}
        # the global propagator last seen, and whether it is the W3C default (see headers)
        self._textmap: TextMapPropagator | None = None
        self._w3c = False

    @classmethod
    def from_provider(
        cls, provider: trace.TracerProvider | None, *, content: bool = False, attempt_spans: bool = True
    ) -> Tracing:
        """Spans from ``provider``, else from the global tracer provider (the usual
        place an application configures OpenTelemetry)."""
        tracer = trace.get_tracer(INSTRUMENTATION, tracer_provider=provider)
        return cls(tracer, content=content, attempt_spans=attempt_spans)

    def server(self, base_url: str) -> str | None:
        """``host:port`` of a base URL (for ``server.address``); None for an in-process mount."""
        try:
            return self._servers[base_url]
        except KeyError:
            pass
        if len(self._servers) >= 1024:
            self._servers.clear()
        parts = urlsplit(base_url)
        found = None
        if parts.hostname:
            found = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
        self._servers[base_url] = found
        return found

    def start_call(self, r: CallRecord) -> Span:
        return self.tracer.start_span(
            genai.span_name(r.op, r.requested_model),
            kind=SpanKind.INTERNAL,
            attributes=genai.start_attributes(r),
        )

    def end_call(self, span: Span, r: CallRecord) -> None:
        if not span.is_recording():  # sampled out: nothing to describe
            span.end()
            return
        span.set_attributes(genai.closing_attributes(r, self.content))
        for name, attrs in genai.call_events(r):
            span.add_event(name, attrs)
        if r.outcome == "error":
            span.set_status(Status(StatusCode.ERROR, r.error_type))
        span.end()

    def start_attempt(self, call_span: Span | None, op: str, a: AttemptRecord) -> Span:
        parent = trace.set_span_in_context(call_span) if call_span is not None else None
        return self.tracer.start_span(
            genai.span_name(op, a.model),
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=genai.attempt_start_attributes(op, a),
        )

    def retried(self, call_span: Span | None, a: AttemptRecord) -> None:
        """A failed attempt that the call goes on from: an event on the call's span."""
        if call_span is not None and call_span.is_recording():
            call_span.add_event("llmrelay.retry", genai.retry_event(a))

    def end_attempt(self, span: Span, a: AttemptRecord, response_model: str | None) -> None:
        if span.is_recording():
            span.set_attributes(genai.attempt_end_attributes(a, response_model))
            if a.outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, a.error_type))
        span.end()

    def headers(self, span: Span) -> dict[str, str]:
        """The propagation headers (``traceparent``, and ``tracestate`` when there is
        one) naming ``span`` as the parent, by the globally configured propagator.

        With OpenTelemetry's default propagator (W3C trace context and baggage) and no
        baggage in the current context, the header is written here from the span's
        context, as the propagator would write it: ``propagate.inject`` goes through
        the composite, a context copy and a baggage lookup on every attempt. Any
        other propagator, or baggage to carry, goes through ``propagate.inject``."""
        textmap = propagate.get_global_textmap()
        if textmap is not self._textmap:
            self._textmap, self._w3c = textmap, _is_w3c(textmap)
        if self._w3c and not baggage.get_all():
            ctx = span.get_span_context()
            if not ctx.is_valid:
                return {}
            flags = _FLAGS[ctx.trace_flags]
            carrier = {"traceparent": f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{flags}"}
            if ctx.trace_state:
                carrier["tracestate"] = ctx.trace_state.to_header()
            return carrier
        carrier = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        return carrier


def _is_w3c(textmap: TextMapPropagator) -> bool:
    """Whether ``textmap`` is trace context, alone or with baggage (the SDK's default)."""
    if type(textmap) is TraceContextTextMapPropagator:
        return True
    if type(textmap) is not CompositePropagator:
        return False
    parts = getattr(textmap, "_propagators", None)  # not public: anything unexpected is not W3C
    if not isinstance(parts, list | tuple):
        return False
    kinds = [type(p) for p in parts]
    return TraceContextTextMapPropagator in kinds and all(
        k in (TraceContextTextMapPropagator, W3CBaggagePropagator) for k in kinds
    )
