"""Turn-by-turn chat over a Conversation: what ``llmrelay chat`` does with each line typed.

Lines are user turns, answered with the reply streamed to ``write``; lines starting with
``/`` are commands. The terminal side (reading lines, Ctrl-C, line history) is the CLI's;
this is the part that does not depend on a terminal, so it can be driven by tests or
embedded elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from llmrelay.app.conversations.conversation import Conversation
from llmrelay.types import ChatResponse, Message, TextDelta

if TYPE_CHECKING:
    from llmrelay.app.conversations.store import ConversationStore

HELP = """commands:
  /history         the stored turns
  /window          what the next call would send: tokens, budget, turns kept and dropped
  /save NAME       save a copy of this conversation as NAME (continue it: llmrelay chat --session NAME)
  /help            this list
  /exit, /quit     leave (so does Ctrl-D)
a line starting with // sends the rest as text starting with /"""


class ChatSession:
    """Handles lines for one conversation: replies and command output go to ``write``,
    usage lines (``show_usage``) to ``note`` (default ``write``). ``save_store`` is where
    ``/save`` writes (the conversation's own store when None)."""

    def __init__(
        self,
        conversation: Conversation,
        write: Callable[[str], None],
        *,
        note: Callable[[str], None] | None = None,
        save_store: ConversationStore | None = None,
        show_usage: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.conversation = conversation
        self._write = write
        self._note = note or write
        self._save_store = save_store
        self._show_usage = show_usage
        self._params = dict(params or {})

    async def handle(self, line: str) -> bool:
        """Act on one line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("//"):
            await self.say(text[1:])
            return True
        if text.startswith("/"):
            return await self._command(text)
        await self.say(line)
        return True

    async def say(self, text: str) -> ChatResponse:
        """Send a user turn and stream the reply (stored once complete)."""
        async with self.conversation.stream(text, **self._params) as stream:
            async for ev in stream:
                if isinstance(ev, TextDelta):
                    self._write(ev.text)
            reply = await stream.final()
        for call in reply.tool_calls:
            self._write(f"\n[tool call] {call.name}({call.arguments})")
        self._write("\n")
        if self._show_usage:
            self._note(usage_line(reply) + "\n")
        return reply

    async def _command(self, text: str) -> bool:
        name, _, arg = text[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("exit", "quit", "q"):
            return False
        if name == "help":
            self._write(HELP + "\n")
        elif name == "history":
            await self.conversation.refresh()
            self._write(history(self.conversation.turns) + "\n")
        elif name == "window":
            w = await self.conversation.window(**self._params)
            how = "exact" if w.exact else "estimated"
            line = (
                f"{w.tokens} of {w.budget} prompt tokens ({how}); {w.kept} turns sent, {w.dropped} not sent"
            )
            self._write(line + (f"; summary: {w.summary}" if w.summary else "") + "\n")
        elif name == "save":
            if not arg:
                self._write("usage: /save NAME\n")
            else:
                store = self._save_store or self.conversation.store
                await self.conversation.save(store, arg)
                self._write(f"saved as {arg!r} in {store.description}\n")
        else:
            self._write(f"unknown command /{name}; /help lists them\n")
        return True


def history(turns: tuple[Message, ...]) -> str:
    """Turns as ``role: text`` lines, tool calls and results included."""
    if not turns:
        return "(no turns yet)"
    lines = []
    for m in turns:
        text = m.text()
        if m.role == "tool":
            lines.append(f"tool [{m.tool_call_id}]: {text}")
            continue
        if text:
            lines.append(f"{m.role}: {text}")
        lines.extend(f"{m.role} [tool call] {c.name}({c.arguments})" for c in m.tool_calls)
    return "\n".join(lines)


def usage_line(reply: ChatResponse) -> str:
    u = reply.usage
    usage = f"{u.input_tokens} in / {u.output_tokens} out" if u else "usage not reported"
    cost = f", ${reply.cost:.6f}" if reply.cost is not None else ""
    return f"[{reply.provider}/{reply.model}] {usage}{cost}; finish={reply.finish_reason}"
