"""The SQLite backend keeps answers across processes (backends), expires and prunes them."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

from llmrelay.cache import Entry, Scope, Store, encode
from llmrelay.cache.sqlite import SQLiteBackend

E = Entry("r", "m", "p", "dep", "hello", (), "stop", None, None, 0.5, None, None, created=1.0)


async def test_a_second_backend_on_the_same_file_reads_what_the_first_wrote(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite3"
    first = Store(SQLiteBackend(path))
    assert await first.save("k", E, 60)
    await first.aclose()
    second = Store(SQLiteBackend(path))
    try:
        assert await second.lookup("k") == E
        assert await second.lookup("other") is None
        stats = await second.stats()
        assert stats.entries == 1 and stats.bytes == len(encode(E))
        assert await second.backend.clear() == 1
        assert await second.lookup("k") is None
    finally:
        await second.aclose()


async def test_expired_rows_are_misses_and_pruned(tmp_path: Path) -> None:
    b = SQLiteBackend(tmp_path / "c.sqlite3")
    try:
        raw = encode(E)
        await b.set("short", E, raw, 0.01)
        await b.set("long", E, raw, 60)
        await asyncio.sleep(0.03)
        assert await b.get("short") is None and await b.get("long") == raw
        assert await b.prune() == 1
        assert (await b.stats()).entries == 1
    finally:
        await b.aclose()


async def test_a_corrupt_row_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = Store(SQLiteBackend(path))
    try:
        await store.save("k", E, 60)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE llmrelay_cache SET value = ?", (b"{garbage",))
        assert await store.lookup("k") is None
        assert store.counters.rejected == 1
    finally:
        await store.aclose()


async def test_an_unusable_file_is_a_miss_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    store = Store(SQLiteBackend(tmp_path / "dir"), cooldown=0)  # a directory is no database
    try:
        assert await store.lookup("k") is None
        assert not await store.save("k", E, 60)
        assert store.counters.failures == 2
    finally:
        await store.aclose()


async def test_scopes_sizes_counts_and_a_file_of_the_first_version(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the first version's table, with one row in it
        conn.execute(
            "CREATE TABLE llmrelay_cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
            "expires REAL NOT NULL, size INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO llmrelay_cache VALUES ('old', ?, 9e99, 10)", (encode(E),))
    b = SQLiteBackend(path)
    try:
        raw = encode(E)
        await b.set("a1", replace(E, created=10.0), raw, 60, Scope("ann", "faq"))
        await b.set("a2", replace(E, created=20.0), raw, 60, Scope("ann", "chat"))
        await b.set("b1", replace(E, created=30.0), raw, 60, Scope("bob", "faq"))
        assert await b.get("old") is not None  # the old row is still served
        stats = await b.stats()
        assert (stats.entries, stats.oldest, stats.newest) == (4, 10.0, 30.0)
        assert await b.clear(Scope(space="ann", alias="faq")) == 1
        assert await b.clear(Scope(alias="faq")) == 1
        assert await b.get("a2") is not None and await b.get("b1") is None
        # over a size: the oldest go first (the old row, created 0, then a2 would be next)
        assert await b.prune(max_bytes=len(raw)) == 1
        assert await b.get("old") is None and await b.get("a2") is not None
        await b.record(3, 1)
        await b.record(1, 0)
        stats = await b.stats()
        assert (stats.hits, stats.misses) == (4, 1)
    finally:
        await b.aclose()
