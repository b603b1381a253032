from __future__ import annotations

import random

import pytest

from llmrelay import errors
from llmrelay.resilience.backoff import RetryPolicy, Verdict


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (errors.InvalidRequestError("bad", status=400), Verdict.STOP),
        (errors.ContextWindowExceededError("long", status=400), Verdict.STOP),
        (errors.ContentFilterError("no", status=400), Verdict.STOP),
        (errors.NotFoundError("gone", status=404), Verdict.STOP),
        (errors.AuthenticationError("key", status=401), Verdict.ELSEWHERE),
        (errors.PermissionDeniedError("key", status=403), Verdict.ELSEWHERE),
        (errors.QuotaExceededError("credit", status=429), Verdict.ELSEWHERE),
        (errors.CircuitOpenError("open"), Verdict.ELSEWHERE),
        (errors.RateLimitError("slow down", status=429), Verdict.RETRY),
        (errors.RequestTimeoutError("408", status=408), Verdict.RETRY),
        (errors.ConflictError("409", status=409), Verdict.RETRY),
        (errors.ServiceUnavailableError("500", status=500), Verdict.RETRY),
        (errors.OverloadedError("529", status=529), Verdict.RETRY),
        (errors.TimeoutError("read"), Verdict.RETRY),
        (errors.ConnectionError("reset"), Verdict.RETRY),
        (errors.MalformedResponseError("json"), Verdict.RETRY),
        (errors.StreamTruncatedError("cut"), Verdict.RETRY),
        (errors.BudgetExceededError("spent"), Verdict.STOP),
        (ValueError("not ours"), Verdict.STOP),
    ],
)
def test_verdicts(error: BaseException, verdict: Verdict) -> None:
    assert RetryPolicy().verdict(error) is verdict


def test_full_jitter_stays_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.ceiling(n) for n in range(7)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    rng = random.Random(1)
    for n in range(1, 6):
        draws = [policy.backoff(n, rng) for _ in range(400)]
        assert all(0 <= d <= policy.ceiling(n) for d in draws)
        # full jitter: the whole range is used, not just the top
        assert min(draws) < 0.1 * policy.ceiling(n) and max(draws) > 0.9 * policy.ceiling(n)
    assert policy.ceiling(10_000) == 4.0  # no overflow


def test_retry_after_cap() -> None:
    policy = RetryPolicy(max_retry_after=30)
    assert policy.honours(30) and not policy.honours(30.5)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay": 0}, {"base_delay": 2, "max_delay": 1}, {"max_retry_after": -1}],
)
def test_bad_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(errors.ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
