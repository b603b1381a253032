"""Both backends against real databases: a SQLite file and the PostgreSQL server."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmrelay.errors import ConfigError
from llmrelay.ledger import GuardMark, LedgerError, UsageQuery, UsageRecord, display_url, open_backend
from llmrelay.ledger.postgres import PostgresBackend
from llmrelay.ledger.sqlite import SQLiteBackend
from llmrelay.settings import Settings

DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


def sample() -> list[UsageRecord]:
    full = UsageRecord(
        id="full",
        ts=DAY,
        status="ok",
        stream=True,
        request_id="req_1",
        response_id="chatcmpl-1",
        key="team-a",
        user="ann",
        tags=("batch", "eu"),
        metadata={"job": "42", "ünï": "cödé"},
        alias="fast",
        deployment="openai/gpt-4o-mini",
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=1200,
        output_tokens=300,
        cached_input_tokens=1000,
        cache_write_tokens=150,
        reasoning_tokens=50,
        cost=0.00123,
        latency=1.25,
        ttft=0.2,
        http_status=None,
        cache_hit=True,
        attempts=2,
        cache_write_1h_tokens=100,
        service_tier="flex",
        cache="hit",
        saved_provider_cache=0.0009,
        saved_response_cache=0.004,
        guard=(GuardMark("email", "mask", "input", 2), GuardMark("injection", "flag", "input")),
    )
    failed = UsageRecord(
        id="failed",
        ts=DAY + 60,
        status="rate_limit",
        key="team-a",
        alias="fast",
        provider="openai",
        model="gpt-4o-mini",
        http_status=429,
        latency=0.1,
    )
    unpriced = UsageRecord(
        id="unpriced",
        ts=DAY + 86400,
        provider="groq",
        model="mystery",
        tags=("eu",),
        input_tokens=10,
        output_tokens=5,
        latency=0.5,
    )
    return [full, failed, unpriced]


def test_open_backend_picks_by_url(tmp_path: Path) -> None:
    b = open_backend(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(b, SQLiteBackend) and b.path == tmp_path / "x.db"
    assert isinstance(open_backend("sqlite:///rel/x.db"), SQLiteBackend)
    assert isinstance(open_backend("postgresql://h/db"), PostgresBackend)
    assert isinstance(open_backend("postgres://h/db"), PostgresBackend)
    default = open_backend(None)
    assert isinstance(default, SQLiteBackend) and default.path.name == "ledger.sqlite3"
    with pytest.raises(ConfigError, match="names no file"):
        open_backend("sqlite:///")
    with pytest.raises(ConfigError, match="unsupported ledger url"):
        open_backend("mysql://h/db")


def test_passwords_never_show() -> None:
    url = "postgresql://app:hunter2-secret@db.internal:5432/llm"
    assert display_url(url) == "postgresql://app:***@db.internal:5432/llm"
    assert "hunter2" not in repr(open_backend(url))
    settings = Settings(ledger={"url": url})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.ledger)


def test_settings_refuse_bad_ledger_values() -> None:
    with pytest.raises(ConfigError, match=r"ledger\.url") as info:
        Settings.load(ledger={"url": "mysql://h/db"})
    assert "sqlite:///" in str(info.value)
    with pytest.raises(ConfigError, match=r"ledger\.batch_size"):
        Settings.load(ledger={"batch_size": 0})
    with pytest.raises(ConfigError, match=r"ledger\.table_prefix"):
        Settings.load(ledger={"table_prefix": "x; DROP TABLE y"})
    with pytest.raises(ConfigError, match=r"ledger\.flush_interval"):
        Settings.load(ledger={"flush_interval": "soon"})


async def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    backend = PostgresBackend("postgresql://app:hunter2-secret@127.0.0.1:1/llm", connect_timeout=2)
    with pytest.raises(LedgerError) as info:
        await backend.start()
    text = str(info.value)
    assert "connecting failed" in text and "127.0.0.1:1" in text and "hunter2" not in text
    await backend.aclose()


def test_an_unwritable_sqlite_path_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    backend = SQLiteBackend(blocker / "sub" / "ledger.sqlite3")

    async def go() -> None:
        try:
            await backend.start()
        finally:
            await backend.aclose()

    with pytest.raises(ConfigError, match="cannot open the ledger database"):
        asyncio.run(go())


async def test_round_trip_and_idempotent_batches(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    backend = open_backend(url, prefix)
    await backend.start()
    await backend.start()  # a second start (another replica, a restart) changes nothing
    records = sample()
    await backend.write(records)
    await backend.write(records[:2])  # a batch retried after a lost acknowledgement
    got = await backend.fetch()
    assert [r.id for r in got] == ["full", "failed", "unpriced"]
    for want, have in zip(records, got, strict=True):
        assert have.ts == pytest.approx(want.ts, abs=1e-5)
        assert have == type(want)(**{**_fields(want), "ts": have.ts})
    window = await backend.fetch(
        since=datetime.fromtimestamp(DAY + 1, UTC), until=datetime.fromtimestamp(DAY + 86400, UTC)
    )
    assert [r.id for r in window] == ["failed"]
    await backend.aclose()


def _fields(rec: UsageRecord) -> dict[str, object]:
    return {name: getattr(rec, name) for name in rec.__slots__}  # type: ignore[attr-defined]


async def test_totals(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    backend = open_backend(url, prefix)
    await backend.start()
    await backend.write(sample())
    (total,) = await backend.summarize(UsageQuery(by=None))
    assert (total.calls, total.errors, total.input_tokens, total.output_tokens) == (3, 1, 1210, 305)
    assert (total.cached_input_tokens, total.reasoning_tokens) == (1000, 50)
    assert (total.cache_write_tokens, total.cache_write_1h_tokens, total.cache_write_5m_tokens) == (
        150,
        100,
        50,
    )
    assert total.cache_hits == 1
    assert total.saved_provider_cache == pytest.approx(0.0009)
    assert total.saved_response_cache == pytest.approx(0.004)
    assert total.cost == pytest.approx(0.00123)
    assert total.unpriced_calls == 1
    assert total.avg_latency == pytest.approx((1.25 + 0.1 + 0.5) / 3)

    by_day = {r.group: r.calls for r in await backend.summarize(UsageQuery(by="day"))}
    assert by_day == {"2026-11-20": 2, "2026-11-21": 1}
    by_model = {r.group: r for r in await backend.summarize(UsageQuery(by="model"))}
    assert set(by_model) == {"openai/gpt-4o-mini", "groq/mystery"}
    assert by_model["groq/mystery"].cost is None and by_model["groq/mystery"].unpriced_calls == 1
    by_tag = {r.group: r.calls for r in await backend.summarize(UsageQuery(by="tag"))}
    assert by_tag == {"": 1, "batch": 1, "eu": 2}
    by_key = {r.group: r.calls for r in await backend.summarize(UsageQuery(by="key"))}
    assert by_key == {"": 1, "team-a": 2}
    by_status = {r.group: r.errors for r in await backend.summarize(UsageQuery(by="status"))}
    assert by_status == {"ok": 0, "rate_limit": 1}
    since = datetime(2026, 11, 21, tzinfo=UTC)
    windowed = await backend.summarize(UsageQuery(by="model", since=since, until=since + timedelta(days=1)))
    assert [(r.group, r.calls) for r in windowed] == [("groq/mystery", 1)]
    assert await backend.summarize(UsageQuery(by="day", since=since + timedelta(days=30))) == []
    await backend.aclose()


async def test_replicas_starting_together_migrate_once(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    backends = [open_backend(url, prefix) for _ in range(4)]
    await asyncio.gather(*(b.start() for b in backends))
    await backends[0].write(sample()[:1])
    assert len(await backends[3].fetch()) == 1
    for b in backends:
        await b.aclose()


async def test_a_newer_schema_is_refused(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    backend = open_backend(url, prefix)
    await backend.start()
    await backend.aclose()
    table = f"{prefix}ledger_version"
    if url.startswith("sqlite"):
        path = url[len("sqlite:///") :]
        with sqlite3.connect(path) as conn:
            conn.execute(f"UPDATE {table} SET version = 99")
    else:
        import asyncpg

        conn = await asyncpg.connect(url)
        await conn.execute(f"UPDATE {table} SET version = 99")
        await conn.close()
    again = open_backend(url, prefix)
    with pytest.raises(ConfigError, match="schema version 99, newer than this llmrelay knows"):
        await again.start()
    await again.aclose()
