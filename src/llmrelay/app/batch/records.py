"""The result of one batch item, and its JSON form (a line of the output, a row of the journal).

An output line is one of::

    {"id": "q1", "index": 0, "status": "ok", "response": {"text": "…", "finish_reason": "stop",
     "usage": {"input_tokens": 12, "output_tokens": 30, …}, "cost": 0.000072, "model": "…", …}}
    {"id": "q2", "index": 1, "status": "error", "error": {"type": "InvalidRequestError",
     "message": "…", "status": 400, "code": null, "retryable": false, "request_id": "…"}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.errors import LLMRelayError
from llmrelay.types import ChatResponse, ToolCall, Usage


class BatchItemNotRunError(LLMRelayError):
    """The provider's batch ended without running this item (it expired or was cancelled).
    Nothing was billed for it; a resumed run sends it again."""

    retryable = True


@dataclass(frozen=True, slots=True)
class BatchError:
    """Why an item failed: the error's kind, its (secret-free) message and what is known
    about it. ``retryable`` items are sent again when a run resumes."""

    type: str
    message: str
    status: int | None = None
    code: str | None = None
    retryable: bool = False
    request_id: str | None = None

    @classmethod
    def of(cls, exc: BaseException) -> BatchError:
        if isinstance(exc, LLMRelayError):
            return cls(type(exc).__name__, exc.message, exc.status, exc.code, exc.retryable, exc.request_id)
        # Not one of llmrelay's errors: a bug somewhere. Keep its kind and text, nothing more.
        return cls(type(exc).__name__, str(exc))


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One item's outcome: ``response`` when it succeeded, else ``error``."""

    index: int
    id: str
    response: ChatResponse | None = None
    error: BatchError | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def cost(self) -> float | None:
        return self.response.cost if self.response is not None else None

    def to_json(self) -> dict[str, Any]:
        if self.response is not None:
            return {
                "id": self.id,
                "index": self.index,
                "status": "ok",
                "response": response_json(self.response),
            }
        error = self.error or BatchError("Error", "unknown failure")
        return {
            "id": self.id,
            "index": self.index,
            "status": "error",
            "error": {
                "type": error.type,
                "message": error.message,
                "status": error.status,
                "code": error.code,
                "retryable": error.retryable,
                "request_id": error.request_id,
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchResult:
        index, item_id = int(data["index"]), str(data["id"])
        if data.get("status") == "ok":
            return cls(index, item_id, response=response_from_json(data["response"]))
        e = data.get("error") or {}
        error = BatchError(
            str(e.get("type", "Error")),
            str(e.get("message", "")),
            e.get("status"),
            e.get("code"),
            bool(e.get("retryable", False)),
            e.get("request_id"),
        )
        return cls(index, item_id, error=error)


def _usage_json(u: Usage | None) -> dict[str, int] | None:
    if u is None:
        return None
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cached_input_tokens": u.cached_input_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    }


def response_json(r: ChatResponse) -> dict[str, Any]:
    """The parts of a response worth keeping (not ``raw`` or ``meta``)."""
    out: dict[str, Any] = {
        "text": r.text,
        "finish_reason": r.finish_reason,
        "usage": _usage_json(r.usage),
        "cost": r.cost,
        "model": r.model,
        "provider": r.provider,
        "response_id": r.id,
        "request_id": r.request_id,
        "latency": r.latency,
    }
    if r.tool_calls:
        out["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in r.tool_calls]
    if r.reasoning:
        out["reasoning"] = r.reasoning
    if r.native_finish_reason is not None:
        out["native_finish_reason"] = r.native_finish_reason
    if r.provider_state:
        out["provider_state"] = dict(r.provider_state)
    return out


def response_from_json(d: Mapping[str, Any]) -> ChatResponse:
    usage = d.get("usage")
    return ChatResponse(
        id=str(d.get("response_id") or ""),
        model=str(d.get("model") or ""),
        provider=str(d.get("provider") or ""),
        text=str(d.get("text") or ""),
        tool_calls=tuple(
            ToolCall(c["id"], c["name"], c.get("arguments", "{}")) for c in d.get("tool_calls", ())
        ),
        finish_reason=d.get("finish_reason", "stop"),
        native_finish_reason=d.get("native_finish_reason"),
        usage=Usage(**usage) if isinstance(usage, Mapping) else None,
        reasoning=d.get("reasoning"),
        request_id=d.get("request_id"),
        latency=d.get("latency"),
        cost=d.get("cost"),
        provider_state=d.get("provider_state"),
    )
