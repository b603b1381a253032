"""What this process has seen of one deployment: requests in flight and how fast it answers.

Routing reads it (least in-flight, lowest latency) and hedging asks it for a latency
percentile. Kept per process on purpose: latency is what *this* client experiences,
and in-flight counts change far too often to share.
"""

from __future__ import annotations

import math
from collections import deque

from llmrelay.errors import ConfigError
from llmrelay.resilience.lru import Bounded


class Health:
    """In-flight count, EWMA of latency (unary) and of time to first token (streams),
    and the most recent ``samples`` unary latencies for percentiles."""

    __slots__ = ("_alpha", "_recent", "in_flight", "latency", "ttft")

    def __init__(self, alpha: float = 0.3, samples: int = 200) -> None:
        if not 0 < alpha <= 1 or samples < 1:
            raise ConfigError(f"need 0 < alpha <= 1 and samples >= 1, got alpha={alpha}, samples={samples}")
        self._alpha = alpha
        self._recent: deque[float] = deque(maxlen=samples)
        self.in_flight = 0
        self.latency: float | None = None
        self.ttft: float | None = None

    def observe(self, *, latency: float | None = None, ttft: float | None = None) -> None:
        a = self._alpha
        if latency is not None:
            self.latency = latency if self.latency is None else a * latency + (1 - a) * self.latency
            self._recent.append(latency)
        if ttft is not None:
            self.ttft = ttft if self.ttft is None else a * ttft + (1 - a) * self.ttft

    def speed(self, stream: bool) -> float | None:
        """The figure that matters for this kind of call: TTFT for streams, else latency."""
        first, other = (self.ttft, self.latency) if stream else (self.latency, self.ttft)
        return first if first is not None else other

    @property
    def samples(self) -> int:
        return len(self._recent)

    def percentile(self, q: float) -> float | None:
        """The nearest-rank ``q`` quantile (0 < q < 1) of recent latencies; None without samples."""
        if not self._recent:
            return None
        ordered = sorted(self._recent)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1]

    def __repr__(self) -> str:
        return f"Health(in_flight={self.in_flight}, latency={self.latency}, ttft={self.ttft})"


class HealthBoard:
    """The ``Health`` of each deployment this process has used, bounded (least recently
    used first out)."""

    __slots__ = ("_alpha", "_by_name")

    def __init__(self, alpha: float = 0.3, limit: int = 1024) -> None:
        self._alpha = alpha
        self._by_name: Bounded[str, Health] = Bounded(limit)

    def __call__(self, name: str) -> Health:
        return self._by_name.get_or_make(name, lambda: Health(self._alpha))

    def __len__(self) -> int:
        return len(self._by_name)
