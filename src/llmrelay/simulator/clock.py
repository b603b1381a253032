"""The simulator's clock: monotonic seconds that a test can move forward.

Prompt-cache entries expire against it and the ``rpm_limit`` window slides on it, so a
test checks a 5-minute TTL by calling ``sim.clock.advance(301)`` (or lets a rate window
pass with ``sim.clock.advance(window)``) instead of waiting.
"""

from __future__ import annotations

import time


class SimClock:
    """``time.monotonic()`` plus whatever ``advance`` added."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (never back: time only passes)."""
        if seconds < 0:
            raise ValueError(f"SimClock.advance takes seconds >= 0, got {seconds}")
        self._offset += seconds
