"""The statistics of the report: percentiles and the (paired) bootstrap intervals."""

from __future__ import annotations

import random

import pytest

from llmrelay.app.evals.stats import bootstrap_mean, mean, paired_difference, percentile
from llmrelay.errors import ConfigError


def test_percentile_interpolates_between_order_statistics() -> None:
    assert percentile([3, 1, 2, 4], 0.5) == 2.5
    assert percentile([5], 0.95) == 5
    assert percentile([0, 10], 0.95) == pytest.approx(9.5)


def test_the_bootstrap_interval_holds_the_mean_and_is_reproducible() -> None:
    rng = random.Random(1)
    values = [1.0 if rng.random() < 0.7 else 0.0 for _ in range(200)]
    a = bootstrap_mean(values, seed=3)
    assert a == bootstrap_mean(values, seed=3)
    assert a.low < a.estimate == mean(values) < a.high
    # for a proportion near 0.7 over 200 items the 95% interval is about ±0.065
    assert 0.09 < a.high - a.low < 0.16
    half = bootstrap_mean(values, confidence=0.5, seed=3)
    assert half.high - half.low < a.high - a.low


def test_the_interval_covers_the_true_mean_about_as_often_as_it_says() -> None:
    rng = random.Random(7)
    covered = 0
    for trial in range(100):
        values = [1.0 if rng.random() < 0.3 else 0.0 for _ in range(80)]
        covered += not bootstrap_mean(values, resamples=200, seed=trial).excludes(0.3)
    assert 0.85 <= covered / 100 <= 1.0


def test_pairing_removes_what_the_items_share() -> None:
    rng = random.Random(2)
    hardness = [rng.random() for _ in range(100)]
    a = hardness
    b = [h + 0.05 for h in hardness]  # b is better by exactly 0.05 on every item
    paired = paired_difference(a, b)
    assert paired.estimate == pytest.approx(0.05) and paired.low == pytest.approx(0.05)
    unpaired_width = bootstrap_mean(b).high - bootstrap_mean(b).low
    assert paired.high - paired.low < unpaired_width / 100
    same = paired_difference(a, a)
    assert (same.low, same.estimate, same.high) == (0.0, 0.0, 0.0) and not same.excludes(0.0)


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="equal length"):
        paired_difference([1.0], [1.0, 2.0])
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_mean([1.0, 2.0], confidence=95)
    with pytest.raises(ConfigError, match="resamples"):
        bootstrap_mean([1.0, 2.0], resamples=10)


def test_one_value_has_no_spread() -> None:
    one = bootstrap_mean([0.4])
    assert (one.low, one.estimate, one.high) == (0.4, 0.4, 0.4)
