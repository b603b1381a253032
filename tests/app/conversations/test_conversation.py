"""Conversations against the simulator: fitting the budget, summaries, tools, streams, stores."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.app.conversations.conftest import StoreFactory

from llmrelay.app.conversations import (
    Conversation,
    ConversationNotFoundError,
    ConversationOverflowError,
    DropMiddle,
    MemoryStore,
    Summarize,
    Truncate,
)
from llmrelay.app.conversations.strategies import SUMMARY_HEADER
from llmrelay.client import Client
from llmrelay.errors import InvalidRequestError
from llmrelay.types import Message, TextDelta, ToolCall

SYSTEM = "You are a patient tutor who answers questions about rivers."


def question(i: int) -> str:
    return f"Question {i}: what can you tell me about river number {i} and its long winding course?"


async def test_past_its_window_it_keeps_system_recent_turns_and_a_summary(client: Client) -> None:
    """The acceptance test: over many turns the call always fits the budget, and sends the
    system prompt, then the stored summary, then the newest turns."""
    store = MemoryStore()
    conv = Conversation(
        client, model="local", system=SYSTEM, store=store, budget=300, strategy=Summarize(max_tokens=60)
    )
    for i in range(12):
        reply = await conv.send(question(i))
        assert reply.usage is not None and reply.usage.input_tokens <= 300  # the simulator's own count
    assert len(conv.turns) == 24  # every turn is stored, whatever was sent
    window = await conv.window()
    assert window.tokens <= window.budget == 300
    assert window.dropped > 0 and window.kept + window.dropped == 24
    sent = window.messages
    assert sent[0] == Message.system(SYSTEM)
    assert sent[1].role == "system" and sent[1].text().startswith(SUMMARY_HEADER)
    assert conv.summary is not None and sent[1].text().endswith(conv.summary)
    assert list(sent[2:]) == list(conv.turns[-window.kept :])  # the newest turns, in order
    assert sent[2].role == "user"
    info = await store.info(conv.id)
    assert (info.summary, info.summary_upto) == (conv.summary, 24 - window.kept)  # kept with the conversation
    count = await client.count_tokens(list(sent), model="local")
    assert count.tokens == window.tokens


async def test_the_summary_is_extended_not_rewritten(client: Client) -> None:
    calls: list[list[Message]] = []

    class Recording(Summarize):
        async def _summarize(self, fit: Any, previous: str | None, turns: Any, cap: int) -> str:
            calls.append(list(turns))
            text = await super()._summarize(fit, previous, turns, cap)
            return f"[{len(calls)}] {text}"

    conv = Conversation(client, model="local", system=SYSTEM, budget=260, strategy=Recording(max_tokens=40))
    for i in range(10):
        await conv.send(question(i))
    assert len(calls) >= 2
    assert conv.summary is not None and conv.summary.startswith(f"[{len(calls)}]")
    summarized = [m for batch in calls for m in batch]
    assert len(summarized) == len({id(m) for m in summarized})  # no turn summarized twice


async def test_truncate_sends_only_the_newest_turns(client: Client) -> None:
    conv = Conversation(client, model="local", system=SYSTEM, budget=200, strategy=Truncate())
    for i in range(8):
        await conv.send(question(i))
    window = await conv.window(question(99))
    assert window.summary is None and window.tokens <= 200 and window.dropped > 0
    assert window.messages[0].text() == SYSTEM
    assert window.messages[1].role == "user"
    assert window.messages[-1] == Message.user(question(99))
    assert list(window.messages[1:-1]) == list(conv.turns[len(conv.turns) - window.kept + 1 :])


async def test_drop_middle_keeps_the_opening_exchange(client: Client) -> None:
    conv = Conversation(client, model="local", budget=220, strategy=DropMiddle(head=2))
    for i in range(8):
        await conv.send(question(i))
    window = await conv.window()
    assert window.tokens <= 220 and window.dropped > 0
    assert list(window.messages[:2]) == list(conv.turns[:2])  # the first question and answer
    tail = window.kept - 2
    assert list(window.messages[2:]) == list(conv.turns[-tail:])


async def test_a_tool_call_is_never_sent_without_its_results(client: Client) -> None:
    conv = Conversation(client, model="local", budget=120)
    await conv.append(Message.user("Look up rivers."))
    for i in range(6):
        ids = [f"c{i}a", f"c{i}b"]
        await conv.append(
            Message.assistant(None, [ToolCall(x, "lookup", '{"q": "river"}') for x in ids]),
            *(Message.tool(x, f"result {x}: " + "water " * 6) for x in ids),
        )
    for budget_window in (await conv.window("And now?"), await conv.window()):
        sent = budget_window.messages
        assert budget_window.tokens <= 120 and budget_window.dropped > 0
        calls = {c.id for m in sent for c in m.tool_calls}
        results = {m.tool_call_id for m in sent if m.role == "tool"}
        assert calls == results  # whole units only


async def test_tool_results_continue_a_conversation(client: Client) -> None:
    weather = {
        "name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    conv = Conversation(client, model="local", params={"tools": [weather]})
    first = await conv.send("Weather in Oslo?")
    assert first.tool_calls, "the simulator calls the tool when one is offered"
    results = [Message.tool(c.id, '{"temp": 21}') for c in first.tool_calls]
    final = await conv.send(results)
    assert final.text and not final.tool_calls
    roles = [m.role for m in conv.turns]
    assert roles == ["user", "assistant", *["tool"] * len(results), "assistant"]


async def test_a_failed_call_leaves_the_conversation_unchanged(client: Client) -> None:
    conv = Conversation(client, model="local")
    await conv.send("hello")
    with pytest.raises(InvalidRequestError):
        await conv.send("again", temperature=7.5)
    assert len(conv.turns) == 2
    async with conv.stream("a streamed turn") as stream:
        async for ev in stream:
            if isinstance(ev, TextDelta):
                break  # leave early: the reply is incomplete
    assert len(conv.turns) == 2
    await conv.send("the lock was released")  # would hang if the stream had kept it
    assert len(conv.turns) == 4


async def test_stream_stores_the_turn_when_complete(client: Client) -> None:
    conv = Conversation(client, model="local", system=SYSTEM)
    stream = conv.stream("Tell me about the Nile.")
    text = "".join([t async for t in stream.text_stream()])
    assert stream.response is not None and text == stream.response.text
    assert stream.window is not None and stream.window.messages[-1] == Message.user("Tell me about the Nile.")
    assert conv.turns == (Message.user("Tell me about the Nile."), stream.response.message)
    final = await conv.stream("And the Amazon?").final()
    assert conv.turns[-1] == final.message


async def test_budget_comes_from_the_catalog(client: Client) -> None:
    conv = Conversation(client, model="local")
    assert (await conv.window("hi")).budget == 128_000 - 16_384  # sim-1: window less max output
    assert (await conv.window("hi", max_tokens=1000)).budget == 127_000
    big = Conversation(client, model="local", params={"max_tokens": 200_000})
    with pytest.raises(Exception, match="leaves no room for a prompt"):
        await big.window("hi")


async def test_a_turn_too_big_for_the_budget_is_refused(client: Client) -> None:
    conv = Conversation(client, model="local", system=SYSTEM, budget=60)
    with pytest.raises(ConversationOverflowError, match=r"the newest turn needs \d+ tokens") as info:
        await conv.send("word " * 200)
    assert info.value.status is None  # nothing was sent
    assert conv.turns == ()
    with pytest.raises(ValueError, match="budget must be a positive"):
        Conversation(client, budget=0)


async def test_the_providers_exact_count_is_used_near_the_budget(client: Client) -> None:
    """Anthropic's protocol has a count endpoint (the simulator serves it): a window whose
    estimate is near the budget is checked with it, and the figure reported is exact."""
    model = "simulator-anthropic/claude-haiku-4-5"
    store = MemoryStore()
    conv = Conversation(
        client, model=model, system=SYSTEM, store=store, conversation_id="exact", verify=False
    )
    for i in range(3):
        await conv.send(question(i))
    estimate = await conv.window()
    assert not estimate.exact and estimate.dropped == 0
    near = Conversation(client, model=model, store=store, conversation_id="exact", budget=estimate.tokens + 5)
    window = await near.window()
    assert window.exact and window.tokens <= window.budget and window.dropped == 0
    assert window.tokens == (await client.count_tokens(list(window.messages), model=model)).tokens
    assert window.tokens < estimate.tokens  # the estimate leans high


class Undercounting:
    """A client whose provider counts more tokens than llmrelay's estimate."""

    def __init__(self, client: Client, extra: int) -> None:
        self._client, self._extra = client, extra
        self.counts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def count_tokens(self, messages: Any, **kw: Any) -> Any:
        from llmrelay.tokens import TokenCount

        self.counts += 1
        count = await self._client.count_tokens(messages, **kw)
        return TokenCount(count.tokens + self._extra, True, "test:exact")


async def test_a_higher_exact_count_shrinks_the_window(client: Client) -> None:
    wrapped = Undercounting(client, extra=40)
    store = MemoryStore()
    conv = Conversation(wrapped, model="local", budget=200, store=store)  # type: ignore[arg-type]
    estimate_only = Conversation(client, model="local", budget=200, store=store, conversation_id=conv.id)
    over_by_estimate = 0
    for i in range(8):
        await conv.send(question(i))
        window = await conv.window()
        provider = await wrapped.count_tokens(list(window.messages), model="local")
        assert provider.tokens <= 200  # what the provider counts always fits
        plain = await estimate_only.window()
        if (await wrapped.count_tokens(list(plain.messages), model="local")).tokens > 200:
            over_by_estimate += 1
            assert window.kept < plain.kept  # room was made for what the estimate missed
    assert over_by_estimate > 0 and wrapped.counts > 0


async def test_open_load_fork_save_delete(client: Client, store_factory: StoreFactory) -> None:
    store = store_factory()
    with pytest.raises(ConversationNotFoundError):
        await Conversation.open(client, "missing", store=store, create=False)
    conv = await Conversation.open(client, "lesson", store=store, model="local", system=SYSTEM)
    await conv.send("first")
    await conv.send("second")
    again = await Conversation.open(client, "lesson", store=store)
    assert (again.model, again.system, again.turns) == (
        "local",
        SYSTEM,
        conv.turns,
    )  # stored settings adopted
    renamed = await Conversation.open(client, "lesson", store=store, system="Be terse.")
    assert renamed.system == "Be terse." and (await store.info("lesson")).system == "Be terse."
    branch = await conv.fork("lesson-branch", upto=2)
    assert branch.turns == conv.turns[:2] and branch.model == "local"
    await branch.send("a different second question")
    assert len(branch.turns) == 4 and len((await store.load("lesson")).messages) == 4
    other = store_factory()
    await conv.save(other, "lesson-copy")
    assert (await other.load("lesson-copy")).messages == conv.turns
    assert await conv.delete() is True
    with pytest.raises(ConversationNotFoundError):
        await store.info("lesson")


async def test_concurrent_writers_on_one_stored_conversation(
    client: Client, store_factory: StoreFactory
) -> None:
    a = await Conversation.open(client, "shared", store=store_factory(), model="local")
    b = await Conversation.open(client, "shared", store=store_factory(), model="local")
    await asyncio.gather(
        *(a.append(Message.user(f"a{i}")) for i in range(50)),
        *(b.append(Message.user(f"b{i}")) for i in range(50)),
    )
    await a.refresh()
    await b.refresh()
    assert a.turns == b.turns and len(a.turns) == 100
    assert {m.text() for m in a.turns} == {f"a{i}" for i in range(50)} | {f"b{i}" for i in range(50)}
    replies = await asyncio.gather(*(a.send(f"q{i}") for i in range(10)))
    await b.refresh()
    assert len(b.turns) == 120
    for i, reply in enumerate(replies):  # each question is stored right before its own answer
        at = next(k for k, m in enumerate(b.turns) if m.text() == f"q{i}")
        assert b.turns[at + 1].text() == reply.text
