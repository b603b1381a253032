"""What a Gemini model turn must carry when it is replayed: its thought signatures.

Gemini puts an opaque ``thoughtSignature`` on some parts of a reply and wants each one
back on the same part when the turn is replayed. Gemini 3 enforces it for function
calls (400 without), and recommends it for text. llmrelay's ``Message`` has no place
for them, so they travel in ``provider_state``:

    provider_state = {"gemini": {"calls": {call_id: signature}, "text": signature}}

* ``calls``: the signature of each ``functionCall`` part that had one, by the
  ``ToolCall.id`` llmrelay gave the call (in a parallel step only the first has one);
* ``text``: the last signature seen on any other part (a text part, a thought part, or
  the empty text part Gemini ends a stream with). The replayed turn has one text part,
  the whole text, which gets it.

Either key is left out when empty, and the state is None when the reply had no
signature at all. Other protocols never read the ``"gemini"`` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmrelay.errors import InvalidRequestError

KEY = "gemini"


@dataclass(slots=True)
class Signatures:
    """The thought signatures of one model turn (collected, or read back for replay)."""

    calls: dict[str, str] = field(default_factory=dict)
    text: str | None = None

    def state(self) -> dict[str, Any] | None:
        """The ``provider_state`` holding these signatures (None when there are none)."""
        own: dict[str, Any] = {}
        if self.calls:
            own["calls"] = dict(self.calls)
        if self.text:
            own["text"] = self.text
        return {KEY: own} if own else None


def signatures_of(state: Mapping[str, Any] | None, i: int) -> Signatures | None:
    """The signatures stored for ``messages[i]``; None when it has no Gemini state
    (history from another provider, or a turn written by the caller)."""
    own = state.get(KEY) if state else None
    if own is None:
        return None
    if not isinstance(own, Mapping):
        raise _bad(i, 'it must be an object such as {"calls": {...}, "text": "..."}')
    calls = own.get("calls", {})
    if not isinstance(calls, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in calls.items()
    ):
        raise _bad(i, '"calls" must map tool call ids to signature strings')
    text = own.get("text")
    if text is not None and not isinstance(text, str):
        raise _bad(i, '"text" must be a signature string')
    return Signatures(calls=dict(calls), text=text or None)


def _bad(i: int, why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f'messages[{i}].provider_state["gemini"] is not what llmrelay stored: {why}; pass the '
        "assistant Message from ChatResponse.message back unchanged, or set provider_state=None"
    )
