"""Batch jobs on an accelerated clock: the engine behind the simulated batch APIs.

A job holds its requests (a path, a JSON body, and the credentials its submitter
presented) and serves each one through the simulator's own endpoints, so a request sent
in a batch gets exactly the reply it would get on its own. Time is simulated: a
``BatchClock`` runs ``batch_speed`` times faster than the wall clock, and by simulated time
``t`` after submission a job has served the share ``t / batch_turnaround`` of its requests,
in submission order.

Nothing runs in the background: a job catches up whenever it is read (``advance``), under a
lock, so two readers never serve a request twice. A request that meets a rate limit, a
server error or a dropped connection is tried again on a later read, as the providers retry
inside their batch systems; one that is refused (another 4xx) keeps that answer as its
result. Whatever is still unserved when the completion window closes expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from starlette.types import ASGIApp, Message

Outcome = Literal["succeeded", "errored", "expired", "canceled"]

#: the providers' completion window: OpenAI accepts only "24h"; Anthropic's batches expire after 24 hours
COMPLETION_WINDOW = 24 * 3600.0
#: simulated seconds a cancellation takes to settle (the providers answer "cancelling" first)
CANCEL_DELAY = 60.0
#: share of the turnaround spent validating the input before the first request is served
VALIDATION_SHARE = 0.02
#: a request served inside a batch may take this many real seconds before it counts as failed
_DISPATCH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class BatchClock:
    """Simulated Unix time: starts at the wall clock and runs ``speed`` times faster."""

    speed: float
    wall0: float
    mono0: float

    @classmethod
    def start(cls, speed: float) -> BatchClock:
        return cls(speed, time.time(), time.monotonic())

    def now(self) -> float:
        return self.wall0 + (time.monotonic() - self.mono0) * self.speed


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What one request of a batch came to. ``status`` and ``body`` are the HTTP answer
    (None and empty for an expired or canceled request)."""

    outcome: Outcome
    status: int | None = None
    body: bytes = b""
    request_id: str | None = None


@dataclass(slots=True)
class BatchItem:
    """One request of a batch. ``refusal`` is its answer when the batch API itself refuses
    it (a streamed request): it becomes the result when the request's turn comes."""

    custom_id: str
    path: str
    body: bytes
    result: ItemResult | None = None
    refusal: ItemResult | None = None


@dataclass(slots=True)
class Job:
    """One submitted batch. Times are simulated Unix seconds."""

    id: str
    items: list[BatchItem]
    headers: tuple[tuple[bytes, bytes], ...]  # presented when serving each request
    created: float
    turnaround: float
    validation: float = 0.0  # simulated seconds before the first request is served
    window: float = COMPLETION_WINDOW
    invalid: bool = False  # refused as a whole when validation ends (OpenAI's "failed")
    cancel_at: float | None = None
    finished_at: float | None = None
    late: bool = False  # a request had to be tried again, so the job ends when it catches up
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def expires_at(self) -> float:
        return self.created + self.window

    @property
    def served(self) -> int:
        return sum(1 for i in self.items if i.result is not None)

    def counts(self) -> dict[Outcome, int]:
        out: dict[Outcome, int] = {"succeeded": 0, "errored": 0, "expired": 0, "canceled": 0}
        for item in self.items:
            if item.result is not None:
                out[item.result.outcome] += 1
        return out

    def due(self, now: float) -> int:
        """How many requests the schedule says are served by ``now``."""
        start = self.created + self.validation
        span = max(self.turnaround - self.validation, 1e-9)
        share = (min(now, self.expires_at) - start) / span
        return max(0, min(len(self.items), int(len(self.items) * share + 1e-9)))

    def phase(self, now: float) -> Literal["validating", "failed", "in_progress", "canceling", "ended"]:
        if self.finished_at is not None:
            return "failed" if self.invalid else "ended"
        if self.cancel_at is not None:
            return "canceling"
        if now < self.created + self.validation:
            return "validating"
        return "in_progress"

    def cancel(self, now: float) -> None:
        if self.finished_at is None and self.cancel_at is None:
            self.cancel_at = now

    async def advance(self, app: ASGIApp, now: float) -> None:
        """Serve what the schedule says is due by ``now``; end the job when all is settled."""
        async with self.lock:
            if self.finished_at is not None:
                return
            if self.invalid:
                if now >= self.created + self.validation:
                    self.finished_at = self.created + self.validation
                return
            if self.cancel_at is not None:
                if now >= self.cancel_at + CANCEL_DELAY:
                    self._settle("canceled")
                    self.finished_at = self.cancel_at + CANCEL_DELAY
                return
            target = self.due(now)
            for item in self.items[:target]:
                if item.result is None:
                    result = item.refusal or await self._serve(app, item)
                    if result is None:  # transient: this one and those after it wait for a later read
                        self.late = True
                        break
                    item.result = result
            if self.served == len(self.items):
                scheduled = self.created + self.turnaround
                self.finished_at = max(scheduled, now) if self.late else scheduled
            elif now >= self.expires_at:
                self._settle("expired")
                self.finished_at = self.expires_at

    def _settle(self, outcome: Outcome) -> None:
        for item in self.items:
            if item.result is None:
                item.result = ItemResult(outcome)

    async def _serve(self, app: ASGIApp, item: BatchItem) -> ItemResult | None:
        try:
            async with asyncio.timeout(_DISPATCH_TIMEOUT):
                status, headers, body = await call_app(app, "POST", item.path, self.headers, item.body)
        except Exception:  # a dropped connection or a hang fault: the provider would retry it
            return None
        if status == 429 or status >= 500:
            return None
        request_id = headers.get("x-request-id") or headers.get("request-id")
        return ItemResult("succeeded" if status < 300 else "errored", status, body, request_id)


def shuffled(items: Sequence[BatchItem], job_id: str) -> list[BatchItem]:
    """The items in an order of their own: the providers do not promise input order in
    results, so clients must map them back by ``custom_id``."""

    def key(item: BatchItem) -> bytes:
        return hashlib.blake2b(f"{job_id}:{item.custom_id}".encode(), digest_size=8).digest()

    return sorted(items, key=key)


def new_id(prefix: str, seed: int, kind: str, n: int, length: int = 24) -> str:
    """A provider-looking id, deterministic in the seed and the object's number."""
    return prefix + hashlib.blake2b(f"{seed}:{kind}:{n}".encode(), digest_size=32).hexdigest()[:length]


async def call_app(
    app: ASGIApp, method: str, path: str, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP exchange with an ASGI app, in process: (status, lower-cased headers, body)."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "server": ("simulator.local", 80),
        "client": ("127.0.0.1", 0),
    }
    done = asyncio.Event()
    delivered = False
    status = 500
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # streaming responses listen for a disconnect: it comes once they finish
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                out_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return status, out_headers, b"".join(chunks)
