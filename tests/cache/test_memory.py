"""The memory backend: least recently used first, within a byte bound, with a time to live."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from llmrelay.cache import Entry, MemoryBackend, encode

E = Entry("r", "m", "p", None, "x" * 100, (), "stop", None, None, None, None, None)


async def put(b: MemoryBackend, key: str, ttl: float = 60.0, entry: Entry = E) -> int:
    raw = encode(entry)
    await b.set(key, entry, raw, ttl)
    return len(raw) + len(key)


async def test_keeps_within_its_byte_bound_dropping_the_least_recently_used() -> None:
    size = len(encode(E)) + 2
    b = MemoryBackend(max_bytes=size * 3)
    for k in ("k1", "k2", "k3"):
        await put(b, k)
    assert await b.get("k1") is E  # k1 is now the most recently used
    await put(b, "k4")
    assert await b.get("k2") is None
    assert await b.get("k1") is E and await b.get("k3") is E and await b.get("k4") is E
    stats = await b.stats()
    assert stats.entries == 3 and stats.bytes == size * 3 <= b.max_bytes


async def test_an_entry_larger_than_the_bound_is_not_kept() -> None:
    b = MemoryBackend(max_bytes=1024)
    big = replace(E, text="y" * 2000)
    await put(b, "big", entry=big)
    assert await b.get("big") is None and (await b.stats()).entries == 0


async def test_replacing_an_entry_does_not_count_it_twice() -> None:
    b = MemoryBackend()
    n = await put(b, "k")
    await put(b, "k")
    assert (await b.stats()).bytes == n


async def test_expired_entries_are_gone_and_pruned() -> None:
    b = MemoryBackend()
    await put(b, "short", ttl=0.01)
    await put(b, "long", ttl=60)
    await asyncio.sleep(0.03)
    assert await b.prune() == 1
    assert await b.get("short") is None and await b.get("long") is E
    await put(b, "short", ttl=0.01)
    await asyncio.sleep(0.03)
    assert await b.get("short") is None
    assert await b.clear() == 1 and (await b.stats()).bytes == 0


async def test_clear_by_scope_and_prune_to_a_size() -> None:
    from llmrelay.cache import Scope

    b = MemoryBackend()
    raw = encode(E)
    await b.set("a", E, raw, 60, Scope("ann", "faq"))
    await b.set("b", E, raw, 60, Scope("bob", "faq"))
    await b.set("c", E, raw, 60, Scope("ann", "chat"))
    assert await b.clear(Scope(space="ann")) == 2
    assert await b.get("b") is E and await b.get("a") is None and await b.get("c") is None
    await b.set("d", E, raw, 60)
    assert await b.prune(max_bytes=len(raw) + 1) == 1  # the least recently used goes
    assert await b.get("b") is None and await b.get("d") is E
