from __future__ import annotations

import pytest

from llmrelay import Tool
from llmrelay.app.testing import CallLog, SimulatedLLM
from llmrelay.simulator import Reply

SEARCH = Tool(name="search", parameters={"type": "object", "properties": {"q": {"type": "string"}}})
CLOCK = Tool(name="clock", parameters={"type": "object", "properties": {}})


async def test_called_with_messages_and_tools() -> None:
    sim = SimulatedLLM()
    async with sim.client() as client:
        await client.chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
        await client.chat("Find it", tools=[SEARCH, CLOCK])
    log = sim.calls
    found = log.assert_called_with(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert found is log.calls[0]
    log.assert_called_with(messages="Hi", contains=True)
    assert log.assert_called_with(tools=["clock", SEARCH]) is log.calls[1]
    log.assert_called_with(messages="Find it", tools=["search", "clock"], model="local")


async def test_a_missing_call_fails_listing_the_calls_made() -> None:
    sim = SimulatedLLM()
    async with sim.client() as client:
        await client.chat("Hi", tools=[SEARCH])
    with pytest.raises(AssertionError) as caught:
        sim.calls.assert_called_with(messages="Hello")
    text = str(caught.value)
    assert "messages [{'role': 'user', 'content': 'Hello'}]" in text
    assert "0: chat local [{'role': 'user', 'content': 'Hi'}] tools=['search']" in text
    with pytest.raises(AssertionError, match=r"tools \['clock'\]"):
        sim.calls.assert_called_with(tools=["clock"])
    with pytest.raises(AssertionError, match="including"):
        sim.calls.assert_called_with(messages=[{"role": "user", "content": "Hi"}] * 2, contains=True)


async def test_tool_call_turns_are_compared_by_tool_name() -> None:
    sim = SimulatedLLM().reply(Reply.calls(("search", {"q": "x"})), "done")
    async with sim.client() as client:
        first = await client.chat("Look it up", tools=[SEARCH])
        call = first.tool_calls[0]
        await client.chat(
            [
                {"role": "user", "content": "Look it up"},
                first.message,
                {"role": "tool", "tool_call_id": call.id, "content": "found"},
            ],
            tools=[SEARCH],
        )
    sim.calls.assert_called_with(
        messages=[
            {"role": "user", "content": "Look it up"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call.id, "type": "function", "function": {"name": "search", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "found"},
        ]
    )


async def test_usage_under() -> None:
    sim = SimulatedLLM()
    async with sim.client() as client:
        a = await client.chat("one two three", max_tokens=5)
        b = await client.chat("four five", max_tokens=5)
    assert a.usage is not None and b.usage is not None
    total = a.usage.total_tokens + b.usage.total_tokens
    used = sim.calls.assert_usage_under(total + 1)
    assert used.total_tokens == total
    with pytest.raises(AssertionError, match=f"used {total} total tokens, expected under {total}"):
        sim.calls.assert_usage_under(total)
    biggest = max(a.usage.total_tokens, b.usage.total_tokens)
    sim.calls.assert_usage_under(biggest + 1, each=True)
    with pytest.raises(AssertionError, match=f"used {biggest} or more total tokens"):
        sim.calls.assert_usage_under(biggest, each=True)
    sim.calls.assert_usage_under(a.usage.input_tokens + b.usage.input_tokens + 1, kind="input")
    with pytest.raises(AssertionError, match="output tokens"):
        sim.calls.assert_usage_under(a.usage.output_tokens + b.usage.output_tokens, kind="output")


async def test_streams_are_logged_when_they_complete() -> None:
    sim = SimulatedLLM()
    async with sim.client() as client:
        async for _ in client.stream("Stream please"):
            pass
    logged = sim.calls.assert_called_with(messages="Stream please")
    assert logged.usage is not None and logged.usage.output_tokens > 0


def test_an_empty_log() -> None:
    log = CallLog()
    log.assert_not_called()
    log.assert_call_count(0)
    with pytest.raises(AssertionError, match=r"\(none\)"):
        log.assert_called_with(messages="x")
