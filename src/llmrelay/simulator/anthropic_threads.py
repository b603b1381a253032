"""The Anthropic message-threads beta (``anthropic-beta: message-threads-2026-08-12``):
server-held conversation state.

``thread: {"type": "create"}`` asks the server to keep the conversation under the reply's
``id``; ``{"type": "continue", "previous_message_id": …}`` sends only the new turn, and
the server answers as if the earlier turns (and the thread's ``system`` and ``tools``)
were in the request. The wire shape follows the anthropic SDK's types
(``BetaThreadCreateParams``, ``BetaThreadContinueParams``) and its thread runner: the
error codes (``error.details.error_code``: ``thread_not_found``,
``thread_already_continued``) are the ones the SDK recovers from; their statuses and
messages are not published, so the simulator's are its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid

BETA_PREFIX = "message-threads-"
CREATE_ONLY = ("system", "tools")
THREADS_KEPT = 1024


class ThreadRefused(Exception):
    """A thread request the API refuses: status, message and ``error_code`` detail."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(slots=True)
class _Thread:
    fields: dict[str, Any]  # the create-only fields the thread was created with
    messages: list[Any]  # the whole conversation, the reply included
    continued: bool = False


@dataclass(frozen=True, slots=True)
class ThreadTurn:
    """A request with its thread resolved: the body to answer and what to keep afterwards."""

    body: dict[str, Any]
    keep: bool  # whether the reply is stored as a thread position
    previous: str | None = None


class ThreadStore:
    """Threads by the id of their latest reply, least recently used dropped past the bound."""

    def __init__(self, limit: int = THREADS_KEPT) -> None:
        self.limit = limit
        self._threads: OrderedDict[str, _Thread] = OrderedDict()

    def resolve(self, body: Mapping[str, Any], betas: str) -> ThreadTurn:
        """The request as the model sees it; raises ``AnthropicInvalid`` or ``ThreadRefused``."""
        thread = body.get("thread")
        if thread is None:
            return ThreadTurn(dict(body), keep=False)
        if BETA_PREFIX not in betas:
            raise AnthropicInvalid("thread: Extra inputs are not permitted")
        if not isinstance(thread, dict):
            raise AnthropicInvalid("thread: Input should be a valid dictionary")
        kind = thread.get("type")
        rest = {k: v for k, v in body.items() if k != "thread"}
        if kind == "create":
            return ThreadTurn(rest, keep=True)
        if kind != "continue":
            raise AnthropicInvalid(
                "thread: Input tag found using 'type' does not match any of the expected tags: "
                "'create', 'continue'"
            )
        previous = thread.get("previous_message_id")
        if not isinstance(previous, str) or not previous:
            raise AnthropicInvalid("thread.continue.previous_message_id: Field required")
        for field in CREATE_ONLY:
            if field in rest:
                raise AnthropicInvalid(
                    f"{field}: cannot be set when continuing a thread; the thread keeps the `{field}` it was "
                    "created with"
                )
        held = self._threads.get(previous)
        if held is None:
            raise ThreadRefused(
                404, f"Thread not found for previous_message_id: {previous}", "thread_not_found"
            )
        if held.continued:
            raise ThreadRefused(
                409,
                f"The thread has already been continued from previous_message_id: {previous}",
                "thread_already_continued",
            )
        new = rest.get("messages")
        if not isinstance(new, list):
            raise AnthropicInvalid("messages: Input should be a valid list")
        merged = {**rest, **held.fields, "messages": [*held.messages, *new]}
        return ThreadTurn(merged, keep=True, previous=previous)

    def keep(self, turn: ThreadTurn, reply_id: str, reply_content: list[dict[str, Any]]) -> None:
        """Store the conversation with its reply under ``reply_id``; the position continued from
        cannot be continued again."""
        if not turn.keep:
            return
        if turn.previous is not None and turn.previous in self._threads:
            self._threads[turn.previous].continued = True
        fields = {f: turn.body[f] for f in CREATE_ONLY if f in turn.body}
        messages = [*turn.body["messages"], {"role": "assistant", "content": reply_content}]
        self._threads[reply_id] = _Thread(fields, messages)
        while len(self._threads) > self.limit:
            self._threads.popitem(last=False)
