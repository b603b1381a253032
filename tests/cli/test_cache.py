"""The CLI's response cache: on by default in a SQLite file, and ``llmrelay cache``.

Driven in-process with Typer's runner; the cache directory is the test's own
(``XDG_CACHE_HOME``, tests/cli/conftest.py), so the file is found where the CLI puts it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.limits.redis_support import REDIS_URL, clean, redis_or_skip, unique_prefix
from typer.testing import CliRunner

from llmrelay.cli.main import app


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for var in ("OPENAI_API_KEY", "LLMRELAY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("LLMRELAY_CACHE")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def ask(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["chat", "--json", *args])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def stats(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["cache", "stats", "--json", *args])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_a_deterministic_chat_is_answered_from_the_file_the_second_time(runner: CliRunner) -> None:
    first = ask(runner, "--temperature", "0", "What is a relay?")
    second = ask(runner, "--temperature", "0", "What is a relay?")
    assert (first["meta"]["cache"], second["meta"]["cache"]) == ("miss", "hit")
    assert second["text"] == first["text"] and second["cost"] == 0.0
    path = Path(os.environ["XDG_CACHE_HOME"]) / "llmrelay" / "cache.sqlite3"
    doc = stats(runner)
    assert doc["backend"] == f"sqlite:///{path}" and path.exists()
    assert (doc["entries"], doc["hits"], doc["misses"], doc["expired"]) == (1, 1, 1, 0)
    assert doc["oldest"] == doc["newest"] and doc["bytes"] > 0


def test_the_default_temperature_is_not_cached(runner: CliRunner) -> None:
    # chat sends no temperature unless given one: the provider samples, so nothing is kept
    first = ask(runner, "Tell me something")
    assert first["meta"]["cache"] is None
    assert stats(runner)["entries"] == 0


def test_no_cache_and_a_cache_section_turn_it_off(runner: CliRunner, tmp_path: Path) -> None:
    ask(runner, "--temperature", "0", "Hello")
    assert ask(runner, "--no-cache", "--temperature", "0", "Hello")["meta"]["cache"] is None
    (tmp_path / "off.yaml").write_text("cache: {enabled: false}\n", encoding="utf-8")
    assert ask(runner, "-c", "off.yaml", "--temperature", "0", "Hello")["meta"]["cache"] is None
    off = runner.invoke(
        app, ["chat", "--json", "--temperature", "0", "Hello"], env={"LLMRELAY_CACHE__ENABLED": "false"}
    )
    assert json.loads(off.stdout)["meta"]["cache"] is None
    # a configured memory cache is the configuration's choice: nothing outlives the run
    (tmp_path / "mem.yaml").write_text("cache: {enabled: true}\n", encoding="utf-8")
    assert ask(runner, "-c", "mem.yaml", "--temperature", "0", "Hello")["meta"]["cache"] == "miss"
    assert ask(runner, "--temperature", "0", "Hello")["meta"]["cache"] == "hit"  # the file's
    memory = runner.invoke(app, ["cache", "stats", "-c", "mem.yaml"])
    assert memory.exit_code == 2 and "inside each process" in memory.stderr


def test_clear_asks_unless_told_and_can_select_an_alias(runner: CliRunner) -> None:
    ask(runner, "--temperature", "0", "One")
    ask(runner, "-m", "simulator/sim-other", "--temperature", "0", "Two")
    refused = runner.invoke(app, ["cache", "clear"])
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert stats(runner)["entries"] == 2
    # the CLI's calls have no subject: another tenant's namespace holds none of them
    none = runner.invoke(app, ["cache", "clear", "--user", "ann", "--yes"])
    assert none.exit_code == 0 and "removed 0 entries" in none.stdout
    one = runner.invoke(app, ["cache", "clear", "--alias", "local", "--yes"])
    assert one.exit_code == 0 and "removed 1 entries" in one.stdout
    assert ask(runner, "-m", "simulator/sim-other", "--temperature", "0", "Two")["meta"]["cache"] == "hit"
    assert ask(runner, "--temperature", "0", "One")["meta"]["cache"] == "miss"
    rest = runner.invoke(app, ["cache", "clear", "--all", "-y"])
    assert "removed 2 entries" in rest.stdout and stats(runner)["entries"] == 0


def test_prune_removes_expired_answers_then_the_oldest_past_a_size(runner: CliRunner, tmp_path: Path) -> None:
    import time

    (tmp_path / "short.yaml").write_text(
        "cache: {enabled: true, backend: sqlite, ttl: 0.2}\n", encoding="utf-8"
    )
    ask(runner, "-c", "short.yaml", "--temperature", "0", "Soon gone")
    ask(runner, "--temperature", "0", "Kept one")
    ask(runner, "--temperature", "0", "Kept two")
    time.sleep(0.3)
    assert stats(runner)["expired"] == 1
    pruned = runner.invoke(app, ["cache", "prune"])
    assert pruned.exit_code == 0 and "removed 1 entries" in pruned.stdout
    size = stats(runner)["bytes"]
    smaller = runner.invoke(app, ["cache", "prune", "--max-bytes", str(size - 1)])
    assert "removed 1 entries" in smaller.stdout
    assert ask(runner, "--temperature", "0", "Kept two")["meta"]["cache"] == "hit"  # the newest stays
    assert ask(runner, "--temperature", "0", "Kept one")["meta"]["cache"] == "miss"


def test_batch_reuses_answers_of_an_earlier_run(runner: CliRunner, tmp_path: Path) -> None:
    rows = [{"id": f"q{i}", "prompt": f"question {i}", "temperature": 0, "max_tokens": 20} for i in range(3)]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    first = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress"])
    again = runner.invoke(app, ["batch", "in.jsonl", "out.jsonl", "--no-progress", "--restart"])
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(x["response"]["cost"] == 0.0 for x in out)
    assert stats(runner)["hits"] == 3


def test_the_semantic_cache_reaches_answers_of_earlier_runs(runner: CliRunner, tmp_path: Path) -> None:
    from tests.cache.semantic_support import model_or_skip

    model_or_skip()
    (tmp_path / "sem.yaml").write_text(
        "cache: {enabled: true, backend: sqlite, semantic: {enabled: true, threshold: 0.8}}\n",
        encoding="utf-8",
    )
    first = ask(runner, "-c", "sem.yaml", "--temperature", "0", "How do I reset my password?")
    para = ask(runner, "-c", "sem.yaml", "--temperature", "0", "How can I reset my password?")
    other = ask(runner, "-c", "sem.yaml", "--temperature", "0", "How do I reset my router?")
    assert (first["meta"]["cache"], para["meta"]["cache"], other["meta"]["cache"]) == ("miss", "hit", "miss")
    assert para["text"] == first["text"] and para["meta"]["cache_similarity"] >= 0.8
    assert stats(runner, "-c", "sem.yaml")["semantic_vectors"] == 2
    runner.invoke(app, ["cache", "clear", "--all", "-y", "-c", "sem.yaml"])
    assert stats(runner, "-c", "sem.yaml")["semantic_vectors"] == 0


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    client: Any = await redis_or_skip()
    prefix = unique_prefix() + "cache:"
    try:
        yield prefix
    finally:
        await clean(client, prefix)
        await client.aclose()


def test_the_commands_work_on_a_redis_prefix(runner: CliRunner, tmp_path: Path, redis_prefix: str) -> None:
    (tmp_path / "redis.yaml").write_text(
        f"cache: {{enabled: true, backend: redis, redis_url: '{REDIS_URL}', prefix: '{redis_prefix}'}}\n",
        encoding="utf-8",
    )
    ask(runner, "-c", "redis.yaml", "--temperature", "0", "Shared")
    assert ask(runner, "-c", "redis.yaml", "--temperature", "0", "Shared")["meta"]["cache"] == "hit"
    doc = stats(runner, "-c", "redis.yaml")
    assert doc["backend"].startswith("redis://") and (doc["entries"], doc["hits"], doc["misses"]) == (1, 1, 1)
    ask(runner, "-c", "redis.yaml", "--temperature", "0", "-m", "simulator/sim-large", "Shared")
    assert stats(runner, "-c", "redis.yaml")["entries"] == 2
    scoped = runner.invoke(app, ["cache", "clear", "--alias", "local", "-y", "-c", "redis.yaml"])
    assert scoped.exit_code == 0 and "removed 1 entries" in scoped.stdout
    tenant = runner.invoke(app, ["cache", "clear", "--user", "nobody", "-y", "-c", "redis.yaml"])
    assert tenant.exit_code == 0 and "removed 0 entries" in tenant.stdout
    assert stats(runner, "-c", "redis.yaml")["entries"] == 1
    assert ask(runner, "-c", "redis.yaml", "--temperature", "0", "Shared")["meta"]["cache"] == "miss"
    cleared = runner.invoke(app, ["cache", "clear", "--all", "-y", "-c", "redis.yaml"])
    assert cleared.exit_code == 0 and stats(runner, "-c", "redis.yaml")["entries"] == 0
