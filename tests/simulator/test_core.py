from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypeVar, cast

import httpx2
import pytest

from llmrelay.errors import ConfigError
from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, core
from llmrelay.simulator.engine import GenerationInput, expected_text

T = TypeVar("T")


def test_config_defaults() -> None:
    config = SimulatorConfig()
    assert (config.seed, config.latency, config.ttft, config.tokens_per_second) == (0, 0.0, 0.0, None)
    assert config.api_keys is None
    assert config.context_window == 128_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"latency": -1}, "latency"),
        ({"ttft": -0.1}, "ttft"),
        ({"tokens_per_second": 0}, "tokens_per_second"),
        ({"context_window": 0}, "context_window"),
        ({"hang_seconds": 0}, "hang_seconds"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        SimulatorConfig(**kwargs)  # type: ignore[arg-type]


def test_config_repr_never_shows_keys() -> None:
    config = SimulatorConfig(api_keys=["sk-secret-value-123"])  # type: ignore[arg-type]
    assert isinstance(config.api_keys, frozenset)
    assert "sk-secret" not in repr(config)
    assert "1 keys" in repr(config)
    assert "sk-secret" not in repr(Simulator(config))


def test_check_key() -> None:
    assert Simulator().check_key(None)
    assert Simulator().check_key("anything")
    sim = Simulator(SimulatorConfig(api_keys=frozenset({"k1", "k2"})))
    assert sim.check_key("k2")
    assert not sim.check_key("k3")
    assert not sim.check_key(None)
    assert not sim.check_key("")


def test_knows_model() -> None:
    assert Simulator().knows_model("whatever")
    sim = Simulator(SimulatorConfig(models=frozenset({"a"})))
    assert sim.knows_model("a")
    assert not sim.knows_model("b")


def test_begin_counts_requests_and_faults() -> None:
    fault = Fault.rate_limited()
    sim = Simulator(faults=FaultSequence([None, fault]))
    first, none = sim.begin("openai", "m", False)
    second, got = sim.begin("anthropic", "m", True)
    assert (first.index, second.index) == (0, 1)
    assert none is None
    assert got == fault
    assert second.stream
    assert sim.stats.requests == {"openai": 1, "anthropic": 1}
    assert sim.stats.faults == {"status": 1}
    assert sim.stats.fault_detail == {"status:429/stream": 1}
    assert sim.stats.snapshot()["fault_detail"] == {"status:429/stream": 1}
    assert sim.stats.total_requests == 2


def test_generate_uses_the_seed_and_counts_tokens() -> None:
    sim = Simulator(SimulatorConfig(seed=5))
    inp = GenerationInput(model="m", conversation="hi", last_is_tool_result=False)
    gen = sim.generate(inp)
    assert gen.text == expected_text("hi", seed=5)
    assert sim.stats.prompt_tokens == gen.prompt_tokens
    assert sim.stats.completion_tokens == gen.completion_tokens


def test_generate_many_gives_distinct_alternatives_and_counts_the_prompt_once() -> None:
    sim = Simulator()
    inp = GenerationInput(model="m", conversation="hi", last_is_tool_result=False)
    gens = sim.generate_many(inp, 3)
    assert gens[0].text == expected_text("hi", seed=0)
    assert len({g.text for g in gens}) == 3
    assert sim.stats.prompt_tokens == gens[0].prompt_tokens
    assert sim.stats.completion_tokens == sum(g.completion_tokens for g in gens)
    assert [g.text for g in Simulator().generate_many(inp, 3)] == [g.text for g in gens]


def test_new_id_is_deterministic_per_request() -> None:
    sim = Simulator()
    info, _ = sim.begin("openai", "m", False)
    other, _ = sim.begin("openai", "m", False)
    assert sim.new_id("chatcmpl-", info) == sim.new_id("chatcmpl-", info)
    assert sim.new_id("chatcmpl-", info) != sim.new_id("chatcmpl-", other)
    assert len(sim.new_id("req_", info, 32)) == 4 + 32
    assert sim.new_id("x", info).isalnum()


def test_stream_finished_counts() -> None:
    sim = Simulator()
    sim.stream_finished()
    sim.stream_finished(cut=True)
    sim.stream_finished(cut=True)
    assert (sim.stats.streams_completed, sim.stats.streams_cut) == (1, 2)


class _VirtualTime:
    """Stands in for ``time`` and ``asyncio`` inside ``simulator.core`` while ``pace`` is driven
    by hand: ``sleep`` moves ``now`` on at once, so the schedule is checked exactly, however
    loaded the machine is (a real-time upper bound cannot promise that)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _next(gen: AsyncIterator[T]) -> T | None:
    """The generator's next item without an event loop (None at its end); fails if it
    suspends, i.e. waits on a real timer or I/O."""
    step = gen.__anext__()
    try:
        step.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return cast(T, done.value)
    except StopAsyncIteration:
        return None
    step.close()  # type: ignore[attr-defined]
    raise AssertionError("pace waited on the event loop")


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> _VirtualTime:
    clock = _VirtualTime()
    monkeypatch.setattr(core, "time", clock)
    monkeypatch.setattr(core, "asyncio", clock)
    return clock


def test_pace_without_knobs_is_immediate() -> None:
    # no virtual time: _next fails if pace so much as yields to the event loop
    pieces = Simulator().pace(["a", "b", "c"])
    got = [_next(pieces) for _ in range(4)]
    assert got == [(0, "a"), (1, "b"), (2, "c"), None]


def test_pace_honours_ttft_and_tokens_per_second(virtual_time: _VirtualTime) -> None:
    sim = Simulator(SimulatorConfig(ttft=0.05, tokens_per_second=100))
    pieces = sim.pace(["x"] * 11)
    stamps = []
    while _next(pieces) is not None:
        stamps.append(virtual_time.now)
    # the first piece after ttft, then one every 1/100 s
    assert stamps == pytest.approx([0.05 + i / 100 for i in range(11)])


def test_pace_keeps_its_schedule_when_the_reader_falls_behind(virtual_time: _VirtualTime) -> None:
    sim = Simulator(SimulatorConfig(tokens_per_second=100))
    pieces = sim.pace(["x"] * 5)
    assert _next(pieces) == (0, "x") and virtual_time.now == 0.0
    virtual_time.now += 0.025  # the reader is busy for two and a half pieces' time
    stamps = []
    while _next(pieces) is not None:
        stamps.append(virtual_time.now)
    # pieces 1 and 2 are overdue and come at once; 3 and 4 at their times, not 1/100 s apart from then
    assert stamps == pytest.approx([0.025, 0.025, 0.03, 0.04])
    assert virtual_time.sleeps == pytest.approx([0.005, 0.01])


async def test_delay_and_hang_sleep_as_configured() -> None:
    sim = Simulator(SimulatorConfig(latency=0.03, hang_seconds=0.06))
    start = time.perf_counter()
    await sim.delay()
    middle = time.perf_counter()
    await sim.hang()
    assert middle - start >= 0.03
    assert time.perf_counter() - middle >= 0.06


async def test_app_mounts_all_protocols_and_counts_statuses() -> None:
    sim = Simulator()
    assert sim.app is sim.app
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(sim.app), base_url="http://sim") as client:
        assert (await client.get("/_simulator/health")).json() == {"status": "ok"}
        assert (await client.get("/nowhere")).status_code == 404
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert (await client.post("/v1/chat/completions", json=body)).status_code == 200
        body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"anthropic-version": "2023-06-01"}
        assert (await client.post("/v1/messages", json=body, headers=headers)).status_code == 200
        body = {"contents": [{"parts": [{"text": "hi"}]}]}
        assert (
            await client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=body)
        ).status_code == 200
        stats = (await client.get("/_simulator/stats")).json()
    assert stats["requests"] == {"openai": 1, "anthropic": 1, "gemini": 1}
    assert stats["statuses"]["404"] == 1
    assert stats["statuses"]["200"] == 4
    assert stats["completion_tokens"] > 0


async def test_one_conversation_gets_one_reply_through_every_protocol() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(Simulator().app), base_url="http://sim"
    ) as client:
        openai = await client.post(
            "/v1/chat/completions",
            json={
                "model": "m",
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            },
        )
        anthropic = await client.post(
            "/v1/messages",
            headers={"anthropic-version": "2023-06-01"},
            json={
                "model": "m",
                "max_tokens": 200,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Hi"}],
            },
        )
        gemini = await client.post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            json={
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "contents": [{"parts": [{"text": "Hi"}]}],
            },
        )
    want = expected_text("Be brief.\nHi", seed=0)
    assert openai.json()["choices"][0]["message"]["content"] == want
    assert anthropic.json()["content"][0]["text"] == want
    assert gemini.json()["candidates"][0]["content"]["parts"][0]["text"] == want


def test_paces_reflects_the_knobs() -> None:
    assert not Simulator().paces
    assert Simulator(SimulatorConfig(ttft=0.1)).paces
    assert Simulator(SimulatorConfig(tokens_per_second=50)).paces
