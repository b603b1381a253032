"""What the resilience layers of one call share: a typed extension on the call.

The deadline lives on the call itself (``Call.deadline``, made absolute here once);
whether the retry budget has counted the call, how many upstream requests went out,
and whether a hedge won belong to the route, retry and hedge layers only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CallState:
    #: monotonic time by which the call must end; None for no deadline
    deadline_at: float | None = None
    #: the deadline has passed: no more attempts, no fallbacks
    deadline_passed: bool = False
    #: the retry budget has counted this call (once, across fallback aliases)
    counted: bool = False
    #: upstream attempts sent so far, across fallback aliases
    upstream: int = 0
    #: a hedged request answered first: the attempt the retry layer leased lost the race
    hedge_won: bool = False
    #: how the leased attempt had failed before the hedge won, if it had
    primary_error: BaseException | None = None


@dataclass(slots=True)
class TooSmall:
    """Deployments preflight found too small for the prompt: routing skips them."""

    names: tuple[str, ...] = ()
