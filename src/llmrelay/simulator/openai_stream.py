"""Stream the engine's replies as OpenAI ``chat.completion.chunk`` server-sent events.

The shape follows the real service: a role chunk per choice, one chunk per output token
(text, or a tool call's opening delta and then its argument fragments), a finish chunk per
choice, the usage chunk when ``stream_options.include_usage`` is set, then ``[DONE]``.
Mid-stream faults (``cut_stream``, ``stream_error``, ``malformed``) strike after
``after_pieces`` tokens.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from json.encoder import encode_basestring
from typing import Any

from llmrelay.simulator.core import Simulator
from llmrelay.simulator.engine import Generation, split_tokens
from llmrelay.simulator.faults import Fault
from llmrelay.simulator.openai_response import (
    AZURE_PROMPT_FILTER,
    FINGERPRINT,
    FINISH,
    NO_BILLING,
    Billing,
    total_usage,
)
from llmrelay.simulator.responses import dumps

MID_STREAM = frozenset(("cut_stream", "stream_error", "malformed"))
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


async def stream_chunks(
    sim: Simulator,
    model: str,
    generations: list[Generation],
    completion_id: str,
    *,
    include_usage: bool,
    fault: Fault | None = None,
    azure: bool = False,
    billing: Billing = NO_BILLING,
) -> AsyncIterator[bytes]:
    """The stream's bytes; unpaced, in one write (same bytes, far fewer sends for a benchmark)."""
    events = _events(sim, model, generations, completion_id, include_usage, fault, azure, billing)
    if sim.paces:
        async for chunk in events:
            yield chunk
    else:
        yield b"".join([chunk async for chunk in events])


async def _events(
    sim: Simulator,
    model: str,
    generations: list[Generation],
    completion_id: str,
    include_usage: bool,
    fault: Fault | None,
    azure: bool,
    billing: Billing,
) -> AsyncIterator[bytes]:
    # Every chunk shares its envelope; building it once keeps a token's event to one dumps().
    head = (
        b'data: {"id":' + dumps(completion_id) + b',"object":"chat.completion.chunk","created":'
        + str(int(time.time())).encode() + b',"model":' + dumps(model)
        + b',"service_tier":' + dumps(billing.service_tier)
        + b',"system_fingerprint":"' + FINGERPRINT.encode() + b'","choices":['
    )  # fmt: skip
    tail = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"
    if azure:
        first = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
        yield b"data: " + dumps({**first, "prompt_filter_results": AZURE_PROMPT_FILTER}) + b"\n\n"
    pieces: list[str] = []
    events: list[bytes] = []
    for index, generation in enumerate(generations):
        _plan_choice(index, generation, pieces, events)
    cut_at = min(fault.after_pieces, len(pieces)) if fault is not None and fault.kind in MID_STREAM else -1
    for index, generation in enumerate(generations):
        role = {"role": "assistant", "content": "" if not generation.tool_calls else None, "refusal": None}
        yield head + dumps({"index": index, "delta": role, "logprobs": None, "finish_reason": None}) + tail
    async for i, _ in sim.pace(pieces):
        if i == cut_at and fault is not None:
            if injected := _mid_stream(sim, fault, head):
                yield injected
            if fault.kind != "malformed":
                return
        yield head + events[i] + tail
    if cut_at == len(pieces) and fault is not None:
        if injected := _mid_stream(sim, fault, head):
            yield injected
        if fault.kind != "malformed":
            return
    for index, generation in enumerate(generations):
        finish: dict[str, Any] = {
            "index": index,
            "delta": {},
            "logprobs": None,
            "finish_reason": FINISH[generation.finish],
        }
        if azure:
            finish["content_filter_results"] = {}
        yield head + dumps(finish) + tail
    if include_usage:
        yield head + b'],"usage":' + dumps(total_usage(generations, billing)) + b"}\n\n"
    yield b"data: [DONE]\n\n"
    sim.stream_finished()


def _plan_choice(index: int, generation: Generation, pieces: list[str], events: list[bytes]) -> None:
    """Append one choice's token events; ``pieces`` (for pacing) and ``events`` stay aligned."""
    for piece in generation.pieces:
        pieces.append(piece)
        events.append(
            b'{"index":%d,"delta":{"content":%b},"logprobs":null,"finish_reason":null}'
            % (index, encode_basestring(piece).encode())
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


def _mid_stream(sim: Simulator, fault: Fault, head: bytes) -> bytes:
    """What a mid-stream fault emits (nothing for a plain cut); a cut or error ends the stream."""
    if fault.kind == "malformed":
        # A chunk whose JSON breaks off: the blank line ends the event mid-string.
        return head + b'{"index":0,"delta":{"content":"\n\n'
    sim.stream_finished(cut=True)
    if fault.kind == "stream_error":
        error = {
            "message": fault.message or SERVER_ERROR,
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return b"data: " + dumps({"error": error}) + b"\n\n"
    return b""
