"""Gemini responses as the simulator writes them: GenerateContentResponse, stream chunks, errors.

Pure functions only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from llmrelay.simulator.engine import Generation

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "stop_sequence": "STOP"}


def _parts(gen: Generation, enum_output: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if gen.text:
        parts.append({"text": _enum_text(gen.text) if enum_output else gen.text})
    # No ``id``: the service matches function responses by name and most models send none.
    for call in gen.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": json.loads(call.arguments)}})
    return parts


def usage_metadata(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }


def response_body(
    model: str, response_id: str, gens: Sequence[Generation], enum_output: bool
) -> dict[str, Any]:
    candidates = [
        {
            "content": {"parts": _parts(gen, enum_output), "role": "model"},
            "finishReason": _FINISH.get(gen.finish, "STOP"),
            "index": i,
        }
        for i, gen in enumerate(gens)
    ]
    return {
        "candidates": candidates,
        "usageMetadata": usage_metadata(gens[0].prompt_tokens, sum(g.completion_tokens for g in gens)),
        "modelVersion": model,
        "responseId": response_id,
    }


@dataclass(frozen=True)
class StreamChunk:
    """One streamed GenerateContentResponse; ``final`` marks the one with finishReason and usage."""

    body: dict[str, Any]
    final: bool = False


def stream_chunks(
    model: str, response_id: str, gens: Sequence[Generation], enum_output: bool
) -> list[StreamChunk]:
    """Text arrives piece by piece; function calls arrive whole, in the final chunk with finishReason."""
    if enum_output:
        # The bare enum value only exists once the whole JSON string is known: send it in one piece.
        gens = [replace(g, pieces=(g.text,) if g.text else ()) for g in gens]
    meta = {"modelVersion": model, "responseId": response_id}
    prompt = gens[0].prompt_tokens
    # Every chunk carries the usage so far; candidate tokens are only counted on the last one.
    running = {"promptTokenCount": prompt, "totalTokenCount": prompt}
    chunks: list[StreamChunk] = []
    longest = max(len(g.pieces) for g in gens)
    for step in range(max(longest - 1, 0)):
        candidates = [
            {"content": {"parts": [{"text": g.pieces[step]}], "role": "model"}, "index": i}
            for i, g in enumerate(gens)
            if step < len(g.pieces) - 1
        ]
        chunks.append(StreamChunk({"candidates": candidates, "usageMetadata": running, **meta}))
    finals = []
    for i, gen in enumerate(gens):
        parts: list[dict[str, Any]] = []
        if gen.pieces:
            last = gen.pieces[-1]
            parts.append({"text": _enum_text(last) if enum_output else last})
        parts.extend(_parts(replace(gen, pieces=()), False))
        finals.append(
            {
                "content": {"parts": parts or [{"text": ""}], "role": "model"},
                "finishReason": _FINISH.get(gen.finish, "STOP"),
                "index": i,
            }
        )
    usage = usage_metadata(prompt, sum(g.completion_tokens for g in gens))
    chunks.append(StreamChunk({"candidates": finals, "usageMetadata": usage, **meta}, final=True))
    return chunks


def _enum_text(text: str) -> str:
    """``text/x.enum`` answers carry the bare value where JSON would quote it."""
    value = json.loads(text)
    return value if isinstance(value, str) else json.dumps(value)


def chunk_pieces(chunks: Sequence[StreamChunk]) -> list[str]:
    """The text each chunk carries, for pacing: one entry per chunk."""
    return [
        "".join(str(p.get("text", "")) for c in ch.body["candidates"] for p in c["content"]["parts"])
        for ch in chunks
    ]


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def status_name(code: int) -> str:
    return _STATUS_NAMES.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION")


def error_body(code: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status_name(code)}
    if details:
        error["details"] = details
    return {"error": error}
