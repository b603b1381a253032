"""Anthropic Message object -> ChatResponse, and the mappings shared with the stream parser."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers.anthropic_errors import error_from_object
from llmrelay.providers.anthropic_state import state_from
from llmrelay.providers.anthropic_threads import reply_id
from llmrelay.providers.anthropic_tools import JSON_TOOL_NAME
from llmrelay.types import ChatResponse, FinishReason, ToolCall, Usage
from llmrelay.wire import Endpoint

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    # A server tool loop paused; the turn is complete as far as the caller is concerned.
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(native: str | None, *, json_only: bool = False) -> FinishReason:
    """Map ``stop_reason``. ``json_only``: the only tool called was llmrelay's JSON tool, whose
    input the caller receives as text, so the reply is a normal stop, not a tool call."""
    if native == "tool_use" and json_only:
        return "stop"
    return _STOP_REASONS.get(native or "", "stop")


def usage_from(raw: Any) -> Usage | None:
    """Usage from a Message's ``usage``.

    Anthropic's ``input_tokens`` excludes cache reads (``cache_read_input_tokens``) and
    writes (``cache_creation_input_tokens``); llmrelay's includes both. The writes are
    split by lifetime in ``cache_creation`` (``ephemeral_5m_input_tokens``,
    ``ephemeral_1h_input_tokens``), priced differently. ``output_tokens`` already counts
    extended thinking.
    """
    if not isinstance(raw, Mapping):
        return None
    fresh = _int(raw.get("input_tokens"))
    read = _int(raw.get("cache_read_input_tokens"))
    write = _int(raw.get("cache_creation_input_tokens"))
    split = raw.get("cache_creation")
    hour = 0
    if isinstance(split, Mapping):
        hour = _int(split.get("ephemeral_1h_input_tokens"))
        # the total and its parts describe the same writes; trust the larger if they disagree
        write = max(write, hour + _int(split.get("ephemeral_5m_input_tokens")))
    details = raw.get("output_tokens_details")
    thinking = _int(details.get("thinking_tokens")) if isinstance(details, Mapping) else 0
    return Usage(
        input_tokens=fresh + read + write,
        output_tokens=_int(raw.get("output_tokens")),
        cached_input_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=thinking,
        cache_write_1h_tokens=min(hour, write),
    )


def service_tier_from(raw: Any) -> str | None:
    """The tier that served the call (``usage.service_tier``: standard, priority, batch)."""
    tier = raw.get("service_tier") if isinstance(raw, Mapping) else None
    return tier if isinstance(tier, str) and tier else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_chat(body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
    provider = ep.host or "anthropic"
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.MalformedResponseError(
            f"Anthropic returned a body that is not JSON ({exc})", provider=provider, model=ep.model or None
        ) from None
    if (
        isinstance(payload, dict)
        and payload.get("type") == "error"
        and isinstance(payload.get("error"), dict)
    ):
        raise error_from_object(payload["error"], ep, body=payload)
    content = payload.get("content") if isinstance(payload, dict) else None
    if not isinstance(content, list):
        raise errors.MalformedResponseError(
            "Anthropic returned JSON that is not a Message object (no content list)",
            provider=provider,
            model=ep.model or None,
            body=payload,
        )
    texts: list[str] = []
    thinking: list[str] = []
    kept: list[dict[str, Any]] = []  # thinking and redacted_thinking blocks, to replay verbatim
    calls: list[ToolCall] = []
    json_answer = False
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking") or ""))
            kept.append(block)
        elif kind == "redacted_thinking":
            kept.append(block)  # encrypted: no reasoning text, but Anthropic needs it back
        elif kind == "tool_use":
            tool_input = block.get("input")
            arguments = json.dumps(tool_input if tool_input is not None else {}, ensure_ascii=False)
            if block.get("name") == JSON_TOOL_NAME:
                texts.append(arguments)
                json_answer = True
            else:
                calls.append(
                    ToolCall(
                        id=str(block.get("id") or ""), name=str(block.get("name") or ""), arguments=arguments
                    )
                )
        # Server tool blocks and results: nothing llmrelay's model can carry.
    native = payload.get("stop_reason")
    native = native if isinstance(native, str) else None
    meta: dict[str, Any] = {}
    if isinstance(payload.get("stop_sequence"), str):
        meta["stop_sequence"] = payload["stop_sequence"]
    tier = service_tier_from(payload.get("usage"))
    if tier is not None:
        meta["service_tier"] = tier
    return ChatResponse(
        id=str(payload.get("id") or ""),
        model=str(payload.get("model") or ep.model),
        provider=provider,
        text="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=finish_reason(native, json_only=json_answer and not calls),
        native_finish_reason=native,
        usage=usage_from(payload.get("usage")),
        reasoning="".join(thinking) if thinking else None,
        raw=payload if include_raw else None,
        provider_state=state_from(kept, reply_id(ep, payload.get("id"))),
        details=meta,
    )
