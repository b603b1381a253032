from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from llmrelay.observe import LabelBounds, Telemetry
from llmrelay.settings.observe import ObserveSettings

BOUNDS = LabelBounds()


def test_everything_is_off_by_default() -> None:
    t = Telemetry.from_settings(ObserveSettings(), BOUNDS)
    assert not t.enabled and t.log is None and t.metrics is None and t.tracing is None


def test_what_is_passed_in_is_used() -> None:
    reg = CollectorRegistry()
    events: list[tuple[int, dict[str, Any]]] = []
    t = Telemetry.from_settings(
        ObserveSettings(), BOUNDS, registry=reg, tracer_provider=TracerProvider(),
        log=lambda level, e: events.append((level, e)),
    )  # fmt: skip
    assert t.metrics is not None and t.metrics.registry is reg
    assert t.tracing is not None
    assert t.log is not None
    t.log(logging.INFO, {"event": "x"})
    assert events == [(logging.INFO, {"event": "x"})]


def test_own_registry_unless_global_is_asked() -> None:
    from prometheus_client import REGISTRY

    own = Telemetry.from_settings(ObserveSettings(metrics=True), BOUNDS)
    assert own.metrics is not None and own.metrics.registry is not REGISTRY
    glob = Telemetry.from_settings(ObserveSettings(metrics=True, registry="global"), BOUNDS)
    try:
        assert glob.metrics is not None and glob.metrics.registry is REGISTRY
    finally:
        for collector in list(REGISTRY._collector_to_names):
            if any(n.startswith("llmrelay_") for n in REGISTRY._collector_to_names[collector]):
                REGISTRY.unregister(collector)


def test_an_otlp_endpoint_gets_a_batch_processor_of_its_own_that_close_shuts_down() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from llmrelay.observe.direct import DirectTracing

    t = Telemetry.from_settings(
        ObserveSettings(otlp_endpoint="http://127.0.0.1:9/v1/traces", service_name="svc", sample_rate=0.5),
        BOUNDS,
    )
    assert isinstance(t.tracing, DirectTracing) and t.shutdown is not None
    processor = t.shutdown.__self__  # type: ignore[attr-defined]
    assert isinstance(processor, BatchSpanProcessor) and t.tracing.processor is processor
    assert t.tracing.resource.attributes["service.name"] == "svc"
    assert t.tracing.sample_rate == 0.5
    t.close()  # nothing was recorded, so nothing is sent
    assert processor._batch_processor._shutdown


def test_a_log_sink_of_your_own_is_asked_whether_it_listens() -> None:
    from llmrelay.observe.logs import LogSink

    class OnlyWarnings:
        def __init__(self) -> None:
            self.seen: list[dict[str, Any]] = []

        def enabled(self, level: int) -> bool:
            return level >= logging.WARNING

        def __call__(self, level: int, event: dict[str, Any]) -> None:
            self.seen.append(event)

    sink = OnlyWarnings()
    t = Telemetry.from_settings(ObserveSettings(), BOUNDS, log=sink)
    assert t.log is sink and isinstance(sink, LogSink)
    assert not t.log.enabled(logging.DEBUG)
