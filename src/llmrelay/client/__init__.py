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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx2

from llmrelay.cache.policy import CacheOptions
from llmrelay.catalog import Catalog, overrides_from_settings
from llmrelay.client.terminal import Terminal
from llmrelay.errors import InvalidRequestError
from llmrelay.hosts import SIMULATOR_URL
from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.pipeline import Call, Hooks, Layer, Pipeline, Resume
from llmrelay.pipeline.context import StackContext
from llmrelay.providers import Adapter, load_adapter
from llmrelay.resilience.lru import Bounded
from llmrelay.resolve import Resolver, Route
from llmrelay.settings import Settings, read_key_file
from llmrelay.state import StateContext
from llmrelay.stream import ChatStream
from llmrelay.types import (
    ChatRequest,
    ChatResponse,
    CountRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ForcedTool,
    PromptCache,
    Reasoning,
    ResponseFormat,
    SafetySetting,
    Subject,
    Tool,
    ToolChoice,
)
from llmrelay.validation import validate_embedding, validate_request

if TYPE_CHECKING:
    from llmrelay.middleware.stack import Placement
    from llmrelay.tokens import TokenCount
    from llmrelay.transport.http import Transport

#: how many distinct model names keep their resolved route (callers may send any name)
ROUTE_CACHE = 1024


class Client:
    """Talk to any configured model through one pipeline.

    ``settings`` (or ``config=`` a YAML path) configures aliases, timeouts and the
    simulator; ``environ`` is where API keys are looked up (``os.environ`` by default,
    plus ``settings.key_file``). The pipeline is built from settings
    (``llmrelay.middleware.stack.STACK``); ``layers`` places your own layers at named
    slots (``llmrelay.before("retry", MyLayer())``); ``middleware`` replaces the whole
    stack, outermost first (``middleware=[]``: no layers at all).

    Faces that know who is calling (the gateway, a service acting for its users) build a
    ``Call`` with its ``subject`` and ``deadline`` and use ``send`` / ``send_stream``;
    ``hooks`` is where metrics, traces and logs attach (see ``llmrelay.pipeline.hooks``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        middleware: Sequence[Layer] | None = None,
        layers: Sequence[Placement] = (),
        transport: Transport | None = None,
    ) -> None:
        from llmrelay.transport.http import LazyTransport, Timeouts, Transport

        self.settings = settings if settings is not None else Settings.load(config)
        env = dict(os.environ if environ is None else environ)
        if self.settings.key_file is not None:
            env = {**read_key_file(self.settings.key_file), **env}
        #: model facts and prices (the shipped catalog with the configuration's overrides)
        self.catalog = Catalog.load(overrides_from_settings(self.settings))
        self._resolver = Resolver(self.settings, env, self.catalog)
        self._routes: Bounded[str | None, Route] = Bounded(ROUTE_CACHE)
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
        #: event hooks: request, attempt, response, error (see ``llmrelay.pipeline.hooks``)
        self.hooks = Hooks()
        if middleware is None:
            from llmrelay.middleware.stack import build_stack

            ctx = StackContext(
                self.settings,
                self._route,
                self.state,
                env,
                catalog=self.catalog,
                send=self.send,
                transport=self._transport,
            )
            middleware = build_stack(ctx, layers)
        elif layers:
            raise InvalidRequestError(
                "give either middleware= (the whole stack) or layers= (placements), not both"
            )
        self._middleware = tuple(middleware)
        self._terminal = Terminal(self._transport, self._adapter, self.catalog, self.hooks)
        self._pipeline = Pipeline.build(
            self._middleware,
            chat=self._terminal.chat,
            stream=self._terminal.stream,
            embed=self._terminal.embed,
            count=self._terminal.count,
        )

    # ------------------------------------------------------------------ public API

    async def chat(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        include_raw: bool = False,
        subject: Subject | None = None,
        deadline: float | None = None,
        cache: str | CacheOptions | None = None,
        **params: Any,
    ) -> ChatResponse:
        """Send a chat request and wait for the whole reply.

        ``messages`` is a string (one user turn), Messages, OpenAI-style dicts, or a
        ready ``ChatRequest``. ``params`` are ChatRequest fields: temperature, top_p,
        max_tokens, stop, seed, presence_penalty, frequency_penalty, tools,
        tool_choice, parallel_tool_calls, response_format, user, metadata, tags,
        extra, extra_headers, reasoning (a ``Reasoning``, an effort such as ``"low"``, or
        a dict of its fields), prompt_cache (a ``PromptCache`` or a dict), service_tier,
        top_k, safety_settings (``SafetySetting``s or ``{category, threshold}`` dicts),
        logprobs, top_logprobs, verbosity and n (docs/library.md has which provider
        honours which). ``subject`` says who the call is for (default: the
        request's ``user`` and ``tags``); ``deadline`` bounds the whole call in seconds;
        ``cache`` is ``off``, ``read``, ``write``, ``refresh`` or ``CacheOptions`` (docs/caching.md).
        """
        req = self._request(messages, model, params)
        call = Call(req, False, subject or _subject_of(req), deadline, include_raw)
        if cache is not None:
            call.ext[CacheOptions] = CacheOptions.of(cache)
        result: ChatResponse = await self.send(call)
        return result

    def stream(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        subject: Subject | None = None,
        deadline: float | None = None,
        resume: Resume | None = None,
        cache: str | CacheOptions | None = None,
        **params: Any,
    ) -> ChatStream:
        """Start a streamed chat; iterate the result (see ``ChatStream``).

        The request is validated and its model resolved now (errors raise here); the
        pipeline runs on first iteration, where every other error surfaces. ``resume``
        overrides ``retry.resume`` for this call; ``cache`` as for ``chat``.
        """
        req = self._request(messages, model, params)
        call = Call(req, True, subject or _subject_of(req), deadline, resume=resume)
        if cache is not None:
            call.ext[CacheOptions] = CacheOptions.of(cache)
        return self.send_stream(call)

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        user: str | None = None,
        extra: Mapping[str, Any] | None = None,
        subject: Subject | None = None,
        deadline: float | None = None,
    ) -> EmbeddingResponse:
        """Embed one text or many; ``vectors`` on the result is in input order. Goes
        through the pipeline: retries, routing, fallbacks, limits, budgets, ledger."""
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        req = EmbeddingRequest(
            model=model or self.settings.default_model,
            inputs=texts,
            dimensions=dimensions,
            user=user,
            extra=extra,
        )
        validate_embedding(req)
        self._route(req.model)
        call = Call(req, False, subject or Subject(user=user), deadline)
        result: EmbeddingResponse = await self.send(call)
        return result

    async def count_tokens(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        subject: Subject | None = None,
        **params: Any,
    ) -> TokenCount:
        """Prompt tokens of a chat call, without making it.

        Anthropic and Gemini deployments (with a key, or the simulator) are asked with
        the provider's own free count endpoint, which is exact; other models are counted
        offline (exact for OpenAI's encodings, an estimate otherwise — see ``exact``).
        """
        req = self._request(messages, model, params)
        result: TokenCount = await self.send(Call(CountRequest(req), False, subject or _subject_of(req)))
        return result

    async def send(self, call: Call) -> Any:
        """Send a unary call (chat, embedding or token count) through the pipeline.

        For faces that build their own ``Call`` (with its subject and deadline). Returns
        a ``ChatResponse``, ``EmbeddingResponse`` or ``TokenCount``.
        """
        if call.stream:
            raise InvalidRequestError("a streamed Call goes to client.send_stream(call)")
        if call.route is None:
            call.route = self._route(call.model)
        call.started = time.perf_counter()
        hooks = self.hooks
        if hooks.request:
            hooks.fire(hooks.request, call)
        try:
            result = await self._pipeline.unary(call)
        except BaseException as exc:
            if hooks.error:
                hooks.fire_error(call, exc)
            raise
        if hooks.response:
            hooks.fire(hooks.response, call)
        return result

    def send_stream(self, call: Call) -> ChatStream:
        """Start a streamed chat ``Call``; nothing is sent until it is iterated (or
        ``await stream.start()``)."""
        if not call.stream or call.op != "chat":
            raise InvalidRequestError("send_stream takes a chat Call with stream=True")
        if call.route is None:
            call.route = self._route(call.model)
        return ChatStream(call, self._pipeline.stream, self.hooks)

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
        """Close layer resources (flushing what they buffer), shared state and the transport."""
        for layer in reversed(self._middleware):
            await layer.aclose()
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
        return self._routes.get_or_make(model, lambda: self._resolver.resolve(model))

    def _adapter(self, protocol: str) -> Adapter:
        adapter = self._adapters.get(protocol)
        if adapter is None:
            adapter = self._adapters[protocol] = load_adapter(protocol)
        return adapter


def _subject_of(req: ChatRequest) -> Subject:
    """The library caller's own calls: who they are for is the request's user and tags."""
    if req.user is None and not req.tags:
        return _NOBODY
    return Subject(user=req.user, tags=tuple(req.tags))


_NOBODY = Subject()


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
    reasoning = out.get("reasoning")
    if isinstance(reasoning, str):
        out["reasoning"] = Reasoning(effort=reasoning)  # type: ignore[arg-type]  # validated later
    elif isinstance(reasoning, Mapping):
        out["reasoning"] = Reasoning(**reasoning)
    cache = out.get("prompt_cache")
    if isinstance(cache, Mapping):
        out["prompt_cache"] = PromptCache(**cache)
    safety = out.get("safety_settings")
    if safety is not None and not isinstance(safety, str):
        out["safety_settings"] = tuple(SafetySetting(**s) if isinstance(s, Mapping) else s for s in safety)
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
