"""Units of turns: a tool call and its results are one unit, whatever was stored between them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmrelay.app.conversations.window import (
    Unit,
    align_to_user,
    flatten,
    group,
    newest_that_fit,
    units_of,
)
from llmrelay.types import Message, ToolCall


def call(*ids: str) -> Message:
    return Message.assistant(None, [ToolCall(i, "f", "{}") for i in ids])


def test_group_binds_results_to_their_call() -> None:
    turns = [
        Message.user("q"),  # 0
        call("a", "b"),  # 1
        Message.tool("a", "ra"),  # 2
        Message.user("interleaved"),  # 3: a concurrent writer got in between
        Message.tool("b", "rb"),  # 4
        Message.assistant("done"),  # 5
        Message.tool("zzz", "orphan"),  # 6: answers no call
    ]
    assert group(turns) == [(0,), (1, 2, 4), (3,), (5,), (6,)]
    units = units_of(turns, [1, 2, 3, 4, 5, 6, 7])
    assert units[1] == Unit((1, 2, 4), 2 + 3 + 5) and units[1].start == 1
    # emitted with the results right after the call
    assert [m.text() or "call" for m in flatten(units[1:3], turns)] == ["call", "ra", "rb", "interleaved"]


def test_newest_that_fit_and_alignment() -> None:
    turns = [Message.user("1"), Message.assistant("2"), Message.user("3"), Message.assistant("4")]
    units = units_of(turns, [10, 10, 10, 10])
    assert newest_that_fit(units, 40) == 0
    assert newest_that_fit(units, 35) == 1
    assert newest_that_fit(units, 9) == 4  # not even the newest
    assert align_to_user(units, 1, turns) == 2  # start at the next user turn
    assert align_to_user(units, 0, turns) == 0  # nothing dropped: nothing to align
    only_answers = [Message.user("q"), Message.assistant("a"), Message.assistant("b")]
    assert align_to_user(units_of(only_answers, [1, 1, 1]), 1, only_answers) == 1  # no later user turn


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    turns: list[Message] = []
    open_ids: list[str] = []
    for n in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["user", "assistant", "call", "result"]))
        if kind == "call":
            ids = [f"c{n}-{k}" for k in range(draw(st.integers(1, 3)))]
            turns.append(call(*ids))
            open_ids.extend(ids)
        elif kind == "result" and open_ids:
            turns.append(Message.tool(open_ids.pop(draw(st.integers(0, len(open_ids) - 1))), "r"))
        elif kind == "assistant":
            turns.append(Message.assistant("a"))
        else:
            turns.append(Message.user("u"))
    return turns


@given(conversations(), st.integers(0, 40))
def test_no_window_separates_a_call_from_its_results(turns: list[Message], available: int) -> None:
    units = units_of(turns, [1] * len(turns))
    assert sorted(i for u in units for i in u.indices) == list(range(len(turns)))  # a partition
    k = align_to_user(units, newest_that_fit(units, available), turns)
    sent = flatten(units[k:], turns)
    assert len(sent) <= max(available, 0) or k == len(units)
    call_ids = {c.id for m in sent for c in m.tool_calls}
    stored_results = {m.tool_call_id for m in turns if m.role == "tool"}
    for i, m in enumerate(sent):
        if m.role == "tool":  # every result sent follows its call, with only results between
            assert m.tool_call_id in call_ids
            j = i - 1
            while sent[j].role == "tool":
                j -= 1
            assert m.tool_call_id in {c.id for c in sent[j].tool_calls}
        for c in m.tool_calls:  # and every call sent has all the results that were stored for it
            if c.id in stored_results:
                assert any(r.tool_call_id == c.id for r in sent)
