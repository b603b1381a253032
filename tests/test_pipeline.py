"""The call contract: layer order, observers written once, and when errors surface."""

from __future__ import annotations

import ast
import inspect
import tempfile
from collections.abc import AsyncIterator
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmrelay
from llmrelay.errors import BudgetExceededError, InvalidRequestError
from llmrelay.middleware.stack import STACK, after, before, build_stack
from llmrelay.pipeline import Call, Controller, Observer, Pipeline, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.state import StateContext
from llmrelay.types import ChatRequest, ChatResponse, Message, StreamEvent, TextDelta, report


class Look(Observer):
    def __init__(self, name: str, log: list[str], refuse: bool = False) -> None:
        self.name, self.log, self.refuse = name, log, refuse

    async def before(self, call: Call) -> str:
        self.log.append(f"{self.name}>")
        if self.refuse:
            raise BudgetExceededError(f"{self.name} refuses")
        return self.name

    async def after(self, call: Call, state: Any, error: BaseException | None) -> None:
        assert state == self.name  # each observer gets back its own state
        self.log.append(f"<{self.name}" + ("!" if error else ""))


class Wrap(Controller):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def unary(self, call: Call, call_next: UnaryHandler) -> Any:
        self.log.append(f"{self.name}>")
        resp = await call_next(call)
        self.log.append(f"<{self.name}")
        return resp

    async def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        self.log.append(f"{self.name}>")
        async for ev in call_next(call):
            yield TextDelta(f"{self.name}({ev.text})") if isinstance(ev, TextDelta) else ev
        self.log.append(f"<{self.name}")


def pipeline(layers: list[Any], log: list[str]) -> Pipeline:
    async def terminal(call: Call) -> ChatResponse:
        log.append("send")
        return ChatResponse(id="1", model="m", provider="p", text="ok")

    async def terminal_stream(call: Call) -> AsyncIterator[StreamEvent]:
        log.append("send")
        yield TextDelta("t")

    return Pipeline.build(layers, chat=terminal, stream=terminal_stream, embed=terminal, count=terminal)


CALL = Call(ChatRequest(model="m", messages=(Message.user("x"),)))


async def test_order_is_outermost_first_and_observers_are_written_once() -> None:
    log: list[str] = []
    p = pipeline([Look("a", log), Look("b", log), Wrap("c", log), Look("d", log)], log)
    assert (await p.unary(CALL)).text == "ok"
    assert log == ["a>", "b>", "c>", "d>", "send", "<d", "<c", "<b", "<a"]
    log.clear()
    assert [ev.text async for ev in p.stream(CALL)] == ["c(t)"]  # type: ignore[union-attr]
    assert log == ["a>", "b>", "c>", "d>", "send", "<d", "<c", "<b", "<a"]


async def test_a_refusal_unwinds_the_observers_already_entered() -> None:
    log: list[str] = []
    p = pipeline([Look("a", log), Look("b", log, refuse=True), Look("c", log)], log)
    with pytest.raises(BudgetExceededError):
        await p.unary(CALL)
    assert log == ["a>", "b>", "<a!"]  # b refused before it held anything; c never ran
    log.clear()
    events = p.stream(CALL)
    assert log == []  # nothing runs before the first iteration
    with pytest.raises(BudgetExceededError):
        await anext(events)
    assert log == ["a>", "b>", "<a!"]


async def test_a_layer_that_is_neither_kind_is_refused() -> None:
    class Old:
        async def handle(self, call: Call, call_next: UnaryHandler) -> Any:
            return await call_next(call)

    with pytest.raises(TypeError, match="Observer"):
        pipeline([Old()], [])


async def test_user_layers_go_at_named_slots() -> None:
    log: list[str] = []
    settings_ = Settings.load()
    probe = Look("mine", log)
    async with llmrelay.Client(settings_, layers=[before("retry", probe)]) as client:
        names = [type(x).__name__ for x in client._middleware]
        assert names.index("Look") == names.index("RetryMiddleware") - 1
        await client.chat("hi")
    assert log == ["mine>", "<mine"]
    with pytest.raises(llmrelay.ConfigError, match="no such slot"):
        llmrelay.Client(settings_, layers=[after("nope", probe)])


def test_every_report_field_is_documented() -> None:
    tree = ast.parse(inspect.getsource(report))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Report")
    lines = inspect.getsource(report).splitlines()
    names = []
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
            assert lines[node.lineno - 2].strip().startswith("#:"), f"Report.{node.target.id} is undocumented"
    assert names == [f.name for f in fields(report.Report)]


# --------------------------------------------------------------------------- every layer on or off


def full_settings(folder: str) -> Settings:
    """Settings that turn every layer of the default stack on."""
    return Settings.load(
        ledger={"url": f"sqlite:///{folder}/ledger.sqlite3", "flush_interval": 0.05},
        budgets={"rules": [{"scope": "global", "period": "day", "hard": 100.0}]},
        limits={
            "users": {"*": {"rpm": 10_000}},
            "deployments": {"simulator/sim-1": {"rpm": 10_000}},
        },
        routing={"hedge": {"enabled": True}},
        retry={"max_attempts": 1},
        cache={"enabled": True},
        observe={"logs": True, "guards": {"enabled": True}},
    )


SLOTS = [s.name for s in STACK]


def stack_for(client_settings: Settings, resolve: Any, mask: list[bool]) -> list[Any]:
    ctx = StackContext(client_settings, resolve, StateContext(), {})
    layers = build_stack(ctx)
    assert len(layers) == len(STACK)  # every slot is on
    return [layer for layer, keep in zip(layers, mask, strict=True) if keep]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mask=st.lists(st.booleans(), min_size=len(SLOTS), max_size=len(SLOTS)))
async def test_pre_send_errors_surface_at_the_same_point_whatever_the_layers(mask: list[bool]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        s = full_settings(folder)
        async with llmrelay.Client(s, environ={}) as base:
            layers = stack_for(s, base.route, mask)
            async with llmrelay.Client(s, environ={}, middleware=layers) as client:
                client.simulator.faults = FaultSequence([Fault.error(status=400)], cycle=True)
                # a stream: nothing happens at client.stream(); the provider's refusal at the first step
                stream = client.stream("hello", user="ann")
                assert client.simulator.stats.total_requests == 0
                with pytest.raises(InvalidRequestError):
                    await stream.__anext__()
                with pytest.raises(InvalidRequestError):
                    await client.chat("hello", user="ann")
                # an invalid request is refused by client.stream() itself, whatever the layers
                with pytest.raises(InvalidRequestError):
                    client.stream("hello", temperature=-1)
                client.simulator.faults = FaultSequence([])
                reply = await client.chat("hello", user="ann")
                streamed = await client.stream("hello", user="ann").final()
                for meta in (reply.meta, streamed.meta):
                    assert type(meta) is report.Report  # slots: nothing undocumented can be added
                    assert meta.deployment == "simulator/sim-1"
