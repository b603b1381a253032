"""A ledger written by the version-1 schema keeps working after the upgrade (both backends)."""

from __future__ import annotations

import sqlite3

import pytest

from llmrelay.ledger import GuardMark, UsageQuery, UsageRecord, open_backend
from llmrelay.ledger.schema import V1_COLUMNS, V2_COLUMNS, migrations, usage_table, version_table

OLD_ROW = {
    "id": "old",
    "ts": 1_700_000_000.0,
    "status": "ok",
    "stream": 0,
    "tags": "[]",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "input_tokens": 100,
    "output_tokens": 20,
    "cached_input_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "cost": 0.5,
    "latency": 1.0,
    "cache_hit": 0,
    "attempts": 1,
}


async def _make_v1(url: str, prefix: str) -> None:
    """A ledger exactly as llmrelay with schema version 1 left it, with one record."""
    names = list(OLD_ROW)
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            for statement in migrations(prefix, "sqlite")[0]:
                conn.execute(statement)
            conn.execute(f"CREATE TABLE {version_table(prefix)} (version INTEGER NOT NULL)")
            conn.execute(f"INSERT INTO {version_table(prefix)} VALUES (1)")
            marks = ", ".join("?" * len(names))
            conn.execute(
                f"INSERT INTO {usage_table(prefix)} ({', '.join(names)}) VALUES ({marks})",
                list(OLD_ROW.values()),
            )
        return
    from datetime import UTC, datetime

    import asyncpg

    values = {
        **OLD_ROW,
        "ts": datetime.fromtimestamp(OLD_ROW["ts"], UTC),
        "stream": False,
        "cache_hit": False,
    }
    values["tags"] = []
    conn = await asyncpg.connect(url)
    try:
        for statement in migrations(prefix, "postgres")[0]:
            await conn.execute(statement)
        await conn.execute(f"CREATE TABLE {version_table(prefix)} (version INTEGER NOT NULL)")
        await conn.execute(f"INSERT INTO {version_table(prefix)} VALUES (1)")
        params = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        await conn.execute(
            f"INSERT INTO {usage_table(prefix)} ({', '.join(names)}) VALUES ({params})", *values.values()
        )
    finally:
        await conn.close()


def test_step_one_is_the_released_table() -> None:
    # released steps never change: step 1 creates exactly the version-1 columns
    (create, _index) = migrations("x_", "sqlite")[0]
    assert all(f" {c} " in create or f"({c} " in create for c in V1_COLUMNS)
    assert not any(f" {c} " in create for c in V2_COLUMNS)


async def test_an_old_ledger_gains_the_new_columns_and_keeps_its_rows(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    await _make_v1(url, prefix)
    backend = open_backend(url, prefix)
    await backend.start()
    new = UsageRecord(
        id="new",
        ts=1_700_000_100.0,
        provider="anthropic",
        model="claude-haiku-4-5",
        input_tokens=5000,
        output_tokens=100,
        cached_input_tokens=4000,
        cache_write_tokens=900,
        cache_write_1h_tokens=400,
        reasoning_tokens=30,
        cost=0.01,
        service_tier="standard",
        cache="miss",
        saved_provider_cache=0.0036,
        guard=(GuardMark("email", "mask", "input"),),
    )
    await backend.write([new])
    old, got = await backend.fetch()
    assert (old.id, old.input_tokens, old.cost) == ("old", 100, 0.5)
    # what the old schema never recorded reads as unknown, not as zero
    assert old.cache_write_1h_tokens is None and old.service_tier is None and old.cache is None
    assert old.saved_provider_cache is None and old.saved_response_cache is None and old.guard == ()
    assert got.cache_write_1h_tokens == 400 and got.service_tier == "standard" and got.cache == "miss"
    assert got.guard == (GuardMark("email", "mask", "input"),)
    assert got.saved_provider_cache == pytest.approx(0.0036)
    (total,) = await backend.summarize(UsageQuery(by=None))
    assert (total.calls, total.input_tokens, total.cache_write_1h_tokens) == (2, 5100, 400)
    assert total.cost == pytest.approx(0.51)
    await backend.aclose()
    again = open_backend(url, prefix)  # a restart finds the schema current and changes nothing
    await again.start()
    assert len(await again.fetch()) == 2
    await again.aclose()
