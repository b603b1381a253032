"""Prompt templates from a folder: strict rendering, versions, an A/B split, usage by prompt.

Run: .venv/bin/python examples/prompt_templates.py
"""

import asyncio
import tempfile
from pathlib import Path

import llmrelay
from llmrelay.app.prompts import MissingVariableError, PromptLibrary
from llmrelay.ledger.query import UsageQuery
from llmrelay.ledger.report import usage_report

LIBRARY = Path(__file__).parent / "prompt_library"


async def main() -> None:
    library = PromptLibrary.load(LIBRARY)
    for name in library.names():
        print(f"{name}: versions {library.versions(name)}, default {library.default_version(name)}")

    # Strict rendering: a missing variable is an error naming it, and nothing is sent.
    try:
        library.render("support")
    except MissingVariableError as exc:
        print(f"refused: {exc}")

    ledger = f"sqlite:///{tempfile.mkdtemp()}/ledger.sqlite3"
    async with llmrelay.Client(llmrelay.Settings(ledger={"url": ledger})) as client:
        for user_id in ("ann", "bo", "chen", "dara"):
            # The experiment picks v1 or v2 for each user, the same one every time.
            prompt = library.render(
                "support", question="Where is my parcel?", customer=user_id.title(), user_id=user_id
            )
            reply = await prompt.chat(client)  # the call's metadata names prompt and version
            print(f"{user_id} got {reply.prompt}@{reply.version}: {reply.text[:60]}...")

    # The ledger recorded the version of every call: the same totals as `llmrelay usage --by prompt`.
    report = await usage_report(ledger, "llmrelay_", UsageQuery(by="prompt"))
    for row in report.rows:
        print(f"{row.group}: {row.calls} calls, {row.input_tokens} input tokens, ${row.cost or 0:.6f}")


if __name__ == "__main__":
    asyncio.run(main())
