"""Spans exported over OTLP by llmrelay itself (`observe.otlp_endpoint`), as children of
your application's own span, against the simulator and a stand-in collector.

llmrelay records these spans without a tracer provider and hands them, finished, to a
BatchSpanProcessor over an OTLP/HTTP exporter: about a fifth of what the same spans
cost through the OpenTelemetry SDK (docs/observability.md#cost). In a service, point
`otlp_endpoint` at your collector (http://collector:4318/v1/traces).

Needs the extra: pip install 'llmrelay[otel]'.
Run: .venv/bin/python examples/otlp_spans.py
"""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider

import llmrelay

received: list[ExportTraceServiceRequest] = []


class Collector(BaseHTTPRequestHandler):
    """What an OpenTelemetry collector's OTLP/HTTP receiver does with a batch: decode it."""

    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        received.append(request)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def main() -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"

    settings = llmrelay.Settings.load(
        ledger={"enabled": False},
        observe={"otlp_endpoint": endpoint, "service_name": "checkout", "sample_rate": 1.0},
    )
    app = TracerProvider().get_tracer("checkout")  # your application's own spans
    async with llmrelay.Client(settings) as client:
        with app.start_as_current_span("handle order") as order:
            await client.chat("Name three prime numbers.")
    # closing the client flushed the batch to the collector
    collector.shutdown()

    print(f"application span  {order.get_span_context().span_id:016x}")
    for request in received:
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes
                           if a.key == "service.name")  # fmt: skip
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    parent = span.parent_span_id.hex()
                    print(f"{service}: {span.name:<20} {span.span_id.hex()}  parent {parent}")


if __name__ == "__main__":
    asyncio.run(main())
