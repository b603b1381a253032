"""Logs, Prometheus metrics and OpenTelemetry spans for every call, against the simulator.

Needs the extras: pip install 'llmrelay[metrics,otel]'.
Run: .venv/bin/python examples/observability.py
"""

import asyncio
import json
import logging

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import llmrelay
from llmrelay.middleware.observe import bounds_from_settings, instrument
from llmrelay.observe import Telemetry, render


class JsonLines(logging.Formatter):
    """One JSON object per call: the event's fields, as the observe layer logged them."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(getattr(record, "llmrelay", {"message": record.getMessage()}))


async def main() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logging.getLogger("llmrelay.calls").addHandler(handler)
    logging.getLogger("llmrelay.calls").setLevel(logging.INFO)

    settings = llmrelay.Settings.load(ledger={"enabled": False})
    registry = CollectorRegistry()  # yours: scrape it, or render it on a /metrics route
    spans = InMemorySpanExporter()  # in a service: an OTLP exporter to your collector
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = Telemetry.from_settings(
        settings.observe.model_copy(update={"logs": True}),
        bounds_from_settings(settings),
        registry=registry,
        tracer_provider=provider,
    )

    async with llmrelay.Client(settings, layers=instrument(telemetry)) as client:
        await client.chat("Name three prime numbers.", user="ann")
        async for _ in client.stream("Tell me a short story."):
            pass

    body, _content_type = render(registry)
    print(
        "\n".join(line for line in body.decode().splitlines() if line.startswith("llmrelay_requests_total"))
    )
    for span in spans.get_finished_spans():
        attrs = dict(span.attributes or {})
        print(
            span.name,
            span.kind.name,
            attrs.get("gen_ai.usage.output_tokens", ""),
            attrs.get("llmrelay.attempt", ""),
        )


if __name__ == "__main__":
    asyncio.run(main())
