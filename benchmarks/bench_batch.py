"""What the batch runner and the splitter cost, against the in-process simulator.

- ``run_batch`` over N items with no latency upstream: items per second in memory and with
  the journal and ordered output on disk, and the same number of plain ``Client.chat``
  calls for comparison (the difference is the runner's own cost per item).
- ``split_text`` over a Markdown document: MB per second with the estimate counter, and
  with the exact o200k_base counter when the ``tokens`` extra is installed.

Run: .venv/bin/python benchmarks/bench_batch.py
"""

from __future__ import annotations

import asyncio
import platform
import tempfile
import time
from pathlib import Path

import llmrelay
from llmrelay.app.batch import run_batch
from llmrelay.app.documents import encoding_counter, split_text
from llmrelay.settings import Settings
from llmrelay.tokens import encodings

N = 2000
CONCURRENCY = 16


async def batch() -> None:
    prompts = [f"question number {i}" for i in range(N)]
    settings = Settings.load(ledger={"enabled": False})
    async with llmrelay.Client(settings) as client:
        await client.chat("warm up")
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(prompt: str) -> None:
            async with limit:
                await client.chat(prompt)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        await run_batch(client, prompts, concurrency=CONCURRENCY)
        memory = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            await run_batch(client, prompts, concurrency=CONCURRENCY, output=Path(tmp) / "out.jsonl")
            journaled = time.perf_counter() - t0
            t0 = time.perf_counter()
            await run_batch(client, prompts, concurrency=CONCURRENCY, output=Path(tmp) / "out.jsonl")
            resumed = time.perf_counter() - t0
    print(f"{N} calls, concurrency {CONCURRENCY}, in-process simulator, no upstream latency:")
    print(f"  {'plain Client.chat:':28s} {N / plain:8.0f} calls/s")
    for name, took in (("run_batch in memory:", memory), ("run_batch journal + output:", journaled)):
        extra = (took - plain) / N * 1e6
        print(f"  {name:28s} {N / took:8.0f} items/s ({extra:+.0f} µs/item)")
    print(f"  resume with all {N} done:   {resumed * 1000:8.0f} ms")


def split() -> None:
    section = (
        "## Part {n}\n\nThe river carries the signal across the valley. Every village keeps a record. "
        "Engineers measured the flow each morning, e.g. at 6 a.m., and wrote it down.\n\n"
        "```python\nflow = measure(river, day={n})\n```\n\n| day | flow |\n|-----|------|\n| {n} | 1 |\n"
    )
    text = "\n".join(section.format(n=n) for n in range(5000))
    mb = len(text.encode()) / 1e6
    counters = [("estimate", encoding_counter(None)[0])]
    if encodings.available():
        counters.append(("o200k_base (exact)", encoding_counter("o200k_base")[0]))
        counters[-1][1]("warm up the encoder")
    print(f"split_text over {mb:.1f} MB of Markdown, chunks of 1000 tokens, overlap 100:")
    for name, count in counters:
        t0 = time.perf_counter()
        chunks = split_text(text, max_tokens=1000, overlap=100, count=count)
        took = time.perf_counter() - t0
        print(f"  {name:20s} {mb / took:6.2f} MB/s ({len(chunks)} chunks)")


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    asyncio.run(batch())
    split()


if __name__ == "__main__":
    main()
