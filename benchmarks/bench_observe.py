"""Per-call cost of the observe layers: logs, metrics and traces, each alone and all on.

Each mode is a Client with the default pipeline (the ledger off) that differs only in its
telemetry. The upstream is a stub terminal that answers at once with a canned reply (for
streams: a start, ``--tokens`` text deltas, usage, finish and end, folded into the call's
outcome as the real terminal does), so the figures are the layers' own cost, not the
simulator's or the network's, which would drown them:

* off:     no observe layers;
* logs:    one INFO event per call through stdlib logging to a handler that drops it
           (the record is built: the logger is enabled at INFO; with DEBUG on, each
           attempt adds a second record);
* metrics: llmrelay's metrics on a prometheus_client registry of its own;
* logs+metrics: the two together;
* traces:  OpenTelemetry SDK spans (a call span and an attempt span per call, with the
           traceparent header), handed to a BatchSpanProcessor (the production choice:
           it queues spans for a background thread) whose exporter drops them;
* traces-1span: the same with ``observe.attempt_spans: false`` (the call's span only);
* traces-1%: the tracer provider sampling 1% of traces
           (``ParentBased(TraceIdRatioBased(0.01))``): unsampled spans are
           non-recording, and nothing is described for them;
* all, all-1span, all-1%: logs, metrics and the traces of the same name together;
* traces-direct, all-direct, all-direct-1span, all-direct-1%: the spans recorded by
           llmrelay itself and handed finished to the same BatchSpanProcessor
           (``span_processor=``, what ``observe.otlp_endpoint`` does; see
           ``llmrelay.observe.direct``), with no tracer provider (1%: ``sample_rate: 0.01``);
* traces-stub, all-stub: traces (and all) with a tracer of the benchmark's own whose spans
           say they record but keep nothing, so everything llmrelay does for a span
           (attributes, events, the traceparent by the global propagator, the headers
           added to the HTTP request) runs and the SDK's work does not: llmrelay's own
           share of ``traces`` and ``all``; the difference is the SDK's;
* socket-idle: call events to ``observe.log_socket`` with nobody listening there
           (the ``llmrelay tail --socket`` sink's cost when no tail runs).

``--sdk`` also prints what the OpenTelemetry SDK's own calls cost here, one at a time
(a span started and ended, attributes given at the start or set later, a child span,
the ``traceparent`` injection, an event), and llmrelay's whole tracing path for a
one-attempt call with the SDK and with the API's no-op tracer, to show where the traces'
time goes.

Modes alternate in blocks of ``--block`` calls, ``--rounds`` times, so drift affects all
alike; a mode's figure is the median (and the minimum) over rounds of the process's CPU
time per call
(``time.process_time``: every thread, so the span exporter's thread counts too; nothing
waits, and CPU time is less disturbed than wall time on a shared machine), and the
overhead is its difference from ``off``. Unary chat
calls and streamed ones (``--tokens`` tokens each) are measured separately.

Run:  .venv/bin/python benchmarks/bench_observe.py [--rounds 21] [--block 500] [--tokens 20]
      [--modes logs,metrics,all] [--kinds unary] [--sdk]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry

import llmrelay
from llmrelay.middleware.observe import bounds_from_settings, instrument
from llmrelay.observe import AttemptRecord, CallRecord, Telemetry
from llmrelay.observe.direct import DirectTracing
from llmrelay.observe.labels import LabelBounds
from llmrelay.observe.logs import StdlibLog, call_event
from llmrelay.observe.metrics import Metrics
from llmrelay.observe.tracing import Tracing
from llmrelay.pipeline import Call, Pipeline
from llmrelay.settings import Settings
from llmrelay.types import (
    ChatResponse,
    FinishEvent,
    StreamEnd,
    StreamEvent,
    StreamStart,
    TextDelta,
    Usage,
    UsageEvent,
)
from llmrelay.wire import HttpRequest, with_trace_headers

MODES = (
    "off", "logs", "metrics", "logs+metrics", "traces", "traces-1span", "traces-1%", "all", "all-1span",
    "all-1%", "traces-direct", "all-direct", "all-direct-1span",
    "all-direct-1%", "traces-stub", "all-stub", "socket-idle",
)  # fmt: skip


SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED)


class StubSpan(trace.Span):
    """A span that says it records and keeps nothing (a fixed, valid, sampled context)."""

    CONTEXT = trace.SpanContext(
        0x5B8AA5A2D2C872E8321CF37308D69DF2, 0x51581BF3CB55C13, False, trace.TraceFlags(1)
    )

    def end(self, end_time: int | None = None) -> None:
        pass

    def get_span_context(self) -> trace.SpanContext:
        return self.CONTEXT

    def set_attributes(self, attributes: Any) -> None:
        pass

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        pass

    def update_name(self, name: str) -> None:
        pass

    def is_recording(self) -> bool:
        return True

    def set_status(self, status: Any, description: str | None = None) -> None:
        pass

    def record_exception(self, exception: BaseException, *args: Any, **kwargs: Any) -> None:
        pass


class StubTracer(trace.Tracer):
    """Hands out ``StubSpan``: llmrelay's tracing work without the SDK's."""

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        return StubSpan()

    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class StubProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return StubTracer()


class Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def stub(client: llmrelay.Client, tokens: int) -> llmrelay.Client:
    """The client's pipeline over a terminal that answers at once. Like the real one, it
    builds an HTTP request and adds the attempt's trace headers to it (what the observe
    layer asks of the terminal); the request is not sent."""
    usage = Usage(12, tokens)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    async def chat(call: Call) -> ChatResponse:
        dep = call.deployment()
        with_trace_headers(HttpRequest("POST", dep.endpoint.base_url, headers, b"{}"), call.trace_headers)
        call.report.deployment = dep.name
        resp = ChatResponse("r1", dep.endpoint.model, "simulator", "word " * tokens, usage=usage, cost=1e-5)
        call.outcome.set_response(resp)
        return resp

    async def stream(call: Call) -> AsyncIterator[StreamEvent]:
        dep = call.deployment()
        out = call.outcome
        with_trace_headers(HttpRequest("POST", dep.endpoint.base_url, headers, b"{}"), call.trace_headers)
        out.answering, out.model, out.provider = True, dep.endpoint.model, "simulator"
        call.report.deployment = dep.name
        yield StreamStart("r1", dep.endpoint.model, "simulator", dep.name, None)
        for ev in (*(TextDelta("word ") for _ in range(tokens)), UsageEvent(usage), FinishEvent("stop")):
            if out.ttft is None:
                out.ttft = time.perf_counter() - call.started
            out.add(ev)
            yield ev
        out.cost, out.complete = 1e-5, True
        yield StreamEnd("stop", None, usage, out.cost, None)

    async def unused(call: Call) -> Any:
        raise NotImplementedError

    client._pipeline = Pipeline.build(
        client._middleware, chat=chat, stream=stream, embed=unused, count=unused
    )
    return client


def client_for(mode: str, settings: Settings, tokens: int) -> llmrelay.Client:
    return stub(_client(mode, settings), tokens)


def _client(mode: str, settings: Settings) -> llmrelay.Client:
    if mode == "off":
        return llmrelay.Client(settings, environ={})
    everything = mode.startswith("all")
    provider: Any = None
    processor: Any = None
    if mode.endswith("stub"):
        provider = StubProvider()
    elif "direct" in mode:
        processor = BatchSpanProcessor(Drop())
    elif mode.startswith("traces") or everything:
        sampler = ParentBased(TraceIdRatioBased(0.01)) if mode.endswith("1%") else None
        provider = TracerProvider(sampler=sampler)
        provider.add_span_processor(BatchSpanProcessor(Drop()))
    update: dict[str, Any] = {
        "logs": mode in ("logs", "logs+metrics") or everything,
        "attempt_spans": not mode.endswith("1span"),
        "sample_rate": 0.01 if "direct" in mode and mode.endswith("1%") else 1.0,
    }
    if mode == "socket-idle":
        update["log_socket"] = os.path.join(tempfile.gettempdir(), f"llmrelay-bench-{os.getpid()}.sock")
    t = Telemetry.from_settings(
        settings.observe.model_copy(update=update),
        bounds_from_settings(settings),
        registry=CollectorRegistry() if mode in ("metrics", "logs+metrics") or everything else None,
        tracer_provider=provider,
        span_processor=processor,
    )
    return llmrelay.Client(settings, environ={}, layers=instrument(t))


async def block(client: llmrelay.Client, n: int, stream: bool, tokens: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        if stream:
            async for _ev in client.stream("benchmark prompt", max_tokens=tokens):
                pass
        else:
            await client.chat("benchmark prompt", max_tokens=tokens)
    return (time.process_time() - t0) / n


async def measure(
    rounds: int, n: int, tokens: int, modes: Sequence[str] = MODES, kinds: Sequence[str] = ("unary", "stream")
) -> dict[str, dict[str, list[float]]]:
    settings = Settings.load(ledger={"enabled": False})
    clients = {m: client_for(m, settings, tokens) for m in modes}
    out: dict[str, dict[str, list[float]]] = {}
    try:
        for stream in [k == "stream" for k in kinds]:
            for c in clients.values():  # warm up: imports, pools, caches
                await block(c, 50, stream, tokens)
            per: dict[str, list[float]] = {m: [] for m in modes}
            for _ in range(rounds):
                for m, c in clients.items():
                    per[m].append(await block(c, n, stream, tokens))
            out["stream" if stream else "unary"] = per
    finally:
        for c in clients.values():
            await c.aclose()
    return out


def sdk_costs(rounds: int, n: int) -> dict[str, tuple[float, float]]:
    """CPU seconds per operation of the OpenTelemetry SDK (BatchSpanProcessor, exporter
    dropping spans), each the median over ``rounds`` runs of ``n``."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    tracer = trace.get_tracer("bench", tracer_provider=provider)
    four = {"a.one": "chat", "a.two": "fast", "a.three": 20, "a.four": True}
    parent = tracer.start_span("parent")
    ctx = trace.set_span_in_context(parent)

    def bare() -> None:
        tracer.start_span("chat fast").end()

    def at_start() -> None:
        tracer.start_span("chat fast", attributes=four).end()

    def set_later() -> None:
        span = tracer.start_span("chat fast")
        span.set_attributes(four)
        span.end()

    def child() -> None:
        tracer.start_span("chat gpt", context=ctx).end()

    def inject() -> None:
        propagate.inject({}, context=ctx)

    def event() -> None:
        parent.add_event("llmrelay.retry", {"attempt": 1, "deployment": "east"})

    # llmrelay's tracing path for a one-attempt call (call span, attempt span, traceparent
    # added to an HTTP request, both spans ended with their attributes), with the SDK and
    # with the API's no-op tracer: the difference is the SDK's share
    record = CallRecord(
        "chat", False, "fast", alias="fast", deployment="east", provider="openai", model="gpt-4o-mini",
        response_model="gpt-4o-mini", response_id="r1", request_id="q1", finish_reason="stop",
        input_tokens=12, output_tokens=20, cost=1e-5, attempts=1, max_tokens=20,
    )  # fmt: skip
    attempt = AttemptRecord(1, "east", "openai", "openai", "gpt-4o-mini", "api.openai.com", 0.0)
    http = HttpRequest("POST", "https://api.openai.com/v1/chat/completions", {"Accept": "application/json"})

    log = StdlibLog("llmrelay.calls")
    fields = call_event(record)
    factory = logging.getLogRecordFactory()
    logs_file = sys.modules[StdlibLog.__module__].__file__
    metrics = Metrics(CollectorRegistry(), LabelBounds())

    def path(tracing: Tracing) -> Callable[[], None]:
        def run() -> None:
            call = tracing.start_call(record)
            span = tracing.start_attempt(call, "chat", attempt)
            with_trace_headers(http, tracing.headers(span))
            tracing.end_attempt(span, attempt, "gpt-4o-mini")
            tracing.end_call(call, record)

        return run

    ops: dict[str, Callable[[], object]] = {
        "llmrelay's tracing path, SDK": path(Tracing(tracer)),
        "llmrelay's tracing path, direct": path(DirectTracing(BatchSpanProcessor(Drop()))),
        "llmrelay's tracing path, stub tracer": path(Tracing(StubTracer())),
        "llmrelay's tracing path, no-op tracer": path(Tracing(trace.NoOpTracer())),
        "span started and ended, no attributes": bare,
        "  + 4 attributes given at start_span": at_start,
        "  + 4 attributes set before end": set_later,
        "child span (parent context given)": child,
        "traceparent injection": inject,
        "span event with 2 attributes": event,
        # the logs' and metrics' pieces, for comparison (stdlib logging to a NullHandler)
        "log event's fields (call_event)": lambda: call_event(record),
        "stdlib LogRecord made and handled": lambda: log(logging.INFO, fields),
        "  of which the LogRecord alone": lambda: factory(
            "llmrelay.calls", logging.INFO, logs_file, 0, "%s", (fields,), None
        ),
        "metrics: a finished call counted": lambda: metrics.finished(record),
    }
    out: dict[str, tuple[float, float]] = {}
    for name, fn in ops.items():
        for _ in range(200):
            fn()
        runs = []
        for _ in range(rounds):
            t0 = time.process_time()
            for _ in range(n):
                fn()
            runs.append((time.process_time() - t0) / n)
        out[name] = (statistics.median(runs), min(runs))
    parent.end()
    provider.shutdown()
    return out


def main(argv: Any = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--block", type=int, default=500)
    ap.add_argument("--tokens", type=int, default=20)
    ap.add_argument("--sdk", action="store_true", help="also time the OpenTelemetry SDK's own calls")
    ap.add_argument("--modes", default=",".join(MODES), help="a comma-separated subset (off always runs)")
    ap.add_argument("--kinds", default="unary,stream", help="unary, stream or both")
    args = ap.parse_args(argv)
    modes = ("off", *(m for m in args.modes.split(",") if m in MODES and m != "off"))
    unknown = [m for m in args.modes.split(",") if m not in MODES]
    if unknown:
        ap.error(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    kinds = [k for k in args.kinds.split(",") if k in ("unary", "stream")]
    sink = logging.getLogger("llmrelay.calls")
    sink.setLevel(logging.INFO)
    sink.addHandler(logging.NullHandler())
    sink.propagate = False
    results = asyncio.run(measure(args.rounds, args.block, args.tokens, modes, kinds))
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"# load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"# {args.rounds} rounds x {args.block} calls per mode, {args.tokens} tokens per reply")
    print("# exporter: BatchSpanProcessor over an exporter that drops the spans")
    print(f"{'kind':<7} {'mode':<16} {'µs/call':>9} {'overhead':>9} {'min µs':>9} {'min over':>9}")
    for kind, per in results.items():
        med = {m: statistics.median(v) for m, v in per.items()}
        low = {m: min(v) for m, v in per.items()}
        for m in modes:
            print(
                f"{kind:<7} {m:<16} {med[m] * 1e6:>9.1f} {(med[m] - med['off']) * 1e6:>9.1f}"
                f" {low[m] * 1e6:>9.1f} {(low[m] - low['off']) * 1e6:>9.1f}"
            )
    if args.sdk:
        print("\n# one operation at a time, in a loop (µs each: median and min of the rounds)")
        for name, (median, least) in sdk_costs(args.rounds, 2000).items():
            print(f"{name:<40} {median * 1e6:>8.1f} {least * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
