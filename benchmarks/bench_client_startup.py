"""What constructing a Client costs, step by step, in a fresh interpreter.

Each run is a new ``python`` process that times, in order: ``import llmrelay``; the first
``llmrelay.Client()`` (which imports settings, transport, pipeline and catalog); a second
``Client()``; the first ``chat`` on the built-in simulator (which imports and builds the
simulator app); and, separately, building httpx2's network transport, i.e. loading the
system's CA certificates into an SSL context (which a Client defers to its first real
network request). Median and minimum over R runs, in milliseconds, after one warm-up run
that writes the ``.pyc`` files (``PYTHONDONTWRITEBYTECODE`` is dropped for the children).

Run:  .venv/bin/python benchmarks/bench_client_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import time
t = {}
t0 = time.perf_counter(); import llmrelay; t["import llmrelay"] = time.perf_counter() - t0
import asyncio, json
t0 = time.perf_counter(); first = llmrelay.Client(); t["first Client()"] = time.perf_counter() - t0
t0 = time.perf_counter(); second = llmrelay.Client(); t["second Client()"] = time.perf_counter() - t0

async def chat():
    async with first:
        t0 = time.perf_counter()
        await first.chat("hello", model="local")
        t["first chat() on the built-in simulator"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await first.chat("hello again", model="local")
        t["second chat() on the built-in simulator"] = time.perf_counter() - t0
    await second.aclose()

asyncio.run(chat())
import httpx2
t0 = time.perf_counter(); import aiohttp
t["import aiohttp (on the first network request)"] = time.perf_counter() - t0
t0 = time.perf_counter(); httpx2.AsyncHTTPTransport()
t["network transport: its SSL context"] = time.perf_counter() - t0
print(json.dumps(t))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmrelay-bench-") as data:
        # the ledger is on by default: keep its file out of the user's data directory; and
        # let the warm-up run write .pyc files, as an installed package has them
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_DATA_HOME"] = data

        def run() -> dict[str, float]:
            done = subprocess.run([sys.executable, "-c", CHILD], check=True, capture_output=True, env=env)
            timings: dict[str, float] = json.loads(done.stdout)
            return timings

        run()  # warm the OS page cache and .pyc files
        runs = [run() for _ in range(args.runs)]
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"{args.runs} fresh interpreters")
    print()
    print("| step | median ms | min ms |")
    print("| --- | ---: | ---: |")
    for step in runs[0]:
        values = [r[step] * 1000 for r in runs]
        print(f"| {step} | {statistics.median(values):.1f} | {min(values):.1f} |")


if __name__ == "__main__":
    main()
