"""The observe layers in the cases the main scenario does not cover: content capture,
settings-built telemetry, two telemetries on one client, streams stopped early, other
operations."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tests.observe.kit import rig, sim_deployment

import llmrelay
from llmrelay.middleware.observe import AttemptObserver, ObserveMiddleware
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence, Simulator

KEY = "sk-proj-secretsecretsecret0123456789"
MODELS = {"chat": {"deployments": [sim_deployment("a")]}}


@pytest.mark.parametrize("spans", ["sdk", "direct"])
async def test_content_is_captured_only_when_asked_and_then_redacted(
    caplog: pytest.LogCaptureFixture, spans: str
) -> None:
    caplog.set_level(logging.INFO, logger="llmrelay.calls")
    telemetry = {"content": True, "content_limit": 200}
    async with rig({"a": Simulator()}, MODELS, telemetry=telemetry, spans=spans) as r:
        reply = await r.client.chat(f"please remember {KEY} for me")
    event = next(rec.llmrelay for rec in caplog.records if hasattr(rec, "llmrelay"))
    prompt = json.loads(event["prompt"])
    assert (
        prompt[0]["role"] == "user"
        and "please remember [REDACTED] for me" in prompt[0]["parts"][0]["content"]
    )
    assert event["completion"] == reply.text[:199] + ("…" if len(reply.text) > 200 else reply.text[199:])
    (call,) = [s for s in r.spans() if s.parent is None]
    attrs = dict(call.attributes or {})
    assert "[REDACTED]" in str(attrs["gen_ai.input.messages"])
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"][0]["content"] == event["completion"]
    everything = json.dumps(event) + json.dumps({k: str(v) for k, v in attrs.items()}) + r.scrape()
    assert KEY not in everything


@pytest.mark.parametrize("spans", ["sdk", "direct"])
async def test_a_stream_stopped_early_is_cancelled_and_leaves_nothing_in_flight(spans: str) -> None:
    async with rig({"a": Simulator()}, MODELS, spans=spans) as r:
        stream = r.client.stream("tell me a long story " * 5, max_tokens=400)
        async for _ in stream:
            assert r.samples("llmrelay_in_flight", kind="stream") == 1
            break
        await stream.aclose()
        assert r.samples("llmrelay_in_flight", kind="stream") == 0
        assert r.samples("llmrelay_requests_total", outcome="cancelled") == 1
        (call,) = [s for s in r.spans() if s.parent is None]
        assert dict(call.attributes or {})["llmrelay.outcome"] == "cancelled"
        assert call.status.status_code.name != "ERROR"


async def test_embeddings_and_token_counts() -> None:
    models = {
        "chat": {"deployments": [sim_deployment("a")]},
        "emb": {"deployments": [sim_deployment("a", model="text-embedding-3-small")]},
    }
    async with rig({"a": Simulator()}, models) as r:
        await r.client.embed(["one", "two"], model="emb")
        await r.client.count_tokens("how many?", model="chat")
    names = sorted(s.name for s in r.spans() if s.parent is None)
    assert names == ["count_tokens chat", "embeddings emb"]
    emb = next(s for s in r.spans() if s.name == "embeddings emb")
    assert dict(emb.attributes or {})["gen_ai.operation.name"] == "embeddings"
    assert r.samples("llmrelay_requests_total", op="embed", alias="emb", outcome="ok") == 1
    assert r.samples("llmrelay_requests_total", op="count", outcome="ok") == 1
    # the embedding request names its attempt's span as the parent (the terminal adds the
    # header); the simulator's protocol has no count endpoint, so the count sends nothing
    (attempt,) = [s for s in r.spans() if s.parent is not None and s.parent.span_id == emb.context.span_id]
    sent = [h["traceparent"].split("-")[2] for h in r.recorders["a"].headers]
    assert sent == [format(attempt.context.span_id, "016x")]


async def test_the_settings_build_the_layers_with_a_registry_of_their_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = {f.name for f in REGISTRY.collect()}
    s = Settings.load(ledger={"enabled": False}, observe={"logs": True, "metrics": True})
    async with llmrelay.Client(s, environ={}) as client:
        layers = client._middleware
        outer = next(m for m in layers if isinstance(m, ObserveMiddleware))
        assert any(isinstance(m, AttemptObserver) for m in layers)
        with caplog.at_level(logging.INFO, logger="llmrelay.calls"):
            await client.chat("hi")
    assert outer.telemetry.metrics is not None
    reg = outer.telemetry.metrics.registry
    assert reg is not REGISTRY and {f.name for f in REGISTRY.collect()} == before
    labels = {"op": "chat", "alias": "local", "provider": "simulator", "model": "sim-1", "outcome": "ok"}
    assert reg.get_sample_value("llmrelay_requests_total", labels) == 1
    assert [r.llmrelay["outcome"] for r in caplog.records if hasattr(r, "llmrelay")] == ["ok"]


async def test_off_by_default() -> None:
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as client:
        assert not any(isinstance(m, ObserveMiddleware | AttemptObserver) for m in client._middleware)


async def test_two_telemetries_do_not_report_an_attempt_twice() -> None:
    # the settings turn observe on, and instrument() adds a second telemetry
    async with rig({"a": Simulator()}, MODELS, observe={"traces": True, "metrics": True}) as r:
        assert len([m for m in r.client._middleware if isinstance(m, AttemptObserver)]) == 2
        await r.client.chat("hi")
    spans = r.spans()
    assert len([s for s in spans if s.parent is not None]) == 1
    assert len(r.recorders["a"].headers) == 1 and "traceparent" in r.recorders["a"].headers[0]


async def test_a_callers_own_traceparent_is_kept() -> None:
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with rig({"a": Simulator()}, MODELS) as r:
        await r.client.chat("hi", extra_headers={"TraceParent": mine})
    assert r.recorders["a"].headers[0]["traceparent"] == mine


async def test_the_callers_request_never_carries_the_trace_header() -> None:
    seen: list[Any] = []
    async with rig({"a": Simulator()}, MODELS) as r:
        r.client.hooks.attempt.append(lambda call: seen.append((call.request, call.trace_headers)))
        await r.client.chat("hi")
    ((request, headers),) = seen
    assert request.extra_headers is None  # no copy of the request with the header
    assert headers is not None and headers["traceparent"] == r.recorders["a"].headers[0]["traceparent"]


@pytest.mark.parametrize("spans", ["sdk", "direct"])
async def test_without_attempt_spans_the_call_span_is_every_requests_parent(spans: str) -> None:
    a = Simulator()
    a.faults = FaultSequence([Fault.error(503), None])
    async with rig(
        {"a": a},
        MODELS,
        telemetry={"attempt_spans": False},
        retry={"max_attempts": 2, "base_delay": 0.001},
        spans=spans,
    ) as r:
        await r.client.chat("hello")
        async for _ in r.client.stream("again"):
            pass
    spans = r.spans()
    assert len(spans) == 2 and all(s.parent is None for s in spans)  # one span per call
    first, second = sorted(spans, key=lambda s: s.start_time or 0)
    sent = [h["traceparent"] for h in r.recorders["a"].headers]
    assert len(sent) == 3  # the retried call's two requests, then the stream's
    ids = [(format(s.context.trace_id, "032x"), format(s.context.span_id, "016x")) for s in (first, second)]
    assert [tuple(tp.split("-")[1:3]) for tp in sent] == [ids[0], ids[0], ids[1]]
    retries = [e for e in first.events if e.name == "llmrelay.retry"]
    assert len(retries) == 1 and dict(retries[0].attributes or {})["attempt"] == 1
    assert dict(first.attributes or {})["llmrelay.attempts"] == 2


async def test_metrics_alone_count_attempts_by_outcome() -> None:
    from prometheus_client import CollectorRegistry

    from llmrelay.middleware.observe import bounds_from_settings, instrument
    from llmrelay.observe import Telemetry
    from llmrelay.transport.asgi import StreamingASGITransport
    from llmrelay.transport.http import Timeouts, Transport

    a = Simulator()
    a.faults = FaultSequence([Fault.error(503), None])
    transport = Transport(
        timeouts=Timeouts(connect=2, read=5), mounts={"http://a.sim": StreamingASGITransport(a.app)}
    )
    s = Settings.load(
        models=MODELS, default_model="chat", ledger={"enabled": False}, catalog={"preflight": False},
        retry={"max_attempts": 2, "base_delay": 0.001, "max_delay": 0.005},
    )  # fmt: skip
    registry = CollectorRegistry()
    t = Telemetry.from_settings(
        s.observe.model_copy(update={"metrics": True}), bounds_from_settings(s), registry=registry
    )
    assert t.tracing is None and t.log is None  # the attempts counter is all that hears of attempts
    try:
        async with llmrelay.Client(s, environ={}, transport=transport, layers=instrument(t)) as client:
            await client.chat("hi")
    finally:
        await transport.aclose()
    get = registry.get_sample_value
    assert (
        get("llmrelay_attempts_total", {"deployment": "a", "provider": "simulator", "outcome": "error"}) == 1
    )
    assert get("llmrelay_attempts_total", {"deployment": "a", "provider": "simulator", "outcome": "ok"}) == 1
    assert get("llmrelay_retries_total", {"alias": "chat"}) == 1


async def test_a_call_the_sampler_dropped_gets_no_attempt_spans_but_propagates_its_context() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    from llmrelay.observe.tracing import Tracing

    started: list[str] = []

    class Counting(Tracing):
        def start_attempt(self, call_span: Any, op: str, a: Any) -> Any:
            started.append(a.deployment)
            return super().start_attempt(call_span, op, a)

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with rig({"a": Simulator()}, MODELS) as r:
        (outer,) = [
            m for m in r.client._middleware if isinstance(m, ObserveMiddleware) and m.telemetry.tracing
        ]
        outer.telemetry.tracing = Counting(provider.get_tracer("t"))
        await r.client.chat("hello")
    assert started == [] and exporter.get_finished_spans() == ()
    (sent,) = r.recorders["a"].headers
    flags = int(sent["traceparent"].rsplit("-", 1)[1], 16)
    assert flags & 1 == 0  # not sampled: downstream knows not to record either
