"""The simulator's Anthropic Messages API: ``POST /v1/messages`` and ``/v1/messages/count_tokens``.

Request checks run in the real API's order: credentials, ``anthropic-version``, body,
model, context window. Only a request that passes them all is counted by
``Simulator.begin`` and may receive a scripted fault.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.simulator.anthropic_cache import account, breakpoints
from llmrelay.simulator.anthropic_invalid import AnthropicInvalid
from llmrelay.simulator.anthropic_request import (
    MessagesCall,
    parse_count_tokens,
    parse_messages,
)
from llmrelay.simulator.anthropic_response import (
    StreamEvent,
    content_blocks,
    error_body,
    message_body,
    stream_events,
)
from llmrelay.simulator.anthropic_thinking import (
    ThinkingAsk,
    Thought,
    check_replayed,
    check_with_thinking,
    parse_thinking,
    think,
)
from llmrelay.simulator.anthropic_threads import ThreadRefused, ThreadStore
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.engine import Generation, prompt_tokens
from llmrelay.simulator.faults import Fault, RequestInfo
from llmrelay.simulator.responses import (
    ResetResponse,
    TruncatedResponse,
    dumps,
    json_response,
    sse_data,
    sse_response,
)

PROTOCOL = "anthropic"
# The service keeps a list of dated versions (2023-06-01, and newer ones SDKs send); any well-formed
# date stands in for that list, so a newer SDK is never refused.
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
RATE_LIMIT_REQUESTS = 4_000
RATE_LIMIT_TOKENS = 2_000_000
_DEFAULT_MESSAGES = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
    "timeout_error": "Request timeout",
}


def error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status (other 4xx are ``invalid_request_error``)."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def _error(status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    kind = error_type(status)
    return json_response(
        error_body(kind, message, request_id), status, {"request-id": request_id, **(headers or {})}
    )


def _rate_limit_headers(fault: Fault | None) -> dict[str, str]:
    """The ``anthropic-ratelimit-*`` headers; a scripted 429 shows the request budget spent."""
    spent = fault is not None and fault.kind == "status" and fault.status == 429
    return {
        "anthropic-ratelimit-requests-limit": str(RATE_LIMIT_REQUESTS),
        "anthropic-ratelimit-requests-remaining": "0" if spent else str(RATE_LIMIT_REQUESTS - 1),
        "anthropic-ratelimit-tokens-limit": str(RATE_LIMIT_TOKENS),
        "anthropic-ratelimit-tokens-remaining": str(RATE_LIMIT_TOKENS),
    }


def _fresh_request_id() -> str:
    # Refusals happen before Simulator.begin hands out a request index, so their ids are random.
    return "req_" + uuid.uuid4().hex[:24]


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class _Api:
    """The endpoints, bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.threads = ThreadStore()

    def _gate(self, request: Request, request_id: str) -> Response | None:
        """Credentials and the version header, checked before the body is read."""
        presented = _presented_key(request)
        if not self.sim.check_key(presented):
            message = "x-api-key header is required" if presented is None else "invalid x-api-key"
            return _error(401, message, request_id)
        version = request.headers.get("anthropic-version")
        if version is None:
            return _error(400, "anthropic-version: header is required", request_id)
        if not _VERSION.match(version):
            return _error(400, f'anthropic-version: "{version}" is not a valid version', request_id)
        return None

    async def _json(self, request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AnthropicInvalid("There was an error parsing the body of your request") from None

    def _check_model(self, model: str, request_id: str) -> Response | None:
        if not self.sim.knows_model(model):
            return _error(404, f"model: {model}", request_id)
        return None

    async def count_tokens(self, request: Request) -> Response:
        request_id = _fresh_request_id()
        refusal = self._gate(request, request_id)
        if refusal is not None:
            return refusal
        try:
            model, tokens = parse_count_tokens(
                await self._json(request), request.headers["anthropic-version"]
            )
        except AnthropicInvalid as exc:
            return _error(400, exc.message, request_id)
        refusal = self._check_model(model, request_id)
        if refusal is not None:
            return refusal
        return json_response({"input_tokens": tokens}, headers={"request-id": request_id})

    async def messages(self, request: Request) -> Response:
        request_id = _fresh_request_id()
        refusal = self._gate(request, request_id)
        if refusal is not None:
            return refusal
        try:
            turn = self.threads.resolve(await self._json(request), request.headers.get("anthropic-beta", ""))
            call = parse_messages(turn.body, request.headers["anthropic-version"])
            thinking = parse_thinking(turn.body, call.model)
            if thinking is not None:
                check_with_thinking(turn.body)
            check_replayed(turn.body["messages"], self.sim.config.seed, thinking is not None)
            points = breakpoints(turn.body)
        except AnthropicInvalid as exc:
            return _error(400, exc.message, request_id)
        except ThreadRefused as exc:
            body = error_body(error_type(exc.status), exc.message, request_id)
            body["error"]["details"] = {"error_code": exc.code}
            return json_response(body, exc.status, {"request-id": request_id})
        refusal = self._check_model(call.model, request_id) or self._check_window(call, request_id)
        if refusal is not None:
            return refusal
        info, fault = self.sim.begin(PROTOCOL, call.model, call.stream)
        request_id = self.sim.new_id("req_", info)
        if fault is not None and fault.kind == "hang":
            await self.sim.hang()  # then answer normally, long after any sensible client timeout
        await self.sim.delay()
        headers = {"request-id": request_id, **_rate_limit_headers(fault)}
        if (
            fault is not None
            and fault.kind != "hang"
            and (not call.stream or fault.kind in ("status", "reset"))
        ):
            return self._unary_fault(fault, call, info, headers)
        thought, gen = self._reply(call, thinking)
        cache = account(self.sim.prompt_cache, points, call.model, gen.prompt_tokens)
        message_id = self.sim.new_id("msg_", info)
        seed = self.sim.config.seed
        self.threads.keep(turn, message_id, content_blocks(gen, thought, seed))
        if call.stream:
            events = stream_events(message_id, call.model, gen, thought, cache, seed)
            live = fault if fault is not None and fault.kind != "hang" else None
            return sse_response(self._stream(events, live), headers)
        return json_response(message_body(message_id, call.model, gen, thought, cache, seed), headers=headers)

    def _reply(self, call: MessagesCall, thinking: ThinkingAsk | None) -> tuple[Thought | None, Generation]:
        """The thought (when thinking is on) and the reply; thinking spends ``max_tokens`` first."""
        if thinking is None:
            return None, self.sim.generate(call.generation)
        inp = call.generation
        thought = think(thinking, inp.conversation, self.sim.config.seed, inp.max_tokens or 1)
        room = max((inp.max_tokens or 0) - thought.tokens, 1)
        gen = self.sim.generate(replace(inp, max_tokens=room))
        self.sim.stats.completion_tokens += thought.tokens
        return thought, gen

    def _check_window(self, call: MessagesCall, request_id: str) -> Response | None:
        window = self.sim.config.context_window
        prompt = prompt_tokens(call.generation)
        if prompt > window:
            return _error(400, f"prompt is too long: {prompt} tokens > {window} maximum", request_id)
        wanted = call.generation.max_tokens or 0
        if prompt + wanted > window:
            return _error(
                400,
                f"input length and `max_tokens` exceed context limit: {prompt} + {wanted} > {window}, "
                "decrease input length or `max_tokens` and try again",
                request_id,
            )
        return None

    def _unary_fault(
        self, fault: Fault, call: MessagesCall, info: RequestInfo, headers: dict[str, str]
    ) -> Response:
        """Faults that replace the whole answer (any fault of a non-streaming call)."""
        if fault.kind == "reset":
            return ResetResponse(headers)
        if fault.kind in ("status", "stream_error"):
            extra = dict(headers)
            if fault.status == 429 or fault.retry_after is not None:
                wait = fault.retry_after if fault.retry_after is not None else 1.0
                extra["retry-after"] = str(math.ceil(wait))
            kind = error_type(fault.status)
            message = fault.message or _DEFAULT_MESSAGES.get(kind, "Invalid request")
            return _error(fault.status, message, headers["request-id"], extra)
        body = dumps(
            message_body(self.sim.new_id("msg_", info), call.model, self.sim.generate(call.generation))
        )
        if fault.kind == "malformed":
            return Response(body[: len(body) // 2], 200, headers, media_type="application/json")
        return TruncatedResponse(body, headers)  # cut_stream on a unary call: the body stops short

    async def _stream(self, events: list[StreamEvent], fault: Fault | None) -> AsyncIterator[bytes]:
        """The events, paced per delta; a fault strikes in place of delta number ``after_pieces``.

        ``cut_stream`` and ``stream_error`` end the stream there (before ``message_stop``);
        ``malformed`` garbles that one event and carries on.
        """
        # Group the events so that each group ends with one delta: the pacer releases a group per piece.
        groups: list[list[StreamEvent]] = [[]]
        for event in events:
            groups[-1].append(event)
            if event.piece is not None:
                groups.append([])
        tail = groups.pop()
        at = len(groups) if fault is None else min(fault.after_pieces, len(groups))
        ending = fault is not None and fault.kind in ("cut_stream", "stream_error")
        async for k, _ in self.sim.pace([g[-1].piece or "" for g in (groups[:at] if ending else groups)]):
            for i, event in enumerate(groups[k]):
                garble = k == at and i == len(groups[k]) - 1
                yield _garbled(event) if garble else sse_data(event.data, event.event)
        if fault is not None and ending:
            for event in groups[at][:-1] if at < len(groups) else ():
                yield sse_data(event.data, event.event)
            self.sim.stream_finished(cut=True)
            if fault.kind == "stream_error":
                # Mid-stream errors are overloads in practice; the default 500 stands for one.
                kind = error_type(fault.status) if fault.status != 500 else "overloaded_error"
                message = fault.message or _DEFAULT_MESSAGES.get(kind, "Internal server error")
                yield sse_data({"type": "error", "error": {"type": kind, "message": message}}, "error")
            return  # cut_stream: the connection simply ends, without message_stop
        garble_tail = fault is not None and at == len(groups)  # malformed past the last delta
        for i, event in enumerate(tail):
            yield _garbled(event) if garble_tail and i == 0 else sse_data(event.data, event.event)
        self.sim.stream_finished()


def _garbled(event: StreamEvent) -> bytes:
    """The event with its JSON broken off before the end (a ``malformed`` fault)."""
    return f"event: {event.event}\ndata: ".encode() + dumps(event.data)[:-7] + b"\n\n"


def routes(sim: Simulator) -> list[BaseRoute]:
    api = _Api(sim)
    return [
        Route("/v1/messages", api.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", api.count_tokens, methods=["POST"]),
    ]


__all__ = ["error_type", "routes"]
