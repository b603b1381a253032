"""Decode a Responses API ``response`` object into a ``ChatResponse`` (pure).

Reference: https://platform.openai.com/docs/api-reference/responses/object. The answer
is a list of output items: ``message`` (``output_text`` and ``refusal`` parts),
``function_call`` (``call_id``, ``name``, ``arguments``) and ``reasoning`` (``summary``
parts, raw ``content`` on open-weight servers, ``encrypted_content``); hosted tools'
items are not modelled and are skipped. ``status`` and ``incomplete_details`` say how it
ended; the stream's terminal events carry the same object, so both paths share this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmrelay import errors
from llmrelay.providers import logprobs
from llmrelay.providers.openai_common import as_int, as_list, as_obj, as_str, decode_json, snippet
from llmrelay.providers.openai_errors import error_from_payload
from llmrelay.providers.openai_response import arguments_text
from llmrelay.providers.openai_responses_errors import failed_error
from llmrelay.providers.openai_responses_request import provider_name
from llmrelay.providers.openai_responses_state import state_from
from llmrelay.types import ChatResponse, FinishReason, ToolCall, Usage
from llmrelay.wire import Endpoint

#: ``incomplete_details.reason`` -> finish reason; any other reason is a cut-off answer too
_INCOMPLETE: dict[str, FinishReason] = {"max_output_tokens": "length", "content_filter": "content_filter"}
#: response fields kept in ``details``
DETAIL_KEYS = ("service_tier",)
REASONING_SEPARATOR = "\n\n"


@dataclass(slots=True)
class Output:
    """What the output items of a response say, in llmrelay's terms."""

    text: str = ""
    refusal: str = ""
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)


def read_output(items: list[Any]) -> Output:
    out = Output()
    for raw in items:
        item = as_obj(raw)
        if item is None:
            continue
        kind = item.get("type")
        if kind == "message":
            for part in as_list(item.get("content")):
                p = as_obj(part) or {}
                if p.get("type") == "output_text":
                    out.text += as_str(p.get("text")) or ""
                elif p.get("type") == "refusal":
                    out.refusal += as_str(p.get("refusal")) or ""
        elif kind == "function_call":
            out.tool_calls.append(
                ToolCall(
                    # call_id is what function_call_output answers; id (fc_…) names the item
                    id=as_str(item.get("call_id")) or as_str(item.get("id")) or f"call_{len(out.tool_calls)}",
                    name=as_str(item.get("name")) or "",
                    arguments=arguments_text(item.get("arguments")),
                )
            )
        elif kind == "reasoning":
            out.reasoning.extend(reasoning_texts(item))
    return out


def reasoning_texts(item: dict[str, Any]) -> list[str]:
    """A reasoning item's summary texts, else its raw reasoning text (gpt-oss on vLLM)."""
    summary = [t for p in as_list(item.get("summary")) if (t := as_str((as_obj(p) or {}).get("text")))]
    if summary:
        return summary
    return [t for p in as_list(item.get("content")) if (t := as_str((as_obj(p) or {}).get("text")))]


def finish_of(response: dict[str, Any], *, has_calls: bool, refused: bool) -> tuple[FinishReason, str | None]:
    """(finish reason, native reason): the native one is the incomplete reason, else the status."""
    status = as_str(response.get("status"))
    if status == "incomplete":
        reason = as_str((as_obj(response.get("incomplete_details")) or {}).get("reason"))
        return _INCOMPLETE.get(reason or "", "length"), reason or status
    if status == "cancelled":
        return "error", status
    if refused:
        return "content_filter", status
    if has_calls:
        return "tool_calls", status
    return "stop", status


def usage_from(raw: Any) -> Usage | None:
    """Usage from a response's ``usage``: ``input_tokens`` include the cached ones and
    ``output_tokens`` the reasoning ones, which is llmrelay's convention too."""
    usage = as_obj(raw)
    if usage is None:
        return None
    inp = as_obj(usage.get("input_tokens_details")) or {}
    out = as_obj(usage.get("output_tokens_details")) or {}
    return Usage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cached_input_tokens=as_int(inp.get("cached_tokens")),
        cache_write_tokens=as_int(inp.get("cache_write_tokens")),
        reasoning_tokens=as_int(out.get("reasoning_tokens")),
    )


def stored(response: dict[str, Any]) -> bool:
    """Whether the response was kept server-side (``store`` defaults to true)."""
    return response.get("store") is not False


def details_of(response: dict[str, Any], refusal: str) -> dict[str, Any]:
    meta: dict[str, Any] = {k: response[k] for k in DETAIL_KEYS if isinstance(response.get(k), str)}
    if refusal:
        meta["refusal"] = refusal
    tokens = logprobs.from_responses_output(response.get("output"))
    if tokens:
        meta[logprobs.DETAIL_KEY] = tokens
    return meta


def parse_chat(body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
    payload = as_obj(decode_json(body, ep, "the response"))
    if payload is None:
        raise _malformed(ep, f"the response is not a JSON object: {snippet(body)!r}")
    if "output" not in payload and payload.get("error") is not None and "status" not in payload:
        raise error_from_payload(payload, ep)  # an error body sent with a 2xx status
    status = as_str(payload.get("status"))
    if status == "failed":
        raise failed_error(payload, ep)
    if status in ("queued", "in_progress"):
        raise errors.UnsupportedFeatureError(
            f"the response is still {status} (background mode): llmrelay does not poll for it; "
            "leave 'background' unset, or fetch it later with GET /responses/{id}",
            provider=provider_name(ep),
            model=ep.model or None,
        )
    output = payload.get("output")
    if not isinstance(output, list):
        raise _malformed(ep, f"the response has no output list: {snippet(body)!r}")
    read = read_output(output)
    finish, native = finish_of(payload, has_calls=bool(read.tool_calls), refused=bool(read.refusal))
    return ChatResponse(
        id=as_str(payload.get("id")) or "",
        model=as_str(payload.get("model")) or ep.model,
        provider=provider_name(ep),
        # a refusal replaces the text; callers see it with a content_filter finish
        text=read.text or read.refusal,
        tool_calls=tuple(read.tool_calls),
        finish_reason=finish,
        native_finish_reason=native,
        usage=usage_from(payload.get("usage")),
        reasoning=REASONING_SEPARATOR.join(read.reasoning) or None,
        raw=payload if include_raw else None,
        provider_state=state_from(output, stored=stored(payload)),
        details=details_of(payload, read.refusal),
    )


def _malformed(ep: Endpoint, message: str) -> errors.MalformedResponseError:
    return errors.MalformedResponseError(message, provider=provider_name(ep), model=ep.model)
