"""Per-call overhead of llmrelay's Client against a raw HTTP call to the same server.

The upstream is the llmrelay simulator served by uvicorn in a separate process on
127.0.0.1 (no artificial latency). For each mode, the same request is sent:

* raw:      httpx2.AsyncClient.post(prebuilt JSON bytes) + json.loads of the body
            (streaming: read the SSE body line by line until ``[DONE]``);
* llmrelay: Client.chat(...) / iterating Client.stream(...) to its final response.

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
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx2

import llmrelay
from llmrelay.settings import Settings

PROMPT = "Benchmark prompt: say something short."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    code = (
        "from llmrelay.simulator.server import serve; "
        f"serve(host='127.0.0.1', port={port}, log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("simulator server did not start")


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
    results: dict[str, dict[str, list[float]]] = {
        "unary": {"raw": [], "llmrelay": []},
        "stream": {"raw": [], "llmrelay": []},
    }
    cpu: dict[str, dict[str, list[float]]] = {
        "unary": {"raw": [], "llmrelay": []},
        "stream": {"raw": [], "llmrelay": []},
    }
    async with httpx2.AsyncClient(timeout=30) as raw, llmrelay.Client(settings) as client:

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

        pairs = {"unary": (raw_unary, lib_unary), "stream": (raw_stream, lib_stream)}
        for mode, (r_fn, l_fn) in pairs.items():
            for _ in range(50):  # warm up pools and caches
                await r_fn()
                await l_fn()
            for i in range(n):
                if i % 2:
                    results[mode]["raw"].append(await timed(r_fn))
                    results[mode]["llmrelay"].append(await timed(l_fn))
                else:
                    results[mode]["llmrelay"].append(await timed(l_fn))
                    results[mode]["raw"].append(await timed(r_fn))
            block = 50
            for _ in range(max(1, n // block)):
                for name, fn in (("raw", r_fn), ("llmrelay", l_fn)):
                    c0 = time.process_time()
                    for _ in range(block):
                        await fn()
                    cpu[mode][name].append((time.process_time() - c0) / block)
    out: dict[str, dict[str, float]] = {}
    for mode, per in results.items():
        raw_med = statistics.median(per["raw"]) * 1e6
        lib_med = statistics.median(per["llmrelay"]) * 1e6
        raw_cpu = statistics.median(cpu[mode]["raw"]) * 1e6
        lib_cpu = statistics.median(cpu[mode]["llmrelay"]) * 1e6
        out[mode] = {
            "raw_us": raw_med,
            "llmrelay_us": lib_med,
            "overhead_us": lib_med - raw_med,
            "raw_cpu_us": raw_cpu,
            "llmrelay_cpu_us": lib_cpu,
            "overhead_cpu_us": lib_cpu - raw_cpu,
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
    print(
        f"{'mode':<8} {'raw wall µs':>12} {'llmrelay wall µs':>17} {'Δ wall µs':>10}"
        f" {'raw CPU µs':>11} {'llmrelay CPU µs':>16} {'Δ CPU µs':>9}"
    )
    for mode, r in res.items():
        print(
            f"{mode:<8} {r['raw_us']:>12.0f} {r['llmrelay_us']:>17.0f} {r['overhead_us']:>10.0f}"
            f" {r['raw_cpu_us']:>11.0f} {r['llmrelay_cpu_us']:>16.0f} {r['overhead_cpu_us']:>9.0f}"
        )


if __name__ == "__main__":
    main()
