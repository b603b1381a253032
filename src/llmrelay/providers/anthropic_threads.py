"""Anthropic's message-threads beta (``anthropic-beta: message-threads-2026-08-12``).

Opt-in per deployment with the endpoint option ``threads: true``. The server keeps a
conversation under the ``id`` of each reply; the next request names that id and sends
only the turns after it, without ``system`` and ``tools`` (the thread keeps those it was
created with). The reply id travels in the assistant turn's ``provider_state``
(``anthropic_state``). We found no published definition of the beta: the wire shape
follows the anthropic SDK's types (``BetaThreadCreateParams``,
``BetaThreadContinueParams``) and the error codes its thread runner recovers from.

A continue the server refuses (the thread expired, or that reply was already continued:
a branched conversation) becomes ``errors.ServerStateLostError`` whose
``resend_options`` set ``threads_fresh``; the client resends once with them and the
request is then built whole, as a new thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from llmrelay import errors
from llmrelay.providers.anthropic_state import thread_position
from llmrelay.types import Message
from llmrelay.wire import Endpoint

BETA = "message-threads-2026-08-12"
OPTION = "threads"
#: set (by the client's resend) to start a new thread whatever the history holds
FRESH_OPTION = "threads_fresh"
#: ``error.details.error_code`` values a full resend recovers from
LOST_CODES = frozenset(("thread_not_found", "thread_already_continued"))
#: request fields a continue must not carry: the thread keeps the ones it was created with
CREATE_ONLY = ("system", "tools")


@dataclass(frozen=True, slots=True)
class ThreadPlan:
    """How one request uses the thread: the ``thread`` field, and the index of the first
    message to send (0 for a new thread)."""

    field: dict[str, str]
    start: int

    @property
    def continues(self) -> bool:
        return self.field["type"] == "continue"


def enabled(ep: Endpoint) -> bool:
    value = ep.options.get(OPTION, False)
    if not isinstance(value, bool):
        raise errors.ConfigError(
            f"the Anthropic endpoint option {OPTION!r} must be true or false, got {value!r}",
            provider=ep.host or "anthropic",
            model=ep.model or None,
        )
    return value


def plan(messages: Sequence[Message], ep: Endpoint) -> ThreadPlan | None:
    """None when threads are off; else continue from the last assistant turn that names its
    reply id, when there is something after it to send, or create a new thread."""
    if not enabled(ep):
        return None
    create = ThreadPlan({"type": "create"}, 0)
    if ep.options.get(FRESH_OPTION):
        return create
    for k in range(len(messages) - 1, -1, -1):
        msg = messages[k]
        if msg.role != "assistant":
            continue
        previous = thread_position(msg.provider_state, k)
        if previous is None:
            continue
        tail = messages[k + 1 :]
        # A system message after the position would need ``system``, which a continue cannot
        # carry; an empty tail has nothing to continue with (a prefill of that very reply).
        if not tail or any(m.role == "system" for m in tail):
            return create
        return ThreadPlan({"type": "continue", "previous_message_id": previous}, k + 1)
    return create


def unthreaded(ep: Endpoint) -> Endpoint:
    """``ep`` without threads: for requests that must carry the whole conversation (token
    counting measures the prompt the model sees, not the turn sent)."""
    if OPTION not in ep.options and FRESH_OPTION not in ep.options:
        return ep
    kept = {k: v for k, v in ep.options.items() if k not in (OPTION, FRESH_OPTION)}
    return replace(ep, options=kept)


def reply_id(ep: Endpoint, payload_id: Any) -> str | None:
    """The reply id to keep in ``provider_state``: only on deployments with threads on."""
    if isinstance(payload_id, str) and payload_id and enabled(ep):
        return payload_id
    return None


def lost_error(err: Mapping[str, Any]) -> bool:
    details = err.get("details")
    return isinstance(details, Mapping) and details.get("error_code") in LOST_CODES


def resend_options() -> dict[str, Any]:
    return {FRESH_OPTION: True}
