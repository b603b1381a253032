"""The retry budget: retries as a share of recent calls, so an outage cannot multiply traffic.

Each logical call deposits; each extra upstream request (a retry, a hedge, the first
attempt on a fallback alias) withdraws. Over the last ``window`` seconds, extra
requests stay below ``ratio * calls + min_retries``. With every upstream request
failing, traffic is therefore at most ``1 + ratio`` times the call rate, plus the
small ``min_retries`` allowance that lets a quiet client retry at all.

Per process: a budget protects the provider from this client, and summing across
replicas would make one busy replica starve the others' retries.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from llmrelay.errors import ConfigError


class RetryBudget:
    """Sliding-window counts of calls and retries, in ``buckets`` slices of the window."""

    def __init__(
        self,
        ratio: float = 0.5,
        min_retries: int = 10,
        window: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        buckets: int = 10,
    ) -> None:
        if ratio < 0 or min_retries < 0 or window <= 0 or buckets < 1:
            raise ConfigError(
                "retry budget needs ratio >= 0, min_retries >= 0, window > 0 and buckets >= 1; got "
                f"ratio={ratio}, min_retries={min_retries}, window={window}, buckets={buckets}"
            )
        self.ratio = ratio
        self.min_retries = min_retries
        self.window = window
        self._buckets = buckets
        self._width = window / buckets
        self._clock = clock
        # [bucket number, calls, retries], oldest first
        self._slices: deque[list[int]] = deque()
        self.calls_total = 0
        self.retries_total = 0
        self.denied_total = 0

    def _current(self) -> list[int]:
        bucket = int(self._clock() // self._width)
        horizon = bucket - self._buckets + 1
        while self._slices and self._slices[0][0] < horizon:
            self._slices.popleft()
        if not self._slices or self._slices[-1][0] != bucket:
            self._slices.append([bucket, 0, 0])
        return self._slices[-1]

    def record_call(self) -> None:
        self._current()[1] += 1
        self.calls_total += 1

    def allowance(self) -> float:
        """Extra requests still allowed in the current window."""
        self._current()
        calls = sum(s[1] for s in self._slices)
        retries = sum(s[2] for s in self._slices)
        return self.ratio * calls + self.min_retries - retries

    def try_spend(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        if self.allowance() < 1:
            self.denied_total += 1
            return False
        self._current()[2] += 1
        self.retries_total += 1
        return True

    def refund(self) -> None:
        """Give back a retry that was never sent (no deployment could take it after all)."""
        current = self._current()
        if current[2] > 0:
            current[2] -= 1
            self.retries_total -= 1

    def __repr__(self) -> str:
        return f"RetryBudget(ratio={self.ratio}, min_retries={self.min_retries}, window={self.window})"
