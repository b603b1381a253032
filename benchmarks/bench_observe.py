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
* metrics: prometheus_client on a registry of its own;
* traces:  OpenTelemetry SDK spans (a call span and an attempt span per call, with the
           traceparent header), handed to a BatchSpanProcessor (the production choice:
           it queues spans for a background thread) whose exporter drops them;
* all:     the three together.

Modes alternate in blocks of ``--block`` calls, ``--rounds`` times, so drift affects all
alike; a mode's figure is the median over rounds of the process's CPU time per call
(``time.process_time``: every thread, so the span exporter's thread counts too; nothing
waits, and CPU time is less disturbed than wall time on a shared machine), and the
overhead is its difference from ``off``. Unary chat
calls and streamed ones (``--tokens`` tokens each) are measured separately.

Run:  .venv/bin/python benchmarks/bench_observe.py [--rounds 21] [--block 500] [--tokens 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

import llmrelay
from llmrelay.middleware.observe import bounds_from_settings, instrument
from llmrelay.observe import Telemetry
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

MODES = ("off", "logs", "metrics", "traces", "all")


class Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def stub(client: llmrelay.Client, tokens: int) -> llmrelay.Client:
    """The client's pipeline over a terminal that answers at once."""
    usage = Usage(12, tokens)

    async def chat(call: Call) -> ChatResponse:
        dep = call.deployment()
        call.report.deployment = dep.name
        resp = ChatResponse("r1", dep.endpoint.model, "simulator", "word " * tokens, usage=usage, cost=1e-5)
        call.outcome.set_response(resp)
        return resp

    async def stream(call: Call) -> AsyncIterator[StreamEvent]:
        dep = call.deployment()
        out = call.outcome
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
    provider = None
    if mode in ("traces", "all"):
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
    t = Telemetry.from_settings(
        settings.observe.model_copy(update={"logs": mode in ("logs", "all")}),
        bounds_from_settings(settings),
        registry=CollectorRegistry() if mode in ("metrics", "all") else None,
        tracer_provider=provider,
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


async def measure(rounds: int, n: int, tokens: int) -> dict[str, dict[str, float]]:
    settings = Settings.load(ledger={"enabled": False})
    clients = {m: client_for(m, settings, tokens) for m in MODES}
    out: dict[str, dict[str, float]] = {}
    try:
        for stream in (False, True):
            for c in clients.values():  # warm up: imports, pools, caches
                await block(c, 50, stream, tokens)
            per: dict[str, list[float]] = {m: [] for m in MODES}
            for _ in range(rounds):
                for m, c in clients.items():
                    per[m].append(await block(c, n, stream, tokens))
            out["stream" if stream else "unary"] = {m: statistics.median(v) for m, v in per.items()}
    finally:
        for c in clients.values():
            await c.aclose()
    return out


def main(argv: Any = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--block", type=int, default=500)
    ap.add_argument("--tokens", type=int, default=20)
    args = ap.parse_args(argv)
    sink = logging.getLogger("llmrelay.calls")
    sink.setLevel(logging.INFO)
    sink.addHandler(logging.NullHandler())
    sink.propagate = False
    results = asyncio.run(measure(args.rounds, args.block, args.tokens))
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"# load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"# {args.rounds} rounds x {args.block} calls per mode, {args.tokens} tokens per reply")
    print(f"{'kind':<7} {'mode':<8} {'µs/call':>12} {'overhead µs':>12}")
    for kind, per in results.items():
        base = per["off"]
        for m in MODES:
            print(f"{kind:<7} {m:<8} {per[m] * 1e6:>12.1f} {(per[m] - base) * 1e6:>12.1f}")


if __name__ == "__main__":
    main()
