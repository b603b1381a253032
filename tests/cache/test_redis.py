"""The Redis backend against the machine's real Redis (a key prefix of the test's own).

Two Clients share answers; a corrupt entry is a miss; tenants stay apart; Redis going
away mid-run (a proxy in front of it is shut) turns calls into misses that still succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.limits.redis_support import REDIS_URL, clean, redis_or_skip, unique_prefix

from llmrelay.cache import Scope, namespace
from llmrelay.cache.redis import BATCH
from llmrelay.client import Client
from llmrelay.settings import Settings
from llmrelay.types import StreamEnd, Subject


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Any, str]]:
    client: Any = await redis_or_skip()
    prefix = unique_prefix() + "cache:"
    try:
        yield client, prefix
    finally:
        await clean(client, prefix)
        await client.aclose()


def make(url: str, prefix: str, **cache: Any) -> Client:
    settings = Settings(
        cache={"enabled": True, "backend": "redis", "redis_url": url, "prefix": prefix, **cache},
        ledger={"enabled": False},
    )
    return Client(settings)


async def test_two_clients_share_entries(redis: tuple[Any, str]) -> None:
    server, prefix = redis
    async with make(REDIS_URL, prefix) as a, make(REDIS_URL, prefix) as b:
        first = await a.chat("shared across replicas", temperature=0)
        second = await b.chat("shared across replicas", temperature=0)
        assert (first.meta.cache, second.meta.cache) == ("miss", "hit")
        assert second.text == first.text and b.simulator.stats.total_requests == 0
        s = b.stream("shared across replicas", temperature=0)
        events = [ev async for ev in s]
        assert s.call.report.cache == "hit" and isinstance(events[-1], StreamEnd)
    keys = [k async for k in server.scan_iter(match=prefix + "*") if k != (prefix + "counts").encode()]
    assert len(keys) == 1
    # each client added its hits and misses to the counts on closing: a missed once, b hit twice
    assert await server.hgetall(prefix + "counts") == {b"hits": b"2", b"misses": b"1"}
    ttl = await server.pttl(keys[0])
    assert 0 < ttl <= 3_600_000


async def test_tenants_stay_apart_in_redis(redis: tuple[Any, str]) -> None:
    _, prefix = redis
    async with make(REDIS_URL, prefix) as a, make(REDIS_URL, prefix) as b:
        await a.chat("mine only", temperature=0, subject=Subject(key_id="vk_a"))
        other = await b.chat("mine only", temperature=0, subject=Subject(key_id="vk_b"))
        same = await b.chat("mine only", temperature=0, subject=Subject(key_id="vk_a"))
        assert (other.meta.cache, same.meta.cache) == ("miss", "hit")


async def test_a_scoped_clear_removes_only_that_tenants_or_aliass_answers(redis: tuple[Any, str]) -> None:
    server, prefix = redis
    ann, bob = Subject(key_id="vk_a", user="ann"), Subject(key_id="vk_b")
    settings = Settings(
        cache={"enabled": True, "backend": "redis", "redis_url": REDIS_URL, "prefix": prefix},
        ledger={"enabled": False},
    )
    other = "simulator/sim-large"  # a route of its own, whose alias is its name
    asked = [(who, model, q) for who in (ann, bob) for model in ("local", other) for q in ("q1", "q2")]
    async with Client(settings) as client:
        for who, model, q in asked:
            await client.chat(q, model=model, temperature=0, subject=who)
        backend = client._middleware[0].store.backend  # type: ignore[attr-defined]
        assert (await backend.stats()).entries == 8
        await backend.record(5, 7)
        # more keys than one SCAN batch: the scope is read from each entry, batch by batch
        for i in range(BATCH + 20):
            await client.chat(f"filler {i}", model=other, temperature=0, subject=bob)
        assert await backend.clear(Scope(namespace(ann), None)) == 4
        assert await backend.clear(Scope(None, "local")) == 2  # bob's two on local
        assert await backend.clear(Scope(namespace(bob), other)) == 2 + BATCH + 20
        assert await backend.clear(Scope(namespace(bob), other)) == 0
        assert (await backend.stats()).entries == 0
        # the counts are nobody's: a scoped clear leaves them
        assert await server.hgetall(prefix + "counts") == {b"hits": b"5", b"misses": b"7"}
        hits = 0
        for who, model, q in asked:
            r = await client.chat(q, model=model, temperature=0, subject=who)
            hits += r.meta.cache == "hit"
        assert hits == 0


async def test_a_corrupt_entry_is_a_miss(redis: tuple[Any, str], caplog: pytest.LogCaptureFixture) -> None:
    server, prefix = redis
    async with make(REDIS_URL, prefix) as client:
        await client.chat("corrupt me", temperature=0)
        # the entry's key (the hit and miss counts may have been flushed beside it by now)
        (key,) = [k async for k in server.scan_iter(match=prefix + "*") if k != (prefix + "counts").encode()]
        await server.hset(key, "e", b'{"v": 1, "text": ')
        with caplog.at_level(logging.WARNING, logger="llmrelay.cache"):
            again = await client.chat("corrupt me", temperature=0)
        assert again.meta.cache == "miss" and client.simulator.stats.total_requests == 2
        assert "corrupt" in caplog.text
        # the fresh answer replaced the corrupt one
        assert (await client.chat("corrupt me", temperature=0)).meta.cache == "hit"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


class Proxy:
    """A TCP proxy in front of the real Redis that can be shut, like a server stopping."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for t in (_pipe(reader, up_writer), _pipe(up_reader, writer)):
            task = asyncio.ensure_future(t)
            self.tasks.add(task)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.server.wait_closed()


async def test_redis_stopped_mid_run_sends_calls_upstream_and_they_succeed(
    redis: tuple[Any, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, prefix = redis
    from urllib.parse import urlsplit

    target = urlsplit(REDIS_URL)
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379)
    port = await proxy.start()
    async with make(f"redis://127.0.0.1:{port}/0", prefix, backend_cooldown=0.05) as client:
        await client.chat("before the outage", temperature=0)
        assert (await client.chat("before the outage", temperature=0)).meta.cache == "hit"
        await proxy.stop()
        with caplog.at_level(logging.WARNING, logger="llmrelay.cache"):
            during = [await client.chat("before the outage", temperature=0) for _ in range(3)]
            s = client.stream("during the outage", temperature=0)
            events = [ev async for ev in s]
        assert all(r.meta.cache == "miss" and r.text for r in during)
        assert isinstance(events[-1], StreamEnd) and s.call.report.cache == "miss"
        assert client.simulator.stats.total_requests == 5
        assert "calls are misses" in caplog.text
