"""Anthropic Messages responses as the simulator writes them: messages, stream events, errors.

Pure functions only; ``stream_events`` gives the exact event order of the real API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.anthropic_cache import CacheUsage
from llmrelay.simulator.anthropic_thinking import Thought
from llmrelay.simulator.engine import Generation, SimToolCall, split_tokens

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}
# Large enough that the SDK's incremental JSON parser sees several partial fragments per call.
_JSON_FRAGMENT = 12


def tool_use_id(call: SimToolCall) -> str:
    """Anthropic's ids read ``toolu_…``; keep the engine's id recognisable inside it."""
    return call.id if call.id.startswith("toolu_") else f"toolu_{call.id.removeprefix('call_')}"


def usage(input_tokens: int, output_tokens: int, cache: CacheUsage | None = None) -> dict[str, Any]:
    """``input_tokens`` is the whole prompt: the cached part is taken out here, as Anthropic
    counts only the tokens after the last breakpoint as input."""
    cache = cache or CacheUsage()
    return {
        "input_tokens": max(input_tokens - cache.read - cache.written, 0),
        "cache_creation_input_tokens": cache.written,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.write_5m,
            "ephemeral_1h_input_tokens": cache.write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _output_tokens(gen: Generation, thought: Thought | None) -> int:
    return gen.completion_tokens + (thought.tokens if thought is not None else 0)


def content_blocks(gen: Generation, thought: Thought | None = None, seed: int = 0) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if thought is not None:
        blocks.append(thought.block(seed))
    if gen.text:
        blocks.append({"type": "text", "text": gen.text})
    for call in gen.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_use_id(call),
                "name": call.name,
                "input": json.loads(call.arguments),
            }
        )
    return blocks


def message_body(
    message_id: str,
    model: str,
    gen: Generation,
    thought: Thought | None = None,
    cache: CacheUsage | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(gen, thought, seed),
        "stop_reason": _STOP_REASONS.get(gen.finish, "end_turn"),
        "stop_sequence": gen.stop_sequence,
        "usage": usage(gen.prompt_tokens, _output_tokens(gen, thought), cache),
    }


def error_body(kind: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event; ``piece`` is set on deltas, which are what the pacer counts."""

    event: str
    data: dict[str, Any]
    piece: str | None = None


def _fragments(text: str) -> list[str]:
    return [text[i : i + _JSON_FRAGMENT] for i in range(0, len(text), _JSON_FRAGMENT)] or [""]


def stream_events(
    message_id: str,
    model: str,
    gen: Generation,
    thought: Thought | None = None,
    cache: CacheUsage | None = None,
    seed: int = 0,
) -> list[StreamEvent]:
    """The full event sequence of a streamed message, in the order the real API sends it."""
    start: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage(gen.prompt_tokens, 1, cache),
    }
    events = [StreamEvent("message_start", {"type": "message_start", "message": start})]
    index = 0
    pinged = False

    def open_block(block: dict[str, Any]) -> None:
        nonlocal pinged
        events.append(
            StreamEvent(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
        )
        if not pinged:
            events.append(StreamEvent("ping", {"type": "ping"}))
            pinged = True

    def delta(payload: dict[str, Any], piece: str) -> None:
        events.append(
            StreamEvent(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": payload},
                piece,
            )
        )

    def close_block() -> None:
        nonlocal index
        events.append(StreamEvent("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1

    if thought is not None and thought.redacted:
        open_block(thought.block(seed))  # arrives whole, without deltas
        close_block()
    elif thought is not None:
        open_block({"type": "thinking", "thinking": "", "signature": ""})
        for piece in split_tokens(thought.text):
            delta({"type": "thinking_delta", "thinking": piece}, piece)
        delta({"type": "signature_delta", "signature": thought.signature}, "")
        close_block()
    if gen.text or not gen.tool_calls:
        open_block({"type": "text", "text": ""})
        for piece in gen.pieces:
            if piece:
                delta({"type": "text_delta", "text": piece}, piece)
        close_block()
    for call in gen.tool_calls:
        open_block({"type": "tool_use", "id": tool_use_id(call), "name": call.name, "input": {}})
        delta({"type": "input_json_delta", "partial_json": ""}, "")
        for fragment in _fragments(call.arguments):
            delta({"type": "input_json_delta", "partial_json": fragment}, fragment)
        close_block()
    events.append(
        StreamEvent(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": _STOP_REASONS.get(gen.finish, "end_turn"),
                    "stop_sequence": gen.stop_sequence,
                },
                "usage": {"output_tokens": _output_tokens(gen, thought)},
            },
        )
    )
    events.append(StreamEvent("message_stop", {"type": "message_stop"}))
    return events
