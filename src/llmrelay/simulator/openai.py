"""The OpenAI protocol: Chat Completions (unary and SSE), Embeddings, Models, and Azure's paths.

Request checking lives in ``openai_request``; this module authenticates, applies the
request's fault, and renders the engine's ``Generation`` exactly as api.openai.com
(or an Azure OpenAI resource) would.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.core import DEFAULT_MODELS, Simulator
from llmrelay.simulator.engine import Generation, count_tokens, prompt_tokens, split_tokens
from llmrelay.simulator.faults import Fault, RequestInfo
from llmrelay.simulator.openai_request import (
    ChatCall,
    OpenAIError,
    default_dimensions,
    parse_chat,
    parse_embeddings,
    parse_json,
)
from llmrelay.simulator.responses import (
    ResetResponse,
    TruncatedResponse,
    dumps,
    json_response,
    sse_response,
)
from llmrelay.simulator.vectors import embedding_vector, encode_base64

PROTOCOL = "openai"
FINGERPRINT = "fp_5im0lat0r1"
EMBEDDING_CONTEXT = 8192
RATE_LIMIT_REQUESTS = 10_000
RATE_LIMIT_TOKENS = 30_000_000
_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool_calls": "tool_calls"}
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
    "from https://platform.openai.com/account/api-keys."
)
# The real message echoes a masked prefix of the key; the simulator never repeats a key.
_BAD_KEY = (
    "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
)
_AZURE_BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
_AZURE_FILTER = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}


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


def status_error(status: int, model: str, message: str | None = None) -> OpenAIError:
    """The error OpenAI answers with ``status`` (used for scripted ``status`` faults)."""
    if status == 429:
        text = (
            f"Rate limit reached for {model} in organization org-simulator on requests per min (RPM): "
            "Limit 10000, Used 10000, Requested 1. Please try again in 1s. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        )
        return OpenAIError(message or text, status=429, type="requests", code="rate_limit_exceeded")
    if status == 401:
        return OpenAIError(message or _BAD_KEY, status=401, code="invalid_api_key")
    if status == 404:
        return _model_not_found(model, message)
    if status >= 500:
        text = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The server is overloaded or not ready yet.",
        }.get(status, "The engine is currently overloaded, please try again later.")
        return OpenAIError(message or text, status=status, type="server_error")
    return OpenAIError(message or f"Request failed with status {status}.", status=status)


def _model_not_found(model: str, message: str | None = None) -> OpenAIError:
    text = message or f"The model `{model}` does not exist or you do not have access to it."
    return OpenAIError(text, status=404, code="model_not_found")


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call_json(generation: Generation) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in generation.tool_calls
    ]


class _OpenAI:
    """Handlers bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    # ------------------------------------------------------------------ headers and errors

    def _headers(
        self, started: float, request_id: str, *, azure: bool, remaining_tokens: int | None = None
    ) -> dict[str, str]:
        headers = {
            "x-request-id": request_id,
            "openai-processing-ms": str(max(1, round((time.perf_counter() - started) * 1000))),
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": str(RATE_LIMIT_REQUESTS),
            "x-ratelimit-limit-tokens": str(RATE_LIMIT_TOKENS),
            "x-ratelimit-remaining-requests": str(RATE_LIMIT_REQUESTS - 1),
            "x-ratelimit-remaining-tokens": str(
                remaining_tokens if remaining_tokens is not None else RATE_LIMIT_TOKENS
            ),
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }
        if azure:
            headers["apim-request-id"] = request_id
            headers["x-ms-region"] = "Simulated Region"
        return headers

    def _error(self, error: OpenAIError, started: float, request_id: str | None = None) -> Response:
        headers = self._headers(started, request_id or "req_" + secrets.token_hex(16), azure=False)
        return json_response(error.body(), status=error.status, headers=headers)

    def _azure_error(self, status: int, code: str, message: str, started: float) -> Response:
        headers = self._headers(started, "req_" + secrets.token_hex(16), azure=True)
        return json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)

    def _fault_answer(
        self, fault: Fault, info: RequestInfo, started: float, request_id: str, *, azure: bool
    ) -> Response | None:
        """The answer for faults that replace the whole response; None for those acting later."""
        status_like = fault.kind == "status" or (fault.kind == "stream_error" and not info.stream)
        if status_like:
            headers = self._headers(started, request_id, azure=azure)
            if fault.status == 429:
                wait = fault.retry_after if fault.retry_after is not None else 1.0
                headers["retry-after"] = str(max(0, math.ceil(wait)))
                headers["retry-after-ms"] = str(round(wait * 1000))
                headers["x-ratelimit-remaining-requests"] = "0"
            if azure:
                body = {
                    "error": {"code": str(fault.status), "message": fault.message or _azure_message(fault)}
                }
                return json_response(body, status=fault.status, headers=headers)
            error = status_error(fault.status, info.model, fault.message)
            return json_response(error.body(), status=error.status, headers=headers)
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
        presented = _bearer(request)
        if not self.sim.check_key(presented):
            error = OpenAIError(_NO_KEY if not presented else _BAD_KEY, status=401)
            if presented:
                error.code = "invalid_api_key"
            return self._error(error, started)
        return await self._chat(request, started, model=None, azure=False)

    async def azure_chat(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._azure_gate(request, started)
        if refused is not None:
            return refused
        return await self._chat(request, started, model=request.path_params["deployment"], azure=True)

    def _azure_gate(self, request: Request, started: float) -> Response | None:
        if "api-version" not in request.query_params:
            return self._azure_error(404, "404", "Resource not found", started)
        if not self.sim.check_key(request.headers.get("api-key") or _bearer(request)):
            return self._azure_error(401, "401", _AZURE_BAD_KEY, started)
        deployment = request.path_params["deployment"]
        if not self.sim.knows_model(deployment):
            return self._azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment "
                "within the last 5 minutes, please wait a moment and try again.",
                started,
            )
        return None

    async def _chat(self, request: Request, started: float, *, model: str | None, azure: bool) -> Response:
        try:
            call = parse_chat(parse_json(await request.body()), model=model)
            if not self.sim.knows_model(call.model):
                raise _model_not_found(call.model)
            prompt = prompt_tokens(call.inp)
            self._check_context(prompt, call.max_tokens)
        except OpenAIError as error:
            return self._error(error, started)
        info, fault = self.sim.begin(PROTOCOL, call.model, call.stream)
        request_id = self.sim.new_id("req_", info, 32)
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()
        await self.sim.delay()
        if fault is not None:
            answer = self._fault_answer(fault, info, started, request_id, azure=azure)
            if answer is not None:
                return answer
        try:
            generations = self.sim.generate_many(call.inp, call.n, prompt=prompt)
        except InvalidRequestError as exc:
            refusal = OpenAIError(f"Invalid schema: {exc.message}", param="response_format")
            return self._error(refusal, started, request_id)
        remaining = RATE_LIMIT_TOKENS - prompt - (call.max_tokens or 0)
        headers = self._headers(started, request_id, azure=azure, remaining_tokens=remaining)
        completion_id = self.sim.new_id("chatcmpl-", info)
        if call.stream:
            chunks = self._stream(call, generations, info, fault, completion_id, azure=azure)
            return sse_response(chunks, headers=headers)
        payload = self._completion(call, generations, completion_id, azure=azure)
        if fault is not None and fault.kind == "cut_stream":
            return TruncatedResponse(dumps(payload), headers=headers)
        return json_response(payload, headers=headers)

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

    def _completion(
        self, call: ChatCall, generations: list[Generation], completion_id: str, *, azure: bool
    ) -> dict[str, Any]:
        choices = []
        for index, generation in enumerate(generations):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": generation.text if not generation.tool_calls else None,
                "refusal": None,
                "annotations": [],
            }
            if generation.tool_calls:
                message["tool_calls"] = _tool_call_json(generation)
            choice: dict[str, Any] = {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH[generation.finish],
            }
            if azure:
                choice["content_filter_results"] = _AZURE_FILTER
            choices.append(choice)
        completion = sum(g.completion_tokens for g in generations)
        payload: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": choices,
            "usage": _usage(generations[0].prompt_tokens, completion),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
        if azure:
            payload["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": _AZURE_FILTER}]
        return payload

    async def _stream(
        self,
        call: ChatCall,
        generations: list[Generation],
        info: RequestInfo,
        fault: Fault | None,
        completion_id: str,
        *,
        azure: bool,
    ) -> AsyncIterator[bytes]:
        head = (
            b'data: {"id":' + dumps(completion_id) + b',"object":"chat.completion.chunk","created":'
            + str(int(time.time())).encode() + b',"model":' + dumps(call.model)
            + b',"system_fingerprint":"' + FINGERPRINT.encode() + b'","choices":['
        )  # fmt: skip
        tail = b'],"usage":null}\n\n' if call.include_usage else b"]}\n\n"
        if azure:
            filters = [{"prompt_index": 0, "content_filter_results": _AZURE_FILTER}]
            first = {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": filters,
            }
            yield b"data: " + dumps(first) + b"\n\n"
        # One event per output token, so pacing and cut points count tokens.
        pieces: list[str] = []
        events: list[bytes] = []
        for index, generation in enumerate(generations):
            _plan_choice(index, generation, pieces, events)
        cut_at = -1
        if fault is not None and fault.kind in ("cut_stream", "stream_error", "malformed"):
            cut_at = min(fault.after_pieces, len(pieces))
        for index, generation in enumerate(generations):
            role = {
                "role": "assistant",
                "content": "" if not generation.tool_calls else None,
                "refusal": None,
            }
            yield (
                head + dumps({"index": index, "delta": role, "logprobs": None, "finish_reason": None}) + tail
            )
        async for i, _ in self.sim.pace(pieces):
            if i == cut_at and fault is not None:
                injected = self._mid_stream(fault, head)
                if injected:
                    yield injected
                if fault.kind != "malformed":
                    return
            yield head + events[i] + tail
        if cut_at == len(pieces) and fault is not None:
            injected = self._mid_stream(fault, head)
            if injected:
                yield injected
            if fault.kind != "malformed":
                return
        for index, generation in enumerate(generations):
            finish = {
                "index": index,
                "delta": {},
                "logprobs": None,
                "finish_reason": _FINISH[generation.finish],
            }
            if azure:
                finish["content_filter_results"] = {}
            yield head + dumps(finish) + tail
        if call.include_usage:
            completion = sum(g.completion_tokens for g in generations)
            usage = _usage(generations[0].prompt_tokens, completion)
            yield head + b'],"usage":' + dumps(usage) + b"}\n\n"
        yield b"data: [DONE]\n\n"
        self.sim.stream_finished()

    def _mid_stream(self, fault: Fault, head: bytes) -> bytes:
        """The bytes a mid-stream fault emits (none for a plain cut), counting the stream as cut."""
        if fault.kind == "malformed":
            # A chunk whose JSON breaks off: the blank line ends the event mid-string.
            return head + b'{"index":0,"delta":{"content":"\n\n'
        self.sim.stream_finished(cut=True)
        if fault.kind == "stream_error":
            message = (
                fault.message or "The server had an error while processing your request. Sorry about that!"
            )
            error = {"message": message, "type": "server_error", "param": None, "code": None}
            return b"data: " + dumps({"error": error}) + b"\n\n"
        return b""

    # ------------------------------------------------------------------ embeddings

    async def embeddings(self, request: Request) -> Response:
        started = time.perf_counter()
        presented = _bearer(request)
        if not self.sim.check_key(presented):
            error = OpenAIError(_NO_KEY if not presented else _BAD_KEY, status=401)
            if presented:
                error.code = "invalid_api_key"
            return self._error(error, started)
        return await self._embeddings(request, started, model=None, azure=False)

    async def azure_embeddings(self, request: Request) -> Response:
        started = time.perf_counter()
        refused = self._azure_gate(request, started)
        if refused is not None:
            return refused
        return await self._embeddings(request, started, model=request.path_params["deployment"], azure=True)

    async def _embeddings(
        self, request: Request, started: float, *, model: str | None, azure: bool
    ) -> Response:
        try:
            call = parse_embeddings(parse_json(await request.body()), model=model)
            if not self.sim.knows_model(call.model):
                raise _model_not_found(call.model)
            pairs = zip(call.texts, call.token_counts, strict=True)
            counts = [c if c is not None else count_tokens(t) for t, c in pairs]
            for used in counts:
                if used > EMBEDDING_CONTEXT:
                    raise OpenAIError(
                        f"This model's maximum context length is {EMBEDDING_CONTEXT} tokens, however you "
                        f"requested {used} tokens ({used} in your prompt; 0 for the completion). "
                        "Please reduce your prompt; or completion length."
                    )
        except OpenAIError as error:
            return self._error(error, started)
        info, fault = self.sim.begin(PROTOCOL, call.model, False)
        request_id = self.sim.new_id("req_", info, 32)
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()
        await self.sim.delay()
        if fault is not None:
            answer = self._fault_answer(fault, info, started, request_id, azure=azure)
            if answer is not None:
                return answer
        full = default_dimensions(call.model)
        data = []
        for index, text in enumerate(call.texts):
            vector = embedding_vector(text, model=call.model, dimensions=full, seed=self.sim.config.seed)
            if call.dimensions is not None and call.dimensions < full:
                vector = _renormalised(vector[: call.dimensions])
            encoded: Any = encode_base64(vector) if call.base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        total = sum(counts)
        self.sim.stats.prompt_tokens += total
        payload = {
            "object": "list",
            "data": data,
            "model": call.model,
            "usage": {"prompt_tokens": total, "total_tokens": total},
        }
        headers = self._headers(started, request_id, azure=azure, remaining_tokens=RATE_LIMIT_TOKENS - total)
        if fault is not None and fault.kind == "cut_stream":
            return TruncatedResponse(dumps(payload), headers=headers)
        return json_response(payload, headers=headers)

    # ------------------------------------------------------------------ models

    def _model_ids(self) -> list[str]:
        configured = self.sim.config.models
        return sorted(configured) if configured is not None else list(DEFAULT_MODELS)

    async def models(self, request: Request) -> Response:
        started = time.perf_counter()
        if not self.sim.check_key(_bearer(request)):
            return self._error(OpenAIError(_BAD_KEY, status=401, code="invalid_api_key"), started)
        data = [_model_object(m) for m in self._model_ids()]
        return json_response(
            {"object": "list", "data": data}, headers=self._headers(started, _req_id(), azure=False)
        )

    async def model(self, request: Request) -> Response:
        started = time.perf_counter()
        if not self.sim.check_key(_bearer(request)):
            return self._error(OpenAIError(_BAD_KEY, status=401, code="invalid_api_key"), started)
        name = request.path_params["model"]
        if self.sim.config.models is not None and name not in self.sim.config.models:
            error = OpenAIError(
                f"The model '{name}' does not exist", status=404, param="model", code="model_not_found"
            )
            return self._error(error, started)
        return json_response(_model_object(name), headers=self._headers(started, _req_id(), azure=False))


def _plan_choice(index: int, generation: Generation, pieces: list[str], events: list[bytes]) -> None:
    """Append the stream events (one per output token) of one choice, as the real API shapes them."""
    for piece in generation.pieces:
        pieces.append(piece)
        events.append(
            b'{"index":%d,"delta":{"content":%b},"logprobs":null,"finish_reason":null}'
            % (index, dumps(piece))
        )
    for position, call in enumerate(generation.tool_calls):
        opening = {
            "index": position,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        pieces.append(call.name)
        events.append(_tool_delta(index, opening))
        for fragment in split_tokens(call.arguments):
            pieces.append(fragment)
            events.append(_tool_delta(index, {"index": position, "function": {"arguments": fragment}}))


def _tool_delta(index: int, call: Mapping[str, Any]) -> bytes:
    delta = {"tool_calls": [call]}
    return dumps({"index": index, "delta": delta, "logprobs": None, "finish_reason": None})


def _renormalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(v * v for v in vector)) or 1.0
    return [round(v / norm, 8) for v in vector]


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}


def _req_id() -> str:
    return "req_" + secrets.token_hex(16)


def _azure_message(fault: Fault) -> str:
    if fault.status == 429:
        wait = math.ceil(fault.retry_after if fault.retry_after is not None else 1.0)
        return (
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have "
            "exceeded token rate limit of your current OpenAI S0 pricing tier. "
            f"Please retry after {wait} second{'s' if wait != 1 else ''}."
        )
    return "The service is temporarily unable to process your request. Please try again later."
