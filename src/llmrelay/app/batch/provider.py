"""Provider mode: a batch sent through the provider's own batch API, at its batch price.

Items are grouped by model (a provider batch serves one model), each request translated by
the provider adapter exactly as a direct call would be, and submitted under the custom id
``r<index>``. The run then polls until every batch has ended, fetches the results, maps
them back by custom id, prices them at the catalog's batch discount and records them.

Supported: the OpenAI protocol (OpenAI's ``/v1/batches`` with ``/v1/files``, and
OpenAI-compatible hosts that offer the same API), Anthropic's Message Batches and Gemini's
batch mode (inline requests), including the simulator's emulation of all three. Azure
OpenAI (another URL scheme) is not supported yet: a run that needs it is refused before
anything is sent.

Provider calls do not go through the client's pipeline: no retries of single items (the
provider retries inside its batch system), no rate limits (batch APIs have their own
quotas), and no budget reservation or usage-ledger record — ``max_cost`` on ``run_batch``
is the way to bound such a run. Every submission is journaled before and after the
provider accepts it, so an interrupted run resumes by polling what it already submitted.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from llmrelay.app.batch.anthropic_batches import AnthropicBatches
from llmrelay.app.batch.batch_api import BatchAPI, BatchHTTP, Outcome
from llmrelay.app.batch.gemini_batches import GeminiBatches
from llmrelay.app.batch.items import BatchItem
from llmrelay.app.batch.journal import Journal, Submission
from llmrelay.app.batch.openai_batches import OpenAIBatches
from llmrelay.app.batch.records import BatchError, BatchItemNotRunError, BatchResult
from llmrelay.app.batch.sink import Sink
from llmrelay.catalog.fit import fit_request
from llmrelay.errors import ConfigError, LLMRelayError, UnsupportedFeatureError
from llmrelay.hosts import SIMULATOR_URL, is_simulator
from llmrelay.providers import load_adapter
from llmrelay.types import ChatRequest, ChatResponse
from llmrelay.wire import Endpoint

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.transport.http import Transport

log = logging.getLogger("llmrelay.batch")

#: seconds between polls of a real provider (batches take minutes to hours) and of the simulator
#: the batch API of each wire protocol that has one (Azure's is not supported yet)
BATCH_APIS: Mapping[str, Callable[[BatchHTTP], BatchAPI]] = MappingProxyType(
    {"openai": OpenAIBatches, "anthropic": AnthropicBatches, "gemini": GeminiBatches}
)

POLL_PROVIDER = 30.0
POLL_SIMULATOR = 0.05
#: polls in a row that may fail (network, 5xx) before the run stops; the batch stays journaled
MAX_POLL_FAILURES = 10


@dataclass(slots=True)
class _Open:
    sub: Submission
    api: BatchAPI
    ep: Endpoint
    done: int = 0
    failures: int = 0


def custom_id(index: int) -> str:
    return f"r{index}"


async def run_provider(
    client: Client,
    items: Sequence[BatchItem],
    sink: Sink,
    journal: Journal | None,
    *,
    poll_interval: float | None = None,
    transport: Transport | None = None,
) -> None:
    """Send ``items`` (all with a request) through the providers' batch APIs; results go to ``sink``."""
    if poll_interval is not None and not poll_interval > 0:
        raise ConfigError(f"poll_interval must be a number of seconds > 0, got {poll_interval!r}")
    own = transport is None
    if transport is None:
        transport = _transport(client)
    try:
        await _ProviderRun(client, transport, sink, journal, poll_interval).run(items)
    finally:
        if own:
            await transport.aclose()


def _transport(client: Client) -> Transport:
    """A transport like the client's: its timeouts, and the in-process simulator mounted."""
    from llmrelay.transport.asgi import StreamingASGITransport
    from llmrelay.transport.http import LazyTransport, Timeouts, Transport

    t = client.settings.timeouts
    simulator = LazyTransport(lambda: StreamingASGITransport(client.simulator.app))
    return Transport(
        timeouts=Timeouts(connect=t.connect, read=t.read, total=t.total), mounts={SIMULATOR_URL: simulator}
    )


class _ProviderRun:
    def __init__(
        self, client: Client, transport: Transport, sink: Sink, journal: Journal | None, poll: float | None
    ) -> None:
        self.client = client
        self.transport = transport
        self.sink = sink
        self.journal = journal
        self.poll = poll
        self.apis: dict[str, BatchAPI] = {}
        self.by_index: dict[int, BatchItem] = {}

    def api_for(self, ep: Endpoint) -> BatchAPI:
        kind = ep.provider
        make = BATCH_APIS.get(kind)
        if make is None or ep.options.get("azure"):
            where = "Azure OpenAI" if ep.options.get("azure") else f"the {ep.provider} protocol"
            raise UnsupportedFeatureError(
                f"provider batch mode does not support {where} yet ({ep.host}/{ep.model}); "
                "use mode='sync' (it keeps to the configured rate limits) or another model",
                provider=ep.host or ep.provider,
                model=ep.model,
            )
        api = self.apis.get(kind)
        if api is None:
            api = self.apis[kind] = make(BatchHTTP(self.transport, load_adapter(ep.provider), self.fit))
        return api

    def endpoint(self, model: str) -> Endpoint:
        return self.client.route(model).deployments[0].endpoint

    def fit(self, req: ChatRequest, ep: Endpoint) -> ChatRequest:
        host = ep.host or ep.provider
        return fit_request(req, self.client.catalog.lookup(host, ep.model), ep.provider, host)

    async def run(self, items: Sequence[BatchItem]) -> None:
        self.by_index = {item.index: item for item in items}
        groups: dict[str, list[BatchItem]] = {}
        unroutable: list[tuple[BatchItem, BatchResult]] = []
        for item in items:
            assert item.request is not None
            try:
                ep = self.endpoint(item.request.model)
            except LLMRelayError as exc:
                unroutable.append((item, BatchResult(item.index, item.id, error=BatchError.of(exc))))
                continue
            self.api_for(ep)  # refuse an unsupported model before anything is submitted
            groups.setdefault(item.request.model, []).append(item)
        if unroutable:
            await self.sink.put_many(unroutable)
        active = await self._reopen()
        covered = {i for o in active for i in o.sub.indices}
        for model, group in groups.items():
            todo = [item for item in group if item.index not in covered]
            ep = self.endpoint(model)
            api = self.api_for(ep)
            for start in range(0, len(todo), api.max_requests):
                opened = await self._submit(api, ep, model, todo[start : start + api.max_requests])
                if opened is not None:
                    active.append(opened)
        await self._wait(active)

    async def _reopen(self) -> list[_Open]:
        """Submissions of an earlier run that are still to collect."""
        if self.journal is None:
            return []
        active: list[_Open] = []
        for sub in await self.journal.submissions():
            if sub.state == "collected" or not any(i in self.by_index for i in sub.indices):
                continue
            try:
                ep = self.endpoint(sub.model)
            except LLMRelayError:
                log.warning(
                    "batch %s: model %r no longer resolves; its items are sent again", sub.batch_id, sub.model
                )
                await self.journal.drop_submission(sub.token)
                continue
            api = self.api_for(ep)
            if sub.batch_id is None:
                found = await api.find(ep, sub.token)
                if found is None:
                    # the provider may have accepted it: say so, since the items are submitted again
                    log.warning(
                        "a %s batch submitted by an earlier run cannot be found; its items are sent again",
                        api.name,
                    )
                    await self.journal.drop_submission(sub.token)
                    continue
                await self.journal.set_submitted(sub.token, found)
                sub = replace(sub, batch_id=found, state="submitted")
            active.append(_Open(sub, api, ep))
        return active

    async def _submit(self, api: BatchAPI, ep: Endpoint, model: str, chunk: list[BatchItem]) -> _Open | None:
        token = uuid.uuid4().hex
        sub = Submission(token, api.name, model, None, tuple(i.index for i in chunk), "submitting")
        if self.journal is not None:
            await self.journal.add_submission(sub)
        requests: list[tuple[str, ChatRequest]] = []
        for item in chunk:
            assert item.request is not None
            requests.append((custom_id(item.index), item.request))
        try:
            batch_id = await api.submit(ep, requests, token)
        except LLMRelayError as exc:
            # refused as a whole (bad key, a request the API will not take): each item fails with it
            if self.journal is not None:
                await self.journal.drop_submission(token)
            await self.sink.put_many(
                [(i, BatchResult(i.index, i.id, error=BatchError.of(exc))) for i in chunk]
            )
            return None
        if self.journal is not None:
            await self.journal.set_submitted(token, batch_id)
        return _Open(replace(sub, batch_id=batch_id, state="submitted"), api, ep)

    async def _wait(self, active: list[_Open]) -> None:
        while active:
            for opened in list(active):
                assert opened.sub.batch_id is not None
                try:
                    polled = await opened.api.poll(opened.ep, opened.sub.batch_id)
                except LLMRelayError as exc:
                    opened.failures += 1
                    if exc.retryable and opened.failures < MAX_POLL_FAILURES:
                        log.warning("polling batch %s failed (%s); polling again", opened.sub.batch_id, exc)
                        continue
                    if exc.retryable:
                        raise  # the provider is out of reach: stop; a resumed run polls this batch again
                    await self._collect(
                        opened, {}, BatchItemNotRunError(f"the batch cannot be read: {exc.message}")
                    )
                    active.remove(opened)
                    continue
                opened.done = polled.done
                opened.failures = 0
                if polled.ended:
                    outcomes = await opened.api.fetch(opened.ep, polled)
                    await self._collect(opened, outcomes, opened.api.refusal(polled))
                    active.remove(opened)
            if self.sink.progress is not None:
                running = sum(min(o.done, len(o.sub.indices)) for o in active)
                self.sink.progress.update(len(self.sink.results) + running, self.sink.failed, self.sink.cost)
            if active:
                await asyncio.sleep(self._interval(active))

    def _interval(self, active: list[_Open]) -> float:
        if self.poll is not None:
            return self.poll
        return min(POLL_SIMULATOR if is_simulator(o.ep.base_url) else POLL_PROVIDER for o in active)

    async def _collect(
        self, opened: _Open, outcomes: dict[str, Outcome], refusal: LLMRelayError | None
    ) -> None:
        pairs: list[tuple[BatchItem, BatchResult]] = []
        for index in opened.sub.indices:
            item = self.by_index.get(index)
            if item is None:
                continue  # done in an earlier run (or no longer pending)
            outcome = outcomes.get(custom_id(index))
            if outcome is None:
                outcome = refusal or BatchItemNotRunError(
                    f"the provider's results for batch {opened.sub.batch_id} leave out this request"
                )
            if isinstance(outcome, ChatResponse):
                pairs.append((item, BatchResult(index, item.id, response=self._priced(opened.ep, outcome))))
            else:
                pairs.append((item, BatchResult(index, item.id, error=BatchError.of(outcome))))
        await self.sink.put_many(pairs, collected=opened.sub.token)

    def _priced(self, ep: Endpoint, resp: ChatResponse) -> ChatResponse:
        catalog = self.client.catalog
        host = ep.host or ep.provider
        info = catalog.lookup(host, ep.model) or (catalog.lookup(host, resp.model) if resp.model else None)
        return replace(resp, cost=catalog.batch_cost(info, resp.usage), latency=None)
