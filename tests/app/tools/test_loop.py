"""run_tools against the simulator: parallel calls, failures, timeouts, approval, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.app.conftest import PROTOCOL_MODELS
from tests.app.script import Script

import llmrelay
from llmrelay.app.tools import MaxTurnsExceededError, PendingCall, ToolRun, run_tools, tool
from llmrelay.errors import ConfigError
from llmrelay.simulator import Reply

SIM_PRICES = (1.0, 2.0)  # sim-1's notional USD per million input / output tokens (catalog.yaml)


class Calls:
    """Tools that record what actually ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []

    def tools(self) -> list[Any]:
        def add(a: int, b: int) -> int:
            """Add two integers."""
            self.ran.append(("add", (a, b)))
            return a + b

        async def explode(reason: str = "") -> str:
            """A tool that always fails."""
            self.ran.append(("explode", reason))
            raise RuntimeError(f"exploded {reason}".strip())

        @tool(timeout=0.1)
        async def hang() -> str:
            """A tool that never returns."""
            self.ran.append(("hang", None))
            await asyncio.sleep(3600)
            return "never"

        return [add, explode, hang]


@pytest.mark.parametrize("model", PROTOCOL_MODELS)
async def test_parallel_calls_with_a_failure_and_invalid_arguments_end_in_an_answer(
    client: llmrelay.Client, model: str
) -> None:
    calls = Calls()
    script = Script(
        [Reply.calls(("add", {"a": 2, "b": 3}), ("explode", {"reason": "now"}), ("add", {"a": "x"}))]
    )
    client.simulator.replies = script
    run = await run_tools(client, "Add 2 and 3, and blow up.", tools=calls.tools(), model=model)
    assert isinstance(run, ToolRun)
    assert run.turns == 2 and run.response.finish_reason == "stop" and run.text
    assert calls.ran == [("add", (2, 3)), ("explode", "now")]  # the invalid call never ran
    good, failed, invalid = run.results
    assert (good.content, good.error) == ("5", None)
    assert failed.error == "exception" and "RuntimeError: exploded now" in failed.content
    assert invalid.error == "invalid_arguments" and "a: Input should be a valid integer" in invalid.content
    assert "b: Field required" in invalid.content
    # the transcript: question, the assistant's three calls, three results in call order, the answer
    roles = [m.role for m in run.messages]
    assert roles == ["user", "assistant", "tool", "tool", "tool", "assistant"]
    assert [m.tool_call_id for m in run.messages[2:5]] == [c.id for c in run.messages[1].tool_calls]
    assert run.messages[-1].content == run.text
    # the model saw every result, errors included
    final_request = script.seen[-1]
    assert final_request.last_is_tool_result
    assert "RuntimeError: exploded now" in final_request.conversation
    assert "a: Input should be a valid integer" in final_request.conversation


async def test_a_hanging_tool_times_out_and_the_loop_goes_on(client: llmrelay.Client) -> None:
    calls = Calls()
    client.simulator.replies = Script([Reply.calls(("hang", {})), Reply.calls(("add", {"a": 1, "b": 1}))])
    run = await run_tools(client, "Try the slow one, then add.", tools=calls.tools())
    assert run.turns == 3
    timed_out, added = run.results
    assert timed_out.error == "timeout" and "did not finish within 0.1 s" in timed_out.content
    assert added.content == "2"
    assert calls.ran == [("hang", None), ("add", (1, 1))]


async def test_usage_and_cost_are_summed_over_every_model_call(client: llmrelay.Client) -> None:
    calls = Calls()
    client.simulator.replies = Script(
        [Reply.calls(("add", {"a": 1, "b": 2})), Reply.calls(("add", {"a": 3, "b": 4}))]
    )
    run = await run_tools(client, "Add twice.", tools=calls.tools())
    assert run.turns == 3
    usages = [r.usage for r in run.responses]
    assert all(u is not None for u in usages)
    assert run.usage is not None
    assert run.usage.input_tokens == client.simulator.stats.prompt_tokens
    assert run.usage.output_tokens == client.simulator.stats.completion_tokens
    expected = (run.usage.input_tokens * SIM_PRICES[0] + run.usage.output_tokens * SIM_PRICES[1]) / 1e6
    assert run.cost == pytest.approx(expected)


async def test_calls_of_one_turn_run_concurrently(client: llmrelay.Client) -> None:
    # Each call waits for the other to start: run one after the other, both would time out.
    started = {"left": asyncio.Event(), "right": asyncio.Event()}

    async def meet(side: str) -> str:
        """Wait for the other side."""
        started[side].set()
        other = "right" if side == "left" else "left"
        await started[other].wait()
        return f"{side} met {other}"

    client.simulator.replies = Script([Reply.calls(("meet", {"side": "left"}), ("meet", {"side": "right"}))])
    run = await run_tools(client, "Meet.", tools=[meet], tool_timeout=2)
    assert [r.content for r in run.results] == ["left met right", "right met left"]


async def test_sequential_mode_runs_calls_in_order(client: llmrelay.Client) -> None:
    order: list[str] = []

    async def step(name: str) -> str:
        """Record a step."""
        await asyncio.sleep(0.01 if name == "first" else 0)
        order.append(name)
        return name

    client.simulator.replies = Script(
        [Reply.calls(("step", {"name": "first"}), ("step", {"name": "second"}))]
    )
    await run_tools(client, "Two steps.", tools=[step], parallel=False)
    assert order == ["first", "second"]


async def test_the_engine_chooses_tools_whose_arguments_validate(client: llmrelay.Client) -> None:
    seen: list[tuple[str, str]] = []

    def weather(city: str, unit: str = "celsius") -> str:
        """Current weather for a city."""
        seen.append((city, unit))
        return f"21 {unit} in {city}"

    run = await run_tools(client, "Weather in Oslo?", tools=[weather])
    assert run.turns == 2 and len(seen) == 1 and run.results[0].error is None


async def test_dangerous_tools_need_approval(client: llmrelay.Client) -> None:
    deleted: list[str] = []

    @tool(dangerous=True)
    def delete(path: str) -> str:
        """Delete a file."""
        deleted.append(path)
        return "deleted"

    with pytest.raises(ConfigError, match="'delete' are marked dangerous and need approval"):
        await run_tools(client, "Clean up.", tools=[delete])
    asked: list[PendingCall] = []

    async def only_tmp(pending: PendingCall) -> bool:
        asked.append(pending)
        return str(pending.arguments["path"]).startswith("/tmp/")

    client.simulator.replies = Script(
        [Reply.calls(("delete", {"path": "/etc/passwd"}), ("delete", {"path": "/tmp/x"}))]
    )
    run = await run_tools(client, "Clean up.", tools=[delete], approve=only_tmp)
    assert deleted == ["/tmp/x"]
    assert [r.error for r in run.results] == ["denied", None]
    assert "was not approved" in run.results[0].content
    assert [p.arguments["path"] for p in asked] == ["/etc/passwd", "/tmp/x"]


async def test_max_turns_stops_the_loop_with_the_run_so_far(client: llmrelay.Client) -> None:
    calls = Calls()
    client.simulator.replies = Script([Reply.calls(("add", {"a": i, "b": i})) for i in range(5)])
    with pytest.raises(MaxTurnsExceededError, match="still calling tools after max_turns=2") as info:
        await run_tools(client, "Keep adding.", tools=calls.tools(), max_turns=2)
    run = info.value.run
    assert run.turns == 2 and [r.content for r in run.results] == ["0", "2"]
    assert run.messages[-1].role == "tool"  # every call answered: the transcript can be continued
    assert run.usage is not None and run.cost is not None
    again = await run_tools(client, run.messages, tools=calls.tools(), max_turns=5)
    assert again.turns == 4 and again.results[-1].content == "8"


async def test_a_pydantic_model_and_a_raw_schema_as_tools(client: llmrelay.Client) -> None:
    from pydantic import BaseModel

    class Convert(BaseModel):
        """Convert metres to feet."""

        metres: float

        def __call__(self) -> float:
            return round(self.metres * 3.28084, 2)

    schema = {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}

    def shout(word: str) -> str:
        return word.upper()

    shouter = tool(schema, name="shout", description="Shout a word.", handler=shout)
    client.simulator.replies = Script([Reply.calls(("Convert", {"metres": 10}), ("shout", {"word": "hi"}))])
    run = await run_tools(client, "Convert and shout.", tools=[Convert, shouter])
    assert [r.content for r in run.results] == ["32.81", "HI"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tools": []}, "at least one tool"),
        ({"max_turns": 0}, "max_turns must be an integer >= 1"),
        ({"tool_timeout": -1}, "tool_timeout must be a number of seconds > 0"),
        ({"tool_choice": "required"}, "tool_choice cannot be given to run_tools"),
    ],
)
async def test_bad_arguments_are_config_errors(
    client: llmrelay.Client, kwargs: dict[str, Any], match: str
) -> None:
    def ping() -> str:
        return "pong"

    options: dict[str, Any] = {"tools": [ping], **kwargs}
    with pytest.raises(ConfigError, match=match):
        await run_tools(client, "hi", **options)
    assert client.simulator.stats.total_requests == 0


async def test_duplicate_tool_names_are_refused(client: llmrelay.Client) -> None:
    def ping() -> str:
        return "pong"

    with pytest.raises(ConfigError, match="two tools are named 'ping'"):
        await run_tools(client, "hi", tools=[ping, tool(ping)])
