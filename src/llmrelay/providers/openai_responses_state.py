"""What a Responses API turn must carry when it is replayed: its reasoning items.

A reasoning model's ``output`` holds ``reasoning`` items (``rs_…``) ahead of the message
and ``function_call`` items they led to. OpenAI asks for them back in ``input`` on the
next turn of a tool loop (a model "cannot reuse" its reasoning otherwise), and checks the
pairing: a reasoning item must be followed by the very items that came after it, by
``id``. llmrelay's ``Message`` has no place for any of that, so it travels in
``provider_state``:

    provider_state = {"responses": {"items": [item, ...]}}

in the order of ``output``: each ``reasoning`` item exactly as the API sent it
(``id``, ``summary``, ``encrypted_content``…), and for the other items a marker with
their ids only, ``{"type": "message", "id"}`` or ``{"type": "function_call", "id",
"call_id"}`` (their content is in the ``Message`` already). The request side rebuilds
the turn in that order. A reasoning item is kept only when it can be replayed: it has
``encrypted_content`` (``include=["reasoning.encrypted_content"]``), or the response was
stored (``store`` not false), so that OpenAI finds it by id. The state is None when no
reasoning item is kept: a plain turn replays as plain items. Other protocols never read
the ``"responses"`` key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmrelay import errors

KEY = "responses"
_MARKER_TYPES = frozenset(("message", "function_call"))


def state_from(output: Iterable[Any], *, stored: bool) -> dict[str, Any] | None:
    """The ``provider_state`` for a response whose ``output`` items are given (None when
    there is no replayable reasoning item). ``stored`` is false when the response says
    ``"store": false``: then a reasoning item without ``encrypted_content`` cannot be
    found again, and is left out."""
    items: list[dict[str, Any]] = []
    kept = False
    for raw in output:
        if not isinstance(raw, Mapping):
            continue
        kind = raw.get("type")
        item_id = raw.get("id")
        if kind == "reasoning":
            if isinstance(raw.get("encrypted_content"), str) or (stored and isinstance(item_id, str)):
                items.append(dict(raw))
                kept = True
        elif kind == "message" and isinstance(item_id, str):
            items.append({"type": "message", "id": item_id})
        elif kind == "function_call" and isinstance(raw.get("call_id"), str):
            marker = {"type": "function_call", "call_id": raw["call_id"]}
            if isinstance(item_id, str):
                marker["id"] = item_id
            items.append(marker)
    return {KEY: {"items": items}} if kept else None


def replay_items(state: Mapping[str, Any] | None, i: int) -> list[Mapping[str, Any]] | None:
    """The stored items of ``messages[i]``, an assistant turn, in output order; None when
    it has no Responses state (history from another protocol, or written by the caller)."""
    own = state.get(KEY) if state else None
    if own is None:
        return None
    items = own.get("items") if isinstance(own, Mapping) else None
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise _bad(i, 'it must be {"items": [...]}')
    for j, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _bad(i, f"items[{j}] is not an object")
        kind = item.get("type")
        if kind == "reasoning":
            continue
        if kind not in _MARKER_TYPES:
            raise _bad(i, f"items[{j}] has type {kind!r}; expected reasoning, message or function_call")
        if kind == "function_call" and not isinstance(item.get("call_id"), str):
            raise _bad(i, f"items[{j}] is a function_call marker without its call_id")
    return list(items)


def _bad(i: int, why: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(
        f'messages[{i}].provider_state["{KEY}"] is not what llmrelay stored: {why}; pass the '
        "assistant Message from ChatResponse.message back unchanged, or set provider_state=None"
    )
