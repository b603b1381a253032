"""Observability engines: per-call log events, Prometheus metrics and OpenTelemetry spans.

The engines know nothing of the pipeline: they take a ``CallRecord`` (plain values the
pipeline's observe layer reads off a call) and turn it into a log event, metric samples
or span attributes. ``Telemetry`` bundles the three; ``llmrelay.middleware.observe``
connects it to the pipeline. ``prometheus_client`` and ``opentelemetry`` are imported
only when metrics or traces are turned on (extras ``metrics`` and ``otel``).
"""

from __future__ import annotations

from llmrelay.observe.labels import OTHER, LabelBounds
from llmrelay.observe.record import AttemptRecord, CallRecord
from llmrelay.observe.telemetry import Telemetry, render

__all__ = ["OTHER", "AttemptRecord", "CallRecord", "LabelBounds", "Telemetry", "render"]
