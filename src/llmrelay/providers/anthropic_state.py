"""What an Anthropic assistant turn must carry when it is replayed: its thinking blocks.

With extended thinking, Anthropic verifies the ``thinking`` blocks (by their
``signature``) and ``redacted_thinking`` blocks of the assistant turn that called
tools, and answers 400 when they are missing or altered; it also wants them ahead of
the turn's text and ``tool_use`` blocks. llmrelay's ``Message`` has no place for them,
so they travel in ``provider_state``:

    provider_state = {"anthropic": {"content": [block, ...]}}

where the blocks are the turn's ``thinking`` / ``redacted_thinking`` blocks exactly as
Anthropic sent them, in their original order. The request side puts them back first in
the assistant turn; other protocols never read the ``"anthropic"`` key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay import errors

KEY = "anthropic"
KEPT_TYPES = frozenset(("thinking", "redacted_thinking"))


def state_from(blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The ``provider_state`` for a turn whose thinking blocks are ``blocks`` (None for none)."""
    if not blocks:
        return None
    return {KEY: {"content": [dict(b) for b in blocks]}}


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
        raise _bad(i, 'it must be {"content": [thinking blocks]}')
    out: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        if not isinstance(block, Mapping) or block.get("type") not in KEPT_TYPES:
            raise _bad(i, f"content[{j}] is not a thinking or redacted_thinking block")
        out.append(dict(block))
    return out


def _bad(i: int, why: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(
        f'messages[{i}].provider_state["anthropic"] is not what llmrelay stored: {why}; pass the '
        "assistant Message from ChatResponse.message back unchanged, or set provider_state=None"
    )
