"""The ledger middleware in a real Client against the in-process simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmrelay.client import Client
from llmrelay.errors import InvalidRequestError, StreamTruncatedError
from llmrelay.ledger import LedgerWriter, UsageRecord, open_backend
from llmrelay.middleware.ledger import LedgerMiddleware
from llmrelay.middleware.stack import STACK, build_stack
from llmrelay.pipeline import Call, Controller, StreamHandler, UnaryHandler
from llmrelay.pipeline.context import StackContext
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.state import StateContext
from llmrelay.types import ChatRequest, Message, StreamEvent, Subject, TextDelta


def settings_for(tmp_path: Path, **ledger: object) -> Settings:
    return Settings(ledger={"url": f"sqlite:///{tmp_path}/ledger.sqlite3", "flush_interval": 0.05, **ledger})


async def records(tmp_path: Path) -> list[UsageRecord]:
    backend = open_backend(f"sqlite:///{tmp_path}/ledger.sqlite3")
    try:
        return await backend.fetch()
    finally:
        await backend.aclose()


def test_the_ledger_is_the_outermost_layer_and_can_be_turned_off(tmp_path: Path) -> None:
    assert STACK[0].name == "ledger"
    on = settings_for(tmp_path)
    ctx = StackContext(on, lambda m: Client(on).route(m), StateContext(), {})
    assert isinstance(build_stack(ctx)[0], LedgerMiddleware)
    off = Settings(ledger={"enabled": False})
    assert LedgerMiddleware.from_context(StackContext(off, ctx.resolve, StateContext(), {})) is None


async def test_a_unary_call_is_recorded_with_its_request_and_outcome(tmp_path: Path) -> None:
    async with Client(settings_for(tmp_path)) as client:
        resp = await client.chat(
            "Hello",
            user="ann",
            tags=["batch", "eu"],
            metadata={"key": "spoofed", "job": "7"},
            max_tokens=50,
            subject=Subject(key_id="team-a", user="ann", tags=("batch", "eu")),
        )
    (rec,) = await records(tmp_path)
    assert rec.id == resp.meta.ledger_id
    assert rec.status == "ok" and rec.stream is False
    # the key is the subject's, set by the face; request metadata cannot name it
    assert (rec.user, rec.tags, rec.key) == ("ann", ("batch", "eu"), "team-a")
    assert rec.metadata == {"key": "spoofed", "job": "7"}
    assert (rec.alias, rec.deployment, rec.provider, rec.model) == (
        "local",
        "simulator/sim-1",
        "simulator",
        "sim-1",
    )
    assert resp.usage is not None
    assert (rec.input_tokens, rec.output_tokens) == (resp.usage.input_tokens, resp.usage.output_tokens)
    assert rec.request_id == resp.request_id and rec.response_id == resp.id
    assert rec.cost is not None and rec.cost > 0  # priced: from the response, else the catalog
    if resp.cost is not None:
        assert rec.cost == pytest.approx(resp.cost)
    assert rec.latency is not None and rec.latency >= (resp.latency or 0)
    assert rec.attempts == 1 and rec.cache_hit is False


async def test_a_failed_call_is_recorded_with_its_error_kind(tmp_path: Path) -> None:
    async with Client(settings_for(tmp_path)) as client:
        client.simulator.faults = FaultSequence([Fault.error(status=400)], cycle=True)
        with pytest.raises(InvalidRequestError):
            await client.chat("Hello", tags=["x"])
    (rec,) = await records(tmp_path)
    assert (rec.status, rec.http_status, rec.tags) == ("invalid_request", 400, ("x",))
    assert rec.input_tokens is None and rec.cost is None  # nothing reported, nothing invented


async def test_streams_are_recorded_when_they_end_fail_or_are_closed(tmp_path: Path) -> None:
    async with Client(settings_for(tmp_path)) as client:
        whole = client.stream("Tell me a story", user="bob")
        final = await whole.final()
        early = client.stream("Another story")
        async for _ in early:
            break
        await early.aclose()
        client.simulator.faults = FaultSequence([Fault("cut_stream", after_pieces=3)], cycle=True)
        cut = client.stream("A story that breaks")
        with pytest.raises(StreamTruncatedError):
            await cut.final()
    by_id = {r.id: r for r in await records(tmp_path)}
    done = by_id[final.meta.ledger_id]
    assert done.status == "ok" and done.stream and done.user == "bob"
    assert final.usage is not None and done.output_tokens == final.usage.output_tokens
    assert done.ttft is not None and 0 < done.ttft <= (done.latency or 0)
    assert done.cost is not None and done.cost > 0
    if final.cost is not None:
        assert done.cost == pytest.approx(final.cost)
    statuses = sorted(r.status for r in by_id.values())
    assert statuses == ["closed", "ok", "stream_truncated"]


class Inner(Controller):
    """Stands for the layers inside the ledger: notes what they did on the call's report."""

    async def unary(self, call: Call, call_next: UnaryHandler) -> object:
        call.report.attempts, call.report.cache = 3, "hit"
        return await call_next(call)

    async def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        call.report.attempts = 2
        async for ev in call_next(call):
            yield ev
        call.report.cache = "hit"  # noted at the end of the stream: still seen


async def test_what_inner_layers_note_reaches_the_record(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    writer = LedgerWriter(open_backend(f"sqlite:///{tmp_path}/ledger.sqlite3"), flush_interval=0.05)
    async with Client(s, middleware=[LedgerMiddleware(writer), Inner()]) as client:
        req = ChatRequest(model="local", messages=(Message.user("Hello"),))
        unary = await client.send(Call(req, subject=Subject(key_id="vk_123")))
        streamed = await client.stream("Hello").final()
    by_id = {r.id: r for r in await records(tmp_path)}
    u = by_id[unary.meta.ledger_id]
    assert (u.key, u.attempts, u.cache_hit) == ("vk_123", 3, True)
    s_rec = by_id[streamed.meta.ledger_id]
    assert (s_rec.attempts, s_rec.cache_hit) == (2, True)


class BrokenWriter(LedgerWriter):
    def record(self, rec: UsageRecord) -> bool:
        raise RuntimeError("disk on fire")


async def test_a_recording_fault_never_fails_the_call(tmp_path: Path, caplog) -> None:
    writer = BrokenWriter(open_backend(f"sqlite:///{tmp_path}/ledger.sqlite3"))
    async with Client(settings_for(tmp_path), middleware=[LedgerMiddleware(writer)]) as client:
        resp = await client.chat("Hello")
        text = [ev.text async for ev in client.stream("Hi") if isinstance(ev, TextDelta)]
    assert resp.text and text
    assert "could not record a call" in caplog.text


async def test_cache_verdicts_savings_tier_and_guard_decisions_are_recorded(tmp_path: Path) -> None:
    s = Settings(
        ledger={"url": f"sqlite:///{tmp_path}/ledger.sqlite3", "flush_interval": 0.05},
        cache={"enabled": True},
        observe={"guards": {"enabled": True}},
    )
    async with Client(s) as client:
        prompt = "Write to ann@example.com about relays"
        first = await client.chat(prompt, temperature=0)
        second = await client.chat(prompt, temperature=0)
    assert (first.meta.cache, second.meta.cache) == ("miss", "hit")
    by_id = {r.id: r for r in await records(tmp_path)}
    made, hit = by_id[first.meta.ledger_id], by_id[second.meta.ledger_id]
    # the simulator answers in OpenAI's dialect, which names the tier that served the call
    assert made.service_tier == "default" and made.cache == "miss"
    assert made.saved_response_cache is None and made.saved_provider_cache == 0.0  # no cache reads
    assert first.cost is not None and first.cost > 0
    # a hit costs nothing and saves what the call that made the answer cost
    assert hit.cache == "hit" and hit.cache_hit is True and hit.cost == 0.0
    assert hit.saved_response_cache == pytest.approx(first.cost)
    assert hit.saved_provider_cache is None
    # the guard masked the address on both calls: its kind and action are kept, never the value
    for rec in (made, hit):
        assert [(g.kind, g.action, g.where) for g in rec.guard] == [("email", "mask", "input")]
        assert "ann@example.com" not in repr(rec)
