from __future__ import annotations

import pytest

from llmrelay import Message
from llmrelay.app.testing import SimulatedLLM
from llmrelay.errors import InvalidRequestError
from llmrelay.simulator import Fault, Reply
from llmrelay.simulator.engine import expected_text


async def test_scripted_replies_in_order_then_generated() -> None:
    sim = SimulatedLLM().reply("Paris.", Reply.calls(("search", {"q": "louvre"})))
    async with sim.client() as client:
        first = await client.chat("Capital of France?")
        second = await client.chat("Find the Louvre")
        third = await client.chat("Anything")
    assert first.text == "Paris."
    assert [(c.name, c.arguments) for c in second.tool_calls] == [("search", '{"q":"louvre"}')]
    assert third.text == expected_text("Anything", seed=0)
    assert sim.replies.remaining == 0
    assert ["France" in inp.conversation for inp in sim.replies.seen] == [True, False, False]


async def test_scripted_replies_stream_too() -> None:
    sim = SimulatedLLM().reply("one two three")
    async with sim.client() as client:
        stream = client.stream("Count")
        text = "".join([ev.text async for ev in stream if ev.type == "text"])
    assert text == "one two three"


async def test_faults_hit_the_next_requests_and_retries_see_them() -> None:
    sim = SimulatedLLM().fail(Fault.rate_limited(retry_after=0), Fault.error(503))
    async with sim.client() as client:
        reply = await client.chat("hello")
        stats = client.simulator.stats
    assert reply.text == expected_text("hello", seed=0)
    assert stats.total_requests == 3 and stats.statuses == {429: 1, 503: 1, 200: 1}
    assert sim.faults.remaining == 0
    assert reply.meta.attempts == 3


async def test_a_fault_that_is_not_retried_reaches_the_caller() -> None:
    sim = SimulatedLLM().fail(Fault.error(400, "bad request, on purpose"))
    async with sim.client() as client:
        with pytest.raises(InvalidRequestError, match="on purpose"):
            await client.chat("hello")
    assert not sim.calls.calls[0].ok


def test_fail_takes_faults_only() -> None:
    with pytest.raises(TypeError, match="Fault or None"):
        SimulatedLLM().fail("429")  # type: ignore[arg-type]


async def test_every_client_shares_the_script_and_the_log() -> None:
    sim = SimulatedLLM().reply("from the first", "from the second")
    async with sim.client() as a, sim.client() as b:
        assert (await a.chat("x")).text == "from the first"
        assert (await b.chat("y")).text == "from the second"
    sim.calls.assert_call_count(2)
    sim.calls.assert_called_with(messages=[Message.user("y")])


async def test_no_real_key_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmrelay.errors import MissingKeyError

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-thisMustNeverBeReadByTheKit0000")
    async with SimulatedLLM().client() as client:
        with pytest.raises(MissingKeyError):
            await client.chat("hi", model="openai/gpt-4o")


async def test_the_client_is_the_public_one_with_the_toolkit() -> None:
    import llmrelay

    async with SimulatedLLM().client() as client:
        assert type(client) is llmrelay.Client
