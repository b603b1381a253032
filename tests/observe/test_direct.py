"""Spans recorded by llmrelay itself (``observe.direct``): the same spans as through the
SDK, parent-based and ratio sampling as the SDK's samplers decide, OTLP export."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from tests.middleware.test_observe import KEY, MODELS, _scenario, _sims
from tests.observe.kit import rig

from llmrelay import errors
from llmrelay.middleware.observe import ObserveMiddleware
from llmrelay.observe import LabelBounds, Telemetry
from llmrelay.observe.direct import DirectTracing
from llmrelay.observe.record import CallRecord
from llmrelay.settings.observe import ObserveSettings
from llmrelay.simulator import Simulator

# what differs between two runs of the same scenario
VOLATILE = {"gen_ai.response.id", "llmrelay.request_id", "llmrelay.ttft_s"}


def _shape(spans: list[ReadableSpan]) -> list[Any]:
    """Spans as comparable values: name, kind, status, attributes (volatile ones by key
    only), event names and attributes, and the parent's position in the list."""
    spans = sorted(spans, key=lambda s: s.start_time or 0)
    index = {s.context.span_id: i for i, s in enumerate(spans)}
    out = []
    for s in spans:
        attrs = {k: ("?" if k in VOLATILE else v) for k, v in (s.attributes or {}).items()}
        out.append((
            s.name, s.kind, s.status.status_code, s.status.description, attrs,
            [(e.name, dict(e.attributes or {})) for e in s.events],
            index.get(s.parent.span_id) if s.parent else None,
            s.instrumentation_scope.name if s.instrumentation_scope else None,
        ))  # fmt: skip
    return out


async def _run(spans: str) -> list[ReadableSpan]:
    limits = {"mode": "fail", "users": {"carol": {"rpm": 1}}}
    sims = _sims([None, None, None, None])
    async with rig(
        sims, MODELS, environ={"SIM_KEY": KEY}, retry={"max_attempts": 2}, limits=limits, spans=spans
    ) as r:
        await r.client.chat("first call", temperature=0.5, max_tokens=64)
        async for _ in r.client.stream("x", user="carol"):
            pass
        with pytest.raises(errors.RateLimitError):  # an error span
            await r.client.chat("y", user="carol")
        return r.spans()


async def test_direct_spans_are_the_sdks_spans() -> None:
    sdk, direct = await _run("sdk"), await _run("direct")
    assert len(sdk) == 5  # a call and a stream with an attempt each, and the refusal
    assert _shape(direct) == _shape(sdk)


async def test_the_full_scenario_gives_the_same_spans_either_way() -> None:
    def faults() -> dict[str, Simulator]:
        from llmrelay.simulator import Fault

        return _sims([Fault.error(503), None, Fault.error(500), Fault.error(500)])

    got = {}
    for mode in ("sdk", "direct"):
        async with rig(
            faults(), MODELS, environ={"SIM_KEY": KEY}, retry={"max_attempts": 2, "base_delay": 0.001},
            limits={"mode": "fail", "users": {"carol": {"rpm": 1}}}, spans=mode,
        ) as r:  # fmt: skip
            await _scenario(r)
            got[mode] = r.spans()
    assert len(got["sdk"]) == 4 + 6  # four calls, six upstream requests
    assert _shape(got["direct"]) == _shape(got["sdk"])


async def test_every_attribute_is_one_the_sdk_accepts_unchanged() -> None:
    for span in await _run("direct"):
        attrs = dict(span.attributes or {})
        checked = BoundedAttributes(attributes=attrs, immutable=False)
        assert dict(checked) == attrs and checked.dropped == 0
        for e in span.events:
            assert dict(BoundedAttributes(attributes=dict(e.attributes or {}))) == dict(e.attributes or {})


def _direct(**kw: Any) -> tuple[DirectTracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return DirectTracing(SimpleSpanProcessor(exporter), **kw), exporter


def _call(tracing: DirectTracing) -> trace.Span:
    span = tracing.start_call(CallRecord("chat", False, "fast"))
    tracing.end_call(span, CallRecord("chat", False, "fast", attempts=1))
    return span


def test_a_call_inside_an_application_span_is_its_child() -> None:
    app = TracerProvider()
    tracing, exporter = _direct()
    with app.get_tracer("app").start_as_current_span("handler") as parent:
        _call(tracing)
    (span,) = exporter.get_finished_spans()
    assert span.parent == parent.get_span_context()
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.context.span_id != parent.get_span_context().span_id


@pytest.mark.parametrize("sampled", [True, False])
def test_the_parents_sampling_decision_is_followed(sampled: bool) -> None:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    parent = NonRecordingSpan(SpanContext(0xABC, 0xDEF, True, flags))
    tracing, exporter = _direct(sample_rate=0.0 if sampled else 1.0)  # the rate is for roots only
    with trace.use_span(parent):
        span = _call(tracing)
    assert span.get_span_context().trace_id == 0xABC
    assert span.get_span_context().trace_flags.sampled is sampled
    assert span.is_recording() is sampled
    assert len(exporter.get_finished_spans()) == (1 if sampled else 0)
    header = tracing.headers(span)["traceparent"]
    assert header.endswith("-01" if sampled else "-00")


def test_roots_are_sampled_by_trace_id_as_trace_id_ratio_based_decides() -> None:
    tracing, exporter = _direct(sample_rate=0.25)
    sdk = TraceIdRatioBased(0.25)
    spans = [_call(tracing) for _ in range(400)]
    exported = {s.context.span_id for s in exporter.get_finished_spans()}
    for span in spans:
        ctx = span.get_span_context()
        decision = sdk.should_sample(None, ctx.trace_id, "chat fast").decision.is_sampled()
        assert ctx.trace_flags.sampled is decision
        assert (ctx.span_id in exported) is decision
    assert 40 < len(exported) < 160  # a quarter of 400, give or take


def test_an_attempt_with_no_call_span_is_a_root_client_span() -> None:
    from llmrelay.observe.record import AttemptRecord

    tracing, exporter = _direct()
    a = AttemptRecord(1, "east", "openai", "openai", "gpt-4o-mini", "api.openai.com:443", 0.0)
    tracing.end_attempt(tracing.start_attempt(None, "chat", a), a, "gpt-4o-mini")
    (span,) = exporter.get_finished_spans()
    assert span.parent is None and span.kind is trace.SpanKind.CLIENT and span.name == "chat gpt-4o-mini"
    attrs = dict(span.attributes or {})
    assert attrs["server.address"] == "api.openai.com" and attrs["server.port"] == 443


async def test_a_failing_processor_loses_the_span_not_the_call(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.sdk.trace import SpanProcessor

    class Broken(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            raise RuntimeError("collector unreachable")

    tracing = DirectTracing(Broken())
    with caplog.at_level("WARNING", logger="llmrelay.observe.direct"):
        _call(tracing)
    assert "the span processor failed on span 'chat fast'" in caplog.text
    async with rig({"a": Simulator()}, MODELS, environ={"SIM_KEY": KEY}, spans="none") as r:
        (observe,) = [m for m in r.client._middleware if isinstance(m, ObserveMiddleware)]
        observe.telemetry.tracing = tracing  # the rig's telemetry had no spans
        reply = await r.client.chat("hello")
    assert reply.text and caplog.text.count("the span processor failed") == 3  # the call's, the attempt's


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        _direct(sample_rate=rate)


def test_a_tracer_provider_and_a_span_processor_are_not_both_taken() -> None:
    with pytest.raises(errors.ConfigError, match="not both"):
        Telemetry.from_settings(
            ObserveSettings(),
            LabelBounds(),
            tracer_provider=TracerProvider(),
            span_processor=SimpleSpanProcessor(InMemorySpanExporter()),
        )


def test_the_resource_names_the_service() -> None:
    exporter = InMemorySpanExporter()
    t = Telemetry.from_settings(
        ObserveSettings(service_name="svc"), LabelBounds(), span_processor=SimpleSpanProcessor(exporter)
    )
    assert isinstance(t.tracing, DirectTracing)
    _call(t.tracing)
    (span,) = exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == "svc"
    assert span.resource == t.tracing.resource and isinstance(span.resource, Resource)


# ------------------------------------------------------------------ OTLP export


class _Collector(BaseHTTPRequestHandler):
    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        self.received.append(req)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    finally:
        server.shutdown()
        server.server_close()


async def test_otlp_endpoint_exports_the_spans_and_close_flushes_them(
    collector: tuple[str, list[ExportTraceServiceRequest]],
) -> None:
    url, received = collector
    async with rig(
        {"a": Simulator(), "b": Simulator()}, MODELS, environ={"SIM_KEY": KEY},
        telemetry={"otlp_endpoint": url, "service_name": "checkout"}, spans="none",
    ) as r:  # fmt: skip
        await r.client.chat("hello", max_tokens=8)
    # the client's close shut the telemetry down, which flushed the batch
    spans = [
        (rs.resource, s)
        for req in received
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
        if ss.scope.name == "llmrelay"
    ]
    assert sorted(s.name for _, s in spans) == ["chat chat", "chat gpt-4o-mini"]
    call = next(s for _, s in spans if s.name == "chat chat")
    attempt = next(s for _, s in spans if s.name == "chat gpt-4o-mini")
    assert attempt.parent_span_id == call.span_id and attempt.trace_id == call.trace_id
    assert attempt.kind == attempt.SPAN_KIND_CLIENT and call.kind == call.SPAN_KIND_INTERNAL
    attrs = {a.key: a.value for a in call.attributes}
    assert attrs["gen_ai.request.max_tokens"].int_value == 8
    assert attrs["gen_ai.provider.name"].string_value == "llmrelay.simulator"
    resource = {a.key: a.value.string_value for a in spans[0][0].attributes}
    assert resource["service.name"] == "checkout"
    sent = r.recorders["a"].headers[0]["traceparent"]
    assert sent.split("-")[2] == attempt.span_id.hex()


def test_otlp_endpoint_without_the_exporter_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(errors.ConfigError, match=r"llmrelay\[otel\]"):
        Telemetry.from_settings(ObserveSettings(otlp_endpoint="http://127.0.0.1:9/v1/traces"), LabelBounds())


def test_otlp_endpoint_wins_over_traces_and_a_tracer_provider_over_both() -> None:
    from llmrelay.observe.tracing import Tracing

    url = "http://127.0.0.1:9/v1/traces"
    both = Telemetry.from_settings(ObserveSettings(traces=True, otlp_endpoint=url), LabelBounds())
    assert isinstance(both.tracing, DirectTracing)
    both.close()
    provider = TracerProvider()
    given = Telemetry.from_settings(
        ObserveSettings(otlp_endpoint=url), LabelBounds(), tracer_provider=provider
    )
    assert type(given.tracing) is Tracing and given.shutdown is None


async def test_otlp_endpoint_in_the_settings_alone_turns_the_layers_on(
    collector: tuple[str, list[ExportTraceServiceRequest]],
) -> None:
    import llmrelay
    from llmrelay.settings import Settings

    url, received = collector
    settings = Settings.load(ledger={"enabled": False}, observe={"otlp_endpoint": url})
    async with llmrelay.Client(settings, environ={}) as client:
        await client.chat("hello")
    names = sorted(
        s.name for req in received for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans
    )
    assert len(names) == 2 and names[0].startswith("chat ")
