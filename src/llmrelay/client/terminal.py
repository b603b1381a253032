"""The innermost handlers: one upstream request per call of theirs.

Each takes the call's current deployment (``call.attempt``, else the route's first),
translates with the provider adapter (pure), sends with the pooled transport, and fills
``call.outcome`` once: usage, cost, ids and, for streams, the text and time to first
token as they pass. A stream starts with a ``StreamStart`` naming who answers and
finishes with a ``StreamEnd`` carrying usage, finish reason, cost and provider state.
The one exception to one request per call: a chat refused with ``ServerStateLostError``
(the provider lost server-held conversation state, e.g. an Anthropic thread) is resent
once with the error's ``resend_options``, which make the adapter send the whole history.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from llmrelay.catalog import Catalog, Charge, ModelInfo
from llmrelay.catalog.fit import fit_request
from llmrelay.errors import LLMRelayError, ServerStateLostError, StreamTruncatedError
from llmrelay.hosts import HOSTS
from llmrelay.pipeline import Call, Hooks
from llmrelay.providers import Adapter
from llmrelay.types import (
    CONTENT_EVENTS,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    StreamEnd,
    StreamEvent,
    StreamStart,
    Usage,
)
from llmrelay.wire import with_trace_headers

if TYPE_CHECKING:
    from llmrelay.tokens import TokenCount
    from llmrelay.transport.http import Transport
    from llmrelay.wire import Endpoint

_INFO_LIMIT = 4096  # bounded: reported model names are provider-controlled


class Terminal:
    """Sends calls upstream; the pipeline's innermost step for every operation."""

    def __init__(
        self,
        transport: Transport,
        adapter: Callable[[str], Adapter],
        catalog: Catalog,
        hooks: Hooks,
    ) -> None:
        self._transport = transport
        self._adapter = adapter
        self._catalog = catalog
        self._hooks = hooks
        self._infos: dict[tuple[str, str, str], ModelInfo | None] = {}

    # ------------------------------------------------------------------ pricing

    def model_info(self, ep: Endpoint, reported: str | None) -> ModelInfo | None:
        """The catalog entry for a deployment: by its configured model id first (an
        override may name a deployment), else by the model the provider reported."""
        host = ep.host or ep.provider
        key = (host, ep.model, reported or "")
        if key in self._infos:
            return self._infos[key]
        info = self._catalog.lookup(host, ep.model)
        if info is None and reported:
            info = self._catalog.lookup(host, reported)
        if len(self._infos) < _INFO_LIMIT:
            self._infos[key] = info
        return info

    def charge(
        self,
        ep: Endpoint,
        reported: str | None,
        usage: Usage | None,
        details: Mapping[str, Any] | None = None,
    ) -> Charge | None:
        """What the call cost, under the service tier the provider reports it used
        (``details["service_tier"]``)."""
        if usage is None:
            return None
        tier = details.get("service_tier") if details else None
        return self._catalog.charge(
            self.model_info(ep, reported), usage, tier if isinstance(tier, str) else None
        )

    def cost(self, ep: Endpoint, reported: str | None, usage: Usage | None) -> float | None:
        charged = self.charge(ep, reported, usage)
        return None if charged is None else charged.cost

    def fitted(self, req: ChatRequest, ep: Endpoint) -> ChatRequest:
        """The request as the deployment's model can take it (``llmrelay.catalog.fit``):
        refused here, before any I/O, where the model cannot honour a field."""
        return fit_request(req, self.model_info(ep, None), ep.provider, ep.host or ep.provider)

    def _sending(self, call: Call) -> None:
        if self._hooks.attempt:
            self._hooks.fire(self._hooks.attempt, call)

    # ------------------------------------------------------------------ chat

    async def chat(self, call: Call) -> ChatResponse:
        dep = call.deployment()
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        req = self.fitted(call.chat, ep)
        http = with_trace_headers(adapter.chat_request(req, ep, stream=False), call.trace_headers)
        self._sending(call)
        t0 = time.perf_counter()
        resp = await self._transport.send(http)
        if resp.status >= 300:
            err = adapter.parse_error(resp.status, resp.headers, resp.body, ep)
            fresh = _resend_endpoint(err, ep)
            if fresh is None:
                raise err
            ep = fresh
            http = with_trace_headers(adapter.chat_request(req, ep, stream=False), call.trace_headers)
            self._sending(call)
            resp = await self._transport.send(http)
            if resp.status >= 300:
                raise adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        latency = time.perf_counter() - t0
        out = adapter.parse_chat(resp.body, ep, include_raw=call.include_raw)
        call.report.deployment = dep.name
        charged = self.charge(ep, out.model, out.usage, out.details)
        result = replace(
            out,
            request_id=adapter.request_id(resp.headers),
            latency=latency,
            cost=charged.cost if charged is not None else None,
            meta=call.report,
        )
        call.outcome.set_response(result)
        call.outcome.cache_savings = charged.cache_savings if charged is not None else None
        return result

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        dep = call.deployment()
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        req = self.fitted(call.chat, ep)
        http = with_trace_headers(adapter.chat_request(req, ep, stream=True), call.trace_headers)
        out = call.outcome
        self._sending(call)
        async with AsyncExitStack() as held:
            resp = await held.enter_async_context(self._transport.stream(http))
            if resp.status >= 300:
                body = await resp.read()
                err = adapter.parse_error(resp.status, resp.headers, body, ep)
                fresh = _resend_endpoint(err, ep)
                if fresh is None:
                    raise err
                await held.aclose()  # give the refused response back to the pool first
                ep = fresh
                http = with_trace_headers(adapter.chat_request(req, ep, stream=True), call.trace_headers)
                self._sending(call)
                resp = await held.enter_async_context(self._transport.stream(http))
                if resp.status >= 300:
                    body = await resp.read()
                    raise adapter.parse_error(resp.status, resp.headers, body, ep)
            provider = ep.host or ep.provider
            request_id = adapter.request_id(resp.headers)
            parser = adapter.stream_parser(ep)
            add = out.add
            announced = False
            async for sse in resp.aiter_sse():
                events = parser.feed(sse)
                if not announced:
                    if not events and not parser.response_id:
                        continue
                    # providers name the response and model once, up front
                    announced = True
                    yield self._start(call, dep.name, provider, request_id, parser.response_id, parser.model)
                for ev in events:
                    if out.ttft is None and isinstance(ev, CONTENT_EVENTS):
                        out.ttft = time.perf_counter() - call.started
                    add(ev)
                    yield ev
            if not parser.done:
                raise StreamTruncatedError(
                    "the stream ended before the provider's end-of-stream marker; the answer is incomplete",
                    provider=provider,
                    model=ep.model,
                    request_id=request_id,
                )
            if not announced:
                yield self._start(call, dep.name, provider, request_id, parser.response_id, parser.model)
            if parser.model:
                out.model = parser.model
            out.provider_state = parser.provider_state or None
            out.details = parser.details
            charged = self.charge(ep, out.model, out.usage, out.details)
            out.cost = charged.cost if charged is not None else None
            out.cache_savings = charged.cache_savings if charged is not None else None
            out.complete = True
            yield StreamEnd(
                out.finish_reason or "stop", out.native_finish_reason, out.usage, out.cost, out.provider_state
            )

    @staticmethod
    def _start(
        call: Call, deployment: str, provider: str, request_id: str | None, rid: str | None, model: str | None
    ) -> StreamStart:
        out = call.outcome
        out.answering = True
        out.response_id = rid or ""
        out.model = model or call.deployment().endpoint.model
        out.provider = provider
        out.request_id = request_id
        call.report.deployment = deployment
        return StreamStart(out.response_id, out.model, provider, deployment, request_id)

    # ------------------------------------------------------------------ embeddings

    async def embed(self, call: Call) -> EmbeddingResponse:
        req = call.request
        assert type(req) is EmbeddingRequest
        dep = call.deployment()
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        http = with_trace_headers(adapter.embed_request(req, ep), call.trace_headers)
        self._sending(call)
        t0 = time.perf_counter()
        resp = await self._transport.send(http)
        latency = time.perf_counter() - t0
        if resp.status >= 300:
            raise adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        parsed = adapter.parse_embed(resp.body, ep)
        call.report.deployment = dep.name
        out = call.outcome
        out.usage = parsed.usage
        out.cost = self.cost(ep, parsed.model, parsed.usage)
        out.model = parsed.model
        out.provider = parsed.provider
        out.request_id = adapter.request_id(resp.headers)
        out.complete = True
        result = replace(parsed, request_id=out.request_id, latency=latency, cost=out.cost, meta=call.report)
        out.response = result
        return result

    # ------------------------------------------------------------------ token counts

    async def count(self, call: Call) -> TokenCount:
        """Deployments whose protocol has a count endpoint (with a key, or the simulator)
        are asked with the provider's own free endpoint, which is exact; others are
        counted offline."""
        from llmrelay.tokens import TokenCount, count_for

        dep = call.deployment()
        ep = dep.endpoint
        req = self.fitted(call.chat, ep)
        adapter = self._adapter(ep.provider)
        host = HOSTS.get(ep.host)
        http = adapter.count_request(req, ep)
        call.report.deployment = dep.name
        keyless = ep.api_key is None and (host is None or host.key_required)
        if http is None or adapter.count_method is None or keyless:
            return count_for(req, self.model_info(ep, None), ep.provider, ep.model)
        self._sending(call)
        resp = await self._transport.send(with_trace_headers(http, call.trace_headers))
        call.outcome.request_id = adapter.request_id(resp.headers)
        if resp.status >= 300:
            raise adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        return TokenCount(adapter.parse_count(resp.body, ep), True, adapter.count_method)


def _resend_endpoint(err: LLMRelayError, ep: Endpoint) -> Endpoint | None:
    """The endpoint to resend a chat with once, when the provider lost server-side state the
    request continued from (``ServerStateLostError``); None when a resend cannot help,
    including when ``ep`` already carries the error's resend options."""
    if not isinstance(err, ServerStateLostError) or not err.resend_options:
        return None
    if all(ep.options.get(k) == v for k, v in err.resend_options.items()):
        return None
    return replace(ep, options={**ep.options, **err.resend_options})
