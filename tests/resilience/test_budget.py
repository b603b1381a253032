from __future__ import annotations

import pytest

from llmrelay.errors import ConfigError
from llmrelay.resilience.budget import RetryBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retries_are_a_share_of_recent_calls() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_retries=2, window=10, clock=clock)
    for _ in range(50):
        budget.record_call()
    # 0.2 * 50 + 2 = 12 retries, then no more
    assert sum(budget.try_spend() for _ in range(20)) == 12
    assert budget.denied_total == 8
    assert (budget.calls_total, budget.retries_total) == (50, 12)


def test_min_retries_let_a_quiet_client_retry() -> None:
    budget = RetryBudget(ratio=0.1, min_retries=3, window=10, clock=Clock())
    budget.record_call()
    assert [budget.try_spend() for _ in range(5)] == [True, True, True, False, False]


def test_the_window_slides() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.5, min_retries=0, window=10, clock=clock)
    for _ in range(10):
        budget.record_call()
    assert sum(budget.try_spend() for _ in range(10)) == 5
    clock.now += 5  # calls and retries are still in the window
    assert not budget.try_spend()
    clock.now += 6  # both have left it
    assert not budget.try_spend()  # no recent calls, no allowance
    budget.record_call()
    budget.record_call()
    assert budget.try_spend() and not budget.try_spend()


def test_refund_gives_a_retry_back() -> None:
    budget = RetryBudget(ratio=0, min_retries=1, window=10, clock=Clock())
    assert budget.try_spend() and not budget.try_spend()
    budget.refund()
    assert budget.try_spend()
    assert budget.retries_total == 1


def test_bad_budget() -> None:
    with pytest.raises(ConfigError):
        RetryBudget(ratio=-1)
    with pytest.raises(ConfigError):
        RetryBudget(window=0)
