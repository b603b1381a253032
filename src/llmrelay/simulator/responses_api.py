"""The OpenAI Responses API: ``POST /v1/responses`` (unary and SSE) and
``POST /v1/responses/input_tokens``, plus Azure OpenAI's paths for both
(``/openai/v1/responses``, and ``/openai/responses?api-version=…``).

Checks run in the real API's order (credentials, body, model, context window); only a
request that passes them is counted by ``Simulator.begin`` and may get a scripted fault.
Mid-stream faults strike after ``after_pieces`` output tokens: ``cut_stream`` ends the
stream without a terminal event, ``malformed`` sends an event whose JSON breaks off, and
``stream_error`` sends ``response.failed`` (``server_error``) for a 5xx status or an
``error`` event for any other. Responses with ``store`` (the default) are kept in the
simulator's memory, bounded, so that ``previous_response_id`` continues them.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.engine import Generation, prompt_tokens
from llmrelay.simulator.faults import Fault, RequestInfo
from llmrelay.simulator.openai_checks import (
    BAD_KEY,
    NO_KEY,
    OpenAIError,
    model_not_found,
    parse_json,
    status_error,
)
from llmrelay.simulator.openai_extras import cached_tokens
from llmrelay.simulator.responses import (
    ResetResponse,
    TruncatedResponse,
    dumps,
    json_response,
    sse_data,
    sse_response,
)
from llmrelay.simulator.responses_api_output import (
    Answer,
    Event,
    answer_for,
    final_status,
    response_object,
    stream_events,
    think,
)
from llmrelay.simulator.responses_api_request import History, ResponsesCall, parse_responses

PROTOCOL = "responses"
RATE_LIMIT_REQUESTS = 10_000
RATE_LIMIT_TOKENS = 30_000_000
MID_STREAM = frozenset(("cut_stream", "stream_error", "malformed"))
STORED_LIMIT = 1024  # responses kept for previous_response_id, oldest dropped first
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


def routes(sim: Simulator) -> list[BaseRoute]:
    api = _Responses(sim)
    return [
        Route("/v1/responses", api.create, methods=["POST"]),
        Route("/v1/responses/input_tokens", api.count, methods=["POST"]),
        Route("/openai/v1/responses", api.azure_create, methods=["POST"]),
        Route("/openai/v1/responses/input_tokens", api.azure_count, methods=["POST"]),
        Route("/openai/responses", api.azure_create, methods=["POST"]),
        Route("/openai/responses/input_tokens", api.azure_count, methods=["POST"]),
    ]


class _Responses:
    """Handlers bound to one simulator; ``stored`` is its memory of stored responses."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.stored: OrderedDict[str, History] = OrderedDict()

    # ------------------------------------------------------------------ gates

    def _headers(self, started: float, request_id: str, remaining: int = RATE_LIMIT_TOKENS) -> dict[str, str]:
        return {
            "x-request-id": request_id,
            "openai-processing-ms": str(max(1, round((time.perf_counter() - started) * 1000))),
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": str(RATE_LIMIT_REQUESTS),
            "x-ratelimit-limit-tokens": str(RATE_LIMIT_TOKENS),
            "x-ratelimit-remaining-requests": str(RATE_LIMIT_REQUESTS - 1),
            "x-ratelimit-remaining-tokens": str(remaining),
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }

    def _error(self, error: OpenAIError, started: float, request_id: str | None = None) -> Response:
        rid = request_id or "req_" + secrets.token_hex(16)
        return json_response(error.body(), status=error.status, headers=self._headers(started, rid))

    def _gate(self, request: Request, started: float, *, azure: bool) -> Response | None:
        presented = request.headers.get("api-key") if azure else None
        presented = presented or _bearer(request)
        if (
            azure
            and request.url.path.startswith("/openai/responses")
            and "api-version" not in request.query_params
        ):
            return self._error(OpenAIError("Resource not found", status=404, code="404"), started)
        if self.sim.check_key(presented):
            return None
        if not presented:
            return self._error(OpenAIError(NO_KEY, status=401), started)
        return self._error(OpenAIError(BAD_KEY, status=401, code="invalid_api_key"), started)

    async def _parse(self, request: Request, *, counting: bool) -> tuple[ResponsesCall, int]:
        body = parse_json(await request.body())
        history = None
        previous = body.get("previous_response_id")
        if isinstance(previous, str):
            history = self.stored.get(previous)
            if history is None:
                raise OpenAIError(
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        call = parse_responses(body, seed=self.sim.config.seed, counting=counting, history=history)
        if not self.sim.knows_model(call.model):
            raise model_not_found(call.model)
        prompt = prompt_tokens(call.inp)
        window = self.sim.config.context_window
        if prompt + (call.max_output_tokens or 0) > window:
            raise OpenAIError(
                f"Your input exceeds the context window of this model. The input has {prompt} tokens and "
                f"the limit is {window} tokens; please adjust your input and try again.",
                param="input",
                code="context_length_exceeded",
            )
        return call, prompt

    # ------------------------------------------------------------------ count

    async def count(self, request: Request) -> Response:
        return await self._count(request, azure=False)

    async def azure_count(self, request: Request) -> Response:
        return await self._count(request, azure=True)

    async def _count(self, request: Request, *, azure: bool) -> Response:
        started = time.perf_counter()
        refused = self._gate(request, started, azure=azure)
        if refused is not None:
            return refused
        try:
            _, prompt = await self._parse(request, counting=True)
        except OpenAIError as error:
            return self._error(error, started)
        body = {"object": "response.input_tokens", "input_tokens": prompt}
        return json_response(body, headers=self._headers(started, "req_" + secrets.token_hex(16)))

    # ------------------------------------------------------------------ create

    async def create(self, request: Request) -> Response:
        return await self._create(request, azure=False)

    async def azure_create(self, request: Request) -> Response:
        return await self._create(request, azure=True)

    async def _create(self, request: Request, *, azure: bool) -> Response:
        started = time.perf_counter()
        refused = self._gate(request, started, azure=azure)
        if refused is not None:
            return refused
        try:
            call, prompt = await self._parse(request, counting=False)
        except OpenAIError as error:
            return self._error(error, started)
        info, fault = self.sim.begin(PROTOCOL, call.model, call.stream)
        request_id = self.sim.new_id("req_", info, 32)
        answer = await self._fault_answer(fault, info, started, request_id)
        if answer is not None:
            return answer
        response_id = self.sim.new_id("resp_", info, 40)
        thought = think(call, f"rs_{response_id[5:]}", self.sim.config.seed)
        try:
            generation = self._generate(call, prompt, thought.tokens if thought else 0)
        except InvalidRequestError as exc:
            return self._error(
                OpenAIError(f"Invalid schema: {exc.message}", param="text.format"), started, request_id
            )
        extras = call.extras
        reply = answer_for(
            call,
            generation,
            thought,
            response_id=response_id,
            seed=self.sim.config.seed,
            prompt_tokens=prompt,
            cached_tokens=cached_tokens(self.sim.prompt_cache, call.inp, extras, prompt),
            service_tier=extras.service_tier,
        )
        if call.store:
            self._remember(reply)
        headers = self._headers(
            started, request_id, RATE_LIMIT_TOKENS - prompt - (call.max_output_tokens or 0)
        )
        if call.stream:
            return sse_response(self._stream(reply, fault), headers=headers)
        payload = response_object(reply, final_status(reply))
        if fault is not None and fault.kind == "cut_stream":
            return TruncatedResponse(dumps(payload), headers=headers)
        return json_response(payload, headers=headers)

    def _generate(self, call: ResponsesCall, prompt: int, reasoning: int) -> Generation | None:
        """The visible reply; reasoning tokens count against ``max_output_tokens`` first, and
        a budget they use up leaves no reply at all (an incomplete response)."""
        inp = call.inp
        if reasoning and call.max_output_tokens is not None:
            room = call.max_output_tokens - reasoning
            if room <= 0:
                self.sim.stats.prompt_tokens += prompt
                self.sim.stats.completion_tokens += call.max_output_tokens
                return None
            inp = replace(inp, max_tokens=room)
        generation = self.sim.generate(inp, prompt=prompt)
        self.sim.stats.completion_tokens += reasoning
        return generation

    def _remember(self, reply: Answer) -> None:
        texts = list(reply.call.texts)
        calls: tuple[str, ...] = ()
        if reply.generation is not None:
            calls = tuple(c.id for c in reply.generation.tool_calls)
            texts.extend(f"{c.name}({c.arguments})" for c in reply.generation.tool_calls)
            if not calls:
                texts.append(reply.generation.text)
        self.stored[reply.response_id] = History(tuple(texts), reply.call.items + 1, calls)
        while len(self.stored) > STORED_LIMIT:
            self.stored.popitem(last=False)

    async def _fault_answer(
        self, fault: Fault | None, info: RequestInfo, started: float, request_id: str
    ) -> Response | None:
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()
        await self.sim.delay()
        if fault is None:
            return None
        if fault.kind == "status" or (fault.kind == "stream_error" and not info.stream):
            headers = self._headers(started, request_id)
            if fault.status == 429:
                wait = fault.retry_after if fault.retry_after is not None else 1.0
                headers["retry-after"] = str(max(0, math.ceil(wait)))
                headers["retry-after-ms"] = str(round(wait * 1000))
                headers["x-ratelimit-remaining-requests"] = "0"
            refusal = status_error(fault.status, info.model, fault.message)
            return json_response(refusal.body(), status=refusal.status, headers=headers)
        if fault.kind == "reset":
            return ResetResponse(self._headers(started, request_id))
        if fault.kind == "malformed" and not info.stream:
            broken = b'{"id":"resp_' + request_id.encode() + b'","object":"response","output":[{"ty'
            return Response(broken, 200, self._headers(started, request_id), "application/json")
        return None

    # ------------------------------------------------------------------ streaming

    async def _stream(self, reply: Answer, fault: Fault | None) -> AsyncIterator[bytes]:
        chunks = self._chunks(reply, fault)
        if self.sim.paces:
            async for chunk in chunks:
                yield chunk
        else:
            yield b"".join([chunk async for chunk in chunks])

    async def _chunks(self, reply: Answer, fault: Fault | None) -> AsyncIterator[bytes]:
        events = stream_events(reply)
        strike = _strike_at(events, fault)
        sequence = 0
        async for i, _ in self.sim.pace([e.type for e in events]):
            if i == strike and fault is not None:
                injected, stop = _mid_stream(reply, fault, sequence)
                yield injected
                sequence += 1
                if stop:
                    self.sim.stream_finished(cut=True)
                    return
            event = events[i]
            yield sse_data(
                {"type": event.type, **event.payload, "sequence_number": sequence}, event=event.type
            )
            sequence += 1
        self.sim.stream_finished()


def _strike_at(events: list[Event], fault: Fault | None) -> int:
    """The index of the event a mid-stream fault replaces: the one after ``after_pieces``
    output tokens (at the latest, the terminal event); -1 for no fault."""
    if fault is None or fault.kind not in MID_STREAM:
        return -1
    seen = 0
    for i, event in enumerate(events):
        if event.piece:
            if seen == fault.after_pieces:
                return i
            seen += 1
    return len(events) - 1


def _mid_stream(reply: Answer, fault: Fault, sequence: int) -> tuple[bytes, bool]:
    """(bytes, whether the stream ends there) for a mid-stream fault."""
    if fault.kind == "malformed":
        return (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"\n\n',
            False,
        )
    if fault.kind == "cut_stream":
        return b"", True
    message = fault.message or SERVER_ERROR
    if fault.status >= 500:
        error = {"code": "server_error", "message": message}
        failed = response_object(reply, "failed", output=[], error=error)
        payload: dict[str, Any] = {"type": "response.failed", "response": failed, "sequence_number": sequence}
        return sse_data(payload, event="response.failed"), True
    code = "rate_limit_exceeded" if fault.status == 429 else "invalid_request_error"
    payload = {"type": "error", "code": code, "message": message, "param": None, "sequence_number": sequence}
    return sse_data(payload, event="error"), True


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
