"""Scripted faults: what the simulator does wrong, and when.

A ``FaultPlan`` is asked once per request (``Simulator.begin``) for the fault to inject,
if any. Protocol modules render each ``Fault`` in their own wire shape:

* ``status``: an error answer with ``status`` (429 carries ``retry_after``);
* ``hang``: no answer for far longer than any client timeout;
* ``reset``: the connection drops before a complete answer;
* ``malformed``: a 200 answer whose body (or stream chunk) is not valid JSON;
* ``cut_stream``: a stream that ends after ``after_pieces`` pieces with no end marker
  (for a unary request: the body is cut short, like a dropped connection);
* ``stream_error``: an error event in the stream after ``after_pieces`` pieces
  (for a unary request: a ``status`` error).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from llmrelay.errors import ConfigError

FaultKind: TypeAlias = Literal["status", "hang", "reset", "malformed", "cut_stream", "stream_error"]
FAULT_KINDS: frozenset[str] = frozenset(
    ("status", "hang", "reset", "malformed", "cut_stream", "stream_error")
)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    after_pieces: int = 0
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(
                f"unknown fault kind {self.kind!r}; use one of {', '.join(sorted(FAULT_KINDS))}"
            )
        if not 400 <= self.status <= 599:
            raise ConfigError(f"fault status must be an HTTP error code (400-599), got {self.status}")
        if self.after_pieces < 0:
            raise ConfigError(f"fault after_pieces must be >= 0, got {self.after_pieces}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ConfigError(f"fault retry_after must be >= 0 seconds, got {self.retry_after}")

    @property
    def label(self) -> str:
        """A short name for counters: ``status:429``, ``hang``, ``cut_stream@3``."""
        if self.kind == "status":
            return f"status:{self.status}"
        if self.kind in ("cut_stream", "stream_error") or (self.kind == "malformed" and self.after_pieces):
            return f"{self.kind}@{self.after_pieces}"
        return self.kind

    # Shorthands for the common cases, so test scripts read like the failure they describe.
    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0, message: str | None = None) -> Fault:
        return cls("status", status=429, retry_after=retry_after, message=message)

    @classmethod
    def error(cls, status: int = 500, message: str | None = None) -> Fault:
        return cls("status", status=status, message=message)

    @classmethod
    def overloaded(cls) -> Fault:
        return cls("status", status=529)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The request a fault plan is asked about; ``index`` counts requests served from 0."""

    protocol: str
    model: str
    stream: bool
    index: int


class FaultPlan(Protocol):
    def next_fault(self, info: RequestInfo) -> Fault | None: ...


class NoFaults:
    """Every request succeeds."""

    def next_fault(self, info: RequestInfo) -> Fault | None:
        return None

    def __repr__(self) -> str:
        return "NoFaults()"


class FaultSequence:
    """Faults in order, one per request (``None`` = succeed); afterwards none, or again from the start.

    ``FaultSequence([Fault.rate_limited(), None])`` fails the first request with a 429 and
    lets every later one through.
    """

    def __init__(self, faults: Iterable[Fault | None], *, cycle: bool = False) -> None:
        self._faults: tuple[Fault | None, ...] = tuple(faults)
        for f in self._faults:
            if f is not None and not isinstance(f, Fault):
                raise ConfigError(f"FaultSequence takes Fault or None items, got {type(f).__name__}")
        self._cycle = cycle
        self._position = 0

    @property
    def remaining(self) -> int | None:
        """Faults still scripted (None when cycling forever)."""
        return None if self._cycle and self._faults else max(0, len(self._faults) - self._position)

    def next_fault(self, info: RequestInfo) -> Fault | None:
        if not self._faults:
            return None
        if self._position >= len(self._faults):
            if not self._cycle:
                return None
            self._position = 0
        fault = self._faults[self._position]
        self._position += 1
        return fault

    def __repr__(self) -> str:
        return f"FaultSequence({len(self._faults)} items, cycle={self._cycle})"


class FaultProbabilities:
    """Each request gets at most one fault, drawn with the given probabilities.

    The draw for request ``index`` depends only on ``seed`` and the index, so a run is
    reproducible whatever the interleaving of concurrent requests.
    """

    def __init__(self, weights: Mapping[Fault, float] | Sequence[tuple[Fault, float]], seed: int = 0) -> None:
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        total = 0.0
        for fault, p in pairs:
            if not isinstance(fault, Fault):
                raise ConfigError(f"FaultProbabilities keys must be Fault, got {type(fault).__name__}")
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"fault probability must be within [0, 1], got {p}")
            total += p
        if total > 1.0 + 1e-9:
            raise ConfigError(f"fault probabilities add up to {total:.3f}; they must not exceed 1")
        self._pairs = tuple(pairs)
        self._seed = seed

    @classmethod
    def spread(cls, faults: Sequence[Fault], total: float, seed: int = 0) -> FaultProbabilities:
        """``total`` probability shared equally by ``faults``: ``spread([...], 0.3)`` is 30% mixed faults."""
        if not faults:
            raise ConfigError("FaultProbabilities.spread needs at least one fault")
        return cls([(f, total / len(faults)) for f in faults], seed=seed)

    def next_fault(self, info: RequestInfo) -> Fault | None:
        draw = random.Random(self._seed * 1_000_003 + info.index).random()
        for fault, p in self._pairs:
            if draw < p:
                return fault
            draw -= p
        return None

    def __repr__(self) -> str:
        return f"FaultProbabilities({len(self._pairs)} faults, seed={self._seed})"
