"""A stored answer, and its versioned byte format.

An entry holds one complete, successful chat answer: the response's fields and, when it
was streamed, the chunks as the caller received them (so a replay has the same
boundaries). It is JSON with a format version; ``decode`` returns None for anything it
cannot trust — another version, bad JSON, missing or ill-typed fields — so an old or
corrupt entry is a miss, never a crash.

An entry shares no mutable container with the response it was made from, nor with the
responses served from it (``from_response`` copies in, ``own_details``/``own_state``
copy out): the in-memory backend keeps entries as objects, and a caller who edits the
``details`` or ``provider_state`` of an answer it got must not change the next hit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmrelay.types import (
    FINISH_REASONS,
    ChatResponse,
    FinishEvent,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

#: the entry format; entries of any other version are misses
FORMAT_VERSION = 1

#: finish reasons of answers worth keeping (a filtered or errored answer is not one)
STORABLE: frozenset[str] = frozenset(("stop", "length", "tool_calls"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored answer. ``created`` is a wall-clock time (seconds since the epoch),
    ``chunks`` the recorded content events of a streamed answer (None: it was unary)."""

    id: str
    model: str
    provider: str
    deployment: str | None
    text: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: FinishReason
    native_finish_reason: str | None
    usage: Usage | None
    #: what the answer cost when it was made (what a hit saves)
    cost: float | None
    reasoning: str | None
    provider_state: Mapping[str, Any] | None
    details: Mapping[str, Any] = field(default_factory=dict)
    chunks: tuple[StreamEvent, ...] | None = None
    created: float = 0.0

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.created

    def own_details(self) -> dict[str, Any]:
        """``details`` as a copy the caller may change."""
        return copy_json(self.details) if self.details else {}

    def own_state(self) -> Mapping[str, Any] | None:
        """``provider_state`` as a copy the caller may change."""
        return None if self.provider_state is None else copy_json(self.provider_state)

    def events(self) -> tuple[StreamEvent, ...]:
        """The content events to replay: the recorded chunks, or, for an answer that was
        not streamed, one piece per text, reasoning and tool call, then usage and finish."""
        if self.chunks is not None:
            return self.chunks
        out: list[StreamEvent] = []
        if self.reasoning:
            out.append(ReasoningDelta(self.reasoning))
        if self.text:
            out.append(TextDelta(self.text))
        for i, c in enumerate(self.tool_calls):
            out.append(ToolCallDelta(i, c.id, c.name, c.arguments))
        if self.usage is not None:
            out.append(UsageEvent(self.usage))
        out.append(FinishEvent(self.finish_reason, self.native_finish_reason))
        return tuple(out)


def from_response(resp: ChatResponse, deployment: str | None, now: float | None = None) -> Entry:
    return Entry(
        id=resp.id,
        model=resp.model,
        provider=resp.provider,
        deployment=deployment,
        text=resp.text,
        tool_calls=tuple(resp.tool_calls),
        finish_reason=resp.finish_reason,
        native_finish_reason=resp.native_finish_reason,
        usage=resp.usage,
        cost=resp.cost,
        reasoning=resp.reasoning,
        provider_state=None if resp.provider_state is None else copy_json(resp.provider_state),
        details=copy_json(resp.details) if resp.details else {},
        created=time.time() if now is None else now,
    )


def copy_json(v: Any) -> Any:
    """``v`` with every dict, list and tuple in it copied (mappings as dicts, values
    that are not containers — strings, numbers, frozen dataclasses — shared)."""
    t = type(v)
    if t is str or t is int or t is float or v is None or t is bool:
        return v
    if t is dict or isinstance(v, Mapping):
        return {k: copy_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [copy_json(x) for x in v]
    if isinstance(v, tuple) and type(v) is tuple:
        return tuple(copy_json(x) for x in v)
    return v


# --------------------------------------------------------------------------- encoding


def encode(entry: Entry) -> bytes:
    """The entry as bytes (raises ``TypeError``/``ValueError`` when provider state or
    details hold something JSON cannot carry: such an answer is not stored)."""
    body = {
        "v": FORMAT_VERSION,
        "created": entry.created,
        "id": entry.id,
        "model": entry.model,
        "provider": entry.provider,
        "deployment": entry.deployment,
        "text": entry.text,
        "tool_calls": [[c.id, c.name, c.arguments] for c in entry.tool_calls],
        "finish": entry.finish_reason,
        "native_finish": entry.native_finish_reason,
        "usage": _usage_out(entry.usage),
        "cost": entry.cost,
        "reasoning": entry.reasoning,
        "provider_state": entry.provider_state,
        "details": dict(entry.details),
        "chunks": None if entry.chunks is None else [_chunk_out(ev) for ev in entry.chunks],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def decode(raw: bytes | str) -> Entry | None:
    """The entry, or None when it is not one this version can trust."""
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION:
            return None
        finish = body["finish"]
        if finish not in FINISH_REASONS:
            return None
        chunks = body["chunks"]
        state = body["provider_state"]
        details = body["details"]
        if not isinstance(details, dict) or not (state is None or isinstance(state, dict)):
            return None
        return Entry(
            id=_str(body["id"]),
            model=_str(body["model"]),
            provider=_str(body["provider"]),
            deployment=_opt_str(body["deployment"]),
            text=_str(body["text"]),
            tool_calls=tuple(ToolCall(_str(i), _str(n), _str(a)) for i, n, a in body["tool_calls"]),
            finish_reason=finish,
            native_finish_reason=_opt_str(body["native_finish"]),
            usage=_usage_in(body["usage"]),
            cost=_opt_num(body["cost"]),
            reasoning=_opt_str(body["reasoning"]),
            provider_state=state,
            details=details,
            chunks=None if chunks is None else tuple(_chunk_in(c) for c in chunks),
            created=float(_num(body["created"])),
        )
    except (ValueError, TypeError, KeyError, IndexError):  # JSONDecodeError is a ValueError
        return None


def _usage_out(u: Usage | None) -> list[int] | None:
    if u is None:
        return None
    return [
        u.input_tokens,
        u.output_tokens,
        u.cached_input_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
        u.cache_write_1h_tokens,
    ]


def _usage_in(v: Any) -> Usage | None:
    if v is None:
        return None
    # five counts: an entry written before one-hour cache writes were counted apart
    if not isinstance(v, list) or len(v) not in (5, 6) or not all(type(x) is int for x in v):
        raise ValueError("usage")
    return Usage(*v)


def _chunk_out(ev: StreamEvent) -> list[Any]:
    if isinstance(ev, TextDelta):
        return ["t", ev.text]
    if isinstance(ev, ReasoningDelta):
        return ["r", ev.text]
    if isinstance(ev, ToolCallDelta):
        return ["c", ev.index, ev.id, ev.name, ev.arguments]
    if isinstance(ev, UsageEvent):
        return ["u", _usage_out(ev.usage)]
    if isinstance(ev, FinishEvent):
        return ["f", ev.reason, ev.native_reason]
    raise TypeError(f"{type(ev).__name__} is not a content event")


def _chunk_in(c: Any) -> StreamEvent:
    kind = c[0]
    if kind == "t":
        return TextDelta(_str(c[1]))
    if kind == "r":
        return ReasoningDelta(_str(c[1]))
    if kind == "c":
        if type(c[1]) is not int:
            raise ValueError("tool call index")
        return ToolCallDelta(c[1], _opt_str(c[2]), _opt_str(c[3]), _str(c[4]))
    if kind == "u":
        usage = _usage_in(c[1])
        if usage is None:
            raise ValueError("usage event")
        return UsageEvent(usage)
    if kind == "f" and c[1] in FINISH_REASONS:
        return FinishEvent(c[1], _opt_str(c[2]))
    raise ValueError(f"unknown chunk {kind!r}")


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("expected a string")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _num(v: Any) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("expected a number")
    return v


def _opt_num(v: Any) -> float | None:
    return None if v is None else float(_num(v))
