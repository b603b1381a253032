"""Gemini responses as the simulator writes them: GenerateContentResponse, stream chunks, errors.

Pure functions only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from llmrelay.simulator.engine import Generation
from llmrelay.simulator.gemini_thinking import GeminiThought, call_signature, text_signature

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "stop_sequence": "STOP"}


def _parts(gen: Generation, enum_output: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if gen.text:
        parts.append({"text": _enum_text(gen.text) if enum_output else gen.text})
    # No ``id``: the service matches function responses by name and most models send none.
    for call in gen.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": json.loads(call.arguments)}})
    return parts


def usage_metadata(prompt: int, completion: int, thoughts: int = 0, cached: int = 0) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if cached:
        meta["cachedContentTokenCount"] = cached
        meta["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta


@dataclass(frozen=True)
class Extras:
    """What a reply carries besides its candidates: the thought (when the model thought),
    the seed its signatures are made with, and the prompt tokens read from the cache."""

    thought: GeminiThought | None = None
    seed: int = 0
    cached: int = 0

    def thoughts(self, candidates: int) -> int:
        return self.thought.tokens * candidates if self.thought is not None else 0


def _sign(parts: list[dict[str, Any]], gen: Generation, extras: Extras) -> list[dict[str, Any]]:
    """Put the thought signature where Gemini does: on the first function call, or else on
    the first text part (which signs the whole reply text)."""
    if extras.thought is None:
        return parts
    for part in parts:
        call = part.get("functionCall")
        if call is not None:
            part["thoughtSignature"] = call_signature(call["name"], call["args"], extras.seed)
            return parts
    for part in parts:
        if "text" in part and not part.get("thought"):
            part["thoughtSignature"] = text_signature(gen.text, extras.seed)
            return parts
    return parts


def _thought_part(extras: Extras) -> list[dict[str, Any]]:
    thought = extras.thought
    return [{"text": thought.text, "thought": True}] if thought is not None and thought.include else []


def response_body(
    model: str, response_id: str, gens: Sequence[Generation], enum_output: bool, extras: Extras = Extras()
) -> dict[str, Any]:
    candidates = [
        {
            "content": {
                "parts": _thought_part(extras) + _sign(_parts(gen, enum_output), gen, extras),
                "role": "model",
            },
            "finishReason": _FINISH.get(gen.finish, "STOP"),
            "index": i,
        }
        for i, gen in enumerate(gens)
    ]
    return {
        "candidates": candidates,
        "usageMetadata": usage_metadata(
            gens[0].prompt_tokens,
            sum(g.completion_tokens for g in gens),
            extras.thoughts(len(gens)),
            extras.cached,
        ),
        "modelVersion": model,
        "responseId": response_id,
    }


@dataclass(frozen=True)
class StreamChunk:
    """One streamed GenerateContentResponse; ``final`` marks the one with finishReason and usage."""

    body: dict[str, Any]
    final: bool = False


def stream_chunks(
    model: str, response_id: str, gens: Sequence[Generation], enum_output: bool, extras: Extras = Extras()
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
    usage = usage_metadata(
        prompt, sum(g.completion_tokens for g in gens), extras.thoughts(len(gens)), extras.cached
    )
    chunks.append(StreamChunk({"candidates": finals, "usageMetadata": usage, **meta}, final=True))
    if extras.thought is None:
        return chunks
    for i, gen in enumerate(gens):  # the signature goes on the candidate's first text part or call
        parts = [
            p
            for ch in chunks
            for c in ch.body["candidates"]
            if c["index"] == i
            for p in c["content"]["parts"]
        ]
        texts = [p for p in parts if "text" in p]
        calls = [p for p in parts if "functionCall" in p]
        if calls or (texts and gen.text):
            _sign(calls or texts[:1], gen, extras)
    thought = _thought_part(extras)
    if thought:
        first = [{"content": {"parts": thought, "role": "model"}, "index": i} for i in range(len(gens))]
        chunks.insert(0, StreamChunk({"candidates": first, "usageMetadata": running, **meta}))
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
