"""Prometheus metrics for LLM calls, on a registry that is passed in.

Names start with ``llmrelay_``. Latency buckets fit LLM calls (tens of milliseconds to
minutes); labels are bounded by ``LabelBounds`` (configured names, else ``other``) and
never carry a user or key id. Import this module only when metrics are on: it imports
``prometheus_client`` (the ``metrics`` extra).

The values live in plain dicts keyed by label tuples and are turned into metric
families when the registry is scraped (``Metrics`` is a prometheus_client collector).
prometheus_client's own ``Counter``/``Histogram`` objects validate labels and take a
lock per value on every update — about a dozen per call here; this takes one lock per
call and does a dict update per value, which is what keeps metrics cheap per call
(``benchmarks/bench_observe.py``).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from llmrelay.observe.labels import OTHER, LabelBounds

if TYPE_CHECKING:
    from llmrelay.observe.record import AttemptRecord, BudgetLevel, CallRecord

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
    "GuardBlockedError": "guard",
}
_CACHE_RESULTS = frozenset(("hit", "miss", "stale"))

Kind = Literal["counter", "gauge", "histogram"]
#: names of (deployment, provider, outcome) remembered for the attempts counter
_ATTEMPT_MEMO = 1024


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name (counters without ``_total``), help, type, label
    names and, for histograms, bucket bounds."""

    name: str
    help: str
    kind: Kind
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def samples(self) -> tuple[str, ...]:
        """The names its samples are scraped under."""
        if self.kind == "counter":
            return (self.name + "_total",)
        if self.kind == "histogram":
            return (self.name + "_bucket", self.name + "_sum", self.name + "_count")
        return (self.name,)


REQUESTS = Family(
    "llmrelay_requests", "Calls by operation, alias, provider, model and outcome", "counter",
    ("op", "alias", "provider", "model", "outcome"),
)  # fmt: skip
ERRORS = Family("llmrelay_errors", "Failed calls by alias and error type", "counter", ("alias", "error_type"))
LATENCY = Family(
    "llmrelay_request_duration_seconds", "Whole-call latency, retries and fallbacks included", "histogram",
    ("op", "alias", "stream"), LATENCY_BUCKETS,
)  # fmt: skip
TTFT = Family(
    "llmrelay_time_to_first_token_seconds", "Time from sending a stream to its first content", "histogram",
    ("alias",), TTFT_BUCKETS,
)  # fmt: skip
TOKENS = Family(
    "llmrelay_tokens", "Tokens by kind (input, output, cached_input, cache_write, reasoning)", "counter",
    ("alias", "provider", "model", "kind"),
)  # fmt: skip
COST = Family(
    "llmrelay_cost_usd", "Cost in US dollars, from usage and catalog prices", "counter",
    ("alias", "provider", "model"),
)  # fmt: skip
CACHE = Family("llmrelay_cache", "Cache verdicts", "counter", ("alias", "result"))
ATTEMPTS = Family(
    "llmrelay_attempts", "Upstream requests by deployment and outcome", "counter",
    ("deployment", "provider", "outcome"),
)  # fmt: skip
RETRIES = Family("llmrelay_retries", "Upstream requests beyond a call's first", "counter", ("alias",))
FALLBACKS = Family(
    "llmrelay_fallbacks",
    "Fallbacks from one alias to another",
    "counter",
    ("from_alias", "to_alias", "reason"),
)
CIRCUIT = Family(
    "llmrelay_circuit_state",
    "Circuit state last seen (0 closed, 1 half-open, 2 open)",
    "gauge",
    ("deployment",),
)
CIRCUIT_CHANGES = Family(
    "llmrelay_circuit_transitions", "Circuit state changes", "counter", ("deployment", "state")
)
IN_FLIGHT = Family("llmrelay_in_flight", "Calls in progress (kind: unary or stream)", "gauge", ("kind",))
RATE_LIMIT_WAIT = Family(
    "llmrelay_rate_limit_wait_seconds", "Time queued behind llmrelay's own rate limits", "histogram",
    ("alias",), WAIT_BUCKETS,
)  # fmt: skip
REFUSALS = Family(
    "llmrelay_refusals", "Calls refused before anything was sent, by reason", "counter", ("alias", "reason")
)
GUARDS = Family(
    "llmrelay_guard_decisions", "Guard decisions by detector, action and direction", "counter",
    ("alias", "kind", "action", "where"),
)  # fmt: skip
RESUMED = Family("llmrelay_stream_resumes", "Broken streams resumed", "counter", ("alias",))
BUDGET_SPENT = Family(
    "llmrelay_budget_spent_usd",
    "Dollars spent in the budget's current window (a budget per key, user, team or tag without a "
    "name: the most any one of them has spent)", "gauge", ("scope", "budget", "window"),
)  # fmt: skip
BUDGET_LIMIT = Family(
    "llmrelay_budget_limit_usd", "A budget's limit in dollars (level: hard or soft)", "gauge",
    ("scope", "budget", "window", "level"),
)  # fmt: skip

FAMILIES = (
    REQUESTS, ERRORS, LATENCY, TTFT, TOKENS, COST, CACHE, ATTEMPTS, RETRIES, FALLBACKS, CIRCUIT,
    CIRCUIT_CHANGES, IN_FLIGHT, RATE_LIMIT_WAIT, REFUSALS, GUARDS, RESUMED, BUDGET_SPENT, BUDGET_LIMIT,
)  # fmt: skip

_Key = tuple[str, ...]


#: a value's cell: a one-item list, so the hot path can hold on to it and add in place
_Cell = list[float]


def _cell(series: dict[_Key, _Cell], key: _Key) -> _Cell:
    cell = series.get(key)
    if cell is None:
        cell = series[key] = [0.0]
    return cell


def _add(series: dict[_Key, _Cell], key: _Key, n: float) -> None:
    cell = series.get(key)
    if cell is None:
        series[key] = [n]
    else:
        cell[0] += n


def _observe(series: dict[_Key, list[float]], key: _Key, buckets: tuple[float, ...], v: float) -> None:
    row = series.get(key)
    if row is None:
        # a count per bucket (not cumulative), one past the last for +Inf, then the sum
        row = series[key] = [0.0] * (len(buckets) + 2)
    row[bisect_left(buckets, v)] += 1.0
    row[-1] += v


class _Series:
    """The cells one kind of call adds to (same op, alias, provider, model and stream),
    found with one dict lookup per call instead of a label tuple and a lookup per value.
    Cells are made on first use, so a series appears when it is first counted."""

    __slots__ = ("cost", "input", "latency", "ok", "output")

    def __init__(self, latency: _Cell) -> None:
        self.latency = latency
        self.ok: _Cell | None = None
        self.input: _Cell | None = None
        self.output: _Cell | None = None
        self.cost: _Cell | None = None


class Metrics:
    """The metric families, registered on ``registry`` once per instance (as one collector)."""

    def __init__(self, registry: CollectorRegistry, bounds: LabelBounds) -> None:
        self.registry = registry
        self.bounds = bounds
        # one lock per update of a call, not one per value: the event loop's thread
        # writes, a scrape (another thread) reads
        self._lock = threading.Lock()
        self._values: dict[Family, dict[_Key, _Cell]] = {f: {} for f in FAMILIES if f.kind != "histogram"}
        self._hists: dict[Family, dict[_Key, list[float]]] = {
            f: {} for f in FAMILIES if f.kind == "histogram"
        }
        # the gauge's children exist up front so a scrape shows 0, not nothing
        in_flight = self._values[IN_FLIGHT]
        self._in_flight = (_cell(in_flight, ("unary",)), _cell(in_flight, ("stream",)))
        # (op, alias, provider, model, stream) -> its cells; bounded as the labels are
        self._series: dict[tuple[str, str, str, str, bool], _Series] = {}
        # (deployment, provider, outcome) as named -> the attempts counter's cell
        self._attempt_cells: dict[tuple[str, str, str], _Cell] = {}
        # budgets per subject without a name: (the window's period id, the highest spend in it)
        self._budget_peaks: dict[_Key, tuple[str, float]] = {}
        registry.register(self)

    # --------------------------------------------------------------- collector

    def describe(self) -> list[Metric]:
        return [_empty(f) for f in FAMILIES]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            values = {f: {k: c[0] for k, c in s.items()} for f, s in self._values.items()}
            hists = {f: {k: list(row) for k, row in s.items()} for f, s in self._hists.items()}
        for fam in FAMILIES:
            metric = _empty(fam)
            if fam.kind == "histogram":
                assert isinstance(metric, HistogramMetricFamily)
                for key, row in hists[fam].items():
                    total, cumulative = 0.0, []
                    for bound, n in zip((*fam.buckets, float("inf")), row, strict=False):
                        total += n
                        cumulative.append((_le(bound), total))
                    metric.add_metric(key, cumulative, row[-1])
            else:
                assert isinstance(metric, CounterMetricFamily | GaugeMetricFamily)
                for key, v in values[fam].items():
                    metric.add_metric(key, v)
            yield metric

    # ----------------------------------------------------------------- updates

    def started(self, stream: bool) -> None:
        with self._lock:
            self._in_flight[stream][0] += 1.0

    def attempt(self, a: AttemptRecord) -> None:
        self.count_attempt(a.deployment, a.provider, a.outcome)

    def count_attempt(self, deployment: str, provider: str, outcome: str) -> None:
        cell = self._attempt_cells.get((deployment, provider, outcome))
        with self._lock:
            if cell is None:
                cell = self._attempt_cell(deployment, provider, outcome)
            cell[0] += 1.0

    def _attempt_cell(self, deployment: str, provider: str, outcome: str) -> _Cell:
        """Under the lock: the attempts counter's cell for these names (by their
        labels), remembered under the names themselves — which callers may choose, so
        the memo is emptied when it fills (the cells stay in the family)."""
        if len(self._attempt_cells) >= _ATTEMPT_MEMO:
            self._attempt_cells.clear()
        b = self.bounds
        cell = _cell(self._values[ATTEMPTS], (b.deployment(deployment), b.provider(provider), outcome))
        self._attempt_cells[(deployment, provider, outcome)] = cell
        return cell

    def finished(self, r: CallRecord) -> None:
        b = self.bounds
        alias = b.alias(r.alias)
        provider = b.provider(r.provider)
        model = b.model(r.model)
        v = self._values
        h = self._hists
        s = self._series.get((r.op, alias, provider, model, r.stream))
        with self._lock:
            if s is None:
                s = self._new_series(r.op, alias, provider, model, r.stream)
            self._in_flight[r.stream][0] -= 1.0
            if r.outcome == "ok":
                ok = s.ok
                if ok is None:
                    ok = s.ok = _cell(v[REQUESTS], (r.op, alias, provider, model, "ok"))
                ok[0] += 1.0
            else:
                _add(v[REQUESTS], (r.op, alias, provider, model, r.outcome), 1.0)
            row = s.latency
            row[bisect_left(LATENCY_BUCKETS, r.latency)] += 1.0
            row[-1] += r.latency
            if r.error_type:
                _add(v[ERRORS], (alias, r.error_type), 1.0)
                if r.attempts == 0 and r.outcome == "error":
                    _add(v[REFUSALS], (alias, _REFUSALS.get(r.error_type, OTHER)), 1.0)
            if r.ttft is not None:
                _observe(h[TTFT], (alias,), TTFT_BUCKETS, r.ttft)
            tokens = v[TOKENS]
            if r.input_tokens:
                cell = s.input
                if cell is None:
                    cell = s.input = _cell(tokens, (alias, provider, model, "input"))
                cell[0] += r.input_tokens
            if r.output_tokens:
                cell = s.output
                if cell is None:
                    cell = s.output = _cell(tokens, (alias, provider, model, "output"))
                cell[0] += r.output_tokens
            if r.cached_tokens:
                _add(tokens, (alias, provider, model, "cached_input"), r.cached_tokens)
            if r.cache_write_tokens:
                _add(tokens, (alias, provider, model, "cache_write"), r.cache_write_tokens)
            if r.reasoning_tokens:
                _add(tokens, (alias, provider, model, "reasoning"), r.reasoning_tokens)
            if r.cost:
                cell = s.cost
                if cell is None:
                    cell = s.cost = _cell(v[COST], (alias, provider, model))
                cell[0] += r.cost
            if r.cache:
                _add(v[CACHE], (alias, r.cache if r.cache in _CACHE_RESULTS else OTHER), 1.0)
            if r.attempts > 1:
                _add(v[RETRIES], (alias,), r.attempts - 1)
            for src, dst, reason in r.fallbacks:
                _add(v[FALLBACKS], (b.alias(src), b.alias(dst), reason), 1.0)
            for dep, _old, new in r.circuit:
                d = b.deployment(dep)
                v[CIRCUIT][(d,)] = [CIRCUIT_VALUES.get(new, -1.0)]
                _add(v[CIRCUIT_CHANGES], (d, new if new in CIRCUIT_VALUES else OTHER), 1.0)
            if r.rate_limit_wait:
                _observe(h[RATE_LIMIT_WAIT], (alias,), WAIT_BUCKETS, r.rate_limit_wait)
            if r.resumed:
                _add(v[RESUMED], (alias,), r.resumed)
            for kind, action, where in r.guards:  # kinds and actions are the guard's fixed names
                _add(v[GUARDS], (alias, kind, action, where), 1.0)
            for level in r.budgets:
                self._budget(level)

    def _new_series(self, op: str, alias: str, provider: str, model: str, stream: bool) -> _Series:
        """Under the lock: the cells of a kind of call not seen before."""
        rows = self._hists[LATENCY]
        key = (op, alias, "true" if stream else "false")
        row = rows.get(key)
        if row is None:
            row = rows[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        s = self._series[(op, alias, provider, model, stream)] = _Series(row)
        return s

    def _budget(self, level: BudgetLevel) -> None:
        key = (level.scope, level.budget, level.window)
        spent = level.spent
        if level.each:
            # the most any one subject has spent in this window: a new window starts over
            old = self._budget_peaks.get(key)
            if old is not None and old[0] == level.period_id:
                spent = max(spent, old[1])
            self._budget_peaks[key] = (level.period_id, spent)
        self._values[BUDGET_SPENT][key] = [spent]
        limits = self._values[BUDGET_LIMIT]
        if level.hard is not None:
            limits[(*key, "hard")] = [level.hard]
        if level.soft is not None:
            limits[(*key, "soft")] = [level.soft]


def _le(bound: float) -> str:
    """A bucket bound as prometheus_client writes it (``0.05``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _empty(f: Family) -> Metric:
    if f.kind == "counter":
        return CounterMetricFamily(f.name, f.help, labels=f.labels)
    if f.kind == "gauge":
        return GaugeMetricFamily(f.name, f.help, labels=f.labels)
    return HistogramMetricFamily(f.name, f.help, labels=f.labels)
