"""What an Anthropic assistant turn must carry when it is replayed: its thinking blocks,
and (on deployments with ``threads: true``) the id of the reply a thread continues from.

With extended thinking, Anthropic verifies the ``thinking`` blocks (by their
``signature``) and ``redacted_thinking`` blocks of the assistant turn that called
tools, and answers 400 when they are missing or altered; it also wants them ahead of
the turn's text and ``tool_use`` blocks. llmrelay's ``Message`` has no place for them,
so they travel in ``provider_state``:

    provider_state = {"anthropic": {"content": [block, ...]}}

where the blocks are the turn's ``thinking`` / ``redacted_thinking`` blocks exactly as
Anthropic sent them, in their original order. The request side puts them back first in
the assistant turn; other protocols never read the ``"anthropic"`` key.

With the message-threads beta on, the state also names the reply's ``id``:

    provider_state = {"anthropic": {"content": [block, ...], "message_id": "msg_..."}}

``message_id`` is never sent as part of a turn: the request side reads it only to
continue the thread from that reply (``anthropic_threads``). States without it (older
ones, or a deployment without threads) stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay import errors

KEY = "anthropic"
KEPT_TYPES = frozenset(("thinking", "redacted_thinking"))


def state_from(blocks: Sequence[Mapping[str, Any]], message_id: str | None = None) -> dict[str, Any] | None:
    """The ``provider_state`` for a turn whose thinking blocks are ``blocks`` and, when its
    thread can be continued, whose reply id is ``message_id`` (None for neither)."""
    if not blocks and not message_id:
        return None
    own: dict[str, Any] = {"content": [dict(b) for b in blocks]}
    if message_id:
        own["message_id"] = message_id
    return {KEY: own}


def thread_position(state: Mapping[str, Any] | None, i: int) -> str | None:
    """The reply id ``messages[i]`` (an assistant turn) can continue a thread from, if any."""
    own = state.get(KEY) if state else None
    if not isinstance(own, Mapping) or "message_id" not in own:
        return None
    value = own["message_id"]
    if not isinstance(value, str) or not value:
        raise _bad(i, "message_id must be the non-empty id of an Anthropic reply")
    return value


def replay_blocks(state: Mapping[str, Any] | None, i: int) -> list[dict[str, Any]]:
    """The thinking blocks to send first in ``messages[i]``, an assistant turn.

    Nothing when the message has no Anthropic state (another provider's history, or a
    turn written by the caller). Fresh dicts, so the caller's Message is never aliased
    into a request body that later code may change.
    """
    if not state:
        return []
    own = state.get(KEY)
    if own is None:
        return []
    content = own.get("content") if isinstance(own, Mapping) else None
    if not isinstance(content, Sequence) or isinstance(content, (str, bytes)):
        raise _bad(i, 'it must be {"content": [thinking blocks], "message_id": "msg_..." (optional)}')
    out: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        if not isinstance(block, Mapping) or block.get("type") not in KEPT_TYPES:
            raise _bad(i, f"content[{j}] is not a thinking or redacted_thinking block")
        out.append(dict(block))
    extra = set(own) - {"content", "message_id"}
    if extra:
        raise _bad(i, f"unexpected key {sorted(extra)[0]!r}")
    thread_position(state, i)  # a malformed id is refused even where threads are off
    return out


def _bad(i: int, why: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(
        f'messages[{i}].provider_state["anthropic"] is not what llmrelay stored: {why}; pass the '
        "assistant Message from ChatResponse.message back unchanged, or set provider_state=None"
    )
