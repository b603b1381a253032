"""Prometheus metrics for LLM calls, on a registry that is passed in.

Names start with ``llmrelay_``. Latency buckets fit LLM calls (tens of milliseconds to
minutes); labels are bounded by ``LabelBounds`` (configured names, else ``other``) and
never carry a user or key id. Import this module only when metrics are on: it imports
``prometheus_client`` (the ``metrics`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from llmrelay.observe.labels import OTHER, LabelBounds

if TYPE_CHECKING:
    from llmrelay.observe.record import AttemptRecord, CallRecord

#: seconds: a cached answer, a short completion, a long one, a reasoning model's
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

#: circuit states as gauge values
CIRCUIT_VALUES = {"closed": 0.0, "half_open": 1.0, "half-open": 1.0, "open": 2.0}

# a call refused before anything was sent, by the error that refused it
_REFUSALS = {
    "BudgetExceededError": "budget",
    "RateLimitError": "rate_limit",
    "CircuitOpenError": "circuit",
    "ContextWindowExceededError": "context_window",
}


class Metrics:
    """The metric families, registered on ``registry`` once per instance."""

    def __init__(self, registry: CollectorRegistry, bounds: LabelBounds) -> None:
        self.registry = registry
        self.bounds = bounds
        r = registry
        self.requests = Counter(
            "llmrelay_requests", "Calls by operation, alias, provider, model and outcome",
            ("op", "alias", "provider", "model", "outcome"), registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "llmrelay_errors", "Failed calls by alias and error type", ("alias", "error_type"), registry=r
        )
        self.latency = Histogram(
            "llmrelay_request_duration_seconds", "Whole-call latency, retries and fallbacks included",
            ("op", "alias", "stream"), buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "llmrelay_time_to_first_token_seconds", "Time from sending a stream to its first content",
            ("alias",), buckets=TTFT_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "llmrelay_tokens", "Tokens by kind (input, output, cached_input, reasoning)",
            ("alias", "provider", "model", "kind"), registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "llmrelay_cost_usd", "Cost in US dollars, from usage and catalog prices",
            ("alias", "provider", "model"), registry=r,
        )  # fmt: skip
        self.cache = Counter("llmrelay_cache", "Cache verdicts", ("alias", "result"), registry=r)
        self.attempts = Counter(
            "llmrelay_attempts", "Upstream requests by deployment and outcome",
            ("deployment", "provider", "outcome"), registry=r,
        )  # fmt: skip
        self.retries = Counter(
            "llmrelay_retries", "Upstream requests beyond a call's first", ("alias",), registry=r
        )
        self.fallbacks = Counter(
            "llmrelay_fallbacks", "Fallbacks from one alias to another",
            ("from_alias", "to_alias", "reason"), registry=r,
        )  # fmt: skip
        self.circuit = Gauge(
            "llmrelay_circuit_state", "Circuit state last seen (0 closed, 1 half-open, 2 open)",
            ("deployment",), registry=r,
        )  # fmt: skip
        self.circuit_changes = Counter(
            "llmrelay_circuit_transitions", "Circuit state changes", ("deployment", "state"), registry=r
        )
        self.in_flight = Gauge(
            "llmrelay_in_flight", "Calls in progress (kind: unary or stream)", ("kind",), registry=r
        )
        self.rate_limit_wait = Histogram(
            "llmrelay_rate_limit_wait_seconds", "Time queued behind llmrelay's own rate limits",
            ("alias",), buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self.refusals = Counter(
            "llmrelay_refusals", "Calls refused before anything was sent, by reason", ("alias", "reason"),
            registry=r,
        )  # fmt: skip
        self.guards = Counter(
            "llmrelay_guard_decisions", "Guard decisions by detector, action and direction",
            ("alias", "kind", "action", "where"), registry=r,
        )  # fmt: skip
        self.resumed = Counter("llmrelay_stream_resumes", "Broken streams resumed", ("alias",), registry=r)
        # labelled children, looked up once: prometheus_client's labels() validates and
        # locks on every call. Bounded, since every label value is (see LabelBounds).
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        # children of the gauge are made up front so a scrape shows 0, not nothing
        self._unary = self.in_flight.labels("unary")
        self._stream = self.in_flight.labels("stream")

    def _c(self, family: Any, *labels: str) -> Any:
        key = (id(family), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    def started(self, stream: bool) -> None:
        (self._stream if stream else self._unary).inc()

    def attempt(self, a: AttemptRecord) -> None:
        b = self.bounds
        self._c(self.attempts, b.deployment(a.deployment), b.provider(a.provider), a.outcome).inc()

    def finished(self, r: CallRecord) -> None:
        b = self.bounds
        (self._stream if r.stream else self._unary).dec()
        alias = b.alias(r.alias)
        provider = b.provider(r.provider)
        model = b.model(r.model)
        self._c(self.requests, r.op, alias, provider, model, r.outcome).inc()
        self._c(self.latency, r.op, alias, "true" if r.stream else "false").observe(r.latency)
        if r.error_type:
            self._c(self.errors, alias, r.error_type).inc()
            if r.attempts == 0 and r.outcome == "error":
                self._c(self.refusals, alias, _REFUSALS.get(r.error_type, OTHER)).inc()
        if r.ttft is not None:
            self._c(self.ttft, alias).observe(r.ttft)
        for kind, n in (
            ("input", r.input_tokens),
            ("output", r.output_tokens),
            ("cached_input", r.cached_tokens),
            ("reasoning", r.reasoning_tokens),
        ):
            if n:
                self._c(self.tokens, alias, provider, model, kind).inc(n)
        if r.cost:
            self._c(self.cost, alias, provider, model).inc(r.cost)
        if r.cache:
            self._c(self.cache, alias, r.cache if r.cache in ("hit", "miss", "stale") else OTHER).inc()
        if r.attempts > 1:
            self._c(self.retries, alias).inc(r.attempts - 1)
        for src, dst, reason in r.fallbacks:
            self._c(self.fallbacks, b.alias(src), b.alias(dst), reason).inc()
        for dep, _old, new in r.circuit:
            d = b.deployment(dep)
            self._c(self.circuit, d).set(CIRCUIT_VALUES.get(new, -1.0))
            self._c(self.circuit_changes, d, new if new in CIRCUIT_VALUES else OTHER).inc()
        if r.rate_limit_wait:
            self._c(self.rate_limit_wait, alias).observe(r.rate_limit_wait)
        if r.resumed:
            self._c(self.resumed, alias).inc(r.resumed)
        for kind, action, where in r.guards:  # kinds and actions are the guard's fixed names
            self._c(self.guards, alias, kind, action, where).inc()
