"""The async Client: the library's front door.

    async with llmrelay.Client() as client:
        reply = await client.chat("Hello")                 # the built-in simulator
        reply = await client.chat(messages, model="openai/gpt-4o-mini")
        async for ev in client.stream("Tell me a story"):
            ...

A call becomes a ``ChatRequest``, is validated, goes through the middleware pipeline
and ends in the terminal handler here, which resolves the model to a deployment,
translates with the provider adapter and sends with the pooled transport.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx2

from llmrelay.catalog import Catalog, ModelInfo, overrides_from_settings
from llmrelay.errors import InvalidRequestError, StreamTruncatedError
from llmrelay.hosts import HOSTS, SIMULATOR_URL
from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.pipeline import Call, Middleware, Pipeline
from llmrelay.providers import Adapter, load_adapter
from llmrelay.providers.base import request_id_from
from llmrelay.resolve import Deployment, Resolver, Route
from llmrelay.settings import Settings, read_key_file
from llmrelay.state import StateContext
from llmrelay.stream import ChatStream
from llmrelay.types import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ForcedTool,
    ResponseFormat,
    StreamEvent,
    Tool,
    ToolChoice,
    Usage,
    UsageEvent,
)
from llmrelay.validation import validate_embedding, validate_request

if TYPE_CHECKING:
    from llmrelay.tokens import TokenCount
    from llmrelay.transport.http import Transport
    from llmrelay.wire import Endpoint

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "apim-request-id", "x-goog-request-id")


class Client:
    """Talk to any configured model through one pipeline.

    ``settings`` (or ``config=`` a YAML path) configures aliases, timeouts and the
    simulator; ``environ`` is where API keys are looked up (``os.environ`` by default,
    plus ``settings.key_file``). ``middleware`` replaces the pipeline built from settings
    (``llmrelay.middleware.STACK``), outermost first.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        middleware: Sequence[Middleware] | None = None,
        transport: Transport | None = None,
    ) -> None:
        from llmrelay.transport.http import LazyTransport, Timeouts, Transport

        self.settings = settings if settings is not None else Settings.load(config)
        env = dict(os.environ if environ is None else environ)
        if self.settings.key_file is not None:
            env = {**read_key_file(self.settings.key_file), **env}
        self._resolver = Resolver(self.settings, env)
        #: model facts and prices (the shipped catalog with the configuration's overrides)
        self.catalog = Catalog.load(overrides_from_settings(self.settings))
        self._infos: dict[tuple[str, str, str], ModelInfo | None] = {}
        self._routes: dict[str | None, Route] = {}
        self._adapters: dict[str, Adapter] = {}
        self._simulator: Any = None
        if transport is None:
            t = self.settings.timeouts
            transport = Transport(
                timeouts=Timeouts(connect=t.connect, read=t.read, total=t.total),
                mounts={SIMULATOR_URL: LazyTransport(self._simulator_transport)},
            )
            self._owns_transport = True
        else:
            self._owns_transport = False
        self._transport = transport
        self.state = StateContext(self.settings.state.redis_url, self.settings.state.prefix)
        if middleware is None:
            from llmrelay.middleware import StackContext, build_stack

            middleware = build_stack(
                StackContext(self.settings, self._route, self.state, env, catalog=self.catalog)
            )
        self._middleware = tuple(middleware)
        self._pipeline = Pipeline.build(self._middleware, self._send, self._send_stream)

    # ------------------------------------------------------------------ public API

    async def chat(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        include_raw: bool = False,
        **params: Any,
    ) -> ChatResponse:
        """Send a chat request and wait for the whole reply.

        ``messages`` is a string (one user turn), Messages, OpenAI-style dicts, or a
        ready ``ChatRequest``. ``params`` are ChatRequest fields: temperature, top_p,
        max_tokens, stop, seed, presence_penalty, frequency_penalty, tools,
        tool_choice, parallel_tool_calls, response_format, user, metadata, tags,
        extra, extra_headers.
        """
        call = Call(self._request(messages, model, params), stream=False, include_raw=include_raw)
        return await self._pipeline.unary(call)

    def stream(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        **params: Any,
    ) -> ChatStream:
        """Start a streamed chat; iterate the result (see ``ChatStream``).

        The request is validated now; the connection opens on first iteration.
        """
        call = Call(self._request(messages, model, params), stream=True)
        return ChatStream(call, self._pipeline.stream(call))

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        user: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> EmbeddingResponse:
        """Embed one text or many; ``vectors`` on the result is in input order."""
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        req = EmbeddingRequest(
            model=model or self.settings.default_model,
            inputs=texts,
            dimensions=dimensions,
            user=user,
            extra=extra,
        )
        validate_embedding(req)
        dep = self._route(req.model).deployments[0]
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        http = adapter.embed_request(req, ep)
        t0 = time.perf_counter()
        resp = await self._transport.send(http)
        if resp.status >= 300:
            raise adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        out = adapter.parse_embed(resp.body, ep)
        return replace(
            out,
            request_id=request_id_from(resp.headers, *_REQUEST_ID_HEADERS),
            latency=time.perf_counter() - t0,
        )

    async def count_tokens(
        self, messages: MessagesLike | ChatRequest, *, model: str | None = None, **params: Any
    ) -> TokenCount:
        """Prompt tokens of a chat call, without making it.

        Anthropic and Gemini deployments (with a key, or the simulator) are asked with
        the provider's own free count endpoint, which is exact; other models are counted
        offline (exact for OpenAI's encodings, an estimate otherwise — see ``exact``).
        """
        from llmrelay.tokens import TokenCount, count_for
        from llmrelay.tokens.remote import METHODS, count_request, parse_count

        req = self._request(messages, model, params)
        ep = self._route(req.model).deployments[0].endpoint
        host = HOSTS.get(ep.host)
        http = count_request(req, ep)
        if http is None or (ep.api_key is None and (host is None or host.key_required)):
            return count_for(req, self._model_info(ep, None), ep.provider, ep.model)
        resp = await self._transport.send(http)
        if resp.status >= 300:
            raise self._adapter(ep.provider).parse_error(resp.status, resp.headers, resp.body, ep)
        return TokenCount(parse_count(ep.provider, resp.body), True, METHODS[ep.provider])

    def route(self, model: str | None = None) -> Route:
        """What a model name resolves to (raises the same errors a call would)."""
        return self._route(model)

    def _simulator_transport(self) -> httpx2.AsyncBaseTransport:
        from llmrelay.transport.asgi import StreamingASGITransport

        return StreamingASGITransport(self.simulator.app)

    @property
    def simulator(self) -> Any:
        """The in-process simulator behind ``local`` and ``simulator/…`` models (created on first use)."""
        if self._simulator is None:
            from llmrelay.simulator import Simulator, SimulatorConfig

            s = self.settings.simulator
            self._simulator = Simulator(
                SimulatorConfig(
                    seed=s.seed, latency=s.latency, ttft=s.ttft, tokens_per_second=s.tokens_per_second
                )
            )
        return self._simulator

    async def aclose(self) -> None:
        """Close middleware resources (flushing what they buffer), shared state and the transport."""
        for mw in reversed(self._middleware):
            closer = getattr(mw, "aclose", None)
            if closer is not None:
                await closer()
        await self.state.aclose()
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    def _request(
        self, messages: MessagesLike | ChatRequest, model: str | None, params: dict[str, Any]
    ) -> ChatRequest:
        if isinstance(messages, ChatRequest):
            changes = {**_normalize(params), **({"model": model} if model else {})}
            req = replace(messages, **changes) if changes else messages
        else:
            req = ChatRequest(
                model=model or self.settings.default_model,
                messages=coerce_messages(messages),
                **_normalize(params),
            )
        validate_request(req)
        self._route(req.model)  # unknown model or missing key fails here, before any I/O
        return req

    def _route(self, model: str | None) -> Route:
        route = self._routes.get(model)
        if route is None:
            route = self._routes[model] = self._resolver.resolve(model)
        return route

    def _adapter(self, protocol: str) -> Adapter:
        adapter = self._adapters.get(protocol)
        if adapter is None:
            adapter = self._adapters[protocol] = load_adapter(protocol)
        return adapter

    def _model_info(self, ep: Endpoint, reported: str | None) -> ModelInfo | None:
        """The catalog entry for a deployment: by its configured model id first (an
        override may name a deployment), else by the model the provider reported."""
        host = ep.host or ep.provider
        key = (host, ep.model, reported or "")
        if key in self._infos:
            return self._infos[key]
        info = self.catalog.lookup(host, ep.model)
        if info is None and reported:
            info = self.catalog.lookup(host, reported)
        if len(self._infos) < 4096:  # bounded: reported names are provider-controlled
            self._infos[key] = info
        return info

    def _cost(self, ep: Endpoint, reported: str | None, usage: Usage | None) -> float | None:
        if usage is None:
            return None
        return self.catalog.cost(self._model_info(ep, reported), usage)

    def _pick(self, call: Call) -> Deployment:
        # Routing among several deployments and fallbacks belongs to the routing
        # middleware, which sets call.meta["deployment"]; without it, the first one.
        chosen = call.meta.get("deployment")
        if isinstance(chosen, Deployment):
            return chosen
        return self._route(call.request.model).deployments[0]

    async def _send(self, call: Call) -> ChatResponse:
        dep = self._pick(call)
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        http = adapter.chat_request(call.request, ep, stream=False)
        t0 = time.perf_counter()
        resp = await self._transport.send(http)
        latency = time.perf_counter() - t0
        if resp.status >= 300:
            raise adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        out = adapter.parse_chat(resp.body, ep, include_raw=call.include_raw)
        meta = call.meta
        meta["deployment"] = dep.name
        return replace(
            out,
            request_id=request_id_from(resp.headers, *_REQUEST_ID_HEADERS),
            latency=latency,
            cost=self._cost(ep, out.model, out.usage),
            meta=meta,
        )

    async def _send_stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        dep = self._pick(call)
        ep = dep.endpoint
        adapter = self._adapter(ep.provider)
        http = adapter.chat_request(call.request, ep, stream=True)
        meta = call.meta
        async with self._transport.stream(http) as resp:
            if resp.status >= 300:
                body = await resp.read()
                raise adapter.parse_error(resp.status, resp.headers, body, ep)
            meta["deployment"] = dep.name
            meta["provider"] = ep.host or ep.provider
            meta["model"] = ep.model
            meta["request_id"] = request_id_from(resp.headers, *_REQUEST_ID_HEADERS)
            parser = adapter.stream_parser(ep)
            identified = False
            async for sse in resp.aiter_sse():
                events = parser.feed(sse)
                if not identified and parser.response_id:
                    identified = True  # providers name the response and model once, up front
                    meta["response_id"] = parser.response_id
                    if parser.model:
                        meta["model"] = parser.model
                for ev in events:
                    if type(ev) is UsageEvent:  # the last usage seen is the call's total
                        meta["cost"] = self._cost(ep, parser.model or ep.model, ev.usage)
                    yield ev
            if parser.model:
                meta["model"] = parser.model
            state = parser.provider_state
            if state:
                meta["provider_state"] = state
            if not parser.done:
                raise StreamTruncatedError(
                    "the stream ended before the provider's end-of-stream marker; the answer is incomplete",
                    provider=meta["provider"],
                    model=ep.model,
                    request_id=meta["request_id"],
                )


def _normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Accept the convenient spellings people use for a few fields."""
    out = dict(params)
    stop = out.get("stop")
    if isinstance(stop, str):
        out["stop"] = (stop,)
    tools = out.get("tools")
    if tools is not None:
        out["tools"] = tuple(t if isinstance(t, Tool) else _tool_from_dict(t) for t in tools)
    rf = out.get("response_format")
    if isinstance(rf, str):
        out["response_format"] = ResponseFormat(type=rf)  # type: ignore[arg-type]  # validated later
    elif isinstance(rf, Mapping):
        out["response_format"] = _format_from_dict(rf)
    tc: ToolChoice | Any = out.get("tool_choice")
    if isinstance(tc, Mapping):
        name = tc.get("name") or (tc.get("function") or {}).get("name")
        out["tool_choice"] = ForcedTool(str(name))
    tags = out.get("tags")
    if tags is not None:
        out["tags"] = tuple(tags)
    return out


def _tool_from_dict(t: Any) -> Tool:
    if not isinstance(t, Mapping):
        raise InvalidRequestError(f"tools entries must be llmrelay.Tool or dicts, got {type(t).__name__}")
    fn = t.get("function", t)
    return Tool(
        name=fn.get("name", ""),
        description=fn.get("description"),
        parameters=fn.get("parameters") or {"type": "object", "properties": {}},
        strict=fn.get("strict"),
    )


def _format_from_dict(rf: Mapping[str, Any]) -> ResponseFormat:
    kind = rf.get("type", "text")
    if kind == "json_schema":
        js = rf.get("json_schema", rf)
        return ResponseFormat(
            type="json_schema", schema=js.get("schema"), name=js.get("name"), strict=js.get("strict")
        )
    return ResponseFormat(type=kind)
