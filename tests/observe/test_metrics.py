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
