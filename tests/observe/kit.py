"""Test helpers: telemetry on a fresh Prometheus registry and an in-memory span exporter,
and a Client over in-process simulators whose request headers and bodies are recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import llmrelay
from llmrelay.middleware.observe import bounds_from_settings, instrument
from llmrelay.observe import Telemetry, render
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Timeouts, Transport


@dataclass
class Recorder:
    """ASGI wrapper: the headers of every HTTP request, then the wrapped app."""

    app: Any
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        body = b""

        async def recorded() -> Any:
            nonlocal body
            message = await receive()
            if message["type"] == "http.request":
                body += message.get("body", b"")
                if not message.get("more_body"):
                    self.bodies.append(body)
            return message

        await self.app(scope, recorded, send)


@dataclass
class Rig:
    client: llmrelay.Client
    registry: CollectorRegistry
    exporter: InMemorySpanExporter
    recorders: dict[str, Recorder]

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def samples(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``, read
        back from the scraped text."""
        text = render(self.registry)[0].decode()
        total = 0.0
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def scrape(self) -> str:
        return render(self.registry)[0].decode()


def sim_deployment(name: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {
        "provider": "simulator",
        "model": model,
        "base_url": f"http://{name}.sim/v1",
        "name": name,
        **extra,
    }


@asynccontextmanager
async def rig(  # ``telemetry``: the instrumented telemetry's settings; ``mounts``: more ASGI apps
    sims: Mapping[str, Simulator],
    models: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    telemetry: Mapping[str, Any] | None = None,
    spans: str = "sdk",
    mounts: Mapping[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[Rig]:
    recorders = {name: Recorder(sim.app) for name, sim in sims.items()}
    apps = {f"http://{n}.sim": StreamingASGITransport(r) for n, r in recorders.items()}
    apps.update({base: StreamingASGITransport(app) for base, app in (mounts or {}).items()})
    transport = Transport(timeouts=Timeouts(connect=2, read=5), mounts=apps)
    config = {
        "default_model": next(iter(models)),
        "ledger": {"enabled": False},
        "catalog": {"preflight": False},
        "retry": {"base_delay": 0.001, "max_delay": 0.005},
        **settings,
    }
    s = Settings.load(models=dict(models), **config)
    exporter = InMemorySpanExporter()
    # sdk: spans through a tracer provider; direct: recorded by llmrelay (observe.direct);
    # none: as ``telemetry`` configures them (otlp_endpoint, say)
    provider, processor = None, SimpleSpanProcessor(exporter) if spans == "direct" else None
    if spans == "sdk":
        provider, processor = TracerProvider(), None
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = CollectorRegistry()
    tele = Telemetry.from_settings(
        s.observe.model_copy(update={"logs": True, "metrics": False, "traces": False, **(telemetry or {})}),
        bounds_from_settings(s),
        registry=registry,
        tracer_provider=provider,
        span_processor=processor,
    )
    client = llmrelay.Client(s, environ=dict(environ or {}), transport=transport, layers=instrument(tele))
    try:
        yield Rig(client, registry, exporter, recorders)
    finally:
        await client.aclose()
        await transport.aclose()
