"""Batched, non-blocking writes of usage records.

``record()`` only appends to a bounded in-memory buffer, so a call never waits on the
database. A background task started on first use writes what is buffered every
``flush_interval`` seconds, or as soon as ``batch_size`` records are waiting. A batch
that fails to write goes back to the front of the buffer and is retried with backoff,
so a database outage costs nothing as long as the buffer has room; when it is full,
new records are refused and counted, and the count is logged — never dropped
silently. ``aclose()`` writes everything left (within ``shutdown_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from llmrelay.ledger.backend import LedgerBackend
from llmrelay.ledger.pricing import Pricer
from llmrelay.ledger.record import UsageRecord
from llmrelay.secrets import redact

log = logging.getLogger("llmrelay.ledger")

_MAX_BACKOFF = 5.0


@dataclass(frozen=True, slots=True)
class LedgerStats:
    """Counters since the writer was created. ``dropped`` counts records refused because
    the buffer was full; ``lost`` counts records still unwritten when ``aclose`` gave up."""

    written: int
    pending: int
    dropped: int
    lost: int
    failed_writes: int
    batches: int
    last_error: str | None


class LedgerWriter:
    def __init__(
        self,
        backend: LedgerBackend,
        *,
        batch_size: int = 200,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        shutdown_timeout: float = 10.0,
        pricer: Pricer | None = None,
    ) -> None:
        self.backend = backend
        self._pricer = pricer
        self._batch_size = batch_size
        self._interval = flush_interval
        self._queue_size = queue_size
        self._shutdown_timeout = shutdown_timeout
        self._buf: deque[UsageRecord] = deque()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._started = False
        self._closing = False
        self._written = 0
        self._dropped = 0
        self._dropped_reported = 0
        self._lost = 0
        self._failed = 0
        self._batches = 0
        self._last_error: str | None = None

    @property
    def stats(self) -> LedgerStats:
        return LedgerStats(
            written=self._written,
            pending=len(self._buf),
            dropped=self._dropped,
            lost=self._lost,
            failed_writes=self._failed,
            batches=self._batches,
            last_error=self._last_error,
        )

    # ------------------------------------------------------------------ hot path

    def record(self, rec: UsageRecord) -> bool:
        """Queue ``rec`` for writing; never blocks. False when it was refused (buffer
        full, or the writer closed) — counted in ``stats.dropped`` and logged."""
        if self._closing or len(self._buf) >= self._queue_size:
            self._dropped += 1
            if self._dropped - self._dropped_reported == 1:
                # the first refusal is reported at once, the rest in one line per flush
                self._report_dropped()
            return False
        self._buf.append(rec)
        self._ensure_task()
        if len(self._buf) >= self._batch_size and self._wake is not None:
            self._wake.set()
        return True

    def _ensure_task(self) -> None:
        task = self._task
        if task is not None and not task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the records wait for the next record() or aclose()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task = loop.create_task(self._run(), name="llmrelay-ledger-flusher")

    # ------------------------------------------------------------------ background

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        backoff = 0.0
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff or self._interval):
                        await wake.wait()
                wake.clear()
                if self._closing:
                    break
                self._report_dropped()
                if await self._drain():
                    backoff = 0.0
                else:
                    backoff = min(max(backoff * 2, 0.1), _MAX_BACKOFF, self._interval * 10)
        except asyncio.CancelledError:
            if self._buf and not self._closing:
                log.warning(
                    "ledger: %d usage records were not written because the client was not closed; "
                    "use `async with Client()` or await client.aclose()",
                    len(self._buf),
                )
            raise

    async def _drain(self) -> bool:
        """Write everything buffered, batch by batch; False after a failed batch."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while self._buf:
                if not self._started:
                    try:
                        if self._pricer is not None:
                            await self._pricer.load()
                        await self.backend.start()
                    except Exception as exc:
                        self._note_failure(exc, "preparing the ledger database")
                        return False
                    self._started = True
                n = min(self._batch_size, len(self._buf))
                batch = [self._buf.popleft() for _ in range(n)]
                if self._pricer is not None:
                    batch = [self._pricer.price(r) for r in batch]
                try:
                    await self.backend.write(batch)
                except BaseException as exc:
                    self._buf.extendleft(reversed(batch))  # keep order; retried on the next round
                    if not isinstance(exc, Exception):
                        raise
                    self._note_failure(exc, f"writing {n} usage records")
                    return False
                self._written += n
                self._batches += 1
        return True

    def _note_failure(self, exc: Exception, doing: str) -> None:
        self._failed += 1
        self._last_error = redact(str(exc))
        log.warning("ledger: %s failed (%d waiting, will retry): %s", doing, len(self._buf), self._last_error)

    def _report_dropped(self) -> None:
        new = self._dropped - self._dropped_reported
        if new > 0:
            self._dropped_reported = self._dropped
            log.error(
                "ledger: buffer full (queue_size=%d): %d usage records dropped (%d in all); "
                "the database is too slow or unreachable%s",
                self._queue_size,
                new,
                self._dropped,
                f" (last error: {self._last_error})" if self._last_error else "",
            )

    # ------------------------------------------------------------------ control

    async def flush(self) -> None:
        """Write everything buffered now; raises the backend's error if a batch fails."""
        if not self._buf:
            return
        if not await self._drain():
            from llmrelay.ledger.backend import LedgerError

            raise LedgerError(f"ledger: could not write usage records: {self._last_error}")

    async def aclose(self) -> None:
        """Stop the flusher and write what is left, trying for up to ``shutdown_timeout``."""
        if self._closing:
            return
        self._closing = True
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            if self._wake is not None:
                self._wake.set()
            # wait() rather than await: neither passes our cancellation into the flusher
            # nor raises its exception here; what it left is written below
            await asyncio.wait([task])
        deadline = time.monotonic() + self._shutdown_timeout
        backoff = 0.05
        try:
            while self._buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        if await self._drain():
                            break
                        await asyncio.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                except TimeoutError:
                    break
                backoff = min(backoff * 2, 1.0)
        finally:
            self._report_dropped()
            if self._buf:
                self._lost += len(self._buf)
                log.error(
                    "ledger: %d usage records could not be written before shutdown (%s)",
                    len(self._buf),
                    self._last_error or f"timed out after {self._shutdown_timeout:g}s",
                )
                self._buf.clear()
            await self.backend.aclose()
