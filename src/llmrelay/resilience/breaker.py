"""Circuit breakers, one per deployment: closed → open → half-open → closed.

*Closed*: traffic flows; results are counted in a sliding window of ``window`` seconds
(``buckets`` slices). When at least ``min_volume`` results are in the window and the
share of failures reaches ``failure_rate``, the breaker *opens*: nothing is sent for
``cooldown`` seconds. Then the first caller gets the single *probe* (the state is
*half-open*); other callers keep away until the probe ends — success closes the
breaker with a fresh window, failure opens it for another cooldown. A probe that
never reports (a crashed process) is given up after ``probe_timeout`` seconds.

Only failures that say something about the deployment's health count: 5xx and 529,
timeouts, connection failures, malformed or cut answers. A 429 (handled by routing
cool-downs), a bad request or a bad key is neither success nor failure.

``MemoryBreakers`` keeps the state in this process; ``breaker_redis.RedisBreakers``
keeps it in Redis so that replicas share it. Both follow the same rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

from llmrelay import errors

CircuitState: TypeAlias = Literal["closed", "open", "half_open"]
Outcome: TypeAlias = Literal["success", "failure", "ignore"]


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_rate: float = 0.5
    min_volume: int = 20
    window: float = 30.0
    cooldown: float = 30.0
    probe_timeout: float = 60.0
    buckets: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.failure_rate <= 1:
            raise errors.ConfigError(f"failure_rate must be within (0, 1], got {self.failure_rate}")
        if self.min_volume < 1 or self.buckets < 1:
            raise errors.ConfigError(
                f"min_volume and buckets must be >= 1, got {self.min_volume} and {self.buckets}"
            )
        for name in ("window", "cooldown", "probe_timeout"):
            if getattr(self, name) <= 0:
                raise errors.ConfigError(f"breaker {name} must be > 0 seconds, got {getattr(self, name)}")

    @property
    def bucket_width(self) -> float:
        return self.window / self.buckets


@dataclass(frozen=True, slots=True)
class Transition:
    deployment: str
    old: CircuitState
    new: CircuitState
    failures: int = 0
    total: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"deployment": self.deployment, "from": self.old, "to": self.new}


@dataclass(frozen=True, slots=True)
class Permit:
    """The answer to "may I send to this deployment now?"."""

    allowed: bool
    probe: bool = False
    retry_in: float = 0.0
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class BreakerView:
    """A deployment's breaker as routing sees it: ``available`` unless open or probing."""

    state: CircuitState
    retry_in: float = 0.0

    @property
    def available(self) -> bool:
        return self.retry_in <= 0


CLOSED = BreakerView("closed")


def outcome_of(error: BaseException | None) -> Outcome:
    """How an attempt's result counts for its deployment's breaker."""
    if error is None:
        return "success"
    if isinstance(error, errors.RateLimitError | errors.CircuitOpenError):
        return "ignore"
    if isinstance(
        error,
        errors.ServiceUnavailableError  # 5xx, 529
        | errors.TransportError  # timeouts, connection failures
        | errors.MalformedResponseError
        | errors.StreamTruncatedError
        | errors.RequestTimeoutError,
    ):
        return "failure"
    return "ignore"


class BreakerStore(Protocol):
    config: BreakerConfig

    async def acquire(self, name: str) -> Permit: ...

    async def record(self, name: str, outcome: Outcome, probe: bool) -> Transition | None: ...

    async def views(self, names: Iterable[str]) -> dict[str, BreakerView]: ...

    async def reset(self, name: str) -> None: ...


@dataclass(slots=True)
class _Breaker:
    state: CircuitState = "closed"
    opened_at: float = 0.0
    probe_until: float = 0.0
    # bucket number -> [successes, failures]
    buckets: dict[int, list[int]] = field(default_factory=dict)


class MemoryBreakers:
    """Breakers in this process's memory (the default)."""

    def __init__(self, config: BreakerConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.config = config if config is not None else BreakerConfig()
        self._clock = clock
        self._breakers: dict[str, _Breaker] = {}

    def _get(self, name: str) -> _Breaker:
        b = self._breakers.get(name)
        if b is None:
            b = self._breakers[name] = _Breaker()
        return b

    async def acquire(self, name: str) -> Permit:
        b, now, cfg = self._get(name), self._clock(), self.config
        if b.state == "closed":
            return Permit(True)
        if b.state == "open":
            ready = b.opened_at + cfg.cooldown
            if now < ready:
                return Permit(False, retry_in=ready - now)
            b.state, b.probe_until = "half_open", now + cfg.probe_timeout
            return Permit(True, probe=True, transition=Transition(name, "open", "half_open"))
        if now < b.probe_until:
            return Permit(False, retry_in=b.probe_until - now)
        b.probe_until = now + cfg.probe_timeout
        return Permit(True, probe=True)

    async def record(self, name: str, outcome: Outcome, probe: bool) -> Transition | None:
        b, now, cfg = self._get(name), self._clock(), self.config
        if probe:
            if b.state != "half_open":
                return None  # the probe's lease ran out and another decided meanwhile
            if outcome == "success":
                b.state, b.probe_until, b.buckets = "closed", 0.0, {}
                return Transition(name, "half_open", "closed")
            if outcome == "failure":
                b.state, b.opened_at, b.probe_until = "open", now, 0.0
                return Transition(name, "half_open", "open")
            b.probe_until = 0.0  # neither: let the next caller probe
            return None
        if b.state != "closed" or outcome == "ignore":
            return None  # results of requests sent before the breaker opened
        bucket = int(now // cfg.bucket_width)
        counts = b.buckets.get(bucket)
        if counts is None:
            counts = b.buckets[bucket] = [0, 0]
            for old in [k for k in b.buckets if k <= bucket - cfg.buckets]:
                del b.buckets[old]
        if outcome == "success":
            counts[0] += 1
            return None  # a success only lowers the failure rate: it never opens the breaker
        counts[1] += 1
        failures = sum(c[1] for c in b.buckets.values())
        total = failures + sum(c[0] for c in b.buckets.values())
        if total >= cfg.min_volume and failures >= cfg.failure_rate * total:
            b.state, b.opened_at, b.buckets = "open", now, {}
            return Transition(name, "closed", "open", failures, total)
        return None

    async def views(self, names: Iterable[str]) -> dict[str, BreakerView]:
        now, cfg = self._clock(), self.config
        out: dict[str, BreakerView] = {}
        for name in names:
            b = self._breakers.get(name)
            if b is None or b.state == "closed":
                out[name] = CLOSED
            elif b.state == "open":
                out[name] = BreakerView("open", max(0.0, b.opened_at + cfg.cooldown - now))
            else:
                out[name] = BreakerView("half_open", max(0.0, b.probe_until - now))
        return out

    async def reset(self, name: str) -> None:
        self._breakers.pop(name, None)
