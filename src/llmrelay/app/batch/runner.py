"""``run_batch``: many chat calls, resumable, in input order, under the configured limits.

    report = await run_batch(client, ["Name a prime.", {"id": "q2", "prompt": "Name a colour."}],
                             concurrency=16, output="out.jsonl")

In the default ``sync`` mode each item is one ``Client.chat`` call, so everything the client
does applies: retries, routing and fallbacks, rate limits (the deployment, key and user
RPM/TPM limits of ``settings.limits`` queue the calls, so the provider is not sent more than
it allows), budgets, cost and the usage ledger. A local rate-limit refusal (the limiter's
queue ran out of ``max_wait``) is waited out and the item sent again; it is never an error.
``mode="provider"`` sends the items through the provider's batch API instead, at its batch
price (see ``llmrelay.app.batch.provider``).

With ``output`` (or ``journal``) the run is resumable: results are committed to the
journal as they finish, and a run over the same input with the same output skips what is
done — items that failed with a retryable error (rate limit, timeout, 5xx, an expired
provider batch) are sent again, others only with ``retry_errors``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llmrelay.app.batch.estimate import BatchEstimate, estimate_items
from llmrelay.app.batch.items import BatchItem, BatchRequest, load_items, read_jsonl
from llmrelay.app.batch.journal import Journal, default_path
from llmrelay.app.batch.output import OrderedOutput
from llmrelay.app.batch.progress import BatchProgress, RichProgress
from llmrelay.app.batch.records import BatchError, BatchResult
from llmrelay.app.batch.sink import ResultCallback, Sink
from llmrelay.errors import BudgetExceededError, ConfigError, LLMRelayError, RateLimitError
from llmrelay.types import ChatRequest

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.transport.http import Transport

log = logging.getLogger("llmrelay.batch")

Mode = Literal["sync", "provider"]
RequestLike = BatchRequest | ChatRequest | Mapping[str, Any] | str
#: the shortest pause before sending an item the local rate limiter turned away
_MIN_LOCAL_WAIT = 0.02


@dataclass(frozen=True, slots=True)
class BatchReport:
    """How a run went. ``results`` holds every item's result in input order, this run's and
    earlier runs' (``resumed`` of them); ``cost`` is over all of them (None when a cost is
    unknown), ``run_cost`` what this run spent. ``stopped`` says why a run ended before
    every item was done (a budget ran out); the rest can be resumed later."""

    total: int
    succeeded: int
    failed: int
    resumed: int
    sent: int
    cost: float | None
    run_cost: float
    elapsed: float
    mode: Mode
    results: tuple[BatchResult, ...]
    output: Path | None = None
    journal: Path | None = None
    stopped: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.results) == self.total


async def run_batch(
    client: Client,
    requests: Iterable[RequestLike] | os.PathLike[str],
    *,
    concurrency: int = 8,
    model: str | None = None,
    mode: Mode = "sync",
    output: str | os.PathLike[str] | None = None,
    journal: str | os.PathLike[str] | None = None,
    restart: bool = False,
    retry_errors: bool = False,
    max_cost: float | None = None,
    progress: bool | BatchProgress = False,
    on_result: ResultCallback | None = None,
    poll_interval: float | None = None,
    transport: Transport | None = None,
) -> BatchReport:
    """Run every request; see the module docstring.

    ``requests``: prompts, dicts (``{"id", "messages" | "prompt", "model", params…}`` or
    OpenAI batch lines), ``ChatRequest``s or ``BatchRequest``s — or a ``Path`` to a JSONL
    file of them. ``model`` applies where an item names none (default: the client's
    ``default_model``). ``output``: a JSONL file
    written in input order as items finish; its journal is ``<output>.journal`` unless
    ``journal`` names another file (a journal without an output file also makes the run
    resumable). ``restart`` discards an earlier run's journal. ``max_cost`` (USD) refuses to
    start, with ``BudgetExceededError``, a run whose worst case (every item writing its output
    bound) could cost more, or whose cost cannot be bounded. ``progress``: True for a rich
    progress bar on stderr, or your own ``BatchProgress``. ``on_result`` is called (or
    awaited) with each result, in input order. ``poll_interval`` and ``transport`` are for
    provider mode (see ``llmrelay.app.batch.provider``).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    if mode not in ("sync", "provider"):
        raise ConfigError(f"mode must be 'sync' or 'provider', got {mode!r}")
    items = _load(requests, model or client.settings.default_model)
    journal_path = _journal_path(output, journal)
    store = await Journal.open(journal_path, items, restart=restart) if journal_path is not None else None
    try:
        kept = await _kept(store, retry_errors)
        if output is not None and not restart:
            await _check_output(Path(output), store)
        pending = [item for item in items if item.index not in kept]
        if max_cost is not None:
            _check_cost(estimate_items(client, pending, mode), max_cost)
        out = OrderedOutput.open(
            Path(output) if output is not None else None, {i: r.to_json() for i, r in kept.items()}
        )
        shown: BatchProgress | None = RichProgress() if progress is True else (progress or None)
        sink = Sink(len(items), kept, store, out, shown, on_result)
        stopped: str | None = None
        try:
            await sink.start("batch" if mode == "sync" else "batch (provider)")
            await _record_problems(pending, sink)
            sendable = [item for item in pending if item.request is not None]
            if mode == "sync":
                stopped = await _run_sync(client, sendable, sink, concurrency)
            else:
                from llmrelay.app.batch.provider import run_provider

                await run_provider(
                    client, sendable, sink, store, poll_interval=poll_interval, transport=transport
                )
        finally:
            try:
                await sink.drain()  # results handed in are written before the output closes
            finally:
                out.close()
                if shown is not None:
                    shown.finish()
    finally:
        if store is not None:
            await store.close()
    results = sink.ordered()
    return BatchReport(
        total=len(items),
        succeeded=sum(1 for r in results if r.ok),
        failed=sum(1 for r in results if not r.ok),
        resumed=sink.resumed,
        sent=sink.sent,
        cost=sink.cost,
        run_cost=sink.run_cost,
        elapsed=time.monotonic() - sink.started,
        mode=mode,
        results=results,
        output=out.path,
        journal=journal_path,
        stopped=stopped,
    )


async def estimate_batch(
    client: Client,
    requests: Iterable[RequestLike] | os.PathLike[str],
    *,
    model: str | None = None,
    mode: Mode = "sync",
    output: str | os.PathLike[str] | None = None,
    journal: str | os.PathLike[str] | None = None,
    retry_errors: bool = False,
) -> BatchEstimate:
    """What ``run_batch`` with the same arguments would send, and its cost (see
    ``BatchEstimate``): items already done in the journal are left out."""
    items = _load(requests, model or client.settings.default_model)
    journal_path = _journal_path(output, journal)
    kept: dict[int, BatchResult] = {}
    if journal_path is not None and journal_path.exists():
        store = await Journal.open(journal_path, items)
        try:
            kept = await _kept(store, retry_errors)
        finally:
            await store.close()
    return estimate_items(client, [i for i in items if i.index not in kept], mode)


# --------------------------------------------------------------------------- helpers


def _journal_path(
    output: str | os.PathLike[str] | None, journal: str | os.PathLike[str] | None
) -> Path | None:
    if journal is not None:
        return Path(journal)
    return default_path(Path(output)) if output is not None else None


def _load(requests: Iterable[RequestLike] | os.PathLike[str], model: str | None) -> list[BatchItem]:
    if isinstance(requests, os.PathLike):
        return read_jsonl(Path(requests), model=model)
    if isinstance(requests, str | bytes):
        raise ConfigError(
            "requests must be a list of prompts, dicts or ChatRequests (or a pathlib.Path of a JSONL "
            "file), not one string; wrap a single prompt in a list"
        )
    return load_items(requests, model=model)


async def _kept(store: Journal | None, retry_errors: bool) -> dict[int, BatchResult]:
    """The results of earlier runs that stand (not sent again)."""
    if store is None:
        return {}
    kept: dict[int, BatchResult] = {}
    for index, record in (await store.results()).items():
        result = BatchResult.from_json(record)
        if result.ok or not (retry_errors or (result.error is not None and result.error.retryable)):
            kept[index] = result
    return kept


async def _check_output(output: Path, store: Journal | None) -> None:
    """An output file that no journal accounts for is someone's data: never overwrite it."""
    try:
        size = output.stat().st_size
    except FileNotFoundError:
        return
    if size and (store is None or await store.is_empty()):
        raise ConfigError(
            f"{output} already holds results that no batch journal accounts for; give another output "
            "path, or restart (--restart) to overwrite it"
        )


def _check_cost(estimate: BatchEstimate, max_cost: float) -> None:
    if not estimate.bounded:
        raise BudgetExceededError(
            f"the batch's cost cannot be bounded ({estimate.unpriced} items have no known price), so it "
            f"cannot be held under max_cost ${max_cost:g}; add the model's prices to the catalog "
            "or drop max_cost",
            code="budget_price_unknown",
        )
    if estimate.max_cost > max_cost:
        raise BudgetExceededError(
            f"the batch could cost up to ${estimate.max_cost:.4f}, over max_cost ${max_cost:g} "
            f"({estimate.describe()}); set max_tokens on the items, send fewer, or raise max_cost",
            code="budget_exceeded",
        )


async def _record_problems(pending: list[BatchItem], sink: Sink) -> None:
    """Items whose input could not become a request are recorded as failed at once."""
    bad = [
        (item, BatchResult(item.index, item.id, error=BatchError.of(item.problem)))
        for item in pending
        if item.problem is not None
    ]
    if bad:
        await sink.put_many(bad)


async def _run_sync(client: Client, items: list[BatchItem], sink: Sink, concurrency: int) -> str | None:
    queue = iter(items)
    stopped: list[str] = []
    active = 0

    async def one(item: BatchItem) -> BatchResult | None:
        nonlocal active
        assert item.request is not None
        while True:
            try:
                response = await client.chat(item.request)
                return BatchResult(item.index, item.id, response=response)
            except RateLimitError as exc:
                if exc.status is not None:  # the provider's 429, after the client's retries
                    return BatchResult(item.index, item.id, error=BatchError.of(exc))
                # llmrelay's own limiter: nothing was sent; wait for the slot it names
                await asyncio.sleep(max(exc.retry_after or 0.0, _MIN_LOCAL_WAIT))
            except BudgetExceededError as exc:
                if exc.code == "budget_reserved" and active > 1:
                    await asyncio.sleep(0.05)  # calls in flight hold the rest; it may fit once they settle
                    continue
                stopped.append(f"budget: {exc.message}")
                return None
            except LLMRelayError as exc:
                return BatchResult(item.index, item.id, error=BatchError.of(exc))
            except Exception as exc:  # a bug must not take the other items down with it
                log.exception("batch item %r failed unexpectedly", item.id)
                return BatchResult(item.index, item.id, error=BatchError.of(exc))

    async def worker() -> None:
        nonlocal active
        previous: asyncio.Task[None] | None = None
        try:
            for item in queue:  # one shared iterator: each item goes to exactly one worker
                if stopped:
                    return
                active += 1
                try:
                    result = await one(item)
                finally:
                    active -= 1
                if result is None:
                    return
                # the next call overlaps the commit of this result; at most one waits per worker
                if previous is not None:
                    await previous
                previous = sink.submit(item, result)
        finally:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(items))):
            group.create_task(worker())
    return stopped[0] if stopped else None
