"""What the resilience middleware of one call share beyond ``call.meta``.

``call.meta`` is public (it becomes ``response.meta``); the deadline, whether the call
was counted by the retry budget, and whether a hedge won belong to the layers only.
They ride in ``call.meta`` under a private key that the outermost resilience layer
removes when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmrelay.pipeline import Call

_KEY = "_resilience"


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


def call_state(call: Call) -> tuple[CallState, bool]:
    """This call's state, and whether this request for it created it (the creator ends it)."""
    state = call.meta.get(_KEY)
    if isinstance(state, CallState):
        return state, False
    state = call.meta[_KEY] = CallState()
    return state, True


def end(call: Call) -> None:
    call.meta.pop(_KEY, None)
