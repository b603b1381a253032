"""Rate limits: requests and tokens per window, and calls in flight, for any key.

A ``Limiter`` is usable on its own (batch runner, gateway) as well as behind the
``ratelimit`` middleware::

    limiter = Limiter(limits=Limits(rpm=500, tpm=30_000, concurrency=20))
    async with limiter.acquire("openai/gpt-4o", tokens=prompt + max_tokens) as permit:
        reply = await send()
        await permit.settle(tokens=reply.usage.total_tokens)

Accounting is a log of entries with leases, not a fixed-window counter: an admitted call
holds its share while in flight, and from the moment it *finishes* keeps counting for one
more window. Anything the provider saw arrived between admission and completion, so a
provider counting over any sliding window of the same length never sees more than the
limit, whatever the network delays (the price: throughput trails the limit by about
latency / window).

Waiting is FIFO per key within a process: callers queue behind earlier callers for any key
they share, and only the queue's head asks the backend. Across processes (Redis), heads
retry when the backend says capacity frees, so no process starves another.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import deque
from collections.abc import Awaitable, Generator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from llmrelay.errors import ConfigError, RateLimitError


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one key.

    ``rpm`` requests and ``tpm`` tokens per ``window`` seconds (60: per minute; tests and
    benchmarks scale the window down), ``concurrency`` calls in flight at once.
    """

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None
    window: float = 60.0

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "concurrency"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(
                    f"Limits.{name} must be a whole number >= 1 (or None for no limit), got {value!r}"
                )
        if isinstance(self.window, bool) or not isinstance(self.window, int | float) or not self.window > 0:
            raise ConfigError(f"Limits.window must be a number of seconds > 0, got {self.window!r}")

    @property
    def empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.concurrency is None


@dataclass(frozen=True, slots=True)
class Claim:
    """What one call asks of one key: a request, ``tokens`` reserved, a place in flight."""

    key: str
    limits: Limits
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class Slot:
    """One counter a call draws from: ``amount`` out of ``limit``.

    ``hold`` is how long the amount keeps counting once the call has finished (the window;
    0 for concurrency, which frees at once). ``kind`` names it in errors.
    """

    bucket: str
    limit: int
    amount: int
    hold: float
    kind: str


class LimiterBackend(Protocol):
    """Where the counters live; every method is atomic over all the slots it is given."""

    async def try_acquire(
        self, slots: Sequence[Slot], permit_id: str, lease: float
    ) -> tuple[int, float] | None:
        """Take every slot or none. None when taken; otherwise ``(index of a refusing slot,
        seconds before it can succeed)`` — a lower bound, 0 when unknown."""
        ...

    async def settle(self, slots: Sequence[Slot], permit_id: str, amounts: Sequence[int]) -> None:
        """The call is over: slot ``i`` now counts ``amounts[i]`` for its ``hold`` from now."""
        ...


def slots_for(claims: Sequence[Claim]) -> tuple[Slot, ...]:
    """The counters a set of claims draws from, refusing a claim that can never fit."""
    out: list[Slot] = []
    for c in claims:
        lim = c.limits
        if c.tokens < 0:
            raise ConfigError(f"tokens for rate limit key {c.key!r} must be >= 0, got {c.tokens}")
        if lim.rpm is not None:
            out.append(Slot(f"{c.key}:rpm", lim.rpm, 1, lim.window, "rpm"))
        if lim.tpm is not None:
            if c.tokens > lim.tpm:
                raise ConfigError(
                    f"this call needs {c.tokens} tokens (prompt + max_tokens) but {c.key!r} allows "
                    f"{lim.tpm} per {lim.window:g}s: lower max_tokens or raise the tpm limit"
                )
            out.append(Slot(f"{c.key}:tpm", lim.tpm, c.tokens, lim.window, "tpm"))
        if lim.concurrency is not None:
            out.append(Slot(f"{c.key}:concurrency", lim.concurrency, 1, 0.0, "concurrency"))
    return tuple(out)


def describe(slot: Slot) -> str:
    key = slot.bucket.rsplit(":", 1)[0]
    if slot.kind == "concurrency":
        return f"{key} (at most {slot.limit} calls in flight)"
    unit = "requests" if slot.kind == "rpm" else "tokens"
    return f"{key} ({slot.limit} {unit} per {slot.hold:g}s)"


class _Waiter:
    __slots__ = ("buckets", "event")

    def __init__(self, buckets: tuple[str, ...]) -> None:
        self.buckets = buckets
        self.event = asyncio.Event()


class Limiter:
    """Admits calls under per-key limits, waiting in line or failing fast.

    ``limits`` applies to every key, or maps keys to their limits (keys not in the map
    are unlimited). ``max_wait`` is how long a caller may queue by default (0: fail at
    once with ``RateLimitError`` and its ``retry_after``). ``lease`` bounds how long a
    call may count as in flight, so a crashed process cannot hold capacity for ever.
    ``poll`` is how often a head waiter looks again when the backend cannot say when
    capacity frees (calls in flight in another process).
    """

    def __init__(
        self,
        backend: LimiterBackend | None = None,
        *,
        limits: Limits | Mapping[str, Limits] | None = None,
        max_wait: float = 30.0,
        lease: float = 600.0,
        poll: float = 0.05,
    ) -> None:
        if backend is None:
            from llmrelay.limits.ratelimit_memory import MemoryLimiterBackend

            backend = MemoryLimiterBackend()
        for name, value in (("max_wait", max_wait), ("lease", lease), ("poll", poll)):
            if not value >= 0 or (name != "max_wait" and value == 0):
                raise ConfigError(f"Limiter {name} must be a number of seconds > 0, got {value!r}")
        self.backend = backend
        self._limits = limits
        self.max_wait = max_wait
        self.lease = lease
        self.poll = poll
        self._queues: dict[str, deque[_Waiter]] = {}
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-{id(self):x}-"
        self._cleanups: set[asyncio.Task[None]] = set()

    def limits_for(self, key: str) -> Limits | None:
        if self._limits is None or isinstance(self._limits, Limits):
            return self._limits
        return self._limits.get(key)

    def acquire(
        self, key: str, tokens: int = 0, *, limits: Limits | None = None, max_wait: float | None = None
    ) -> Acquisition:
        """Admission for one call on ``key`` reserving ``tokens``; await it or ``async with`` it."""
        lim = limits if limits is not None else self.limits_for(key)
        claims = () if lim is None else (Claim(key, lim, tokens),)
        return self.acquire_all(claims, max_wait=max_wait)

    def acquire_all(self, claims: Sequence[Claim], *, max_wait: float | None = None) -> Acquisition:
        """Admission on several keys at once (e.g. a deployment and a user): all or nothing."""
        wait = self.max_wait if max_wait is None else max_wait
        if not wait >= 0:
            raise ConfigError(f"max_wait must be a number of seconds >= 0, got {wait!r}")
        return Acquisition(self, slots_for(claims), wait)

    # ------------------------------------------------------------------ internals

    async def _admit(self, slots: tuple[Slot, ...], max_wait: float) -> Permit:
        permit_id = self._prefix + str(next(self._ids))
        if not slots:
            return Permit(self, slots, permit_id, 0.0)
        start = time.monotonic()
        deadline = start + max_wait
        buckets = tuple(dict.fromkeys(s.bucket for s in slots))
        waiter = _Waiter(buckets)
        for b in buckets:
            self._queues.setdefault(b, deque()).append(waiter)
        try:
            while True:
                while not self._at_head(waiter):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RateLimitError(
                            f"waited {max_wait:g}s in line behind earlier calls for "
                            f"{', '.join(describe(s) for s in slots)} without being admitted",
                            retry_after=self.poll,
                            code="local_queue_timeout",
                        )
                    await self._sleep(waiter, remaining)
                denied = await self._try(slots, permit_id)
                if denied is None:
                    return Permit(self, slots, permit_id, time.monotonic() - start)
                index, after = denied
                remaining = deadline - time.monotonic()
                if after > remaining:
                    raise self._refusal(slots[index], after)
                if remaining <= 0:
                    raise self._refusal(slots[index], self.poll)
                await self._sleep(waiter, min(after if after > 0 else self.poll, remaining))
        finally:
            self._leave(waiter)

    async def _try(self, slots: tuple[Slot, ...], permit_id: str) -> tuple[int, float] | None:
        try:
            return await self.backend.try_acquire(slots, permit_id, self.lease)
        except asyncio.CancelledError:
            # The backend may have admitted us before the cancellation landed: give it back.
            self._spawn(self.backend.settle(slots, permit_id, [0] * len(slots)))
            raise

    async def _sleep(self, waiter: _Waiter, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await waiter.event.wait()
        waiter.event.clear()

    def _at_head(self, waiter: _Waiter) -> bool:
        return all(self._queues[b][0] is waiter for b in waiter.buckets)

    def _leave(self, waiter: _Waiter) -> None:
        for b in waiter.buckets:
            q = self._queues[b]
            if q[0] is waiter:
                q.popleft()
            else:
                q.remove(waiter)
            if q:
                q[0].event.set()
            else:
                del self._queues[b]

    def _wake(self, slots: Sequence[Slot]) -> None:
        """Capacity may have freed on these counters: let their heads look again."""
        for s in slots:
            q = self._queues.get(s.bucket)
            if q:
                q[0].event.set()

    def _refusal(self, slot: Slot, after: float) -> RateLimitError:
        after = max(after, 0.0)
        return RateLimitError(
            f"rate limit reached for {describe(slot)}; try again in {after:.3g}s "
            "(limits are set in the 'limits' settings)",
            retry_after=after,
            code=f"local_{slot.kind}_limit",
        )

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)


class Permit:
    """An admitted call. ``settle`` when it is over (``async with`` does it for you)."""

    __slots__ = ("_limiter", "_settled", "id", "slots", "waited")

    def __init__(self, limiter: Limiter, slots: tuple[Slot, ...], permit_id: str, waited: float) -> None:
        self._limiter = limiter
        self.slots = slots
        self.id = permit_id
        self.waited = waited
        self._settled = False

    async def settle(self, tokens: int | None = None) -> None:
        """The call is over; ``tokens`` is what it really used (None keeps the reservation).

        Requests keep counting for a window from now, tokens as given, and the place in
        flight frees. Settling twice does nothing.
        """
        if self._settled:
            return
        self._settled = True
        if not self.slots:
            return
        amounts = [
            0
            if s.kind == "concurrency"
            else (max(tokens, 0) if s.kind == "tpm" and tokens is not None else s.amount)
            for s in self.slots
        ]
        try:
            await self._limiter.backend.settle(self.slots, self.id, amounts)
        finally:
            self._limiter._wake(self.slots)

    def __repr__(self) -> str:
        return f"Permit({self.id!r}, slots={len(self.slots)}, waited={self.waited:.3f})"


class Acquisition:
    """``await`` it for a ``Permit``, or ``async with`` it to settle on exit."""

    __slots__ = ("_limiter", "_max_wait", "_permit", "_slots")

    def __init__(self, limiter: Limiter, slots: tuple[Slot, ...], max_wait: float) -> None:
        self._limiter = limiter
        self._slots = slots
        self._max_wait = max_wait
        self._permit: Permit | None = None

    def __await__(self) -> Generator[object, None, Permit]:
        return self._limiter._admit(self._slots, self._max_wait).__await__()

    async def __aenter__(self) -> Permit:
        self._permit = await self._limiter._admit(self._slots, self._max_wait)
        return self._permit

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._permit is not None:
            # Unsettled (an error, or the caller did not say): keep what was reserved, since
            # the provider may well have counted it.
            await self._permit.settle()
