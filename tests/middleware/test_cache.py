"""The cache layer in a real Client against the in-process simulator.

Upstream requests are counted with the simulator's own counter, so "one request went
out" is measured where it arrives, not inferred."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from llmrelay.cache import CacheOptions
from llmrelay.client import Client
from llmrelay.errors import InvalidRequestError, LLMRelayError, StreamTruncatedError
from llmrelay.ledger import UsageRecord, open_backend
from llmrelay.middleware.cache import CacheHit, CacheMiddleware
from llmrelay.middleware.stack import before
from llmrelay.pipeline import Call, Controller, UnaryHandler
from llmrelay.settings import Settings
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.stream import ChatStream
from llmrelay.types import ChatResponse, StreamEnd, StreamEvent, StreamStart, Subject

WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def make(tmp_path: Path | None = None, **cache: Any) -> Client:
    ledger: dict[str, Any] = {"enabled": False}
    if tmp_path is not None:
        ledger = {"url": f"sqlite:///{tmp_path}/ledger.sqlite3", "flush_interval": 0.05}
    retry = {"max_attempts": 2, "base_delay": 0.001, "max_delay": 0.002}
    return Client(Settings(cache={"enabled": True, **cache}, ledger=ledger, retry=retry))


def upstream(client: Client) -> int:
    return int(client.simulator.stats.total_requests)


async def drain(stream: ChatStream) -> list[StreamEvent]:
    return [ev async for ev in stream]


def content(events: list[StreamEvent]) -> list[StreamEvent]:
    return [ev for ev in events if not isinstance(ev, (StreamStart, StreamEnd))]


# --------------------------------------------------------------------------- unary


async def test_an_identical_call_is_a_hit_with_the_same_answer_at_no_cost() -> None:
    async with make() as client:
        first = await client.chat("What is a relay?", temperature=0)
        second = await client.chat("What is a relay?", temperature=0)
        assert upstream(client) == 1
        assert (first.meta.cache, second.meta.cache) == ("miss", "hit")
        assert second.text == first.text and second.id == first.id and second.usage == first.usage
        assert second.finish_reason == first.finish_reason and second.model == first.model
        assert second.cost == 0.0 and first.cost is not None and first.cost > 0
        assert first.meta.cache_saved is None and second.meta.cache_saved == first.cost
        assert second.meta.attempts == 0 and second.meta.deployment == first.meta.deployment
        assert second.meta.alias == "local"
        other = await client.chat("What is a relay!", temperature=0)
        assert other.meta.cache == "miss" and upstream(client) == 2


async def test_a_caller_editing_an_answer_does_not_change_the_next_hit() -> None:
    # the memory backend keeps entries as objects: neither the miss's response nor a
    # hit's may share a mutable container with what is stored
    state = {"anthropic": {"thinking": "sig"}}
    ready = ChatResponse("r1", "sim-1", "simulator", "Paris.", provider_state=state, details={"a": [1]})

    class Ready(Controller):
        async def unary(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
            call.outcome.set_response(ready)
            return ready

    settings = Settings(cache={"enabled": True}, ledger={"enabled": False})
    async with Client(settings, layers=[before("preflight", Ready())]) as client:
        first = await client.chat("What is a relay?", temperature=0)
        hit = await client.chat("What is a relay?", temperature=0)
        assert hit.meta.cache == "hit"  # (the ready response carries its own report)
        for resp in (first, hit):
            assert isinstance(resp.details, dict) and isinstance(resp.provider_state, dict)
            resp.details["a"].append(2)
            resp.details["b"] = 3
            resp.provider_state["anthropic"]["thinking"] = "changed"
        again = await client.chat("What is a relay?", temperature=0)
        assert again.meta.cache == "hit"
        assert again.details == {"a": [1]} and again.provider_state == {"anthropic": {"thinking": "sig"}}
        events = await drain(client.stream("What is a relay?", temperature=0))
        end = events[-1]
        assert isinstance(end, StreamEnd) and end.provider_state == {"anthropic": {"thinking": "sig"}}


async def test_only_deterministic_requests_are_cached_unless_opted_in() -> None:
    async with make() as client:
        for _ in range(2):
            r = await client.chat("hello")  # provider default temperature: a sample, not an answer
            assert r.meta.cache is None
        assert upstream(client) == 2
        await client.chat("hello", seed=3)
        assert (await client.chat("hello", seed=3)).meta.cache == "hit"
        await client.chat("hello", temperature=0.7, cache="write")
        assert (await client.chat("hello", temperature=0.7, cache="write")).meta.cache == "hit"
        assert upstream(client) == 4
    async with make(models={"local": {"deterministic_only": False}}) as client:
        await client.chat("hello")
        assert (await client.chat("hello")).meta.cache == "hit" and upstream(client) == 1


async def test_per_call_modes() -> None:
    async with make() as client:
        r = await client.chat("modes", temperature=0, cache="read")
        assert r.meta.cache == "miss"
        assert (
            await client.chat("modes", temperature=0, cache="read")
        ).meta.cache == "miss"  # nothing stored
        await client.chat("modes", temperature=0)
        assert (await client.chat("modes", temperature=0, cache="read")).meta.cache == "hit"
        assert (await client.chat("modes", temperature=0, cache="off")).meta.cache is None
        assert (await client.chat("modes", temperature=0, cache="refresh")).meta.cache == "miss"
        assert upstream(client) == 5
        with pytest.raises(InvalidRequestError, match="not a cache mode"):
            await client.chat("modes", temperature=0, cache="sometimes")
        with pytest.raises(InvalidRequestError, match="ttl"):
            await client.chat("modes", temperature=0, cache=CacheOptions("write", ttl=-1))


async def test_a_call_that_wants_the_raw_payload_goes_upstream() -> None:
    async with make() as client:
        await client.chat("raw", temperature=0)
        raw = await client.chat("raw", temperature=0, include_raw=True)
        assert raw.meta.cache == "miss" and raw.raw is not None and upstream(client) == 2
        assert (await client.chat("raw", temperature=0)).meta.cache == "hit"


async def test_a_short_ttl_expires() -> None:
    async with make() as client:
        await client.chat("ttl", temperature=0, cache=CacheOptions(ttl=0.05))
        assert (await client.chat("ttl", temperature=0, cache=CacheOptions(ttl=0.05))).meta.cache == "hit"
        await asyncio.sleep(0.08)
        assert (await client.chat("ttl", temperature=0, cache=CacheOptions(ttl=0.05))).meta.cache == "miss"


async def test_tenants_never_share_answers_unless_the_alias_says_so() -> None:
    ann, bob = Subject(key_id="vk_a", user="ann"), Subject(key_id="vk_b", user="bob")
    async with make() as client:
        await client.chat("secret plans", temperature=0, subject=ann)
        assert (await client.chat("secret plans", temperature=0, subject=bob)).meta.cache == "miss"
        assert (await client.chat("secret plans", temperature=0, subject=ann)).meta.cache == "hit"
        assert (
            await client.chat("secret plans", temperature=0, subject=Subject(key_id="vk_a"))
        ).meta.cache == "miss"
        assert upstream(client) == 3
    async with make(models={"local": {"shared": True}}) as client:
        await client.chat("public facts", temperature=0, subject=ann)
        assert (await client.chat("public facts", temperature=0, subject=bob)).meta.cache == "hit"


async def test_metadata_and_tags_do_not_change_the_key() -> None:
    async with make() as client:
        await client.chat(
            "tagged", temperature=0, metadata={"request_id": "1"}, extra_headers={"traceparent": "a"}
        )
        hit = await client.chat(
            "tagged", temperature=0, metadata={"request_id": "2"}, extra_headers={"traceparent": "b"}
        )
        assert hit.meta.cache == "hit" and upstream(client) == 1


async def test_tool_calls_are_replayed() -> None:
    async with make() as client:
        first = await client.chat("weather in Paris", temperature=0, tools=[WEATHER], tool_choice="required")
        second = await client.chat("weather in Paris", temperature=0, tools=[WEATHER], tool_choice="required")
        assert first.tool_calls and second.tool_calls == first.tool_calls
        assert second.finish_reason == "tool_calls" and second.meta.cache == "hit"


async def test_the_ledger_records_a_hit_at_no_cost_with_the_recorded_usage(tmp_path: Path) -> None:
    async with make(tmp_path) as client:
        first = await client.chat("ledger", temperature=0)
        hit = await client.chat("ledger", temperature=0)
    backend = open_backend(f"sqlite:///{tmp_path}/ledger.sqlite3")
    try:
        rows: list[UsageRecord] = await backend.fetch()
    finally:
        await backend.aclose()
    by_id = {r.id: r for r in rows}
    miss, cached = by_id[first.meta.ledger_id or ""], by_id[hit.meta.ledger_id or ""]
    assert not miss.cache_hit and miss.cost == first.cost
    assert cached.cache_hit and cached.cost == 0.0
    assert first.usage is not None and cached.input_tokens == first.usage.input_tokens


async def test_a_hit_leaves_what_it_saved_for_other_layers() -> None:
    async with make() as client:
        first = await client.chat("saved", temperature=0)
        from llmrelay.pipeline import Call

        req = client._request("saved", None, {"temperature": 0})
        call = Call(req)
        await client.send(call)
        hit = call.get(CacheHit)
        assert hit is not None and hit.verdict == "hit" and hit.saved == first.cost and hit.age >= 0


# --------------------------------------------------------------------------- streams


async def test_a_cached_stream_replays_the_same_chunks_tool_calls_and_finish() -> None:
    async with make() as client:
        kwargs: dict[str, Any] = {"temperature": 0, "tools": [WEATHER]}
        original = client.stream("tell me about Paris and its weather", **kwargs)
        a = await drain(original)
        replay = client.stream("tell me about Paris and its weather", **kwargs)
        b = await drain(replay)
        assert upstream(client) == 1 and replay.call.report.cache == "hit"
        assert isinstance(b[0], StreamStart) and isinstance(b[-1], StreamEnd)
        assert content(b) == content(a)  # the recorded chunk boundaries
        assert original.response is not None and replay.response is not None
        assert replay.response.text == original.response.text
        assert replay.response.tool_calls == original.response.tool_calls
        assert replay.response.finish_reason == original.response.finish_reason
        assert b[-1].cost == 0.0 and replay.response.cost == 0.0  # type: ignore[union-attr]
        assert replay.response.usage == original.response.usage
        # a unary call is served from the streamed answer, and the other way round
        unary = await client.chat("tell me about Paris and its weather", **kwargs)
        assert unary.meta.cache == "hit" and unary.text == original.response.text
        await client.chat("a unary first", temperature=0)
        s = client.stream("a unary first", temperature=0)
        events = await drain(s)
        assert s.call.report.cache == "hit" and isinstance(events[-1], StreamEnd) and upstream(client) == 2


async def test_a_cached_stream_replays_tool_call_pieces() -> None:
    async with make() as client:
        kwargs: dict[str, Any] = {"temperature": 0, "tools": [WEATHER], "tool_choice": "required"}
        original = client.stream("weather in Rome", **kwargs)
        a = await drain(original)
        replay = client.stream("weather in Rome", **kwargs)
        b = await drain(replay)
        assert original.response is not None and replay.response is not None
        assert original.response.tool_calls and replay.response.tool_calls == original.response.tool_calls
        assert replay.response.finish_reason == "tool_calls" == original.response.finish_reason
        assert content(b) == content(a) and replay.call.report.cache == "hit" and upstream(client) == 1


async def test_a_stream_replay_can_be_paced() -> None:
    async with make(replay_delay=0.01) as client:
        await drain(client.stream("pace me please", temperature=0, max_tokens=5))
        s = client.stream("pace me please", temperature=0, max_tokens=5)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        events = await drain(s)
        assert s.call.report.cache == "hit"
        assert loop.time() - t0 >= 0.01 * (len(content(events)) - 1)


async def test_a_stream_that_failed_or_was_cut_is_never_stored() -> None:
    async with make(models={}) as client:
        client.simulator.faults = FaultSequence([Fault("cut_stream", after_pieces=2)])
        with pytest.raises(StreamTruncatedError):
            await drain(client.stream("cut me off", temperature=0, resume="off"))
        client.simulator.faults = FaultSequence([Fault("stream_error", after_pieces=2)])
        with pytest.raises(LLMRelayError):
            await drain(client.stream("error me", temperature=0, resume="off"))
        n = upstream(client)
        for prompt in ("cut me off", "error me"):
            s = client.stream(prompt, temperature=0)
            await drain(s)
            assert s.call.report.cache == "miss"
        assert upstream(client) == n + 2


async def test_a_stream_the_caller_abandoned_is_not_stored() -> None:
    async with make() as client:
        s = client.stream("a long story about caches", temperature=0)
        async for ev in s:
            if not isinstance(ev, StreamStart):
                break
        await s.aclose()
        again = client.stream("a long story about caches", temperature=0)
        await drain(again)
        assert again.call.report.cache == "miss" and upstream(client) == 2


# --------------------------------------------------------------------------- single flight


async def test_fifty_identical_concurrent_calls_send_one_request() -> None:
    async with make() as client:
        client.simulator.config = client.simulator.config.__class__(latency=0.05)
        replies = await asyncio.gather(*(client.chat("together", temperature=0) for _ in range(50)))
        assert upstream(client) == 1
        assert {r.text for r in replies} == {replies[0].text}
        assert sorted(r.meta.cache or "" for r in replies).count("hit") == 49


async def test_concurrent_identical_streams_coalesce() -> None:
    async with make() as client:
        client.simulator.config = client.simulator.config.__class__(latency=0.05)
        streams = [client.stream("stream together", temperature=0) for _ in range(10)]
        results = await asyncio.gather(*(drain(s) for s in streams))
        assert upstream(client) == 1
        assert all(content(r) == content(results[0]) for r in results)


async def test_waiters_go_upstream_when_the_leader_fails_or_takes_too_long() -> None:
    async with make(flight_wait=0.01) as client:
        client.simulator.config = client.simulator.config.__class__(latency=0.1)
        await asyncio.gather(*(client.chat("slow leader", temperature=0) for _ in range(3)))
        assert upstream(client) == 3  # nobody waited past the bound
    async with make() as client:
        client.simulator.config = client.simulator.config.__class__(latency=0.05)
        client.simulator.faults = FaultSequence([Fault.error(400)])
        got = await asyncio.gather(
            *(client.chat("bad leader", temperature=0) for _ in range(3)), return_exceptions=True
        )
        assert sum(isinstance(g, InvalidRequestError) for g in got) == 1
        assert upstream(client) == 3


# --------------------------------------------------------------------------- stale-if-error


async def test_total_outage_serves_the_stale_answer_marked_stale(caplog: pytest.LogCaptureFixture) -> None:
    async with make(ttl=0.05, stale_if_error=60) as client:
        fresh = await client.chat("outage", temperature=0)
        await asyncio.sleep(0.08)
        client.simulator.faults = FaultSequence([Fault.error(503)], cycle=True)
        with caplog.at_level(logging.WARNING, logger="llmrelay.cache"):
            stale = await client.chat("outage", temperature=0)
        assert stale.meta.cache == "stale" and stale.text == fresh.text and stale.cost == 0.0
        assert "serving a stale answer" in caplog.text
        s = client.stream("outage", temperature=0)
        events = await drain(s)
        assert s.call.report.cache == "stale" and isinstance(events[-1], StreamEnd)
        # a request error is not an outage: no stale answer stands in for it
        client.simulator.faults = FaultSequence([Fault.error(400)], cycle=True)
        with pytest.raises(InvalidRequestError):
            await client.chat("outage", temperature=0)


async def test_without_stale_if_error_an_outage_fails() -> None:
    async with make(ttl=0.05) as client:
        await client.chat("outage", temperature=0)
        await asyncio.sleep(0.08)
        client.simulator.faults = FaultSequence([Fault.error(503)], cycle=True)
        with pytest.raises(LLMRelayError):
            await client.chat("outage", temperature=0)
    async with make(ttl=0.05, stale_if_error=0.01) as client:  # too old to stand in
        await client.chat("outage", temperature=0)
        await asyncio.sleep(0.1)
        client.simulator.faults = FaultSequence([Fault.error(503)], cycle=True)
        with pytest.raises(LLMRelayError):
            await client.chat("outage", temperature=0)


# --------------------------------------------------------------------------- backends and stack


async def test_a_backend_that_is_down_is_a_miss_and_the_call_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with make(backend="redis", redis_url="redis://127.0.0.1:1/0") as client:
        with caplog.at_level(logging.WARNING, logger="llmrelay.cache"):
            r = await client.chat("no cache today", temperature=0)
            s = client.stream("no cache today", temperature=0)
            await drain(s)
        assert r.meta.cache == "miss" and s.call.report.cache == "miss" and upstream(client) == 2
        assert "calls are misses" in caplog.text


async def test_sqlite_backend_reuses_answers_across_clients(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    async with make(backend="sqlite", path=str(path)) as client:
        first = await client.chat("persist me", temperature=0)
    async with make(backend="sqlite", path=str(path)) as client:
        again = await client.chat("persist me", temperature=0)
        assert again.meta.cache == "hit" and again.text == first.text and upstream(client) == 0


def test_the_layer_is_in_the_stack_only_when_enabled() -> None:
    on = Client(Settings(cache={"enabled": True}, ledger={"enabled": False}))
    off = Client(Settings(ledger={"enabled": False}))
    assert next(type(m) for m in on._middleware) is CacheMiddleware
    assert not any(isinstance(m, CacheMiddleware) for m in off._middleware)


def test_a_redis_cache_needs_a_server() -> None:
    from llmrelay.errors import ConfigError

    with pytest.raises(ConfigError, match=r"cache\.redis_url or state\.redis_url"):
        Client(Settings(cache={"enabled": True, "backend": "redis"}, ledger={"enabled": False}))
