"""What happens to the turns that no longer fit: truncate, drop the middle, or summarize.

A strategy is given every unit of the conversation (see ``window``), the room left once
the system prompt and fixed request parts are counted, and the stored summary; it returns
what to send: an optional preamble (a summary), the units to keep, and a new summary to
store when it made one. The newest unit is always kept; when even it does not fit, the
strategy raises ``ConversationOverflowError``.

Write your own by implementing ``Strategy.arrange``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from llmrelay.app.conversations.counting import ModelCounter
from llmrelay.app.conversations.errors import ConversationOverflowError
from llmrelay.app.conversations.window import Unit, align_to_user, flatten, newest_that_fit, total
from llmrelay.errors import OutputParseError
from llmrelay.types import Message

if TYPE_CHECKING:
    from llmrelay.client import Client

SUMMARY_HEADER = "Summary of the earlier part of this conversation:"
DEFAULT_INSTRUCTIONS = (
    "You maintain the running summary of a conversation between a user and an assistant. "
    "Merge the previous summary (if any) with the new turns into one concise summary. Keep "
    "facts, names, numbers, decisions, the user's goals and preferences, and open questions; "
    "drop pleasantries. Write plain prose in the third person, with no preamble."
)
#: a summary smaller than this cannot carry much; below it the newest turn is sent alone
MIN_SUMMARY_TOKENS = 32


@dataclass(frozen=True, slots=True)
class Summary:
    """Summarized text of the turns before ``upto`` (units that start there are live)."""

    text: str
    upto: int


@dataclass(frozen=True, slots=True)
class FitRequest:
    """Everything a strategy needs to decide what to send."""

    turns: Sequence[Message]
    units: Sequence[Unit]
    available: int
    counter: ModelCounter
    summary: Summary | None
    client: Client
    model: str | None
    conversation_id: str


@dataclass(frozen=True, slots=True)
class Arrangement:
    """What to send: ``preamble`` after the system prompt, then the ``kept`` units.
    ``summary`` is set when the strategy made a new summary to store."""

    kept: tuple[Unit, ...]
    preamble: tuple[Message, ...] = ()
    summary: Summary | None = None


class Strategy(Protocol):
    async def arrange(self, fit: FitRequest) -> Arrangement: ...


def overflow(fit: FitRequest, unit: Unit | None = None) -> ConversationOverflowError:
    size = unit.tokens if unit is not None else (fit.units[-1].tokens if fit.units else 0)
    return ConversationOverflowError(
        f"conversation {fit.conversation_id}: the newest turn needs {size} tokens but the budget leaves "
        f"{max(fit.available, 0)} after the system prompt; shorten it or raise the conversation's budget",
        model=fit.model,
    )


def newest(fit: FitRequest, units: Sequence[Unit], available: int) -> int:
    """Where the newest units that fit in ``available`` start (aligned to a user turn);
    raises when not even the newest one fits."""
    k = newest_that_fit(units, available)
    if units and k == len(units):
        raise overflow(fit, units[-1])
    return align_to_user(units, k, fit.turns)


class Truncate:
    """Send the newest turns that fit; older ones are not sent (they stay stored)."""

    async def arrange(self, fit: FitRequest) -> Arrangement:
        return Arrangement(tuple(fit.units[newest(fit, fit.units, fit.available) :]))


@dataclass(frozen=True, slots=True)
class DropMiddle:
    """Keep the first ``head`` units (the opening question and answer, which often state
    the task) and the newest that fit; drop what is between. When the head and the newest
    turn do not fit together, the head goes too."""

    head: int = 2

    async def arrange(self, fit: FitRequest) -> Arrangement:
        units = fit.units
        if total(units) <= fit.available:
            return Arrangement(tuple(units))
        head, rest = units[: self.head], units[self.head :]
        room = fit.available - total(head)
        if not rest or room < rest[-1].tokens:
            return await Truncate().arrange(fit)
        return Arrangement((*head, *rest[newest(fit, rest, room) :]))


@dataclass(frozen=True, slots=True)
class Summarize:
    """Fold the turns that fall out into a running summary, written by a model through the
    client (``model``: default the conversation's own; ``max_tokens``: the summary's size
    cap), and send it after the system prompt. The summary is stored with the conversation
    and extended, not rewritten from scratch, as more turns fall out."""

    model: str | None = None
    max_tokens: int = 512
    instructions: str = DEFAULT_INSTRUCTIONS
    rounds: int = 3

    async def arrange(self, fit: FitRequest) -> Arrangement:
        counter = fit.counter
        framing = counter.message(summary_message(""))
        covered = fit.summary.upto if fit.summary is not None else 0
        live = [u for u in fit.units if u.start >= covered]
        if not live:
            raise overflow(fit)
        text = fit.summary.text if fit.summary is not None else None
        made: Summary | None = None
        for _ in range(self.rounds):
            preamble = (summary_message(text),) if text else ()
            if total(live) + sum(counter.message(m) for m in preamble) <= fit.available:
                return Arrangement(tuple(live), preamble, made)
            room = fit.available - framing - self.max_tokens
            k = newest_that_fit(live, room)
            if k == len(live):  # the newest turn does not fit beside a full-size summary
                if live[-1].tokens + framing + MIN_SUMMARY_TOKENS > fit.available:
                    # not even beside a small one: send it alone, keep the stored summary for later
                    newest(fit, live, fit.available)
                    return Arrangement((live[-1],), (), made)
                k = len(live) - 1
            k = align_to_user(live, max(k, 1) if len(live) > 1 else k, fit.turns)
            dropped, live = live[:k], live[k:]
            cap = min(self.max_tokens, fit.available - total(live) - framing)
            text = await self._summarize(fit, text, flatten(dropped, fit.turns), max(cap, MIN_SUMMARY_TOKENS))
            made = Summary(text, live[0].start)
        raise overflow(fit, live[-1])

    async def _summarize(
        self, fit: FitRequest, previous: str | None, turns: Sequence[Message], cap: int
    ) -> str:
        parts = []
        if previous:
            parts.append(f"Previous summary:\n{previous}")
        if turns:
            parts.append("New turns:\n" + transcript(turns))
        parts.append("Write the updated summary.")
        reply = await fit.client.chat(
            [Message.system(self.instructions), Message.user("\n\n".join(parts))],
            model=self.model or fit.model,
            max_tokens=cap,
            metadata={"conversation": fit.conversation_id, "purpose": "conversation-summary"},
        )
        text = reply.text.strip()
        if not text:
            raise OutputParseError(
                f"conversation {fit.conversation_id}: the summary call returned no text "
                f"(finish reason {reply.finish_reason}); nothing was sent",
                provider=reply.provider,
                model=reply.model,
            )
        return text


def summary_message(text: str) -> Message:
    return Message.system(f"{SUMMARY_HEADER}\n{text}")


def transcript(turns: Sequence[Message]) -> str:
    """Turns as plain text for the summarizer: role, text, tool calls and results."""
    lines = []
    for m in turns:
        if m.role == "tool":
            lines.append(f"tool result{f' ({m.name})' if m.name else ''}: {m.text()}")
            continue
        text = m.text()
        if text:
            lines.append(f"{m.role}: {text}")
        for call in m.tool_calls:
            lines.append(f"{m.role} called {call.name}({call.arguments})")
    return "\n".join(lines)
