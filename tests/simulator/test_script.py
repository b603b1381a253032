"""Scripted replies: the simulated model says what the test chose, in every protocol."""

from __future__ import annotations

import json

import pytest

import llmrelay
from llmrelay import Settings
from llmrelay.errors import ConfigError
from llmrelay.simulator import NoReplies, Reply, ReplySequence, ScriptedCall
from llmrelay.simulator.engine import GenerationInput

MODELS = ("simulator/sim-1", "simulator-anthropic/claude-haiku-4-5", "simulator-gemini/gemini-2.5-flash")
ADD = llmrelay.Tool(
    "add",
    "Add two integers",
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"]},
)


def inp() -> GenerationInput:
    return GenerationInput(model="m", conversation="hi", last_is_tool_result=False)


def test_sequence_plays_in_order_then_lets_the_engine_answer() -> None:
    first, third = Reply("one"), Reply("three")
    plan = ReplySequence([first, None, third])
    assert plan.remaining == 3
    assert [plan.next_reply(inp()) for _ in range(5)] == [first, None, third, None, None]
    assert plan.remaining == 0
    assert NoReplies().next_reply(inp()) is None


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Reply(), "needs text or tool calls"),
        (lambda: Reply(tool_calls=("add",)), "ScriptedCall items"),  # type: ignore[arg-type]
        (lambda: ScriptedCall(""), "non-empty"),
        (lambda: ScriptedCall("f", [1, 2]), "mapping"),  # type: ignore[arg-type]
        (lambda: ScriptedCall("f", {"x": object()}), "JSON-serializable"),
        (lambda: ReplySequence(["text"]), "Reply or None"),  # type: ignore[list-item]
    ],
)
def test_bad_scripts_are_refused(build: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()  # type: ignore[operator]


@pytest.mark.parametrize("model", MODELS)
async def test_scripted_text_in_every_protocol_unary_and_stream(model: str) -> None:
    text = 'Sure: {"name": "Ada", "born": 1815,}'
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as client:
        client.simulator.replies = ReplySequence([Reply(text), Reply(text)])
        unary = await client.chat("anything", model=model)
        streamed = await client.stream("anything", model=model).final()
        after = await client.chat("anything", model=model)
    assert unary.text == streamed.text == text
    assert unary.finish_reason == streamed.finish_reason == "stop"
    assert unary.usage is not None and unary.usage.output_tokens > 0
    assert unary.usage == streamed.usage
    assert after.text != text  # the script is used up: the engine answers again
    assert client.simulator.stats.replies_scripted == 2


@pytest.mark.parametrize("model", MODELS)
async def test_scripted_text_honours_max_tokens(model: str) -> None:
    text = '{"name": "Ada Lovelace", "born": 1815, "field": "mathematics"}'
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as client:
        client.simulator.replies = ReplySequence([Reply(text)])
        cut = await client.chat("anything", model=model, max_tokens=5)
    assert cut.finish_reason == "length"
    assert text.startswith(cut.text) and len(cut.text) < len(text)
    assert cut.usage is not None and cut.usage.output_tokens == 5


@pytest.mark.parametrize("model", MODELS)
async def test_scripted_parallel_calls_with_arguments_off_schema(model: str) -> None:
    script = Reply.calls(("add", {"a": 1, "b": 2}), ("add", {"a": "not a number"}), ("nope", {}))
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as client:
        client.simulator.replies = ReplySequence([script, script])
        reply = await client.chat("add things", model=model, tools=[ADD])
        streamed = await client.stream("add things", model=model, tools=[ADD]).final()
    for r in (reply, streamed):
        assert r.finish_reason == "tool_calls"
        assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [
            ("add", {"a": 1, "b": 2}),
            ("add", {"a": "not a number"}),
            ("nope", {}),
        ]
    if not model.startswith("simulator-gemini"):  # Gemini calls carry no ids
        ids = [c.id for c in reply.tool_calls]
        assert len(set(ids)) == 3


async def test_a_plan_sees_the_request() -> None:
    seen: list[GenerationInput] = []

    class Recorder:
        def next_reply(self, inp: GenerationInput) -> Reply | None:
            seen.append(inp)
            return None

    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as client:
        client.simulator.replies = Recorder()
        reply = await client.chat("hi", response_format=llmrelay.ResponseFormat.json_schema(schema))
    assert isinstance(json.loads(reply.text)["x"], int)
    assert [(i.json_mode, i.schema) for i in seen] == [("schema", schema)]
