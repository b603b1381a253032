import pytest

from llmrelay.errors import StreamTruncatedError
from llmrelay.pipeline import Call
from llmrelay.stream import ChatStream, StreamAccumulator
from llmrelay.types import (
    ChatRequest,
    FinishEvent,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


def call():
    return Call(ChatRequest(model="local", messages=(Message.user("hi"),)), stream=True)


def test_accumulator_folds_text_tools_usage_and_finish():
    acc = StreamAccumulator()
    for ev in [
        ReasoningDelta("think "),
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallDelta(0, id="c0", name="f", arguments='{"a"'),
        ToolCallDelta(1, id="c1", name="g"),
        ToolCallDelta(0, arguments=":1}"),
        UsageEvent(Usage(3, 4)),
        FinishEvent("tool_calls", "tool_calls"),
    ]:
        acc.add(ev)
    resp = acc.build({"response_id": "r1", "model": "m", "provider": "p"}, 0.1, 0.01)
    assert resp.text == "Hello"
    assert resp.reasoning == "think "
    assert resp.tool_calls == (ToolCall("c0", "f", '{"a":1}'), ToolCall("c1", "g", "{}"))
    assert resp.usage == Usage(3, 4)
    assert resp.finish_reason == "tool_calls"
    assert (resp.id, resp.model, resp.provider) == ("r1", "m", "p")


async def gen(events, error=None, closed=None):
    try:
        for ev in events:
            yield ev
        if error:
            raise error
    finally:
        if closed is not None:
            closed.append(True)


async def test_stream_yields_events_and_final_response():
    s = ChatStream(call(), gen([TextDelta("a"), TextDelta("b"), FinishEvent("stop")]))
    seen = [ev async for ev in s]
    assert len(seen) == 3
    assert s.response is not None and s.response.text == "ab"
    assert s.response.time_to_first_token is not None
    assert (await s.final()).text == "ab"


async def test_truncation_carries_the_partial_text():
    s = ChatStream(call(), gen([TextDelta("par"), TextDelta("tial")], error=StreamTruncatedError("cut")))
    with pytest.raises(StreamTruncatedError) as info:
        async for _ in s:
            pass
    assert info.value.partial_text == "partial"
    assert s.response is None


async def test_aclose_closes_the_source():
    closed: list[bool] = []
    s = ChatStream(call(), gen([TextDelta("a"), TextDelta("b")], closed=closed))
    async with s:
        await s.__anext__()
    assert closed == [True]
    with pytest.raises(RuntimeError, match="closed before it completed"):
        await s.final()


async def test_text_stream():
    s = ChatStream(call(), gen([TextDelta("x"), UsageEvent(Usage(1, 1)), TextDelta("y")]))
    assert [t async for t in s.text_stream()] == ["x", "y"]
