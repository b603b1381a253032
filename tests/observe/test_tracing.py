"""``Tracing.headers``: the W3C shortcut writes what the configured propagator would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState

from llmrelay.observe.tracing import Tracing, _is_w3c


@pytest.fixture
def textmap() -> Iterator[None]:
    before = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(before)


def _inject(span: trace.Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


SPANS = [
    NonRecordingSpan(SpanContext(0x1, 0x2, False, TraceFlags(TraceFlags.SAMPLED))),
    NonRecordingSpan(SpanContext(0xABCDEF << 64, 0xFEDCBA, False, TraceFlags(TraceFlags.DEFAULT))),
    NonRecordingSpan(
        SpanContext(7, 9, False, TraceFlags(TraceFlags.SAMPLED), TraceState([("vendor", "v1"), ("x", "y")]))
    ),
    trace.INVALID_SPAN,
]


@pytest.mark.parametrize("span", SPANS)
@pytest.mark.parametrize(
    "propagator",
    [
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()]),
        TraceContextTextMapPropagator(),
    ],
)
def test_the_shortcut_writes_what_the_propagator_writes(
    textmap: None, span: trace.Span, propagator: TextMapPropagator
) -> None:
    propagate.set_global_textmap(propagator)
    tracing = Tracing(trace.NoOpTracer())
    assert _is_w3c(propagator)
    assert tracing.headers(span) == _inject(span)


def test_sdk_spans_get_the_same_header_either_way(textmap: None) -> None:
    tracer = TracerProvider().get_tracer("t")
    tracing = Tracing(tracer)
    for span in (tracer.start_span("s"), TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_span("u")):
        got = tracing.headers(span)
        assert got == _inject(span) and got["traceparent"].startswith("00-")


def test_baggage_in_the_current_context_goes_through_the_propagator(textmap: None) -> None:
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    tracing = Tracing(trace.NoOpTracer())
    token = context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        got = tracing.headers(SPANS[0])
    finally:
        context.detach(token)
    assert got["baggage"] == "tenant=acme" and got["traceparent"] == _inject(SPANS[0])["traceparent"]


class _Mine(TextMapPropagator):
    """A propagator of the application's own: it must be the one asked."""

    def extract(self, carrier: object, context: object = None, getter: object = None) -> context.Context:
        raise NotImplementedError

    def inject(self, carrier: dict[str, str], context: object = None, setter: object = None) -> None:  # type: ignore[override]
        carrier["x-mine"] = "1"

    @property
    def fields(self) -> set[str]:
        return {"x-mine"}


def test_another_propagator_is_used_as_configured_even_after_the_default(textmap: None) -> None:
    tracing = Tracing(trace.NoOpTracer())
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    assert "traceparent" in tracing.headers(SPANS[0])
    propagate.set_global_textmap(_Mine())
    assert tracing.headers(SPANS[0]) == {"x-mine": "1"}
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), _Mine()]))
    assert tracing.headers(SPANS[0]) == {
        "traceparent": "00-" + "0" * 31 + "1-" + "0" * 15 + "2-01",
        "x-mine": "1",
    }
