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

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from llmrelay.observe import genai
from llmrelay.observe.record import AttemptRecord, CallRecord

INSTRUMENTATION = "llmrelay"


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
        attrs = genai.request_options(r)
        attrs.update(genai.response_attributes(r))
        if self.content:
            attrs.update(genai.content_attributes(r))
        span.set_attributes(attrs)
        for src, dst, reason in r.fallbacks:
            span.add_event("llmrelay.fallback", {"from": src, "to": dst, "reason": reason})
        for dep, old, new in r.circuit:
            span.add_event("llmrelay.circuit", {"deployment": dep, "from": old, "to": new})
        for kind, action, where in r.guards:
            span.add_event("llmrelay.guard", {"kind": kind, "action": action, "where": where})
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
            call_span.add_event(
                "llmrelay.retry",
                {"attempt": a.number, "deployment": a.deployment, "error.type": a.error_type or ""},
            )

    def end_attempt(self, span: Span, a: AttemptRecord, response_model: str | None) -> None:
        if span.is_recording():
            span.set_attributes(genai.attempt_end_attributes(a, response_model))
            if a.outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, a.error_type))
        span.end()

    @staticmethod
    def headers(span: Span) -> dict[str, str]:
        """The propagation headers (``traceparent``, and ``tracestate`` when there is
        one) naming ``span`` as the parent, by the globally configured propagator."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        return carrier
