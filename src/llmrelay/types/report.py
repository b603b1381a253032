"""The report of one call: what the pipeline did to serve it, as ``response.meta``.

Output only. Layers fill it as the call travels; the caller reads it from
``ChatResponse.meta``, ``ChatStream.response.meta`` or ``EmbeddingResponse.meta`` (and
the gateway exposes it in headers). Nothing private to a layer is ever kept here: how
layers talk to each other is the call's typed extensions (``Call.ext``), not this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class FallbackStep:
    """The call left ``from_alias`` for ``to_alias``: ``reason`` is the fallback rule
    (``error``, ``context_window``, ``content_filter``), ``error`` what triggered it."""

    from_alias: str
    to_alias: str
    reason: str
    error: str


@dataclass(frozen=True, slots=True)
class HedgeInfo:
    """A slow attempt was raced against deployment ``hedge`` after ``after`` seconds."""

    hedge: str
    after: float
    winner: Literal["primary", "hedge"]


@dataclass(frozen=True, slots=True)
class CircuitChange:
    """The circuit breaker of ``deployment`` changed state during this call."""

    deployment: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class RoutingEvent:
    """What routing learnt from an attempt: a deployment (or one of its keys) ``cooldown``
    for ``seconds`` after a rate limit, or a key ``key_removed`` after a 401/403.
    ``key`` is the key's fingerprint when the deployment has several, never the key."""

    kind: Literal["cooldown", "key_removed"]
    deployment: str
    seconds: float | None = None
    key: str | None = None
    status: int | None = None
    keys_left: int | None = None


@dataclass(slots=True, eq=False)
class Report:
    """What happened to one call. Every field is documented; nothing else is in it."""

    #: the model alias that served the call (after fallbacks)
    alias: str | None = None
    #: the configured deployment that produced the answer
    deployment: str | None = None
    #: upstream requests sent, across retries, hedges, fallbacks and stream resumes
    attempts: int = 0
    #: the deployment of each upstream request, in order
    deployments_tried: list[str] = field(default_factory=list)
    #: each failed attempt, as ``"deployment: ErrorType (status)"``
    errors: list[str] = field(default_factory=list)
    #: aliases the call fell back through
    fallbacks: list[FallbackStep] = field(default_factory=list)
    #: circuit-breaker state changes this call caused or saw
    circuit: list[CircuitChange] = field(default_factory=list)
    #: cool-downs and removed keys
    routing: list[RoutingEvent] = field(default_factory=list)
    #: set when a slow unary attempt was hedged
    hedged: HedgeInfo | None = None
    #: times a stream that broke after delivering content was resumed to completion
    resumed: int = 0
    #: seconds spent in retry backoff and waiting for a cooling deployment
    waited: float = 0.0
    #: seconds spent queued behind llmrelay's own rate limits
    rate_limit_wait: float = 0.0
    #: the id of the call's usage-ledger record, when the ledger is on
    ledger_id: str | None = None
    #: the cache's verdict (``hit``, ``miss``, ``stale``), when a cache layer is on
    cache: str | None = None
    #: for an answer the semantic cache served: the cosine similarity of the stored
    #: question to this call's last user turn (None for exact hits and misses)
    cache_similarity: float | None = None
    #: for an answer the cache served: what the call cost when it was made, in US dollars
    #: (the money this hit saved; None: a miss, or the original cost was unknown)
    cache_saved: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for logs and the gateway's headers)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = [_plain(v) for v in value]
            elif value is not None:
                value = _plain(value)
            out[f.name] = value
        return out

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.as_dict().items() if v not in (None, 0, 0.0, [])}
        return f"Report({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return value
