"""The simulator's Gemini API: ``models/{model}:generateContent`` and friends, under ``/v1beta`` and ``/v1``.

``:streamGenerateContent?alt=sse`` streams ``data: {chunk}\\r\\n\\r\\n`` events; without
``alt=sse`` the answer is one JSON array of chunks, as the real service sends it.
Request checks run in the service's order: credentials, method, body, model, context
window. Only a request that passes them is counted by ``Simulator.begin`` and may
receive a scripted fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from llmrelay.simulator.core import DEFAULT_MODELS, Simulator
from llmrelay.simulator.engine import GenerationInput, prompt_tokens, split_tokens
from llmrelay.simulator.faults import Fault, RequestInfo
from llmrelay.simulator.gemini_cache import CachedContents, CacheRefused
from llmrelay.simulator.gemini_invalid import GeminiInvalid, get
from llmrelay.simulator.gemini_request import (
    GenerateCall,
    parse_batch_embed,
    parse_count_tokens,
    parse_embed,
    parse_generate,
)
from llmrelay.simulator.gemini_response import (
    Extras,
    StreamChunk,
    chunk_pieces,
    error_body,
    response_body,
    stream_chunks,
)
from llmrelay.simulator.gemini_thinking import GeminiThinking, check_signatures, parse_thinking, think
from llmrelay.simulator.prompt_cache import AutoRule, prompt_sequence
from llmrelay.simulator.responses import ResetResponse, TruncatedResponse, dumps, json_response, sse_response
from llmrelay.simulator.vectors import embedding_vector

PROTOCOL = "gemini"
# Implicit caching: Google documents a minimum prompt per model (1,024 tokens for Flash models,
# 4,096 for Pro) and no increment; the simulator counts hits in 128-token steps, and an entry
# lives five minutes after its last use.
IMPLICIT_CACHE_STEP = 128
IMPLICIT_CACHE_TTL = 300.0


def implicit_cache_minimum(model: str) -> int:
    return 4096 if "-pro" in model.lower() else 1024


_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_QUOTA_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
_KEY_INVALID = "API key not valid. Please pass a valid API key."
_DEFAULT_MESSAGES = {
    429: "You exceeded your current quota, please check your plan and billing details. For more information "
    "on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}


def _error(code: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    return json_response(error_body(code, message, details), code)


def _key_invalid() -> Response:
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        },
        {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            "locale": "en-US",
            "message": _KEY_INVALID,
        },
    ]
    return _error(400, _KEY_INVALID, details)


def fault_error(fault: Fault) -> tuple[int, dict[str, Any]]:
    """Status and body of a ``status`` fault; 529 (Anthropic's overloaded) is 503 UNAVAILABLE here."""
    code = 503 if fault.status == 529 else fault.status
    message = fault.message or _DEFAULT_MESSAGES.get(code, "Request failed.")
    details: list[dict[str, Any]] = []
    if code == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": _QUOTA_METRIC,
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            }
        )
        wait = fault.retry_after if fault.retry_after is not None else 1.0
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(wait)}s"}
        )
    return code, error_body(code, message, details or None)


def _not_found(model: str, method: str, version: str) -> Response:
    return _error(
        404,
        f"models/{model} is not found for API version {version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods.",
    )


def _model_resource(model: str) -> dict[str, Any]:
    embedding_model = "embedding" in model
    return {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "inputTokenLimit": 2048 if embedding_model else 1_048_576,
        "outputTokenLimit": 1 if embedding_model else 65_536,
        "supportedGenerationMethods": (
            ["embedContent", "batchEmbedContents"]
            if embedding_model
            else ["generateContent", "streamGenerateContent", "countTokens"]
        ),
    }


class _Api:
    """The endpoints, bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.caches = CachedContents(sim.clock, implicit_cache_minimum)

    def _gate(self, request: Request) -> Response | None:
        presented = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if self.sim.check_key(presented):
            return None
        return _key_invalid() if presented else _error(403, _UNREGISTERED)

    async def cached_contents(self, request: Request) -> Response:
        """``cachedContents`` (POST: create; GET: list) and ``cachedContents/{id}`` (GET, DELETE)."""
        refusal = self._gate(request)
        if refusal is not None:
            return refusal
        name = request.path_params.get("cache")
        try:
            if name is None and request.method == "POST":
                try:
                    body = json.loads(await request.body())
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return _error(400, "Invalid JSON payload received.")
                return json_response(self.caches.create(body))
            if name is None:
                return json_response({"cachedContents": self.caches.list()})
            if request.method == "DELETE":
                self.caches.delete(f"cachedContents/{name}")
                return json_response({})
            return json_response(self.caches.get(f"cachedContents/{name}"))
        except CacheRefused as exc:
            return _error(exc.status, exc.message)
        except GeminiInvalid as exc:
            return _error(400, exc.message)

    async def unknown(self, request: Request) -> Response:
        return _error(404, f"Method not found: {request.method} {request.url.path}")

    async def models(self, request: Request) -> Response:
        refusal = self._gate(request)
        if refusal is not None:
            return refusal
        names = self.sim.config.models if self.sim.config.models is not None else DEFAULT_MODELS
        listed = sorted(n for n in names if n.startswith(("gemini", "text-embedding", "sim")))
        return json_response({"models": [_model_resource(n) for n in listed]})

    async def model(self, request: Request) -> Response:
        refusal = self._gate(request)
        if refusal is not None:
            return refusal
        version = request.url.path.split("/")[1]
        target = request.path_params["target"]
        model, _, method = target.partition(":")
        if request.method == "GET" and not method:
            if not self.sim.knows_model(model):
                return _error(404, f"Model is not found: models/{model} for api version {version}")
            return json_response(_model_resource(model))
        handler = {
            "generateContent": self._generate,
            "streamGenerateContent": self._generate,
            "countTokens": self._count_tokens,
            "embedContent": self._embed,
            "batchEmbedContents": self._embed,
        }.get(method)
        if request.method != "POST" or handler is None:
            return await self.unknown(request)
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "Invalid UTF-8"
            return _error(400, f"Invalid JSON payload received. {reason}.")
        if not self.sim.knows_model(model):
            return _not_found(model, method, version)
        try:
            return await handler(request, model, method, body)
        except GeminiInvalid as exc:
            return _error(400, exc.message)

    async def _count_tokens(self, request: Request, model: str, method: str, body: Any) -> Response:
        tokens = parse_count_tokens(model, body)
        return json_response(
            {"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}
        )

    async def _embed(self, request: Request, model: str, method: str, body: Any) -> Response:
        batch = method == "batchEmbedContents"
        inputs = parse_batch_embed(model, body) if batch else [parse_embed(model, body)]
        _, fault = self.sim.begin(PROTOCOL, model, False)
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()  # then answer normally, long after any sensible client timeout
        await self.sim.delay()
        seed = self.sim.config.seed
        vectors = [{"values": embedding_vector(t, model=model, dimensions=n, seed=seed)} for t, n in inputs]
        payload = {"embeddings": vectors} if batch else {"embedding": vectors[0]}
        if fault is not None and fault.kind != "hang":
            return self._unary_fault(fault, dumps(payload))
        return json_response(payload)

    async def _generate(self, request: Request, model: str, method: str, body: Any) -> Response:
        explicit = None
        if isinstance(body, dict) and get(body, "cachedContent") is not None:
            try:
                body, explicit = self.caches.apply(body, model)
            except CacheRefused as exc:
                return _error(exc.status, exc.message)
        call = parse_generate(model, body)
        thinking = parse_thinking(body, model)
        check_signatures(body["contents"], model, self.sim.config.seed)
        conversation = split_tokens(call.generation.conversation)  # counted once, for the count and the cache
        prompt = prompt_tokens(call.generation, len(conversation))
        window = self.sim.config.context_window
        if prompt > window:
            return _error(
                400,
                f"The input token count ({prompt}) exceeds the maximum number of tokens allowed ({window}).",
            )
        stream = method == "streamGenerateContent"
        info, fault = self.sim.begin(PROTOCOL, model, stream)
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()  # then answer normally, long after any sensible client timeout
            fault = None
        await self.sim.delay()
        if fault is not None and (not stream or fault.kind in ("status", "reset")):
            return self._unary_fault(fault, lambda: dumps(self._response(call, info, prompt)))
        extras, inp = self._extras(call, thinking, prompt, conversation, explicit)
        gens = self.sim.generate_many(inp, call.candidates, prompt=prompt)
        self.sim.stats.completion_tokens += extras.thoughts(len(gens))
        response_id = self.sim.new_id("", info, 22)
        if not stream:
            return json_response(response_body(model, response_id, gens, call.enum_output, extras))
        chunks = stream_chunks(model, response_id, gens, call.enum_output, extras)
        if request.query_params.get("alt") == "sse":
            return sse_response(self._stream(chunks, fault, sse=True))
        return StreamingResponse(self._stream(chunks, fault, sse=False), media_type="application/json")

    def _extras(
        self,
        call: GenerateCall,
        thinking: GeminiThinking | None,
        prompt: int,
        conversation: list[str],
        explicit: int | None,
    ) -> tuple[Extras, GenerationInput]:
        """The thought, the cached prompt prefix (``explicit``: a cachedContent's tokens, else
        what the implicit cache holds), and the input whose reply fits what thinking leaves
        of ``maxOutputTokens``."""
        inp, seed = call.generation, self.sim.config.seed
        rule = AutoRule(implicit_cache_minimum(inp.model), IMPLICIT_CACHE_STEP, IMPLICIT_CACHE_TTL)
        cached = explicit or 0
        if explicit is None and prompt >= rule.minimum:
            hit = self.sim.prompt_cache.longest_prefix(
                f"gemini\x00{inp.model}", prompt_sequence(inp, conversation), rule
            )
            cached = min(hit, prompt)
        if thinking is None:
            return Extras(None, seed, cached), inp
        thought = think(thinking, inp.conversation, seed)
        if inp.max_tokens is not None:
            thought = replace(thought, tokens=min(thought.tokens, max(inp.max_tokens - 1, 0)))
            inp = replace(inp, max_tokens=max(inp.max_tokens - thought.tokens, 1))
        return Extras(thought, seed, cached), inp

    def _response(self, call: GenerateCall, info: RequestInfo, prompt: int) -> dict[str, Any]:
        gens = self.sim.generate_many(call.generation, call.candidates, prompt=prompt)
        return response_body(call.generation.model, self.sim.new_id("", info, 22), gens, call.enum_output)

    def _unary_fault(self, fault: Fault, body: bytes | Callable[[], bytes]) -> Response:
        """Faults that replace the whole answer (any fault of a non-streaming call).

        ``body`` is the good answer's bytes, or a function making them (only malformed and cut
        answers need it).
        """
        if fault.kind == "reset":
            return ResetResponse()
        if fault.kind in ("status", "stream_error"):
            code, payload = fault_error(fault)
            return json_response(payload, code)
        data = body if isinstance(body, bytes) else body()
        if fault.kind == "malformed":
            return Response(data[: len(data) // 2], 200, media_type="application/json")
        return TruncatedResponse(data)

    async def _stream(
        self, chunks: Sequence[StreamChunk], fault: Fault | None, sse: bool
    ) -> AsyncIterator[bytes]:
        """SSE events, or the elements of one JSON array; a fault strikes at chunk ``after_pieces``.

        ``cut_stream`` and ``stream_error`` end the stream there, never delivering the final chunk
        (finishReason and usage); ``malformed`` garbles that one chunk and carries on.
        """

        def frame(k: int, payload: bytes) -> bytes:
            if sse:
                return b"data: " + payload + b"\r\n\r\n"
            return (b"[" if k == 0 else b",\r\n") + payload

        at = len(chunks) if fault is None else min(fault.after_pieces, len(chunks) - 1)
        ending = fault is not None and fault.kind in ("cut_stream", "stream_error")
        async for k, _ in self.sim.pace(chunk_pieces(chunks[:at] if ending else chunks)):
            payload = dumps(chunks[k].body)
            yield frame(k, payload[:-20] if k == at else payload)
        if fault is not None and ending:
            self.sim.stream_finished(cut=True)
            if fault.kind == "stream_error":
                # Mid-stream errors are overloads in practice; the default 500 stands for one.
                error = fault if fault.status != 500 else replace(fault, status=503)
                yield frame(at, dumps(fault_error(error)[1])) + (b"" if sse else b"]")
            return  # cut_stream: the connection ends here
        if not sse:
            yield b"]"
        self.sim.stream_finished()


def routes(sim: Simulator) -> list[BaseRoute]:
    api = _Api(sim)
    # GET /v1/models… belongs to the OpenAI protocol; Gemini's v1 is served for its POST methods only.
    result: list[BaseRoute] = [
        Route("/v1beta/models", api.models, methods=["GET"]),
        Route("/v1beta/models/{target}", api.model, methods=["GET", "POST"]),
        Route("/v1/models/{target}", api.model, methods=["POST"]),
    ]
    for version in ("v1beta", "v1"):
        result.append(Route(f"/{version}/cachedContents", api.cached_contents, methods=["GET", "POST"]))
        result.append(
            Route(f"/{version}/cachedContents/{{cache}}", api.cached_contents, methods=["GET", "DELETE"])
        )
    result.append(
        Route("/v1beta/{rest:path}", api.unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    )
    return result
