"""The ``observe`` section: per-call logs, Prometheus metrics and OpenTelemetry traces.

Everything is off by default: a library user keeps their own logging setup and pays
nothing. See ``docs/observability.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ObserveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    logs: bool = Field(
        default=False,
        description="one log event per call (INFO, WARNING on failure) and per attempt (DEBUG)",
    )
    log_format: Literal["stdlib", "structlog"] = Field(
        default="stdlib",
        description="stdlib: the standard logging module, event fields in the record's `llmrelay` "
        "attribute; structlog: key-value events through structlog (install it yourself)",
    )
    logger: str = Field(default="llmrelay.calls", min_length=1, description="the logger's name")
    metrics: bool = Field(default=False, description="Prometheus metrics (needs the `metrics` extra)")
    registry: Literal["own", "global"] = Field(
        default="own",
        description="own: a registry of the client's own (render it with llmrelay.observe.render); "
        "global: prometheus_client's default registry",
    )
    traces: bool = Field(
        default=False,
        description="OpenTelemetry spans (GenAI conventions) on the global tracer provider "
        "(needs the `otel` extra)",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="export spans over OTLP/HTTP to this URL (e.g. http://127.0.0.1:4318/v1/traces) "
        "with a tracer provider of the client's own",
    )
    service_name: str = Field(default="llmrelay", min_length=1)
    content: bool = Field(
        default=False,
        description="capture prompts and completions in logs and spans, redacted of key-shaped strings",
    )
    content_limit: int = Field(default=4000, ge=16, le=1_000_000, description="characters kept per body")
    labels: list[str] = Field(
        default_factory=list,
        description="extra model names allowed as metric labels besides the configured aliases and "
        "deployments (anything else is counted as `other`)",
    )

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(
                "otlp_endpoint must be an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces"
            )
        return v

    @property
    def enabled(self) -> bool:
        return self.logs or self.metrics or self.traces
