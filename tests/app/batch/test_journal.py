"""The journal: results and submissions survive a reopen; another input is refused."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from llmrelay.app.batch.items import load_items
from llmrelay.app.batch.journal import Journal, Submission, default_path
from llmrelay.app.batch.records import BatchError, BatchResult
from llmrelay.errors import ConfigError
from llmrelay.types import ChatResponse, Usage

ITEMS = load_items([f"prompt {i}" for i in range(5)], model="m")


def ok(index: int) -> BatchResult:
    resp = ChatResponse(
        id=f"r{index}", model="m", provider="p", text=f"answer {index}", usage=Usage(3, 4), cost=0.5
    )
    return BatchResult(index, str(index), response=resp)


async def test_results_are_kept_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = await Journal.open(path, ITEMS)
    await asyncio.gather(*(journal.record(ok(i), ITEMS[i].fingerprint) for i in (0, 2, 3)))
    failed = BatchResult(1, "1", error=BatchError("RateLimitError", "slow down", 429, None, True))
    await journal.record(failed, ITEMS[1].fingerprint)
    await journal.close()

    again = await Journal.open(path, ITEMS)
    try:
        records = await again.results()
    finally:
        await again.close()
    assert sorted(records) == [0, 1, 2, 3]
    restored = BatchResult.from_json(records[2])
    assert restored.response is not None and restored.response.text == "answer 2"
    assert restored.response.usage == Usage(3, 4) and restored.response.cost == 0.5
    assert BatchResult.from_json(records[1]).error == failed.error


async def test_a_different_input_is_refused_and_restart_discards(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = await Journal.open(path, ITEMS)
    await journal.record(ok(2), ITEMS[2].fingerprint)
    await journal.close()
    changed = load_items(["prompt 0", "prompt 1", "CHANGED", "prompt 3"], model="m")
    with pytest.raises(ConfigError, match=r"item 2 \('2'\) has changed"):
        await Journal.open(path, changed)
    with pytest.raises(ConfigError, match="the input has only 2 items"):
        await Journal.open(path, ITEMS[:2])
    fresh = await Journal.open(path, changed, restart=True)
    try:
        assert await fresh.results() == {}
    finally:
        await fresh.close()
    # appending items to the input keeps what is done
    longer = load_items([f"prompt {i}" for i in range(8)], model="m")
    journal = await Journal.open(path, ITEMS)
    await journal.record(ok(4), ITEMS[4].fingerprint)
    await journal.close()
    extended = await Journal.open(path, longer)
    await extended.close()


async def test_submissions_move_through_their_states(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j", ITEMS)
    try:
        await journal.add_submission(Submission("t1", "openai", "local", None, (0, 1), "submitting"))
        await journal.add_submission(Submission("t2", "openai", "local", None, (2,), "submitting"))
        await journal.set_submitted("t1", "batch_1")
        await journal.drop_submission("t2")
        await journal.record_many(
            [(ok(0), ITEMS[0].fingerprint), (ok(1), ITEMS[1].fingerprint)], collected="t1"
        )
        (sub,) = await journal.submissions()
    finally:
        await journal.close()
    assert sub == Submission("t1", "openai", "local", "batch_1", (0, 1), "collected")


async def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl.journal"
    path.write_text("these are not the rows you are looking for" * 100)
    with pytest.raises(ConfigError, match="is not a batch journal"):
        await Journal.open(path, ITEMS)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('version', '99')")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="has format 99"):
        await Journal.open(other, ITEMS)


def test_default_path_sits_beside_the_output(tmp_path: Path) -> None:
    assert default_path(tmp_path / "out.jsonl") == tmp_path / "out.jsonl.journal"
