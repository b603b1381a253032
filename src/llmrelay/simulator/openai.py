"""The OpenAI protocol: Chat Completions (unary and SSE), Embeddings, Models, and Azure's paths.

This module authenticates, runs the request checks (``openai_request``,
``openai_embeddings``), asks the simulator for the request's fault, and answers as
api.openai.com (or an Azure OpenAI resource) would.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.core import DEFAULT_MODELS, Simulator
from llmrelay.simulator.engine import GenerationInput, prompt_tokens, split_tokens
from llmrelay.simulator.faults import Fault, RequestInfo
from llmrelay.simulator.openai_checks import (
    BAD_KEY,
    NO_KEY,
    OpenAIError,
    model_not_found,
    parse_json,
    status_error,
)
from llmrelay.simulator.openai_embeddings import embeddings_payload, input_tokens, parse_embeddings
from llmrelay.simulator.openai_extras import cached_tokens
from llmrelay.simulator.openai_request import ChatCall, parse_chat
from llmrelay.simulator.openai_response import Billing, completion_payload
from llmrelay.simulator.openai_stream import stream_chunks
from llmrelay.simulator.responses import ResetResponse, TruncatedResponse, dumps, json_response, sse_response
from llmrelay.simulator.thinking import thought_text, thought_tokens

PROTOCOL = "openai"
RATE_LIMIT_REQUESTS = 10_000
RATE_LIMIT_TOKENS = 30_000_000
_AZURE_BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
_AZURE_NO_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within the last "
    "5 minutes, please wait a moment and try again."
)


def routes(sim: Simulator) -> list[BaseRoute]:
    api = _OpenAI(sim)
    return [
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/openai/deployments/{deployment}/chat/completions", api.azure_chat, methods=["POST"]),
        Route("/openai/deployments/{deployment}/embeddings", api.azure_embeddings, methods=["POST"]),
    ]


class _OpenAI:
    """Handlers bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    # ------------------------------------------------------------------ gates and errors

    def _headers(
        self, started: float, request_id: str, *, azure: bool, remaining_tokens: int = RATE_LIMIT_TOKENS
    ) -> dict[str, str]:
        headers = {
            "x-request-id": request_id,
            "openai-processing-ms": str(max(1, round((time.perf_counter() - started) * 1000))),
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": str(RATE_LIMIT_REQUESTS),
            "x-ratelimit-limit-tokens": str(RATE_LIMIT_TOKENS),
            "x-ratelimit-remaining-requests": str(RATE_LIMIT_REQUESTS - 1),
            "x-ratelimit-remaining-tokens": str(remaining_tokens),
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }
        if azure:
            headers["apim-request-id"] = request_id
            headers["x-ms-region"] = "Simulated Region"
        return headers

    def _error(self, error: OpenAIError, started: float, request_id: str | None = None) -> Response:
        headers = self._headers(started, request_id or _random_request_id(), azure=False)
        return json_response(error.body(), status=error.status, headers=headers)

    def _azure_error(self, status: int, code: str, message: str, started: float) -> Response:
        headers = self._headers(started, _random_request_id(), azure=True)
        return json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)

    def _openai_gate(self, request: Request, started: float) -> Response | None:
        presented = _bearer(request)
        if self.sim.check_key(presented):
            return None
        if not presented:
            return self._error(OpenAIError(NO_KEY, status=401), started)
        return self._error(OpenAIError(BAD_KEY, status=401, code="invalid_api_key"), started)

    def _azure_gate(self, request: Request, started: float) -> Response | None:
        if "api-version" not in request.query_params:
            return self._azure_error(404, "404", "Resource not found", started)
        if not self.sim.check_key(request.headers.get("api-key") or _bearer(request)):
            return self._azure_error(401, "401", _AZURE_BAD_KEY, started)
        if not self.sim.knows_model(request.path_params["deployment"]):
            return self._azure_error(404, "DeploymentNotFound", _AZURE_NO_DEPLOYMENT, started)
        return None

    async def _fault_answer(
        self, fault: Fault | None, info: RequestInfo, started: float, request_id: str, *, azure: bool
    ) -> Response | None:
        """Wait as configured; then the answer for a fault that replaces the whole response, if any."""
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()
        await self.sim.delay()
        if fault is None:
            return None
        if fault.kind == "status" or (fault.kind == "stream_error" and not info.stream):
            headers = self._headers(started, request_id, azure=azure)
            if fault.status == 429:
                wait = fault.retry_after if fault.retry_after is not None else 1.0
                headers["retry-after"] = str(max(0, math.ceil(wait)))
                headers["retry-after-ms"] = str(round(wait * 1000))
                headers["x-ratelimit-remaining-requests"] = "0"
            if azure:
                error = {"code": str(fault.status), "message": fault.message or _azure_message(fault)}
                return json_response({"error": error}, status=fault.status, headers=headers)
            refusal = status_error(fault.status, info.model, fault.message)
            return json_response(refusal.body(), status=refusal.status, headers=headers)
        if fault.kind == "reset":
            return ResetResponse(self._headers(started, request_id, azure=azure))
        if fault.kind == "malformed" and not info.stream:
            broken = (
                b'{"id":"chatcmpl-' + request_id.encode() + b'","object":"chat.completion","choices":[{"ind'
            )
            return Response(broken, 200, self._headers(started, request_id, azure=azure), "application/json")
        return None

    # ------------------------------------------------------------------ chat

    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._openai_gate(request, started)
        return refused or await self._chat(request, started, model=None, azure=False)

    async def azure_chat(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._azure_gate(request, started)
        deployment = request.path_params["deployment"]
        return refused or await self._chat(request, started, model=deployment, azure=True)

    async def _chat(self, request: Request, started: float, *, model: str | None, azure: bool) -> Response:
        try:
            call = parse_chat(parse_json(await request.body()), model=model)
            if not self.sim.knows_model(call.model):
                raise model_not_found(call.model)
            conversation = split_tokens(call.inp.conversation)  # counted once, for the count and the cache
            prompt = prompt_tokens(call.inp, len(conversation))
            self._check_context(prompt, call.max_tokens)
        except OpenAIError as error:
            return self._error(error, started)
        info, fault = self.sim.begin(PROTOCOL, call.model, call.stream)
        request_id = self.sim.new_id("req_", info, 32)
        answer = await self._fault_answer(fault, info, started, request_id, azure=azure)
        if answer is not None:
            return answer
        reasoning, inp = self._reasoning(call)
        try:
            generations = self.sim.generate_many(inp, call.n, prompt=prompt)
        except InvalidRequestError as exc:
            refusal = OpenAIError(f"Invalid schema: {exc.message}", param="response_format")
            return self._error(refusal, started, request_id)
        self.sim.stats.completion_tokens += reasoning * call.n
        cached = cached_tokens(self.sim.prompt_cache, call.inp, call.extras, prompt, conversation)
        billing = Billing(reasoning, cached, call.extras.service_tier)
        remaining = RATE_LIMIT_TOKENS - prompt - (call.max_tokens or 0)
        headers = self._headers(started, request_id, azure=azure, remaining_tokens=remaining)
        completion_id = self.sim.new_id("chatcmpl-", info)
        if call.stream:
            chunks = stream_chunks(
                self.sim,
                call.model,
                generations,
                completion_id,
                include_usage=call.include_usage,
                fault=fault,
                azure=azure,
                billing=billing,
            )
            return sse_response(chunks, headers=headers)
        payload = completion_payload(call.model, generations, completion_id, azure=azure, billing=billing)
        if fault is not None and fault.kind == "cut_stream":
            return TruncatedResponse(dumps(payload), headers=headers)
        return json_response(payload, headers=headers)

    def _reasoning(self, call: ChatCall) -> tuple[int, GenerationInput]:
        """Hidden reasoning tokens per choice, and the input whose visible reply fits what they
        leave of ``max_completion_tokens`` (nothing at all when they use it up)."""
        if call.effort is None:
            return 0, call.inp
        tokens = thought_tokens(thought_text(call.inp.conversation, self.sim.config.seed), call.effort)
        if call.max_tokens is None:
            return tokens, call.inp
        tokens = min(tokens, call.max_tokens)
        return tokens, replace(call.inp, max_tokens=call.max_tokens - tokens)

    def _check_context(self, prompt: int, max_tokens: int | None) -> None:
        window = self.sim.config.context_window
        if prompt > window:
            raise OpenAIError(
                f"This model's maximum context length is {window} tokens. However, your messages resulted in "
                f"{prompt} tokens. Please reduce the length of the messages.",
                param="messages",
                code="context_length_exceeded",
            )
        if max_tokens is not None and prompt + max_tokens > window:
            raise OpenAIError(
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{prompt + max_tokens} tokens ({prompt} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion.",
                param="messages",
                code="context_length_exceeded",
            )

    # ------------------------------------------------------------------ embeddings

    async def embeddings(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._openai_gate(request, started)
        return refused or await self._embeddings(request, started, model=None, azure=False)

    async def azure_embeddings(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._azure_gate(request, started)
        deployment = request.path_params["deployment"]
        return refused or await self._embeddings(request, started, model=deployment, azure=True)

    async def _embeddings(
        self, request: Request, started: float, *, model: str | None, azure: bool
    ) -> Response:
        try:
            call = parse_embeddings(parse_json(await request.body()), model=model)
            if not self.sim.knows_model(call.model):
                raise model_not_found(call.model)
            counts = input_tokens(call)
        except OpenAIError as error:
            return self._error(error, started)
        info, fault = self.sim.begin(PROTOCOL, call.model, False)
        request_id = self.sim.new_id("req_", info, 32)
        answer = await self._fault_answer(fault, info, started, request_id, azure=azure)
        if answer is not None:
            return answer
        payload = embeddings_payload(call, counts, seed=self.sim.config.seed)
        total = payload["usage"]["prompt_tokens"]
        self.sim.stats.prompt_tokens += total
        headers = self._headers(started, request_id, azure=azure, remaining_tokens=RATE_LIMIT_TOKENS - total)
        if fault is not None and fault.kind == "cut_stream":
            return TruncatedResponse(dumps(payload), headers=headers)
        return json_response(payload, headers=headers)

    # ------------------------------------------------------------------ models

    async def models(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._openai_gate(request, started)
        if refused is not None:
            return refused
        configured = self.sim.config.models
        names = sorted(configured) if configured is not None else list(DEFAULT_MODELS)
        body = {"object": "list", "data": [_model_object(m) for m in names]}
        return json_response(body, headers=self._headers(started, _random_request_id(), azure=False))

    async def model(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._openai_gate(request, started)
        if refused is not None:
            return refused
        name = request.path_params["model"]
        if not self.sim.knows_model(name):
            missing = OpenAIError(
                f"The model '{name}' does not exist", status=404, param="model", code="model_not_found"
            )
            return self._error(missing, started)
        return json_response(
            _model_object(name), headers=self._headers(started, _random_request_id(), azure=False)
        )


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _random_request_id() -> str:
    # Refused requests never get a request index, so their id cannot be derived from one.
    return "req_" + secrets.token_hex(16)


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}


def _azure_message(fault: Fault) -> str:
    if fault.status == 429:
        wait = math.ceil(fault.retry_after if fault.retry_after is not None else 1.0)
        return (
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have "
            "exceeded token rate limit of your current OpenAI S0 pricing tier. "
            f"Please retry after {wait} second{'s' if wait != 1 else ''}."
        )
    return "The service is temporarily unable to process your request. Please try again later."
