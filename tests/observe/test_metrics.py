"""Metric families on a real registry, read back from the scraped text."""

from __future__ import annotations

import random

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from llmrelay.observe import CallRecord, LabelBounds, render
from llmrelay.observe.metrics import LATENCY_BUCKETS, Metrics
from llmrelay.observe.record import AttemptRecord

BOUNDS = LabelBounds.of(["chat"], ["a", "b"], ["gpt-4o"], ["openai", "simulator"])


def samples(reg: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = render(reg)[0].decode()
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    return sum(
        v for n, lab, v in samples(reg) if n == name and all(lab.get(k) == x for k, x in labels.items())
    )


def record(**kw: object) -> CallRecord:
    base: dict[str, object] = {
        "op": "chat", "stream": False, "requested_model": "chat", "alias": "chat", "deployment": "a",
        "provider": "openai", "model": "gpt-4o", "attempts": 1, "latency": 0.7,
    }  # fmt: skip
    base.update(kw)
    return CallRecord(**base)  # type: ignore[arg-type]


def test_a_call_counts_everywhere_it_should() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    m.started(stream=True)
    assert value(reg, "llmrelay_in_flight", kind="stream") == 1
    m.finished(
        record(
            stream=True, input_tokens=10, output_tokens=20, cached_tokens=4, reasoning_tokens=3, cost=0.002,
            ttft=0.3, attempts=3, cache="miss", rate_limit_wait=0.2, resumed=1,
            fallbacks=[("chat", "spare", "unavailable")], circuit=[("a", "closed", "open")],
        )
    )  # fmt: skip
    assert value(reg, "llmrelay_in_flight", kind="stream") == 0
    assert (
        value(reg, "llmrelay_requests_total", alias="chat", provider="openai", model="gpt-4o", outcome="ok")
        == 1
    )
    assert value(reg, "llmrelay_tokens_total", kind="input") == 10
    assert value(reg, "llmrelay_tokens_total", kind="output") == 20
    assert value(reg, "llmrelay_tokens_total", kind="cached_input") == 4
    assert value(reg, "llmrelay_tokens_total", kind="reasoning") == 3
    assert value(reg, "llmrelay_cost_usd_total", alias="chat") == 0.002
    assert value(reg, "llmrelay_time_to_first_token_seconds_bucket", le="0.5") == 1
    assert value(reg, "llmrelay_time_to_first_token_seconds_bucket", le="0.25") == 0
    assert value(reg, "llmrelay_request_duration_seconds_bucket", le="1.0", stream="true") == 1
    assert value(reg, "llmrelay_retries_total", alias="chat") == 2
    assert value(reg, "llmrelay_cache_total", result="miss") == 1
    assert value(reg, "llmrelay_rate_limit_wait_seconds_count") == 1
    assert value(reg, "llmrelay_stream_resumes_total") == 1
    # "spare" is not a configured alias: bounded to "other"
    assert (
        value(reg, "llmrelay_fallbacks_total", from_alias="chat", to_alias="other", reason="unavailable") == 1
    )
    assert value(reg, "llmrelay_circuit_state", deployment="a") == 2
    assert value(reg, "llmrelay_circuit_transitions_total", deployment="a", state="open") == 1


def test_refusals_and_errors() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    for etype in ("BudgetExceededError", "RateLimitError", "CircuitOpenError", "InvalidRequestError"):
        m.started(stream=False)
        m.finished(record(outcome="error", error_type=etype, attempts=0))
    m.started(stream=False)
    m.finished(record(outcome="error", error_type="RateLimitError", attempts=2))  # a provider 429: no refusal
    assert value(reg, "llmrelay_refusals_total", reason="budget") == 1
    assert value(reg, "llmrelay_refusals_total", reason="rate_limit") == 1
    assert value(reg, "llmrelay_refusals_total", reason="circuit") == 1
    assert value(reg, "llmrelay_refusals_total", reason="other") == 1
    assert value(reg, "llmrelay_errors_total", error_type="RateLimitError") == 2
    assert value(reg, "llmrelay_requests_total", outcome="error") == 5
    assert value(reg, "llmrelay_in_flight", kind="unary") == 0


def test_attempts_by_deployment() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    m.attempt(AttemptRecord(1, "a", "openai", "openai", "gpt-4o", None, 0.1, "error", "OverloadedError", 529))
    m.attempt(AttemptRecord(2, "zzz", "openai", "openai", "gpt-4o", None, 0.1))
    assert value(reg, "llmrelay_attempts_total", deployment="a", outcome="error") == 1
    assert value(reg, "llmrelay_attempts_total", deployment="other", outcome="ok") == 1


def test_attempts_to_many_unknown_deployments_are_all_counted_under_other() -> None:
    # more names than the counter remembers: the memo empties and counting goes on
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    for i in range(3000):
        m.count_attempt(f"caller/model-{i % 1500}", "openai", "ok")
        m.count_attempt("a", "openai", "ok")
    assert value(reg, "llmrelay_attempts_total", deployment="other", outcome="ok") == 3000
    assert value(reg, "llmrelay_attempts_total", deployment="a", provider="openai", outcome="ok") == 3000
    assert len([n for n, _, _ in samples(reg) if n == "llmrelay_attempts_total"]) == 2


def test_ten_thousand_users_and_random_models_make_a_bounded_number_of_series() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    rng = random.Random(7)
    for i in range(10_000):
        name = f"model-{rng.randrange(10**9)}"
        m.started(stream=i % 2 == 0)
        m.finished(
            record(
                requested_model=name, alias=rng.choice(["chat", name]), model=name, user=f"user-{i}",
                key_id=f"vk_{i}", deployment=rng.choice(["a", name]), input_tokens=5, output_tokens=5,
                cost=0.001, ttft=0.1 if i % 2 == 0 else None,
                outcome=rng.choice(["ok", "error"]), error_type=rng.choice([None, "RateLimitError"]),
            )
        )  # fmt: skip
    series = samples(reg)
    assert len(series) < 400, len(series)
    labels = {v for _, lab, _ in series for v in lab.values()}
    assert not any(v.startswith(("user-", "vk_", "model-")) for v in labels)


def test_the_global_registry_is_untouched() -> None:
    before = {f.name for f in REGISTRY.collect()}
    Metrics(CollectorRegistry(), BOUNDS)
    assert {f.name for f in REGISTRY.collect()} == before


def test_latency_buckets_fit_llm_calls() -> None:
    assert LATENCY_BUCKETS[0] <= 0.1 and LATENCY_BUCKETS[-1] >= 120
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_render_gives_the_text_format() -> None:
    reg = CollectorRegistry()
    Metrics(reg, BOUNDS)
    body, ctype = render(reg)
    assert ctype.startswith("text/plain") and b"# TYPE llmrelay_requests_total counter" in body


def test_cache_writes_are_a_token_kind_of_their_own() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    m.started(stream=False)
    m.finished(record(input_tokens=100, cached_tokens=60, cache_write_tokens=30))
    assert value(reg, "llmrelay_tokens_total", kind="cache_write") == 30
    assert value(reg, "llmrelay_tokens_total", kind="cached_input") == 60


def test_a_budget_for_each_subject_keeps_the_highest_spend_of_its_window() -> None:
    from llmrelay.observe.record import BudgetLevel

    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)

    def settle(spent: float, period: str) -> None:
        m.started(stream=False)
        m.finished(record(budgets=[BudgetLevel("user", "each", "day", period, spent, 1.0, 0.5, True)]))

    settle(0.4, "2026-01-01")
    settle(0.1, "2026-01-01")  # another user, who spent less: the gauge keeps the highest
    assert value(reg, "llmrelay_budget_spent_usd", scope="user", budget="each", window="day") == 0.4
    settle(0.05, "2026-01-02")  # a new day starts over
    assert value(reg, "llmrelay_budget_spent_usd", scope="user", budget="each", window="day") == 0.05
    assert value(reg, "llmrelay_budget_limit_usd", level="hard") == 1.0
    assert value(reg, "llmrelay_budget_limit_usd", level="soft") == 0.5


def test_a_named_budget_shows_what_it_holds_now() -> None:
    from llmrelay.observe.record import BudgetLevel

    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    for spent in (0.3, 0.2):  # e.g. a reset by an operator: a gauge, not a running maximum
        m.started(stream=False)
        m.finished(
            record(budgets=[BudgetLevel("team", "search", "month", "2026-01", spent, 2.0, None, False)])
        )
    assert value(reg, "llmrelay_budget_spent_usd", budget="search") == 0.2
    assert value(reg, "llmrelay_budget_limit_usd", budget="search", level="soft") == 0


def test_histograms_count_each_observation_in_its_bucket_and_above() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    for latency in (0.05, 0.07, 3.0, 1000.0):
        m.started(stream=False)
        m.finished(record(latency=latency))
    name = "llmrelay_request_duration_seconds"
    assert value(reg, f"{name}_bucket", le="0.05") == 1  # a bound is inclusive
    assert value(reg, f"{name}_bucket", le="0.1") == 2
    assert value(reg, f"{name}_bucket", le="4.0") == 3
    assert value(reg, f"{name}_bucket", le="300.0") == 3
    assert value(reg, f"{name}_bucket", le="+Inf") == 4
    assert value(reg, f"{name}_count") == 4
    assert value(reg, f"{name}_sum") == 0.05 + 0.07 + 3.0 + 1000.0


def test_two_metrics_on_one_registry_are_refused() -> None:
    import pytest

    reg = CollectorRegistry()
    Metrics(reg, BOUNDS)
    with pytest.raises(ValueError, match="Duplicated"):
        Metrics(reg, BOUNDS)


def test_every_family_of_the_issue_is_scraped() -> None:
    from llmrelay.observe.metrics import FAMILIES

    reg = CollectorRegistry()
    Metrics(reg, BOUNDS)
    scraped = {f.name for f in text_string_to_metric_families(render(reg)[0].decode())}
    assert {f.name for f in FAMILIES} <= scraped
    wanted = {
        "llmrelay_requests", "llmrelay_errors", "llmrelay_request_duration_seconds",
        "llmrelay_time_to_first_token_seconds", "llmrelay_tokens", "llmrelay_cost_usd", "llmrelay_cache",
        "llmrelay_retries", "llmrelay_fallbacks", "llmrelay_circuit_state", "llmrelay_in_flight",
        "llmrelay_rate_limit_wait_seconds", "llmrelay_refusals", "llmrelay_budget_spent_usd",
        "llmrelay_budget_limit_usd", "llmrelay_guard_decisions",
    }  # fmt: skip
    assert wanted <= scraped
