"""Decode OpenAI chat completion and embedding bodies into llmrelay responses (pure).

Object references: https://platform.openai.com/docs/api-reference/chat/object and
https://platform.openai.com/docs/api-reference/embeddings/object
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from llmrelay import errors
from llmrelay.providers import logprobs
from llmrelay.providers.openai_common import (
    as_int,
    as_list,
    as_obj,
    as_str,
    decode_json,
    provider_name,
    snippet,
)
from llmrelay.providers.openai_errors import error_from_payload
from llmrelay.types import ChatResponse, Embedding, EmbeddingResponse, FinishReason, ToolCall, Usage
from llmrelay.wire import Endpoint

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",  # OpenRouter ends a failed stream with finish_reason "error"
}


def map_finish(native: str | None) -> FinishReason:
    """llmrelay's reason for a native one; unknown values (``eos``, ``end_turn``…) count as stop."""
    if native is None:
        return "stop"
    return _FINISH.get(native, "stop")


def usage_from(raw: Any) -> Usage | None:
    """Usage from an OpenAI ``usage`` object, or None when absent.

    ``completion_tokens`` already includes reasoning tokens and ``prompt_tokens`` includes
    cached ones, which is llmrelay's convention too. DeepSeek reports cache hits as
    ``prompt_cache_hit_tokens`` instead of ``prompt_tokens_details``.
    """
    usage = as_obj(raw)
    if usage is None:
        return None
    prompt_details = as_obj(usage.get("prompt_tokens_details")) or {}
    completion_details = as_obj(usage.get("completion_tokens_details")) or {}
    cached = as_int(prompt_details.get("cached_tokens")) or as_int(usage.get("prompt_cache_hit_tokens"))
    return Usage(
        input_tokens=as_int(usage.get("prompt_tokens")),
        output_tokens=as_int(usage.get("completion_tokens")),
        cached_input_tokens=cached,
        cache_write_tokens=as_int(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=as_int(completion_details.get("reasoning_tokens")),
    )


def reasoning_text(obj: dict[str, Any]) -> str | None:
    """Reasoning text from a message or delta: ``reasoning_content`` (DeepSeek, vLLM, Qwen)
    or ``reasoning`` (OpenRouter, Ollama, newer vLLM)."""
    value = obj.get("reasoning_content")
    if not isinstance(value, str):
        value = obj.get("reasoning")
    return value if isinstance(value, str) else None


def content_text(value: Any) -> str:
    """Message content: a string, null, or (some compatible servers) a list of parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            p["text"]
            for p in value
            if isinstance(p, dict) and p.get("type", "text") == "text" and "text" in p
        )
    return ""


def parse_chat(body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
    payload = as_obj(decode_json(body, ep, "the chat completion"))
    if payload is None:
        raise _malformed(ep, f"the chat completion is not a JSON object: {snippet(body)!r}")
    if payload.get("error") is not None and not payload.get("choices"):
        raise error_from_payload(payload, ep)
    choices = [c for c in as_list(payload.get("choices")) if isinstance(c, dict)]
    if not choices:
        raise _malformed(ep, f"the chat completion has no choices: {snippet(body)!r}")
    # n > 1 is not modelled; the first choice (index 0) is the answer.
    choice = next((c for c in choices if c.get("index", 0) == 0), choices[0])
    message = as_obj(choice.get("message"))
    if message is None:
        raise _malformed(ep, "choices[0] of the chat completion has no message object")

    native = as_str(choice.get("finish_reason"))
    finish = map_finish(native)
    text = content_text(message.get("content"))
    refusal = as_str(message.get("refusal"))
    meta: dict[str, Any] = {}
    if refusal:
        # A refusal replaces the content; callers see it as text with a content_filter finish.
        text = text or refusal
        finish = "content_filter"
        meta["refusal"] = refusal
    tool_calls = _tool_calls(message)
    if tool_calls and finish == "stop":
        finish = "tool_calls"  # some compatible servers (Gemini's, older Ollama) say "stop" here
    for key in ("system_fingerprint", "service_tier"):
        if isinstance(payload.get(key), str):
            meta[key] = payload[key]
    tokens = logprobs.from_chat_choice(choice)
    if tokens:
        meta[logprobs.DETAIL_KEY] = tokens

    return ChatResponse(
        id=as_str(payload.get("id")) or "",
        model=as_str(payload.get("model")) or ep.model,
        provider=provider_name(ep),
        text=text,
        tool_calls=tool_calls,
        finish_reason=finish,
        native_finish_reason=native,
        usage=usage_from(payload.get("usage")),
        reasoning=reasoning_text(message),
        raw=payload if include_raw else None,
        details=meta,
    )


def _tool_calls(message: dict[str, Any]) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for i, raw in enumerate(as_list(message.get("tool_calls"))):
        call = as_obj(raw)
        if call is None:
            continue
        fn = as_obj(call.get("function")) or as_obj(call.get("custom")) or {}
        args = fn.get("arguments", fn.get("input"))
        calls.append(
            ToolCall(
                # a few compatible servers omit ids; a stable stand-in keeps replies linkable
                id=as_str(call.get("id")) or f"call_{i}",
                name=as_str(fn.get("name")) or "",
                arguments=arguments_text(args),
            )
        )
    legacy = as_obj(message.get("function_call"))
    if not calls and legacy is not None:
        calls.append(
            ToolCall(
                id="function_call",
                name=as_str(legacy.get("name")) or "",
                arguments=arguments_text(legacy.get("arguments")),
            )
        )
    return tuple(calls)


def arguments_text(value: Any) -> str:
    """Arguments are JSON text on the wire; some servers (older Ollama) send an object."""
    if isinstance(value, str):
        return value or "{}"
    if value is None:
        return "{}"
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------- embeddings


def parse_embed(body: bytes, ep: Endpoint) -> EmbeddingResponse:
    payload = as_obj(decode_json(body, ep, "the embeddings response"))
    if payload is None:
        raise _malformed(ep, f"the embeddings response is not a JSON object: {snippet(body)!r}")
    if payload.get("error") is not None and "data" not in payload:
        raise error_from_payload(payload, ep)
    data = payload.get("data")
    if not isinstance(data, list):
        raise _malformed(ep, f"the embeddings response has no data list: {snippet(body)!r}")
    embeddings = []
    for position, raw in enumerate(data):
        item = as_obj(raw)
        vector = _vector(item.get("embedding")) if item is not None else None
        if item is None or vector is None:
            raise _malformed(ep, f"embeddings data[{position}] has no embedding vector")
        index = item.get("index")
        embeddings.append(Embedding(index=index if isinstance(index, int) else position, vector=vector))
    usage = as_obj(payload.get("usage"))
    return EmbeddingResponse(
        model=as_str(payload.get("model")) or ep.model,
        provider=provider_name(ep),
        embeddings=embeddings,
        usage=Usage(input_tokens=as_int(usage.get("prompt_tokens"))) if usage is not None else None,
    )


def _vector(value: Any) -> list[float] | None:
    if isinstance(value, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    if isinstance(value, str):  # encoding_format "base64" (if ``extra`` asked for it): little-endian float32
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            return None
        if len(raw) % 4:
            return None
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return None


def _malformed(ep: Endpoint, message: str) -> errors.MalformedResponseError:
    return errors.MalformedResponseError(message, provider=provider_name(ep), model=ep.model)
