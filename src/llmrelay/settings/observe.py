"""The ``observe`` section: per-call logs, Prometheus metrics and OpenTelemetry traces.

Everything is off by default: a library user keeps their own logging setup and pays
nothing. See ``docs/observability.md``.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Action: TypeAlias = Literal["off", "flag", "mask", "block"]
Detector: TypeAlias = Literal["email", "phone", "card", "iban", "api_key", "jwt"]


class GuardPolicySettings(BaseModel):
    """What the guard does; every field left unset keeps the value of the level above
    (``guards`` itself, then the alias, then the subject)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detectors: dict[Detector, Action] = Field(
        default_factory=dict, description="per detector: off, flag (record only), mask, block"
    )
    injection: Literal["off", "flag", "block"] | None = Field(
        default=None, description="the prompt-injection heuristic on user and tool turns"
    )
    output: Action | None = Field(
        default=None, description="the same detectors on the reply (streams: on a rolling window)"
    )
    restore: bool | None = Field(
        default=None, description="put masked values back where the reply repeats their placeholders"
    )


class GuardSettings(GuardPolicySettings):
    """PII, secret and prompt-injection guards (see docs/guards.md); off unless enabled."""

    enabled: bool = False
    window: int = Field(
        default=256, ge=32, le=65_536, description="characters of a stream held back for the output guard"
    )
    aliases: dict[str, GuardPolicySettings] = Field(default_factory=dict)
    #: keyed by the subject's key id, else its user
    subjects: dict[str, GuardPolicySettings] = Field(default_factory=dict)
    classifier: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="'package.module:function', an async function(text) -> 'allow' | 'flag' | 'block'",
    )
    classifier_url: str | None = Field(
        default=None,
        description='a classifier behind an HTTP endpoint: POST {"text": ...}, answer '
        '{"verdict": "allow" | "flag" | "block"} (instead of `classifier`)',
    )
    classifier_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the environment variable whose value is sent to classifier_url as a bearer token",
    )
    classifier_timeout: float = Field(default=2.0, gt=0, le=60)
    fail: Literal["open", "closed"] = Field(
        default="open", description="when the classifier fails or times out: allow (open) or block (closed)"
    )

    @field_validator("classifier_url")
    @classmethod
    def _classifier_http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(
                "classifier_url must be an http:// or https:// URL, e.g. https://guard.internal/v1/check"
            )
        return v

    @model_validator(mode="after")
    def _one_classifier(self) -> GuardSettings:
        if self.classifier is not None and self.classifier_url is not None:
            raise ValueError(
                "give either classifier (a Python function) or classifier_url (an HTTP endpoint), not both"
            )
        if self.classifier_key_env is not None and self.classifier_url is None:
            raise ValueError("classifier_key_env is the bearer token for classifier_url, which is not set")
        return self


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
    log_file: str | None = Field(
        default=None,
        min_length=1,
        description="also append each call's event to this file as a JSON line (reopened when "
        "rotated); `llmrelay tail FILE` follows it",
    )
    log_socket: str | None = Field(
        default=None,
        min_length=1,
        description="also send each call's event (never captured content) as a datagram to the Unix "
        "socket at this path, when `llmrelay tail --socket PATH` listens there; never blocks or fails "
        "a call",
    )
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
    attempt_spans: bool = Field(
        default=True,
        description="a CLIENT span per upstream request, child of the call's span; false: the call's "
        "span only (attempts are its events, every request names it as parent) — one span per call "
        "instead of two, about half the tracing cost",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="export spans over OTLP/HTTP to this URL (e.g. http://127.0.0.1:4318/v1/traces); "
        "llmrelay records them itself, without a tracer provider (about a fifth of the SDK's cost)",
    )
    sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="with otlp_endpoint: the share of calls with no parent span that are recorded "
        "(a call inside a span follows its parent's choice); a tracer provider's own sampler decides "
        "for its spans",
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

    guards: GuardSettings = Field(default_factory=GuardSettings)

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
        return (
            self.logs
            or self.metrics
            or self.traces
            or self.otlp_endpoint is not None
            or self.log_file is not None
            or self.log_socket is not None
        )
