"""The retry policy: which failures are worth another attempt, and how long to wait first.

Pure: no clock, no I/O. The retry middleware asks ``verdict`` about each failure and
``backoff`` for the wait before the next attempt.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from llmrelay import errors


class Verdict(enum.Enum):
    #: the request itself is wrong (or a refusal of ours): another attempt cannot help
    STOP = "stop"
    #: the key or deployment is wrong: try another one straight away, never the same key again
    ELSEWHERE = "elsewhere"
    #: a transient failure: try again after a backoff (here or elsewhere)
    RETRY = "retry"


# Checked in order: subclasses before their bases (ContextWindowExceeded is an
# InvalidRequest, QuotaExceeded a RateLimit).
_NEVER: tuple[type[BaseException], ...] = (
    errors.InvalidRequestError,  # 400/413/422, context window exceeded included
    errors.ContentFilterError,
    errors.NotFoundError,
    errors.ConfigError,
    errors.BudgetExceededError,
    errors.OutputParseError,
    errors.AllDeploymentsFailedError,
)
_ELSEWHERE: tuple[type[BaseException], ...] = (
    errors.AuthenticationError,
    errors.PermissionDeniedError,
    errors.QuotaExceededError,
    errors.CircuitOpenError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts, backoff and how much of a Retry-After to honour.

    ``max_attempts`` counts upstream attempts, the first included. ``backoff`` is
    exponential with full jitter: uniform in ``[0, min(max_delay, base_delay * 2**(n-1))]``
    for the n-th retry, which spreads the retries of many callers instead of
    synchronising them. A provider's Retry-After is honoured as given when it is at
    most ``max_retry_after``; a longer one is not waited for.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise errors.ConfigError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay <= 0 or self.max_delay < self.base_delay:
            raise errors.ConfigError(
                f"need 0 < base_delay <= max_delay, got base_delay={self.base_delay}, "
                f"max_delay={self.max_delay}"
            )
        if self.max_retry_after < 0:
            raise errors.ConfigError(f"max_retry_after must be >= 0, got {self.max_retry_after}")

    def verdict(self, error: BaseException) -> Verdict:
        if isinstance(error, _NEVER):
            return Verdict.STOP
        if isinstance(error, _ELSEWHERE):
            return Verdict.ELSEWHERE
        if isinstance(error, errors.LLMRelayError) and error.retryable:
            return Verdict.RETRY
        return Verdict.STOP

    def ceiling(self, retry: int) -> float:
        """The largest backoff before retry number ``retry`` (1 for the first retry)."""
        if retry < 1:
            return 0.0
        # min() before the power would overflow for absurd retry counts
        return min(self.max_delay, self.base_delay * 2.0 ** min(retry - 1, 62))

    def backoff(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0.0, self.ceiling(retry))

    def honours(self, retry_after: float) -> bool:
        return retry_after <= self.max_retry_after
