"""The SQLite backend keeps answers across processes (backends), expires and prunes them."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from llmrelay.cache import Entry, Store, encode
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
