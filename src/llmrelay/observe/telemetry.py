"""``Telemetry``: the logs, metrics and traces engines a client reports to, built once.

Build it from the ``observe`` settings, passing what your application owns — a
Prometheus registry, an OpenTelemetry tracer provider — and connect it to a client
with ``llmrelay.middleware.observe.instrument`` (or turn the settings on and the
client builds its own). Metrics never go to prometheus_client's global registry unless
you pass it or set ``observe.registry: global``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.errors import ConfigError
from llmrelay.observe.labels import LabelBounds
from llmrelay.observe.logs import FunctionLog, LogSink, stdlib_emitter, structlog_emitter

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from llmrelay.observe.metrics import Metrics
    from llmrelay.observe.tracing import Tracing
    from llmrelay.settings.observe import ObserveSettings


@dataclass(slots=True)
class Telemetry:
    """Where a client's calls are reported. Each part is None when it is off.

    ``content``: prompts and completions are captured (redacted, ``content_limit``
    characters per body) into log events and spans."""

    bounds: LabelBounds
    log: LogSink | None = None
    metrics: Metrics | None = None
    tracing: Tracing | None = None
    content: bool = False
    content_limit: int = 4000
    #: called by ``aclose``: flushes and stops an exporter the telemetry owns
    shutdown: Callable[[], None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: ObserveSettings,
        bounds: LabelBounds,
        *,
        registry: CollectorRegistry | None = None,
        tracer_provider: Any = None,
        span_processor: Any = None,
        log: LogSink | Callable[[int, dict[str, Any]], None] | None = None,
    ) -> Telemetry:
        """The parts that ``settings`` turn on. ``registry`` (metrics) and
        ``tracer_provider`` (traces) override where they report; ``log`` replaces the
        log sink (a ``LogSink``, or a function taking a level and the event's fields).

        ``span_processor`` (an OpenTelemetry SDK ``SpanProcessor``, such as a
        ``BatchSpanProcessor`` over your exporter): spans are recorded by llmrelay and
        handed to it finished, without a tracer provider (see ``observe.direct``);
        ``close`` shuts it down. ``observe.otlp_endpoint`` does the same with a
        ``BatchSpanProcessor`` over an OTLP exporter."""
        if span_processor is not None and tracer_provider is not None:
            raise ConfigError(
                "pass either tracer_provider (spans through the OpenTelemetry SDK) or span_processor "
                + "(spans recorded by llmrelay), not both"
            )
        closers: list[Callable[[], None]] = []
        try:
            emit = _log_sink(settings, log, closers)
            metrics = None
            if settings.metrics or registry is not None:
                metrics = _metrics(registry, settings.registry == "global", bounds)
            tracing = None
            if tracer_provider is None and (span_processor is not None or settings.otlp_endpoint):
                if span_processor is None:
                    assert settings.otlp_endpoint is not None
                    span_processor = _otlp_processor(settings.otlp_endpoint)
                closers.append(span_processor.shutdown)
                tracing = _direct(span_processor, settings)
            elif settings.traces or tracer_provider is not None:
                tracing = _tracing(tracer_provider, settings.content, settings.attempt_spans)
        except BaseException:
            for close in closers:  # what was opened before the part that failed
                close()
            raise
        return cls(
            bounds,
            emit,
            metrics,
            tracing,
            content=settings.content,
            content_limit=settings.content_limit,
            shutdown=_all(closers) if closers else None,
        )

    @property
    def enabled(self) -> bool:
        return self.log is not None or self.metrics is not None or self.tracing is not None

    def close(self) -> None:
        if self.shutdown is not None:
            self.shutdown()


def _log_sink(
    settings: ObserveSettings,
    log: LogSink | Callable[[int, dict[str, Any]], None] | None,
    closers: list[Callable[[], None]],
) -> LogSink | None:
    """Where call events go: ``log`` or the logger, plus the file and socket sinks
    (whose ``close`` is added to ``closers``)."""
    sinks: list[LogSink] = []
    if log is not None:
        sinks.append(log if isinstance(log, LogSink) else FunctionLog(log))
    elif settings.logs:
        sinks.append(
            (structlog_emitter if settings.log_format == "structlog" else stdlib_emitter)(settings.logger)
        )
    if settings.log_socket is not None or settings.log_file is not None:
        from llmrelay.observe.sinks import FileLog, SocketLog

        if settings.log_file is not None:
            file_log = FileLog(settings.log_file)
            closers.append(file_log.close)
            sinks.append(file_log)
        if settings.log_socket is not None:
            socket_log = SocketLog(settings.log_socket)
            closers.append(socket_log.close)
            sinks.append(socket_log)
    if len(sinks) <= 1:
        return sinks[0] if sinks else None
    from llmrelay.observe.sinks import Fanout

    return Fanout(sinks)


def _all(closers: list[Callable[[], None]]) -> Callable[[], None]:
    if len(closers) == 1:
        return closers[0]

    def close() -> None:
        for c in closers:
            c()

    return close


def _metrics(registry: CollectorRegistry | None, use_global: bool, bounds: LabelBounds) -> Metrics:
    try:
        from prometheus_client import REGISTRY, CollectorRegistry

        from llmrelay.observe.metrics import Metrics
    except ImportError:
        raise ConfigError(
            "observe.metrics needs prometheus_client: pip install 'llmrelay[metrics]'"
        ) from None
    if registry is None:
        registry = REGISTRY if use_global else CollectorRegistry(auto_describe=True)
    return Metrics(registry, bounds)


def _tracing(provider: Any, content: bool, attempt_spans: bool) -> Tracing:
    try:
        from llmrelay.observe.tracing import Tracing
    except ImportError:
        raise ConfigError(
            "observe.traces needs the OpenTelemetry API (a dependency of llmrelay): "
            + "pip install opentelemetry-api"
        ) from None
    return Tracing.from_provider(provider, content=content, attempt_spans=attempt_spans)


def _direct(processor: Any, settings: ObserveSettings) -> Tracing:
    try:
        from opentelemetry.sdk.resources import Resource

        from llmrelay.observe.direct import DirectTracing
    except ImportError:
        raise ConfigError("spans need the OpenTelemetry SDK: pip install 'llmrelay[otel]'") from None
    return DirectTracing(
        processor,
        resource=Resource.create({"service.name": settings.service_name}),
        sample_rate=settings.sample_rate,
        content=settings.content,
        attempt_spans=settings.attempt_spans,
    )


def _otlp_processor(endpoint: str) -> Any:
    """A span processor of the telemetry's own that batches spans to ``endpoint``."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError(
            "observe.otlp_endpoint needs the OTLP exporter: pip install 'llmrelay[otel]'"
        ) from None
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, with its content type: the body and
    header of a ``/metrics`` endpoint."""
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    except ImportError:
        raise ConfigError(
            "rendering metrics needs prometheus_client: pip install 'llmrelay[metrics]'"
        ) from None
    return generate_latest(registry), CONTENT_TYPE_LATEST
