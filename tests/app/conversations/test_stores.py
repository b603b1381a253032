"""Every store (memory, SQLite, PostgreSQL, Redis) does the same: create, load, append, save,
update, summaries, list, delete, fork — and loses no turn under 100 concurrent appends."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.app.conversations.conftest import StoreFactory

from llmrelay.app.conversations import (
    ConversationExistsError,
    ConversationInfo,
    ConversationNotFoundError,
    ConversationStore,
    StoredConversation,
    open_store,
)
from llmrelay.app.conversations.store_memory import MemoryStore
from llmrelay.app.conversations.store_sqlite import SQLiteStore
from llmrelay.errors import ConfigError
from llmrelay.types import ImagePart, Message, TextPart, ToolCall

TURNS = (
    Message.system("be brief"),
    Message.user("Weather in Oslo?"),
    Message.assistant(None, [ToolCall("c1", "weather", '{"city": "Oslo"}')]),
    Message.tool("c1", '{"temp": 21}', name="weather"),
    Message(
        role="assistant",
        content=(TextPart("Sunny"), ImagePart(data="aGk=", media_type="image/png", detail="low")),
        provider_state={"anthropic": {"thinking": [{"signature": "s1"}]}},
    ),
)


async def test_create_append_load(store: ConversationStore) -> None:
    before = time.time()
    info = await store.create("conv-1", model="local", system="Be kind.", metadata={"team": "a"})
    assert (info.id, info.model, info.system, info.length, info.metadata) == (
        "conv-1",
        "local",
        "Be kind.",
        0,
        {"team": "a"},
    )
    assert before - 1 <= info.created <= time.time() + 1
    assert await store.append("conv-1", TURNS[:2]) == 2
    assert await store.append("conv-1", TURNS[2:]) == len(TURNS)
    loaded = await store.load("conv-1")
    assert loaded.messages == TURNS  # everything survives: tool calls, parts, provider state
    assert loaded.info.length == len(TURNS) and loaded.info.updated >= info.updated
    assert await store.messages("conv-1", 3) == list(TURNS[3:])
    assert await store.messages("conv-1", 99) == []
    again = await store.create("conv-1", model="other", exist_ok=True)
    assert again.model == "local" and again.length == len(TURNS)  # exist_ok returns it unchanged
    with pytest.raises(ConversationExistsError, match="'conv-1' already exists"):
        await store.create("conv-1")


async def test_unknown_ids_are_not_found(store: ConversationStore) -> None:
    for call in (
        store.info("ghost"),
        store.load("ghost"),
        store.messages("ghost"),
        store.append("ghost", [Message.user("x")]),
        store.update("ghost", model="m"),
        store.set_summary("ghost", "s", 1),
        store.fork("ghost", "ghost-2"),
    ):
        with pytest.raises(ConversationNotFoundError, match="no conversation 'ghost'"):
            await call
    assert await store.delete("ghost") is False
    with pytest.raises(ConfigError, match="is not valid"):
        await store.create("bad id with spaces")


async def test_update_summary_list_delete(store: ConversationStore) -> None:
    await store.create("a", model="m1")
    await store.create("b")
    await store.append("a", [Message.user("1"), Message.user("2"), Message.user("3")])
    await store.update("a", system="new system")
    info = await store.info("a")
    assert (info.model, info.system) == ("m1", "new system")
    assert await store.set_summary("a", "first two", 2) is True
    assert await store.set_summary("a", "only the first", 1) is False  # a further summary is kept
    assert await store.set_summary("a", "first two again", 2) is False
    info = await store.info("a")
    assert (info.summary, info.summary_upto) == ("first two", 2)
    await store.append("b", [Message.user("latest")])  # b is now the most recently updated
    assert [i.id for i in await store.list()] == ["b", "a"]
    assert [i.id for i in await store.list(limit=1)] == ["b"]
    assert await store.delete("b") is True
    assert [i.id for i in await store.list()] == ["a"]
    with pytest.raises(ConversationNotFoundError):
        await store.load("b")


async def test_save_replaces_the_whole_conversation(store: ConversationStore) -> None:
    await store.create("s", model="m")
    await store.append("s", [Message.user("old")] * 4)
    snapshot = StoredConversation(
        ConversationInfo(
            id="s", model="m2", system="sys", summary="sum", summary_upto=1, metadata={"k": "v"}
        ),
        TURNS[1:3],
    )
    await store.save(snapshot)
    loaded = await store.load("s")
    assert loaded.messages == TURNS[1:3]
    assert (loaded.info.model, loaded.info.system, loaded.info.length) == ("m2", "sys", 2)
    assert (loaded.info.summary, loaded.info.summary_upto, loaded.info.metadata) == ("sum", 1, {"k": "v"})
    assert await store.append("s", [Message.user("next")]) == 3  # appends continue after the saved turns
    await store.save(StoredConversation(ConversationInfo(id="fresh"), ()))
    assert (await store.info("fresh")).length == 0


async def test_fork_copies_a_prefix_and_keeps_a_summary_only_when_it_fits(store: ConversationStore) -> None:
    await store.create("src", model="m", system="sys")
    await store.append("src", TURNS)
    await store.set_summary("src", "about the weather", 3)
    whole = await store.fork("src", "copy")
    assert (whole.id, whole.length, whole.summary, whole.system) == (
        "copy",
        len(TURNS),
        "about the weather",
        "sys",
    )
    assert (await store.load("copy")).messages == TURNS
    early = await store.fork("src", "early", upto=2)
    assert (early.length, early.summary, early.summary_upto) == (2, None, 0)  # the summary covers turn 2
    assert (await store.load("early")).messages == TURNS[:2]
    assert (await store.fork("src", "none", upto=0)).length == 0
    await store.append("copy", [Message.user("only in the copy")])
    assert (await store.info("src")).length == len(TURNS)  # the two go their own ways
    with pytest.raises(ConversationExistsError, match="cannot fork into 'early'"):
        await store.fork("src", "early")
    with pytest.raises(ConfigError, match=r"outside the conversation's 0\.\.5 turns"):
        await store.fork("src", "too-far", upto=9)


async def test_100_concurrent_appends_lose_nothing(store_factory: StoreFactory) -> None:
    """The acceptance test: 100 appends at once, from several writers (connections), to one
    conversation; every turn is stored once, at its own position."""
    writers = [store_factory() for _ in range(4)]
    await writers[0].create("busy")
    ends = await asyncio.gather(
        *(writers[i % 4].append("busy", [Message.user(f"turn {i}")]) for i in range(100))
    )
    assert sorted(ends) == list(range(1, 101))  # each append got a position of its own
    loaded = await writers[1].load("busy")
    assert loaded.info.length == 100
    assert sorted(m.text() for m in loaded.messages) == sorted(f"turn {i}" for i in range(100))
    for end in ends[:10]:  # each turn is where its append said it went
        i = ends.index(end)
        assert loaded.messages[end - 1].text() == f"turn {i}"


async def test_concurrent_batches_stay_contiguous(store_factory: StoreFactory) -> None:
    writers = [store_factory() for _ in range(3)]
    await writers[0].create("pairs")
    await asyncio.gather(
        *(
            writers[i % 3].append(
                "pairs",
                [
                    Message.assistant(None, [ToolCall(f"c{i}", "f", "{}")]),
                    Message.tool(f"c{i}", f"result {i}"),
                ],
            )
            for i in range(40)
        )
    )
    turns = (await writers[2].load("pairs")).messages
    assert len(turns) == 80
    for call, result in zip(turns[::2], turns[1::2], strict=True):
        assert result.tool_call_id == call.tool_calls[0].id  # a batch is never split by another


async def test_a_store_reopened_sees_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = SQLiteStore(path)
    await first.create("keep", model="local")
    await first.append("keep", TURNS)
    await first.aclose()
    second = open_store(f"sqlite:///{path}")
    try:
        assert (await second.load("keep")).messages == TURNS
    finally:
        await second.aclose()


def test_open_store_by_url(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    sqlite = open_store(f"sqlite:///{tmp_path}/x.sqlite3?prefix=app_")
    assert isinstance(sqlite, SQLiteStore) and sqlite.path == tmp_path / "x.sqlite3"
    assert open_store().description.endswith("conversations.sqlite3")
    pg = open_store("postgresql://me:hunter2@db:5432/app")
    assert "hunter2" not in pg.description and "***" in pg.description
    redis = open_store("redis://127.0.0.1:6379/3", prefix="chat:")
    assert "chat:" in redis.description
    with pytest.raises(ConfigError, match="unsupported conversation store 'mysql://u:\\*\\*\\*@h/db'"):
        open_store("mysql://u:pw@h/db")
    with pytest.raises(ConfigError, match="must be letters, digits and _"):
        open_store("sqlite:///x.sqlite3", prefix="bad-prefix")
    with pytest.raises(ConfigError, match="names no file"):
        open_store("sqlite:///")
