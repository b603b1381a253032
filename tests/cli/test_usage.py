"""``llmrelay usage`` over a ledger filled with known records (SQLite, and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmrelay.cli.main import app
from llmrelay.ledger import UsageRecord, open_backend

DAY1 = datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 11, 21, 10, tzinfo=UTC).timestamp()

RECORDS = [
    UsageRecord(id="a", ts=DAY1, key="team-a", tags=("eu",), provider="openai", model="gpt-4o-mini",
                input_tokens=1000, output_tokens=200, cost=0.25, latency=1.0),
    UsageRecord(id="b", ts=DAY1 + 5, key="team-b", tags=("eu", "batch"), provider="anthropic",
                model="claude-haiku-4-5", input_tokens=500, output_tokens=100, cost=0.5, latency=2.0),
    UsageRecord(id="c", ts=DAY2, key="team-a", provider="openai", model="gpt-4o-mini",
                status="rate_limit", http_status=429, latency=0.1),
    UsageRecord(id="d", ts=DAY2 + 5, key="team-a", provider="groq", model="mystery",
                input_tokens=10, output_tokens=5, latency=0.3),
]  # fmt: skip


def fill(url: str, prefix: str = "llmrelay_") -> None:
    async def go() -> None:
        backend = open_backend(url, prefix)
        await backend.start()
        await backend.write(RECORDS)
        await backend.aclose()

    asyncio.run(go())


@pytest.fixture
def runner(monkeypatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("LLMRELAY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def ledger_url(monkeypatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    fill(url)
    monkeypatch.setenv("LLMRELAY_LEDGER__URL", url)
    return url


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_table_by_day_with_a_total(runner: CliRunner, ledger_url: str) -> None:
    result = runner.invoke(app, ["usage"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Usage by day, all time" in out and "ledger.sqlite3" in out
    lines = {line.split()[1]: line for line in out.splitlines() if "2026-11-2" in line}
    assert set(lines) == {"2026-11-20", "2026-11-21"}
    assert "$0.7500" in lines["2026-11-20"]
    assert "unknown" in lines["2026-11-21"]  # the groq call has tokens but no price
    total = next(line for line in out.splitlines() if line.strip("│ ").startswith("total"))
    assert "4" in total.split() and "$0.7500 + 1 unpriced" in total
    assert "write 1h" not in out and "saved" not in out  # no call had any: no column for it


def test_csv_by_model(runner: CliRunner, ledger_url: str) -> None:
    result = runner.invoke(app, ["usage", "--by", "model", "--csv"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in read_csv(result.stdout)}
    assert set(rows) == {"anthropic/claude-haiku-4-5", "groq/mystery", "openai/gpt-4o-mini"}
    oa = rows["openai/gpt-4o-mini"]
    assert (oa["calls"], oa["errors"], oa["input_tokens"], oa["output_tokens"]) == ("2", "1", "1000", "200")
    assert float(oa["cost_usd"]) == pytest.approx(0.25)
    assert rows["groq/mystery"]["cost_usd"] == "" and rows["groq/mystery"]["unpriced_calls"] == "1"


def test_csv_to_a_file_by_key_and_by_tag(runner: CliRunner, ledger_url: str, tmp_path: Path) -> None:
    target = tmp_path / "usage.csv"
    result = runner.invoke(app, ["usage", "--by", "key", "-o", str(target)])
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r["calls"] for r in read_csv(target.read_text())}
    assert rows == {"team-a": "3", "team-b": "1"}
    by_tag = runner.invoke(app, ["usage", "--by", "tag", "--csv"])
    assert {r["tag"]: r["calls"] for r in read_csv(by_tag.stdout)} == {"": "2", "batch": "1", "eu": "2"}


def test_since_and_until(runner: CliRunner, ledger_url: str) -> None:
    result = runner.invoke(app, ["usage", "--by", "model", "--csv", "--since", "2026-11-21"])
    assert {r["model"]: r["calls"] for r in read_csv(result.stdout)} == {
        "groq/mystery": "1",
        "openai/gpt-4o-mini": "1",
    }
    result = runner.invoke(app, ["usage", "--csv", "--since", "2026-11-20", "--until", "2026-11-20T10:00:01"])
    assert [(r["day"], r["calls"]) for r in read_csv(result.stdout)] == [("2026-11-20", "1")]


def test_bad_input_is_named(runner: CliRunner, ledger_url: str) -> None:
    result = runner.invoke(app, ["usage", "--by", "week"])
    assert result.exit_code == 2 and "cannot group usage by 'week'" in result.stderr
    result = runner.invoke(app, ["usage", "--since", "last tuesday"])
    assert result.exit_code == 2 and "cannot read the time 'last tuesday'" in result.stderr
    result = runner.invoke(app, ["usage", "--since", "2026-11-22", "--until", "2026-11-21"])
    assert result.exit_code == 2 and "must be before" in result.stderr


def test_an_empty_ledger_shows_zero(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["usage", "--ledger", f"sqlite:///{tmp_path}/empty.sqlite3", "--csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "day,calls,errors,input_tokens,output_tokens,cached_input_tokens,cache_write_tokens,"
        "reasoning_tokens,cost_usd,unpriced_calls,avg_latency_s,cache_write_5m_tokens,cache_write_1h_tokens,"
        "cache_hits,saved_provider_cache_usd,saved_response_cache_usd"
    ]


def test_postgres_ledger(runner: CliRunner, pg_available: str, pg_prefix: str) -> None:
    url, prefix = pg_available, pg_prefix
    fill(url, prefix)
    result = runner.invoke(
        app,
        ["usage", "--by", "key", "--csv", "--ledger", url],
        env={"LLMRELAY_LEDGER__TABLE_PREFIX": prefix},
    )
    assert result.exit_code == 0, result.output
    assert {r["key"]: r["calls"] for r in read_csv(result.stdout)} == {"team-a": "3", "team-b": "1"}


CACHED = [
    UsageRecord(id="r1", ts=DAY1, provider="anthropic", model="claude-sonnet-4-5", input_tokens=13050,
                output_tokens=700, cached_input_tokens=10000, cache_write_tokens=3000,
                cache_write_1h_tokens=2000, reasoning_tokens=0, cost=0.0294, cache="miss",
                service_tier="standard", saved_provider_cache=0.027, latency=1.0),
    UsageRecord(id="r2", ts=DAY1 + 1, provider="openai", model="gpt-5", input_tokens=10000,
                output_tokens=2000, cached_input_tokens=8000, cache_write_tokens=0, reasoning_tokens=1500,
                cost=0.0, cache="hit", cache_hit=True, saved_response_cache=0.0235, latency=0.01),
]  # fmt: skip


@pytest.fixture
def cached_ledger(monkeypatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cached.sqlite3"

    async def go() -> None:
        backend = open_backend(url)
        await backend.start()
        await backend.write(CACHED)
        await backend.aclose()

    asyncio.run(go())
    monkeypatch.setenv("LLMRELAY_LEDGER__URL", url)
    return url


def test_json_shows_reasoning_cache_writes_by_lifetime_and_savings(
    runner: CliRunner, cached_ledger: str
) -> None:
    import json

    result = runner.invoke(app, ["usage", "--by", "model", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {r["group"]: r for r in data["rows"]}
    sonnet = rows["anthropic/claude-sonnet-4-5"]
    assert (
        sonnet["cached_input_tokens"],
        sonnet["cache_write_5m_tokens"],
        sonnet["cache_write_1h_tokens"],
    ) == (
        10000,
        1000,
        2000,
    )
    assert sonnet["saved_provider_cache_usd"] == pytest.approx(0.027) and sonnet["cache_hits"] == 0
    gpt = rows["openai/gpt-5"]
    assert gpt["reasoning_tokens"] == 1500 and gpt["cache_hits"] == 1
    assert gpt["saved_response_cache_usd"] == pytest.approx(0.0235) and gpt["cost_usd"] == 0.0
    total = data["total"]
    assert total["calls"] == 2 and total["saved_provider_cache_usd"] == pytest.approx(0.027)
    assert total["saved_response_cache_usd"] == pytest.approx(0.0235)
    assert data["by"] == "model" and data["since"] is None


def test_the_table_shows_the_detail_columns_when_there_is_detail(
    runner: CliRunner, cached_ledger: str
) -> None:
    result = runner.invoke(app, ["usage", "--by", "model"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "calls" in line)
    for column in ("reasoning", "cache read", "write 5m", "write 1h", "saved: provider", "saved: response"):
        assert column in header
    total = next(line for line in result.output.splitlines() if line.strip("│ ").startswith("total"))
    assert "$0.0270" in total and "$0.0235" in total and "1,500" in total and "2,000" in total
