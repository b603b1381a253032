"""The ledger records which prompt version made each call: ``usage --by prompt`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmrelay.app.prompts import PromptLibrary
from llmrelay.cli.main import app
from llmrelay.client import Client
from llmrelay.ledger.query import UsageQuery
from llmrelay.ledger.report import usage_report
from llmrelay.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite3", "llmrelay_"
    return request.getfixturevalue("pg_available"), request.getfixturevalue("pg_prefix")


async def test_usage_by_prompt_shows_each_version(ledger: tuple[str, str], library_dir: Path) -> None:
    url, prefix = ledger
    lib = PromptLibrary.load(library_dir)
    chosen: Counter[str] = Counter()
    async with Client(Settings(ledger={"url": url, "table_prefix": prefix})) as client:
        for i in range(12):
            prompt = lib.render("support", question=f"question {i}", user_id=f"user-{i}")
            reply = await prompt.chat(client)
            chosen[f"support@{reply.version}"] += 1
        await client.chat("no template here", model="local")
    assert set(chosen) == {"support@v1", "support@v2"}  # the A/B split used both
    report = await usage_report(url, prefix, UsageQuery(by="prompt"))
    rows = {r.group: r.calls for r in report.rows}
    assert rows == {**chosen, "": 1}
    assert report.total.calls == 13
    v1 = next(r for r in report.rows if r.group == "support@v1")
    assert v1.output_tokens == 7 * chosen["support@v1"]  # v1's max_tokens hint, recorded per version


def test_the_cli_groups_by_prompt(tmp_path: Path, library_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    url = f"sqlite:///{tmp_path}/cli-ledger.sqlite3"

    async def fill() -> None:
        async with Client(Settings(ledger={"url": url})) as client:
            lib = PromptLibrary.load(library_dir)
            await lib.render("support", version="v2", question="q").chat(client)
            await lib.render("greeting", names=["Ann"]).chat(client, model="local")

    asyncio.run(fill())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["usage", "--by", "prompt", "--ledger", url, "--csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("prompt,calls,")
    assert {line.split(",")[0]: line.split(",")[1] for line in lines[1:]} == {
        "greeting@1": "1",
        "support@v2": "1",
    }
