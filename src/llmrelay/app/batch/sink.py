"""Where finished items go: the journal first (durable), then the ordered output, the
counters, the progress display and the caller's callback.

``put`` returns once the result is on disk. ``submit`` does the same in the background, so
that a worker can start its next call while the disk catches up; ``drain`` waits for what
was submitted (a run drains before it closes its output, interrupted or not).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from llmrelay.app.batch.items import BatchItem
from llmrelay.app.batch.journal import Journal
from llmrelay.app.batch.output import OrderedOutput
from llmrelay.app.batch.progress import BatchProgress
from llmrelay.app.batch.records import BatchResult

ResultCallback = Callable[[BatchResult], Any]


class Sink:
    """Collects results; ``put`` returns once the result is on disk (when journaled)."""

    def __init__(
        self,
        total: int,
        kept: dict[int, BatchResult],
        journal: Journal | None,
        output: OrderedOutput,
        progress: BatchProgress | None,
        on_result: ResultCallback | None,
    ) -> None:
        self.total = total
        self.results: dict[int, BatchResult] = dict(kept)
        self.journal = journal
        self.output = output
        self.progress = progress
        self.on_result = on_result
        self.resumed = len(kept)
        self.sent = 0
        self.run_cost = 0.0
        self.started = time.monotonic()
        self._inflight: set[asyncio.Task[None]] = set()
        # running totals (a batch may have millions of items: no sums over all results per item)
        self.failed = 0
        self._cost = 0.0
        self._unpriced = 0
        for result in kept.values():
            self._count(result, None)

    @property
    def cost(self) -> float | None:
        """US dollars over every result; None when some successful item's cost is unknown."""
        return None if self._unpriced else self._cost

    def _count(self, result: BatchResult, replaced: BatchResult | None) -> None:
        for r, sign in ((replaced, -1), (result, 1)):
            if r is None:
                continue
            if r.response is None:
                self.failed += sign
            elif r.response.cost is None:
                self._unpriced += sign
            else:
                self._cost += sign * r.response.cost

    async def start(self, label: str) -> None:
        if self.progress is not None:
            self.progress.start(self.total, len(self.results), self.failed, self.cost, label)
        # results finished by an earlier run that were waiting for a gap are released as it fills;
        # those already written are announced to the callback once, now
        for index in range(self.output.next_index):
            await self._announce(self.results[index])

    async def put(self, item: BatchItem, result: BatchResult) -> None:
        await self.put_many([(item, result)])

    def submit(self, item: BatchItem, result: BatchResult) -> asyncio.Task[None]:
        """``put`` in the background; the task is awaited by ``drain`` if not before."""
        task = asyncio.ensure_future(self.put(item, result))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    async def drain(self) -> None:
        """Wait for every submitted result; re-raise the first failure to store one."""
        while self._inflight:
            outcomes = await asyncio.gather(*list(self._inflight), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome

    async def put_many(
        self, pairs: Sequence[tuple[BatchItem, BatchResult]], *, collected: str | None = None
    ) -> None:
        if self.journal is not None:
            await self.journal.record_many([(r, item.fingerprint) for item, r in pairs], collected=collected)
        for _, result in pairs:
            self._count(result, self.results.get(result.index))
            self.results[result.index] = result
            self.sent += 1
            if result.cost is not None:
                self.run_cost += result.cost
            for record in self.output.add(result.index, result.to_json()):
                await self._announce(self.results[int(record["index"])])
        if self.progress is not None:
            self.progress.update(len(self.results), self.failed, self.cost)

    async def _announce(self, result: BatchResult) -> None:
        if self.on_result is not None:
            outcome = self.on_result(result)
            if inspect.isawaitable(outcome):
                await outcome

    def ordered(self) -> tuple[BatchResult, ...]:
        return tuple(self.results[i] for i in sorted(self.results))
