"""``run_tools``: let a model call Python tools until it answers.

    run = await run_tools(client, "What is 17 * 23, then plus 4?", tools=[multiply, add])
    run.text, run.messages, run.results, run.usage, run.cost

Each turn is one ``client.chat`` call (so retries, limits, cost and the ledger apply);
the calls the model makes in one turn run concurrently, their results go back in the
model's order, and the loop ends when a reply asks for no tool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from llmrelay.app.tools.define import as_tool
from llmrelay.app.tools.errors import MaxTurnsExceededError
from llmrelay.app.tools.execute import Approver, execute
from llmrelay.app.tools.result import ToolResult, ToolRun
from llmrelay.app.tools.spec import ToolSpec
from llmrelay.errors import ConfigError
from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.types import ChatResponse, Message

if TYPE_CHECKING:
    from llmrelay.client import Client

__all__ = ["DEFAULT_MAX_TURNS", "DEFAULT_TOOL_TIMEOUT", "run_tools", "tool_table"]

DEFAULT_MAX_TURNS = 10
DEFAULT_TOOL_TIMEOUT = 60.0
#: chat() parameters the loop sets itself
_RESERVED = ("tools", "tool_choice")


def tool_table(tools: Iterable[Any]) -> dict[str, ToolSpec]:
    """Tools by name, each turned into a ``ToolSpec``; ``ConfigError`` on a duplicate name."""
    table: dict[str, ToolSpec] = {}
    for obj in tools:
        spec = as_tool(obj)
        if spec.name in table:
            raise ConfigError(
                f"two tools are named {spec.name!r}; give one of them another name (tool(fn, name=...))"
            )
        table[spec.name] = spec
    return table


async def run_tools(
    client: Client,
    messages: MessagesLike,
    *,
    tools: Sequence[Any],
    model: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
    parallel: bool = True,
    approve: Approver | None = None,
    **params: Any,
) -> ToolRun:
    """Run the model with ``tools`` until it answers without calling one.

    ``tools``: functions (sync or async), ``tool(...)`` specs, Pydantic models that define
    ``__call__``. ``max_turns``: most model calls. ``tool_timeout``: seconds one call may
    take (a tool's own ``timeout`` wins; None: no limit). ``parallel``: run the calls of
    one turn concurrently (else one after the other, in order). ``approve(pending)``:
    decides, sync or async, whether a ``dangerous`` tool runs; required when one is
    offered. ``params`` go to ``client.chat`` (temperature, max_tokens, tags...).

    Arguments are validated before a tool runs; an invalid call, an unknown tool, a
    refusal, a timeout or an exception is sent back to the model as an error result and
    the loop goes on. Raises ``MaxTurnsExceededError`` (carrying the run so far) when the
    model is still calling tools after ``max_turns`` calls.
    """
    table = tool_table(tools)
    _check(table, max_turns, tool_timeout, approve, params)
    definitions = tuple(spec.definition() for spec in table.values())
    convo: list[Message] = list(coerce_messages(messages))
    responses: list[ChatResponse] = []
    results: list[ToolResult] = []
    for _ in range(max_turns):
        response = await client.chat(convo, model=model, tools=definitions, **params)
        responses.append(response)
        convo.append(response.message)
        if not response.tool_calls:
            return ToolRun(tuple(convo), tuple(responses), tuple(results))
        if parallel:
            turn = await asyncio.gather(
                *(execute(c, table, timeout=tool_timeout, approve=approve) for c in response.tool_calls)
            )
        else:
            turn = [
                await execute(c, table, timeout=tool_timeout, approve=approve) for c in response.tool_calls
            ]
        results.extend(turn)
        convo.extend(r.message for r in turn)
    run = ToolRun(tuple(convo), tuple(responses), tuple(results))
    raise MaxTurnsExceededError(
        f"the model was still calling tools after max_turns={max_turns} model calls; raise max_turns, or "
        "continue from the run's messages (error.run.messages)",
        run=run,
        provider=responses[-1].provider or None,
        model=responses[-1].model or None,
    )


def _check(
    table: dict[str, ToolSpec],
    max_turns: int,
    tool_timeout: float | None,
    approve: Approver | None,
    params: dict[str, Any],
) -> None:
    if not table:
        raise ConfigError("run_tools needs at least one tool (tools=[...])")
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ConfigError(f"max_turns must be an integer >= 1 (model calls), got {max_turns!r}")
    if tool_timeout is not None and (
        isinstance(tool_timeout, bool) or not isinstance(tool_timeout, int | float) or tool_timeout <= 0
    ):
        raise ConfigError(f"tool_timeout must be a number of seconds > 0 (or None), got {tool_timeout!r}")
    clash = [k for k in _RESERVED if k in params]
    if clash:
        raise ConfigError(
            f"{', '.join(clash)} cannot be given to run_tools: the loop sets them from tools=[...]"
        )
    dangerous = sorted(name for name, spec in table.items() if spec.dangerous)
    if dangerous and approve is None:
        raise ConfigError(
            f"tools {', '.join(map(repr, dangerous))} are marked dangerous and need approval: "
            "pass approve=... (a function of the pending call returning True to run it)"
        )
