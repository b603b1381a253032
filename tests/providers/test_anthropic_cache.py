"""Anthropic prompt-cache breakpoints: markers placed by hand, the rules, automatic placement."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.anthropic_request import build_body
from llmrelay.types import ChatRequest, Message, PromptCache, TextPart, Tool
from llmrelay.wire import Endpoint

EP = Endpoint("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com", host="anthropic")
LONG = "All work and no play makes Jack a dull boy. " * 200  # ~8,800 characters: ~2,200 tokens
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
FIVE_MIN = {"type": "ephemeral"}


def body(*messages: Message, **kw: Any) -> dict[str, Any]:
    return build_body(ChatRequest(model="m", messages=messages, **kw), EP, stream=False)


def test_markers_by_hand_go_on_their_blocks() -> None:
    b = body(
        Message.system(
            LONG,
        ),
        Message(role="user", content=(TextPart("doc", cache="1h"), TextPart("question"))),
        Message(role="assistant", content="answer", cache="5m"),
        Message.user("more"),
        tools=(Tool("lookup", cache="1h"),),
    )
    assert b["tools"][0]["cache_control"] == ONE_HOUR
    assert b["messages"][0]["content"][0] == {"type": "text", "text": "doc", "cache_control": ONE_HOUR}
    assert "cache_control" not in b["messages"][0]["content"][1]
    assert b["messages"][1]["content"][-1]["cache_control"] == FIVE_MIN
    assert b["system"] == LONG  # no marker there: the plain string form is kept


def test_a_marked_system_message_becomes_blocks() -> None:
    b = body(Message(role="system", content=LONG, cache="1h"), Message.user("hi"))
    assert b["system"] == [{"type": "text", "text": LONG, "cache_control": ONE_HOUR}]


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_refused_before_sending() -> None:
    with pytest.raises(
        errors.UnsupportedFeatureError, match=r"1-hour breakpoint at messages\[0\].*tools\[0\]"
    ):
        body(Message(role="user", content="x", cache="1h"), tools=(Tool("lookup", cache="5m"),))


def test_a_fifth_breakpoint_is_refused() -> None:
    turns = [
        Message(role=("user" if i % 2 == 0 else "assistant"), content=f"t{i}", cache="5m") for i in range(5)
    ]
    with pytest.raises(errors.UnsupportedFeatureError, match=r"5 cache breakpoints .*at most 4") as info:
        body(*turns)
    assert info.value.provider == "anthropic"


def test_auto_places_breakpoints_on_long_tools_system_and_conversation() -> None:
    tool = Tool("lookup", description=LONG)
    b = body(Message.system(LONG), Message.user(LONG), tools=(tool,), prompt_cache=PromptCache(auto="1h"))
    assert b["tools"][0]["cache_control"] == ONE_HOUR
    assert b["system"] == [{"type": "text", "text": LONG, "cache_control": ONE_HOUR}]
    assert b["messages"][-1]["content"][-1]["cache_control"] == ONE_HOUR


def test_auto_skips_prefixes_below_the_minimum() -> None:
    b = body(Message.system("short"), Message.user("also short"), prompt_cache=PromptCache(auto="5m"))
    assert b["system"] == "short"
    assert "cache_control" not in b["messages"][-1]["content"][-1]
    # the model's minimum decides: ~2,200 tokens is enough at 1,024 but not at 4,096
    cached = body(
        Message.system(LONG), Message.user("q"), prompt_cache=PromptCache(auto="5m", min_tokens=4096)
    )
    assert cached["system"] == LONG


def test_auto_respects_the_markers_placed_by_hand_and_the_limit() -> None:
    turns = [
        Message(role=("user" if i % 2 == 0 else "assistant"), content=LONG, cache="5m") for i in range(3)
    ]
    b = body(Message.system(LONG), *turns, prompt_cache=PromptCache(auto="1h"))
    # a 1h breakpoint on the system prompt would precede the 5m ones: allowed; the end of the
    # conversation already has one, and four is the most
    assert b["system"][0]["cache_control"] == ONE_HOUR
    marks = [blk for turn in b["messages"] for blk in turn["content"] if "cache_control" in blk]
    assert len(marks) == 3


def test_auto_never_breaks_the_ttl_order() -> None:
    b = body(
        Message(role="system", content=LONG, cache="5m"),
        Message.user(LONG),
        prompt_cache=PromptCache(auto="1h"),
    )
    assert b["system"][0]["cache_control"] == FIVE_MIN
    assert "cache_control" not in b["messages"][-1]["content"][-1]  # 1h after 5m is not allowed
