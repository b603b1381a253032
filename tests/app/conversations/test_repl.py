"""The chat session behind ``llmrelay chat``: lines become turns, /commands manage it."""

from __future__ import annotations

from llmrelay.app.conversations import ChatSession, Conversation, MemoryStore
from llmrelay.app.conversations.repl import HELP, history
from llmrelay.client import Client
from llmrelay.types import Message, ToolCall


def session(client: Client, **kw: object) -> tuple[ChatSession, list[str], list[str]]:
    out: list[str] = []
    notes: list[str] = []
    conv = Conversation(client, model="local", system="Be brief.")
    return ChatSession(conv, out.append, note=notes.append, **kw), out, notes  # type: ignore[arg-type]


async def test_lines_are_turns_and_replies_stream(client: Client) -> None:
    chat, out, notes = session(client, show_usage=True)
    assert await chat.handle("Hello there") is True
    reply_text = "".join(out).strip()
    assert reply_text and chat.conversation.turns[-1].text() == reply_text
    assert chat.conversation.turns[0] == Message.user("Hello there")
    assert notes and notes[0].startswith("[simulator/sim-1] ") and "finish=stop" in notes[0]
    assert await chat.handle("   ") is True and len(chat.conversation.turns) == 2  # blank lines do nothing
    await chat.handle("//etc/hosts is a file")
    assert chat.conversation.turns[2] == Message.user("/etc/hosts is a file")


async def test_commands(client: Client) -> None:
    chat, out, _ = session(client)
    await chat.handle("/help")
    assert out == [HELP + "\n"]
    out.clear()
    await chat.handle("/history")
    assert out == ["(no turns yet)\n"]
    await chat.handle("What is a river?")
    out.clear()
    await chat.handle("/history")
    assert out[0].startswith("user: What is a river?\nassistant: ")
    out.clear()
    await chat.handle("/window")
    assert "prompt tokens (estimated); 2 turns sent, 0 not sent" in out[0]
    out.clear()
    await chat.handle("/frobnicate")
    assert out == ["unknown command /frobnicate; /help lists them\n"]
    out.clear()
    await chat.handle("/save")
    assert out == ["usage: /save NAME\n"]
    assert await chat.handle("/quit") is False and await chat.handle("/EXIT") is False


async def test_save_writes_a_copy_to_the_save_store(client: Client) -> None:
    keep = MemoryStore()
    chat, out, _ = session(client, save_store=keep)
    await chat.handle("Remember the number 7.")
    out.clear()
    await chat.handle("/save numbers")
    assert out == ["saved as 'numbers' in memory://\n"]
    stored = await keep.load("numbers")
    assert stored.messages == chat.conversation.turns and stored.info.system == "Be brief."


def test_history_shows_tool_calls_and_results() -> None:
    text = history(
        (
            Message.user("weather?"),
            Message.assistant(None, [ToolCall("c1", "weather", '{"city": "Oslo"}')]),
            Message.tool("c1", "21C"),
        )
    )
    assert text == 'user: weather?\nassistant [tool call] weather({"city": "Oslo"})\ntool [c1]: 21C'
