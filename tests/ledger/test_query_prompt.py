"""Grouping usage by the prompt template recorded in the request metadata."""

from __future__ import annotations

import json
import sqlite3

from llmrelay.ledger.query import GROUPINGS, UsageQuery, UsageRow, summary_sql


def test_prompt_is_a_grouping() -> None:
    assert "prompt" in GROUPINGS


def test_sqlite_groups_by_name_and_version() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE u_usage (ts REAL, status TEXT, metadata TEXT, input_tokens INT, output_tokens INT, "
        "cached_input_tokens INT, cache_write_tokens INT, reasoning_tokens INT, cost REAL, latency REAL, "
        "cache_write_1h_tokens INT, cache TEXT, saved_provider_cache REAL, saved_response_cache REAL)"
    )
    metas = [
        {"prompt": "support", "prompt_version": "v1"},
        {"prompt": "support", "prompt_version": "v1", "team": "a"},
        {"prompt": "support", "prompt_version": "v2"},
        {"prompt": "adhoc"},  # a name without a version
        {"team": "b"},
        None,
    ]
    rows = [(1.0, "ok", json.dumps(m) if m else None, 10, 2, 0, 0, 0, 0.1, 0.5) for m in metas]
    conn.executemany(
        "INSERT INTO u_usage (ts, status, metadata, input_tokens, output_tokens, cached_input_tokens, "
        "cache_write_tokens, reasoning_tokens, cost, latency) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    sql, params = summary_sql(UsageQuery(by="prompt"), "sqlite", "u_usage")
    got = {r.group: r.calls for r in (UsageRow.from_values(tuple(v)) for v in conn.execute(sql, params))}
    assert got == {"support@v1": 2, "support@v2": 1, "adhoc": 1, "": 2}


def test_postgres_reads_the_jsonb_metadata() -> None:
    sql, _ = summary_sql(UsageQuery(by="prompt"), "postgres", "p_usage")
    assert "u.metadata ->> 'prompt'" in sql and "u.metadata ->> 'prompt_version'" in sql
