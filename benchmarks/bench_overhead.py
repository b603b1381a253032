"""Per-call overhead of llmrelay's Client against a raw HTTP call to the same server.

The upstream is the llmrelay simulator served by uvicorn in a separate process on
127.0.0.1 (no artificial latency). For each mode, the same request is sent:

* raw:      httpx2.AsyncClient.post(prebuilt JSON bytes) + json.loads of the body
            (streaming: read the SSE body line by line until ``[DONE]``);
* llmrelay: Client.chat(...) / iterating Client.stream(...) to its final response, once
            with the default pipeline (ledger, preflight, route, retry, circuit…) and
            once bare (``middleware=[]``: validation, adapter, transport only).

Calls alternate raw / llmrelay so drift affects both alike. Two figures per mode: the
difference of wall-clock medians, and the difference of client-process CPU time per call
(``time.process_time`` over alternating blocks of 50 calls), which stays meaningful when
the machine is shared. Run:  .venv/bin/python benchmarks/bench_overhead.py [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx2
from _support import free_port, start_and_wait

import llmrelay
from llmrelay.settings import Settings

PROMPT = "Benchmark prompt: say something short."


def start_server(port: int) -> subprocess.Popen[bytes]:
    code = (
        "from llmrelay.simulator.server import serve; "
        f"serve(host='127.0.0.1', port={port}, log_level='warning')"
    )
    return start_and_wait([sys.executable, "-c", code], port, "simulator server")


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def run(n: int, port: int) -> dict[str, dict[str, float]]:
    base = f"http://127.0.0.1:{port}"
    deployment = {"provider": "simulator", "model": "sim-1", "base_url": f"{base}/v1"}
    settings = Settings.load(models={"bench": {"deployments": [deployment]}})
    body = json.dumps(
        {"model": "sim-1", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 40},
        separators=(",", ":"),
    ).encode()
    sbody = json.dumps(
        {
            "model": "sim-1",
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 40,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        separators=(",", ":"),
    ).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    names = ("raw", "bare", "default")
    results: dict[str, dict[str, list[float]]] = {m: {k: [] for k in names} for m in ("unary", "stream")}
    cpu: dict[str, dict[str, list[float]]] = {m: {k: [] for k in names} for m in ("unary", "stream")}
    async with (
        httpx2.AsyncClient(timeout=30) as raw,
        llmrelay.Client(settings) as client,
        llmrelay.Client(settings, middleware=[]) as bare,
    ):

        async def raw_unary() -> None:
            r = await raw.post(f"{base}/v1/chat/completions", content=body, headers=headers)
            json.loads(r.content)

        async def raw_stream() -> None:
            async with raw.stream("POST", f"{base}/v1/chat/completions", content=sbody, headers=headers) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])

        async def lib_unary() -> None:
            await client.chat(PROMPT, model="bench", max_tokens=40)

        async def lib_stream() -> None:
            await client.stream(PROMPT, model="bench", max_tokens=40).final()

        async def bare_unary() -> None:
            await bare.chat(PROMPT, model="bench", max_tokens=40)

        async def bare_stream() -> None:
            await bare.stream(PROMPT, model="bench", max_tokens=40).final()

        fns = {
            "unary": {"raw": raw_unary, "bare": bare_unary, "default": lib_unary},
            "stream": {"raw": raw_stream, "bare": bare_stream, "default": lib_stream},
        }
        for mode, per in fns.items():
            for _ in range(50):  # warm up pools and caches
                for fn in per.values():
                    await fn()
            for i in range(n):
                order = names if i % 2 else names[::-1]
                for name in order:
                    results[mode][name].append(await timed(per[name]))
            block = 50
            for _ in range(max(1, n // block)):
                for name in names:
                    c0 = time.process_time()
                    for _ in range(block):
                        await per[name]()
                    cpu[mode][name].append((time.process_time() - c0) / block)
    out: dict[str, dict[str, float]] = {}
    for mode, per in results.items():
        for name in names:
            out[f"{mode}/{name}"] = {
                "wall_us": statistics.median(per[name]) * 1e6,
                "cpu_us": statistics.median(cpu[mode][name]) * 1e6,
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    load0 = os.getloadavg()
    port = free_port()
    proc = start_server(port)
    try:
        res = asyncio.run(run(args.n, port))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"calls per mode: {args.n} (alternating raw / llmrelay), simulator via uvicorn on 127.0.0.1")
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print(f"{'mode':<8} {'client':<18} {'wall µs':>8} {'Δ wall µs':>10} {'CPU µs':>8} {'Δ CPU µs':>9}")
    for mode in ("unary", "stream"):
        base = res[f"{mode}/raw"]
        for name, label in (
            ("raw", "raw httpx2"),
            ("bare", "llmrelay bare"),
            ("default", "llmrelay default"),
        ):
            r = res[f"{mode}/{name}"]
            print(
                f"{mode:<8} {label:<18} {r['wall_us']:>8.0f} {r['wall_us'] - base['wall_us']:>10.0f}"
                f" {r['cpu_us']:>8.0f} {r['cpu_us'] - base['cpu_us']:>9.0f}"
            )


if __name__ == "__main__":
    main()
