"""Streams that finish: a stream that breaks after delivering content is resumed, checked."""

from __future__ import annotations

import pytest
from tests.resilience.sims import deployment, relay

import llmrelay
from llmrelay import errors
from llmrelay.middleware.resume import Delivered, Diverged, PrefixFilter
from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.types import FinishEvent, StreamStart, TextDelta, ToolCallDelta

PROMPT = "tell me a story"
FULL = expected_text(PROMPT, seed=0)


def cut(sim: Simulator, after: int = 4, kind: str = "cut_stream") -> Simulator:
    sim.faults = FaultSequence([Fault(kind, after_pieces=after)])  # type: ignore[arg-type]
    return sim


async def collect(stream: llmrelay.ChatStream, seen: list[str]) -> None:
    async for ev in stream:
        if isinstance(ev, TextDelta):
            seen.append(ev.text)


async def read(stream: llmrelay.ChatStream) -> tuple[list[object], str]:
    events = [ev async for ev in stream]
    return events, "".join(ev.text for ev in events if isinstance(ev, TextDelta))


@pytest.mark.parametrize("kind", ["cut_stream", "stream_error"])
async def test_a_deterministic_stream_is_resumed_to_the_exact_answer(kind: str) -> None:
    sims = {"a": cut(Simulator(), kind=kind)}
    async with relay(sims) as client:
        stream = client.stream(PROMPT, temperature=0)
        events, text = await read(stream)
    assert text == FULL  # nothing lost, nothing repeated
    assert sum(isinstance(ev, StreamStart) for ev in events) == 1
    assert stream.response is not None and stream.response.text == FULL
    assert stream.response.meta.resumed == 1 and stream.response.meta.attempts == 2
    assert sims["a"].stats.total_requests == 2


async def test_a_seed_makes_a_request_deterministic_and_always_resumes_any() -> None:
    async with relay({"a": Simulator()}) as client:
        seeded = (await client.chat(PROMPT, seed=7)).text
    async with relay({"a": cut(Simulator())}) as client:
        _, text = await read(client.stream(PROMPT, seed=7))
    assert text == seeded
    async with relay({"a": cut(Simulator())}) as client:
        _, text = await read(client.stream(PROMPT, resume="always"))
    assert text == FULL


async def test_resume_off_or_a_sampled_request_ends_in_the_one_error_type() -> None:
    for params in ({"temperature": 0, "resume": "off"}, {"temperature": 0.7}):
        sims = {"a": cut(Simulator())}
        async with relay(sims) as client:
            stream = client.stream(PROMPT, **params)
            seen: list[str] = []
            with pytest.raises(errors.StreamTruncatedError) as info:
                await collect(stream, seen)
        assert info.value.partial_text == "".join(seen) and FULL.startswith(info.value.partial_text)
        assert info.value.__cause__ is not None  # the provider's (or the connection's) error
        assert sims["a"].stats.total_requests == 1


async def test_a_new_stream_that_says_something_else_is_not_spliced_on() -> None:
    # b answers with another seed, so its text differs from what a delivered
    sims = {"a": cut(Simulator()), "b": Simulator(SimulatorConfig(seed=99))}
    deps = [deployment("a", weight=1000), deployment("b", weight=0.001)]
    async with relay(sims, deployments=deps) as client:
        stream = client.stream(PROMPT, temperature=0)
        seen: list[str] = []
        with pytest.raises(errors.StreamTruncatedError, match="could not be resumed") as info:
            await collect(stream, seen)
    assert info.value.partial_text == "".join(seen)
    assert FULL.startswith("".join(seen))  # what the caller read is a's text, uncontaminated


async def test_a_retry_before_content_announces_the_deployment_that_answers() -> None:
    sims = {"a": Simulator(), "b": Simulator()}
    sims["a"].faults = FaultSequence([Fault.error(503)])
    deps = [deployment("a", weight=1000), deployment("b", weight=0.001)]
    async with relay(sims, deployments=deps) as client:
        stream = client.stream(PROMPT)
        start = await stream.start()
        _, text = await read(stream)
    assert start.deployment == "b" and text == FULL
    assert stream.response is not None and stream.response.meta.deployment == "b"


def test_prefix_filter_passes_only_what_is_new() -> None:
    delivered = Delivered(text="Hello, wor")
    f = PrefixFilter(delivered)
    assert f.feed(TextDelta("Hel")) is None
    assert f.feed(TextDelta("lo, world")) == TextDelta("ld")
    assert f.caught_up
    assert f.feed(TextDelta("!")) == TextDelta("!")
    assert f.feed(FinishEvent("stop")) == FinishEvent("stop")
    with pytest.raises(Diverged, match="character 2"):
        PrefixFilter(delivered).feed(TextDelta("Hey"))
    with pytest.raises(Diverged, match="ended before"):
        PrefixFilter(delivered).feed(FinishEvent("stop"))
    with pytest.raises(Diverged, match="called a tool"):
        PrefixFilter(delivered).feed(ToolCallDelta(0, id="c", name="f"))


def anthropic_dep(name: str) -> dict[str, object]:
    return {
        "provider": "simulator-anthropic",
        "model": "claude-haiku-4-5",
        "base_url": f"http://{name}.sim",
        "name": name,
    }


async def test_anthropic_continues_from_the_delivered_text_instead_of_starting_again() -> None:
    whole_sim = Simulator()
    async with relay({"a": whole_sim}, deployments=[anthropic_dep("a")]) as client:
        whole = await client.stream(PROMPT, temperature=0).final()
    sims = {"a": cut(Simulator(), after=6)}
    async with relay(sims, deployments=[anthropic_dep("a")]) as client:
        stream = client.stream(PROMPT, temperature=0)
        _, text = await read(stream)
    assert text == FULL == whole.text
    reply = stream.response
    assert reply is not None and reply.meta.resumed == 1
    # the second request generated only what followed the delivered text
    assert reply.usage is not None and whole.usage is not None
    assert 0 < reply.usage.output_tokens < whole.usage.output_tokens


def test_a_continuation_carries_the_delivered_text_as_the_assistants_turn() -> None:
    from llmrelay.middleware.resume import continuation
    from llmrelay.types import ChatRequest, Message

    req = ChatRequest(model="m", messages=(Message.user("hi"),))
    cont = continuation(req, Delivered(text="Once upon a "))
    assert cont is not None and cont.prefill == "Once upon a" and cont.tail == " "
    assert cont.request.messages[-1] == Message.assistant("Once upon a")
    own = ChatRequest(model="m", messages=(Message.user("hi"), Message.assistant("Answer:")))
    cont = continuation(own, Delivered(text=" forty"))
    assert cont is not None and cont.request.messages[-1] == Message.assistant("Answer: forty")
    assert len(cont.request.messages) == 2
    assert continuation(req, Delivered(text="x", reasoning="thinking")) is None  # no prefill with thoughts
    assert continuation(req, Delivered(text="x", tool_calls=True)) is None


def test_no_continuation_while_thinking_is_on() -> None:
    # Anthropic refuses a prefilled answer with extended thinking: only a re-request can finish it
    from dataclasses import replace

    from llmrelay.middleware.resume import continuation
    from llmrelay.types import ChatRequest, Message, Reasoning

    base = ChatRequest(model="m", messages=(Message.user("hi"),))
    assert continuation(base, Delivered(text="Once upon")) is not None
    for thinking in (Reasoning(effort="low"), Reasoning(budget_tokens=2048), Reasoning()):
        assert continuation(replace(base, reasoning=thinking), Delivered(text="Once")) is None
    assert (
        continuation(
            replace(base, extra={"thinking": {"type": "enabled", "budget_tokens": 2048}}), Delivered(text="x")
        )
        is None
    )
    for off in (Reasoning(effort="none"), Reasoning(budget_tokens=0)):
        assert continuation(replace(base, reasoning=off), Delivered(text="Once")) is not None
