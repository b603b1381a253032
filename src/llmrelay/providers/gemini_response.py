"""Gemini ``GenerateContentResponse`` JSON -> llmrelay responses and stream events (pure).

Reference: https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse.
Only the first candidate is read (llmrelay never asks for more than one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llmrelay.errors import MalformedResponseError
from llmrelay.providers import logprobs
from llmrelay.providers.gemini_state import Signatures
from llmrelay.types import (
    ChatResponse,
    Embedding,
    EmbeddingResponse,
    FinishReason,
    ToolCall,
    Usage,
)
from llmrelay.wire import Endpoint

# Native finishReason -> llmrelay. STOP becomes tool_calls when the turn called functions.
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    # The per-request token cap was hit but the answer could be continued.
    "CONTINUATION": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "ESCALATION": "content_filter",
    "PUP_LIMITED_DISABLED": "content_filter",
    # Everything else (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
    # MISSING_THOUGHT_SIGNATURE, MALFORMED_RESPONSE, OTHER, NO_IMAGE, unknown values)
    # means the turn failed: "error", with the native value kept alongside.
}


def map_finish(native: str | None, has_tool_calls: bool) -> FinishReason:
    if native is None:
        return "tool_calls" if has_tool_calls else "stop"
    reason = _FINISH.get(native, "error")
    if reason == "stop" and has_tool_calls:
        return "tool_calls"
    return reason


def decode_json(body: bytes | str, what: str, ep: Endpoint) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"Gemini {what} is not valid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else exc})",
            provider=provider_name(ep),
            model=ep.model,
        ) from None


def provider_name(ep: Endpoint) -> str:
    return ep.host or "gemini"


def parse_usage(meta: Any) -> Usage | None:
    """Usage from ``usageMetadata``, whose counts are disjoint (``totalTokenCount`` is
    prompt + candidates + tool-use prompt + thoughts): tool-use prompt tokens (results of
    built-in tools fed back) are input, thoughts are output — both billed, and both left
    out of ``promptTokenCount``/``candidatesTokenCount``. ``promptTokenCount`` already
    includes ``cachedContentTokenCount``."""
    if not isinstance(meta, Mapping):
        return None
    prompt = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=prompt,
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        cached_input_tokens=_int(meta.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def call_id(part_call: Mapping[str, Any], response_id: str | None, ordinal: int) -> str:
    """The call's own id when Gemini gives one, else a deterministic id unique to this
    response (a bare ``call_0`` would repeat every turn, which some providers reject
    when the history is replayed to them)."""
    given = part_call.get("id")
    if isinstance(given, str) and given:
        return given
    return f"call_{response_id}_{ordinal}" if response_id else f"call_{ordinal}"


def args_json(part_call: Mapping[str, Any]) -> str:
    args = part_call.get("args")
    return json.dumps(args if args is not None else {}, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class CandidatePieces:
    """What one chunk's (or one whole response's) first candidate says."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    # The parts in their original order, for streaming: ("text"|"reasoning", str) or ("call", ToolCall).
    sequence: list[tuple[str, str | ToolCall]] = field(default_factory=list)
    signatures: Signatures = field(default_factory=Signatures)
    finish: str | None = None
    finish_message: str | None = None


def first_candidate(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = data.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping):
        return candidates[0]
    return None


def read_candidate(cand: Mapping[str, Any], response_id: str | None, first_ordinal: int) -> CandidatePieces:
    pieces = CandidatePieces()
    content = cand.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, Mapping):
            continue
        fc = part.get("functionCall")
        if isinstance(fc, Mapping):
            cid = call_id(fc, response_id, first_ordinal + len(pieces.calls))
            call = ToolCall(id=cid, name=str(fc.get("name", "")), arguments=args_json(fc))
            pieces.calls.append(call)
            pieces.sequence.append(("call", call))
            sig = part.get("thoughtSignature")
            if isinstance(sig, str) and sig:
                pieces.signatures.calls[cid] = sig
            continue
        sig = part.get("thoughtSignature")
        if isinstance(sig, str) and sig:
            # Often on a part with no text at all (the last chunk of a stream): keep it anyway.
            pieces.signatures.text = sig
        text = part.get("text")
        if isinstance(text, str) and text:
            kind = "reasoning" if part.get("thought") is True else "text"
            (pieces.reasoning if kind == "reasoning" else pieces.text).append(text)
            pieces.sequence.append((kind, text))
    finish = cand.get("finishReason")
    pieces.finish = finish if isinstance(finish, str) and finish else None
    message = cand.get("finishMessage")
    pieces.finish_message = message if isinstance(message, str) else None
    return pieces


def block_reason(data: Mapping[str, Any]) -> str | None:
    feedback = data.get("promptFeedback")
    if isinstance(feedback, Mapping):
        reason = feedback.get("blockReason")
        if isinstance(reason, str) and reason:
            return reason
    return None


def response_ids(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    rid, model = data.get("responseId"), data.get("modelVersion")
    return (
        rid if isinstance(rid, str) and rid else None,
        model if isinstance(model, str) and model else None,
    )


def chat_response(data: Any, ep: Endpoint, *, include_raw: bool) -> ChatResponse:
    if not isinstance(data, Mapping):
        raise MalformedResponseError(
            f"Gemini returned a JSON {type(data).__name__}, expected a GenerateContentResponse object",
            provider=provider_name(ep),
            model=ep.model,
        )
    rid, model = response_ids(data)
    base = ChatResponse(
        id=rid or "",
        model=model or ep.model,
        provider=provider_name(ep),
        usage=parse_usage(data.get("usageMetadata")),
        raw=data if include_raw else None,
    )
    cand = first_candidate(data)
    if cand is None:
        blocked = block_reason(data)
        if blocked is None:
            raise MalformedResponseError(
                "Gemini response has no candidates and no promptFeedback.blockReason",
                provider=provider_name(ep),
                model=ep.model,
            )
        # The prompt itself was blocked: an answer with nothing in it, not a crash.
        return replace(base, finish_reason="content_filter", native_finish_reason=blocked)
    pieces = read_candidate(cand, rid, 0)
    meta: dict[str, Any] = {}
    if pieces.finish_message:
        meta["finish_message"] = pieces.finish_message
    tokens = logprobs.from_gemini_candidate(cand)
    if tokens:
        meta[logprobs.DETAIL_KEY] = tokens
    return replace(
        base,
        text="".join(pieces.text),
        reasoning="".join(pieces.reasoning) or None,
        tool_calls=tuple(pieces.calls),
        finish_reason=map_finish(pieces.finish, bool(pieces.calls)),
        native_finish_reason=pieces.finish,
        provider_state=pieces.signatures.state(),
        details=meta,
    )


def embedding_response(data: Any, ep: Endpoint) -> EmbeddingResponse:
    embeddings = data.get("embeddings") if isinstance(data, Mapping) else None
    if not isinstance(embeddings, list):
        raise MalformedResponseError(
            "Gemini batchEmbedContents response has no 'embeddings' list",
            provider=provider_name(ep),
            model=ep.model,
        )
    out = []
    for i, item in enumerate(embeddings):
        values = item.get("values") if isinstance(item, Mapping) else None
        if not isinstance(values, list):
            raise MalformedResponseError(
                f"Gemini embeddings[{i}] has no 'values' list", provider=provider_name(ep), model=ep.model
            )
        out.append(Embedding(index=i, vector=[float(v) for v in values]))
    return EmbeddingResponse(model=ep.model, provider=provider_name(ep), embeddings=out)
