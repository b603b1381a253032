"""A batch: results in input order, resumed without paying twice, then the provider's batch API.

Run: .venv/bin/python examples/batch.py [model]   (default: the built-in simulator)
"""

import asyncio
import sys
import tempfile
from pathlib import Path

import llmrelay
from llmrelay.app.batch import BatchResult, estimate_batch, run_batch

QUESTIONS = [
    {"id": f"q{i}", "prompt": f"In one sentence, what is {topic}?", "max_tokens": 60}
    for i, topic in enumerate(["TCP", "DNS", "TLS", "HTTP/2", "QUIC", "BGP", "NTP", "ARP"])
]


def show(result: BatchResult) -> None:
    if result.response is not None:
        print(f"  {result.id}: {result.response.text[:60]}… (${result.response.cost or 0:.6f})")
    else:
        print(f"  {result.id}: failed: {result.error}")


async def main(model: str) -> None:
    out = Path(tempfile.mkdtemp()) / "answers.jsonl"
    async with llmrelay.Client() as client:
        estimate = await estimate_batch(client, QUESTIONS, model=model, output=out)
        print("estimate:", estimate.describe())

        # The first run stops half way (as if interrupted); the journal beside the output keeps
        # what was finished, and the second run sends only the rest.
        await run_batch(client, QUESTIONS[:4], model=model, output=out)
        report = await run_batch(client, QUESTIONS, model=model, output=out, on_result=show, concurrency=4)
        print(
            f"{report.succeeded} ok, {report.failed} failed, {report.resumed} from the earlier run; "
            f"cost ${report.cost or 0:.6f}; results in {report.output}"
        )

        # The same questions through the provider's batch API, at its batch price (half, in the catalog).
        batched = await run_batch(client, QUESTIONS, model=model, mode="provider")
        print(
            f"provider batch: {batched.succeeded} ok, cost ${batched.cost or 0:.6f} "
            f"(the synchronous run cost ${report.cost or 0:.6f})"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
