from __future__ import annotations

import random
from collections import Counter

import pytest

from llmrelay.resilience.strategies import (
    ASSUMED_OUTPUT_TOKENS,
    Candidate,
    estimate_cost,
    least_in_flight,
    lowest_cost,
    lowest_latency,
    pick,
    weighted_random,
)
from llmrelay.types import ChatRequest, Message


def test_weighted_random_follows_weights() -> None:
    rng = random.Random(3)
    cands = [Candidate("a", weight=3), Candidate("b", weight=1)]
    counts = Counter(weighted_random(cands, rng).name for _ in range(4000))
    assert 0.72 < counts["a"] / 4000 < 0.78


def test_least_in_flight_relative_to_weight() -> None:
    rng = random.Random(0)
    cands = [Candidate("a", weight=1, in_flight=2), Candidate("b", weight=4, in_flight=4)]
    assert least_in_flight(cands, rng).name == "b"  # 4/4 < 2/1
    tie = [Candidate("a", in_flight=1), Candidate("b", in_flight=1), Candidate("c", in_flight=3)]
    assert {least_in_flight(tie, rng).name for _ in range(50)} == {"a", "b"}


def test_lowest_latency_measures_unknowns_first_and_explores() -> None:
    rng = random.Random(0)
    cands = [Candidate("fast", speed=0.1), Candidate("slow", speed=2.0), Candidate("new")]
    assert lowest_latency(cands, rng).name == "new"
    known = cands[:2]
    assert {lowest_latency(known, rng, explore=0).name for _ in range(100)} == {"fast"}
    picks = Counter(lowest_latency(known, rng, explore=0.2).name for _ in range(2000))
    assert 0.06 < picks["slow"] / 2000 < 0.14  # half of the 20% exploration lands on it


def test_lowest_cost_prefers_priced_and_cheapest() -> None:
    rng = random.Random(0)
    cands = [Candidate("dear", cost=2.0), Candidate("cheap", cost=0.5), Candidate("unknown")]
    assert {lowest_cost(cands, rng).name for _ in range(20)} == {"cheap"}
    assert lowest_cost([Candidate("x"), Candidate("y")], rng).name in ("x", "y")


def test_estimate_cost_ranks_by_the_request() -> None:
    long_prompt = ChatRequest(model="m", messages=(Message.user("x" * 40_000),), max_tokens=10)
    # cheap input, dear output vs the reverse: a long prompt with short output favours cheap input
    cheap_in, cheap_out = (0.1, 10.0), (10.0, 0.1)
    assert estimate_cost(long_prompt, cheap_in) < estimate_cost(long_prompt, cheap_out)  # type: ignore[operator]
    short = ChatRequest(model="m", messages=(Message.user("hi"),))
    assert estimate_cost(short, (0.0, 1.0)) == pytest.approx(ASSUMED_OUTPUT_TOKENS / 1e6)
    assert estimate_cost(short, None) is None


def test_pick_by_name() -> None:
    rng = random.Random(0)
    assert pick("lowest_cost", [Candidate("a", cost=1), Candidate("b", cost=0.1)], rng).name == "b"
    assert (
        pick("lowest_latency", [Candidate("a", speed=1), Candidate("b", speed=0.1)], rng, explore=0).name
        == "b"
    )
    with pytest.raises(ValueError):
        pick("weighted_random", [], rng)
