from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from llmrelay.errors import ConfigError
from llmrelay.ledger.query import GROUPINGS, UsageQuery, UsageRow, parse_when, summary_sql

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)


def test_parse_when_forms() -> None:
    assert parse_when("2026-11-01", now=NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_when("2026-11-01T09:15", now=NOW) == datetime(2026, 11, 1, 9, 15, tzinfo=UTC)
    assert parse_when("2026-11-01T09:15+02:00", now=NOW) == datetime(2026, 11, 1, 7, 15, tzinfo=UTC)
    assert parse_when("today", now=NOW) == datetime(2026, 11, 23, tzinfo=UTC)
    assert parse_when("Yesterday", now=NOW) == datetime(2026, 11, 22, tzinfo=UTC)
    assert parse_when("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_when("24h", now=NOW) == NOW - timedelta(hours=24)
    assert parse_when("30m", now=NOW) == NOW - timedelta(minutes=30)
    assert parse_when("2w", now=NOW) == NOW - timedelta(weeks=2)
    assert parse_when("1.5h", now=NOW) == NOW - timedelta(minutes=90)


@pytest.mark.parametrize("bad", ["bogus", "7x", "2026-13-01", "", "-3d"])
def test_parse_when_rejects_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ConfigError, match="cannot read the time") as info:
        parse_when(bad, now=NOW)
    assert "7d" in str(info.value)


def test_query_validation() -> None:
    with pytest.raises(ConfigError, match="cannot group usage by 'week'"):
        UsageQuery(by="week")
    with pytest.raises(ConfigError, match="timezone-aware"):
        UsageQuery(since=datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="must be before"):
        UsageQuery(since=NOW, until=NOW - timedelta(days=1))
    assert UsageQuery(by=None).by is None


def _sqlite_with_rows() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE u_usage (ts REAL, status TEXT, key TEXT, user_id TEXT, tags TEXT, alias TEXT, "
        "provider TEXT, model TEXT, input_tokens INT, output_tokens INT, cached_input_tokens INT, "
        "cache_write_tokens INT, reasoning_tokens INT, cost REAL, latency REAL)"
    )
    rows = [
        # ts, status, key, user, tags, alias, provider, model, in, out, cached, cw, reasoning, cost, latency
        (NOW.timestamp(), "ok", "k1", "ann", '["a", "b"]', "fast", "openai", "m1", 10, 5, 2, 0, 1, 0.5, 1.0),
        (
            NOW.timestamp() + 1,
            "rate_limit",
            "k1",
            None,
            "[]",
            "fast",
            "openai",
            "m1",
            None,
            None,
            None,
            None,
            None,
            None,
            3.0,
        ),
        (NOW.timestamp() + 2, "ok", None, None, '["a"]', "slow", "anthropic", "m2", 7, 3, 0, 4, 0, None, 2.0),
        (
            NOW.timestamp() + 3,
            "closed",
            None,
            None,
            "[]",
            "slow",
            "anthropic",
            "m2",
            None,
            None,
            None,
            None,
            None,
            None,
            0.5,
        ),
        (
            (NOW - timedelta(days=1)).timestamp(),
            "ok",
            "k2",
            None,
            "[]",
            "fast",
            "openai",
            "m1",
            1,
            1,
            0,
            0,
            0,
            0.25,
            1.0,
        ),
    ]
    conn.executemany("INSERT INTO u_usage VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("ALTER TABLE u_usage ADD COLUMN metadata TEXT")  # read by --by prompt
    for column in ("cache_write_1h_tokens INTEGER", "cache TEXT", "saved_provider_cache REAL"):
        conn.execute(f"ALTER TABLE u_usage ADD COLUMN {column}")
    conn.execute("ALTER TABLE u_usage ADD COLUMN saved_response_cache REAL")
    return conn


def _run(conn: sqlite3.Connection, query: UsageQuery) -> dict[str, UsageRow]:
    sql, params = summary_sql(query, "sqlite", "u_usage")
    return {r.group: r for r in (UsageRow.from_values(tuple(v)) for v in conn.execute(sql, params))}


def test_sqlite_sql_totals_every_grouping() -> None:
    conn = _sqlite_with_rows()
    total = _run(conn, UsageQuery(by=None))["total"]
    assert (total.calls, total.errors, total.input_tokens, total.output_tokens) == (5, 1, 18, 9)
    assert total.cost == pytest.approx(0.75)
    assert total.unpriced_calls == 1  # the anthropic call used tokens and has no price
    by_model = _run(conn, UsageQuery(by="model"))
    assert set(by_model) == {"openai/m1", "anthropic/m2"}
    assert by_model["anthropic/m2"].cost is None
    assert by_model["anthropic/m2"].cache_write_tokens == 4
    by_tag = _run(conn, UsageQuery(by="tag"))
    assert {g: r.calls for g, r in by_tag.items()} == {"": 3, "a": 2, "b": 1}
    by_day = _run(conn, UsageQuery(by="day"))
    assert {g: r.calls for g, r in by_day.items()} == {"2026-11-22": 1, "2026-11-23": 4}
    assert {g: r.calls for g, r in _run(conn, UsageQuery(by="key")).items()} == {"": 2, "k1": 2, "k2": 1}
    assert set(_run(conn, UsageQuery(by="status"))) == {"ok", "rate_limit", "closed"}
    for by in GROUPINGS:
        assert sum(r.calls for r in _run(conn, UsageQuery(by=by)).values()) >= 5


def test_window_is_half_open() -> None:
    conn = _sqlite_with_rows()
    rows = _run(conn, UsageQuery(by=None, since=NOW, until=NOW + timedelta(seconds=2)))
    assert rows["total"].calls == 2
    assert _run(conn, UsageQuery(by=None, since=NOW + timedelta(days=5)))["total"].calls == 0


def test_postgres_sql_uses_numbered_parameters_and_datetimes() -> None:
    q = UsageQuery(by="tag", since=NOW - timedelta(days=1), until=NOW)
    sql, params = summary_sql(q, "postgres", "p_usage")
    assert "$1" in sql and "$2" in sql and "?" not in sql
    assert params == [NOW - timedelta(days=1), NOW]
    assert "unnest(u.tags)" in sql
