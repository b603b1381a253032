"""Breaker rules, run against the in-memory store here and against Redis in test_breaker_redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from llmrelay import errors
from llmrelay.resilience.breaker import BreakerConfig, BreakerStore, MemoryBreakers, outcome_of


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


Make = Callable[[BreakerConfig, Clock], BreakerStore]
CFG = BreakerConfig(failure_rate=0.5, min_volume=4, window=10, cooldown=5, probe_timeout=3)


async def fails(store: BreakerStore, name: str, n: int) -> list[object]:
    return [await store.record(name, "failure", False) for _ in range(n)]


async def opens_at_the_failure_rate_with_minimum_volume(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    assert (await store.acquire("a")).allowed
    assert await store.record("a", "success", False) is None
    assert await store.record("a", "success", False) is None
    assert await store.record("a", "failure", False) is None  # 1/3: below volume and rate
    t = await store.record("a", "failure", False)  # 2/4 = 50% at volume 4
    assert t is not None and (t.old, t.new, t.failures, t.total) == ("closed", "open", 2, 4)
    permit = await store.acquire("a")
    assert not permit.allowed and permit.retry_in == pytest.approx(5)
    views = await store.views(["a", "b"])
    assert views["a"].state == "open" and not views["a"].available
    assert views["b"].state == "closed" and views["b"].available


async def ignored_results_do_not_count(make: Make) -> None:
    store = make(CFG, Clock())
    for _ in range(10):
        assert await store.record("a", "ignore", False) is None
    assert await fails(store, "a", 3) == [None, None, None]  # 3 results: under min_volume
    assert (await store.acquire("a")).allowed


async def old_results_leave_the_window(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    await fails(store, "a", 3)
    clock.now += 11  # the window is 10 s
    await store.record("a", "success", False)
    assert await store.record("a", "failure", False) is None  # 1 of 2 in the window
    assert (await store.acquire("a")).allowed


async def one_probe_after_cooldown_then_closes(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    await fails(store, "a", 4)
    clock.now += 5
    probe = await store.acquire("a")
    assert probe.allowed and probe.probe
    assert probe.transition is not None and (probe.transition.old, probe.transition.new) == (
        "open",
        "half_open",
    )
    other = await store.acquire("a")  # a second caller while the probe runs
    assert not other.allowed and other.retry_in == pytest.approx(3)
    assert not (await store.views(["a"]))["a"].available
    t = await store.record("a", "success", True)
    assert t is not None and (t.old, t.new) == ("half_open", "closed")
    assert (await store.acquire("a")) == (await store.acquire("b"))  # plain closed permits
    # a fresh window: three failures do not reopen it
    assert await fails(store, "a", 3) == [None, None, None]


async def failed_probe_reopens(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    await fails(store, "a", 4)
    clock.now += 6
    assert (await store.acquire("a")).probe
    t = await store.record("a", "failure", True)
    assert t is not None and (t.old, t.new) == ("half_open", "open")
    permit = await store.acquire("a")
    assert not permit.allowed and permit.retry_in == pytest.approx(5)


async def an_inconclusive_probe_lets_the_next_caller_probe(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    await fails(store, "a", 4)
    clock.now += 5
    assert (await store.acquire("a")).probe
    assert await store.record("a", "ignore", True) is None  # e.g. a 429 or a cancelled call
    again = await store.acquire("a")
    assert again.allowed and again.probe and again.transition is None


async def a_lost_probe_expires(make: Make) -> None:
    clock = Clock()
    store = make(CFG, clock)
    await fails(store, "a", 4)
    clock.now += 5
    assert (await store.acquire("a")).probe  # and never reports back
    clock.now += 3.5
    assert (await store.acquire("a")).probe


async def reset_closes(make: Make) -> None:
    store = make(CFG, Clock())
    await fails(store, "a", 4)
    await store.reset("a")
    assert (await store.acquire("a")).allowed


SCENARIOS = [
    opens_at_the_failure_rate_with_minimum_volume,
    ignored_results_do_not_count,
    old_results_leave_the_window,
    one_probe_after_cooldown_then_closes,
    failed_probe_reopens,
    an_inconclusive_probe_lets_the_next_caller_probe,
    a_lost_probe_expires,
    reset_closes,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
async def test_memory_breakers(scenario: Callable[[Make], Awaitable[None]]) -> None:
    await scenario(lambda cfg, clock: MemoryBreakers(cfg, clock=clock))


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "success"),
        (errors.ServiceUnavailableError("x", status=503), "failure"),
        (errors.OverloadedError("x", status=529), "failure"),
        (errors.TimeoutError("x"), "failure"),
        (errors.ConnectionError("x"), "failure"),
        (errors.MalformedResponseError("x"), "failure"),
        (errors.StreamTruncatedError("x"), "failure"),
        (errors.RequestTimeoutError("x", status=408), "failure"),
        (errors.RateLimitError("x", status=429), "ignore"),
        (errors.InvalidRequestError("x", status=400), "ignore"),
        (errors.AuthenticationError("x", status=401), "ignore"),
        (errors.CircuitOpenError("x"), "ignore"),
    ],
)
def test_what_counts_against_a_deployment(error: BaseException | None, outcome: str) -> None:
    assert outcome_of(error) == outcome


def test_bad_config() -> None:
    with pytest.raises(errors.ConfigError):
        BreakerConfig(failure_rate=0)
    with pytest.raises(errors.ConfigError):
        BreakerConfig(cooldown=0)
