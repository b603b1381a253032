import pytest

from llmrelay.errors import StreamTruncatedError
from llmrelay.pipeline import Call, Outcome
from llmrelay.stream import ChatStream
from llmrelay.types import (
    ChatRequest,
    FinishEvent,
    Message,
    ReasoningDelta,
    StreamEnd,
    StreamStart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


def call():
    return Call(ChatRequest(model="local", messages=(Message.user("hi"),)), stream=True)


def test_outcome_folds_text_tools_usage_and_finish():
    out = Outcome()
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
        out.add(ev)
    assert out.text == "Hello"
    assert out.reasoning == "think "
    assert out.tool_calls() == (ToolCall("c0", "f", '{"a":1}'), ToolCall("c1", "g", "{}"))
    assert out.usage == Usage(3, 4)
    assert out.finish_reason == "tool_calls"
    out.forget_content()
    assert (out.text, out.tool_calls(), out.usage, out.finish_reason) == ("", (), None, None)


def source(events, error=None, closed=None):
    """A stand-in for the pipeline: folds what it yields into the outcome, as the terminal does."""

    async def gen(c):
        try:
            for ev in events:
                c.outcome.add(ev)
                if type(ev) is StreamEnd:
                    c.outcome.complete = True
                yield ev
            if error:
                raise error
        finally:
            if closed is not None:
                closed.append(True)

    return gen


START = StreamStart("r1", "m", "p", "d", "req-1")


async def test_stream_yields_events_and_final_response():
    c = call()
    s = ChatStream(c, source([START, TextDelta("a"), TextDelta("b"), FinishEvent("stop"), StreamEnd("stop")]))
    seen = [ev async for ev in s]
    assert len(seen) == 5 and s.started is START
    assert s.response is not None and s.response.text == "ab"
    assert s.response.meta is c.report
    assert (await s.final()).text == "ab"


async def test_nothing_runs_before_the_first_iteration():
    ran: list[bool] = []

    async def gen(c):
        ran.append(True)
        yield START

    s = ChatStream(call(), gen)
    assert ran == []
    assert await s.start() is START
    assert ran == [True]
    assert [ev async for ev in s] == [START]  # start() keeps the event for the iteration


async def test_truncation_carries_the_partial_text():
    s = ChatStream(
        call(), source([START, TextDelta("par"), TextDelta("tial")], error=StreamTruncatedError("cut"))
    )
    with pytest.raises(StreamTruncatedError) as info:
        async for _ in s:
            pass
    assert info.value.partial_text == "partial"
    assert s.response is None


async def test_aclose_closes_the_source():
    closed: list[bool] = []
    s = ChatStream(call(), source([START, TextDelta("a"), TextDelta("b")], closed=closed))
    async with s:
        await s.__anext__()
    assert closed == [True]
    with pytest.raises(RuntimeError, match="closed before it completed"):
        await s.final()


async def test_text_stream():
    s = ChatStream(call(), source([START, TextDelta("x"), UsageEvent(Usage(1, 1)), TextDelta("y")]))
    assert [t async for t in s.text_stream()] == ["x", "y"]


async def test_the_providers_details_reach_the_streamed_response() -> None:
    import llmrelay
    from llmrelay.settings import Settings
    from llmrelay.simulator import expected_text

    full = expected_text("tell me a story", seed=0)
    stop = full.split()[3]  # a word the reply is sure to reach
    async with llmrelay.Client(Settings.load(), environ={}) as client:
        model = "simulator-anthropic/claude-haiku-4-5"
        unary = await client.chat("tell me a story", model=model, stop=[stop])
        streamed = await client.stream("tell me a story", model=model, stop=[stop]).final()
    assert unary.details.get("stop_sequence") == stop
    assert streamed.details.get("stop_sequence") == stop and streamed.text == unary.text
