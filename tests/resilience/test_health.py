from __future__ import annotations

import pytest

from llmrelay.errors import ConfigError
from llmrelay.resilience.health import Health


def test_ewma_and_speed() -> None:
    h = Health(alpha=0.5)
    assert h.speed(stream=False) is None
    h.observe(latency=1.0)
    h.observe(latency=3.0)
    assert h.latency == 2.0
    assert h.speed(stream=True) == 2.0  # no TTFT yet: latency stands in
    h.observe(ttft=0.2)
    h.observe(ttft=0.4)
    assert h.ttft == pytest.approx(0.3)
    assert h.speed(stream=True) == pytest.approx(0.3) and h.speed(stream=False) == 2.0


def test_percentile_is_nearest_rank_over_recent_samples() -> None:
    h = Health(samples=100)
    assert h.percentile(0.95) is None
    for i in range(1, 201):  # only the last 100 (101..200) are kept
        h.observe(latency=float(i))
    assert h.samples == 100
    assert h.percentile(0.95) == 195.0
    assert h.percentile(0.5) == 150.0


def test_bad_alpha() -> None:
    with pytest.raises(ConfigError):
        Health(alpha=0)
