"""Follow calls live: a client writes each call's event to a JSON-lines file, and
`llmrelay tail` prints one line per call (here with `--once`, from the file's start).

In a service, set `observe.log_file` (or `observe.log_socket`) in its configuration and run
`llmrelay tail /var/log/llmrelay/calls.jsonl` (or `llmrelay tail --socket PATH`) beside it.
Run: .venv/bin/python examples/tail_calls.py
"""

import asyncio
import tempfile
from pathlib import Path

from typer.testing import CliRunner

import llmrelay
from llmrelay.cli.main import app


async def calls(log: Path) -> None:
    settings = llmrelay.Settings.load(ledger={"enabled": False}, observe={"log_file": str(log)})
    async with llmrelay.Client(settings, environ={}) as client:
        await client.chat("Name three prime numbers.", max_tokens=20)
        async for _ in client.stream("Tell me a short story.", max_tokens=30):
            pass


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "calls.jsonl"
        asyncio.run(calls(log))
        # the same as running `llmrelay tail --once --no-color calls.jsonl` in a terminal
        result = CliRunner().invoke(app, ["tail", "--once", "--no-color", str(log)])
        print(result.stdout, end="")


if __name__ == "__main__":
    main()
