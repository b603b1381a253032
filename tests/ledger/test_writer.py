"""The batching writer against in-memory backends that can be slow, gated or failing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

import pytest

from llmrelay.ledger.record import UsageRecord
from llmrelay.ledger.writer import LedgerWriter


class MemoryBackend:
    description = "memory"

    def __init__(self, *, delay: float = 0.0, fail: int = 0, always_fail: bool = False) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.started = 0
        self.closed = False
        self.delay = delay
        self.fail = fail
        self.always_fail = always_fail
        self.gate: asyncio.Event | None = None

    async def start(self) -> None:
        self.started += 1

    async def write(self, records: Sequence[UsageRecord]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.always_fail or self.fail:
            self.fail = max(0, self.fail - 1)
            raise RuntimeError("database unavailable")
        self.batches.append(list(records))

    async def aclose(self) -> None:
        self.closed = True

    @property
    def ids(self) -> list[str]:
        return [r.id for b in self.batches for r in b]


def recs(n: int, start: int = 0) -> list[UsageRecord]:
    return [UsageRecord(id=f"r{i}", ts=1e9 + i) for i in range(start, start + n)]


async def until(cond, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_a_full_batch_is_written_at_once_and_the_rest_on_close() -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend, batch_size=10, flush_interval=60)
    for r in recs(10):
        assert writer.record(r)
    await until(lambda: len(backend.batches) == 1)
    for r in recs(5, start=10):
        assert writer.record(r)
    await asyncio.sleep(0.05)
    assert len(backend.batches) == 1 and writer.stats.pending == 5  # waits for the interval
    await writer.aclose()
    assert [len(b) for b in backend.batches] == [10, 5]
    assert backend.ids == [f"r{i}" for i in range(15)]
    assert backend.started == 1 and backend.closed
    s = writer.stats
    assert (s.written, s.pending, s.dropped, s.lost, s.batches) == (15, 0, 0, 0, 2)


async def test_batches_never_exceed_the_batch_size() -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend, batch_size=10, flush_interval=60)
    for r in recs(35):
        writer.record(r)
    await writer.aclose()
    assert [len(b) for b in backend.batches] == [10, 10, 10, 5]


async def test_a_partial_batch_is_written_after_the_flush_interval() -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend, batch_size=100, flush_interval=0.05)
    for r in recs(3):
        writer.record(r)
    await until(lambda: backend.batches)
    assert [len(b) for b in backend.batches] == [3]
    await writer.aclose()


async def test_record_never_waits_for_a_slow_database() -> None:
    backend = MemoryBackend(delay=0.3)
    writer = LedgerWriter(backend, batch_size=500, flush_interval=0.01)
    t0 = time.perf_counter()
    for r in recs(2000):
        assert writer.record(r)
        await asyncio.sleep(0)  # let the flusher run between calls, as a real server would
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.4, f"recording 2000 calls took {elapsed:.3f}s behind a 0.3 s/batch database"
    await writer.aclose()
    assert sorted(backend.ids) == sorted(r.id for r in recs(2000))


async def test_a_full_buffer_refuses_and_reports(caplog: pytest.LogCaptureFixture) -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend, batch_size=100, flush_interval=60, queue_size=5)
    with caplog.at_level(logging.ERROR, logger="llmrelay.ledger"):
        accepted = [writer.record(r) for r in recs(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert writer.stats.dropped == 3
    assert any("buffer full" in m and "queue_size=5" in m for m in caplog.messages)
    await writer.aclose()
    assert backend.ids == [f"r{i}" for i in range(5)]
    assert "3 usage records dropped" in caplog.text or "dropped (3 in all)" in caplog.text


async def test_failed_batches_are_retried_in_order_without_duplicates(caplog) -> None:
    backend = MemoryBackend(fail=2)
    writer = LedgerWriter(backend, batch_size=4, flush_interval=0.01)
    with caplog.at_level(logging.WARNING, logger="llmrelay.ledger"):
        for r in recs(10):
            writer.record(r)
        await until(lambda: len(backend.ids) == 10)
    assert backend.ids == [f"r{i}" for i in range(10)]
    assert writer.stats.failed_writes == 2
    assert "database unavailable" in caplog.text and "will retry" in caplog.text
    await writer.aclose()
    assert writer.stats.lost == 0


async def test_close_gives_up_after_the_shutdown_timeout_and_says_so(caplog) -> None:
    backend = MemoryBackend(always_fail=True)
    writer = LedgerWriter(backend, batch_size=10, flush_interval=60, shutdown_timeout=0.3)
    for r in recs(7):
        writer.record(r)
    t0 = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="llmrelay.ledger"):
        await writer.aclose()
    assert time.monotonic() - t0 < 2
    assert writer.stats.lost == 7 and writer.stats.written == 0
    assert "7 usage records could not be written before shutdown" in caplog.text
    assert backend.closed


async def test_records_after_close_are_refused() -> None:
    writer = LedgerWriter(MemoryBackend())
    await writer.aclose()
    assert writer.record(recs(1)[0]) is False
    assert writer.stats.dropped == 1


async def test_close_waits_for_a_batch_in_flight() -> None:
    backend = MemoryBackend()
    backend.gate = asyncio.Event()
    writer = LedgerWriter(backend, batch_size=2, flush_interval=60)
    for r in recs(5):
        writer.record(r)
    await asyncio.sleep(0.02)  # the flusher has taken the first batch and waits on the gate
    closing = asyncio.create_task(writer.aclose())
    await asyncio.sleep(0.02)
    assert not closing.done()
    backend.gate.set()
    await closing
    assert backend.ids == [f"r{i}" for i in range(5)]


def test_records_made_without_a_loop_are_written_on_close() -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend)
    for r in recs(3):
        writer.record(r)
    assert writer.stats.pending == 3
    asyncio.run(writer.aclose())
    assert backend.ids == ["r0", "r1", "r2"]


async def test_flush_writes_now_and_raises_on_failure() -> None:
    backend = MemoryBackend(fail=1)
    writer = LedgerWriter(backend, batch_size=100, flush_interval=60)
    writer.record(recs(1)[0])
    with pytest.raises(Exception, match="could not write usage records"):
        await writer.flush()
    await writer.flush()
    assert backend.ids == ["r0"]
    await writer.aclose()


async def test_a_pricer_fills_missing_costs_in_the_flusher() -> None:
    class Pricer:
        loaded = 0

        async def load(self) -> None:
            self.loaded += 1

        def price(self, rec: UsageRecord) -> UsageRecord:
            return rec if rec.cost is not None else replace(rec, cost=0.01)

    backend = MemoryBackend()
    pricer = Pricer()
    writer = LedgerWriter(backend, pricer=pricer)
    writer.record(UsageRecord(id="a", ts=1.0, input_tokens=5))
    writer.record(UsageRecord(id="b", ts=1.0, input_tokens=5, cost=0.5))
    await writer.aclose()
    assert [r.cost for r in backend.batches[0]] == [0.01, 0.5]
    assert pricer.loaded == 1


async def test_an_unclosed_writer_warns_when_its_task_is_cancelled(caplog) -> None:
    backend = MemoryBackend()
    writer = LedgerWriter(backend, batch_size=100, flush_interval=60)
    writer.record(recs(1)[0])
    task = writer._task
    assert task is not None
    await asyncio.sleep(0.01)  # the flusher is waiting for the interval
    with caplog.at_level(logging.WARNING, logger="llmrelay.ledger"):
        task.cancel()
        await asyncio.wait([task])
    assert "not written because the client was not closed" in caplog.text
