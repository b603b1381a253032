"""Per-call overhead of llmrelay's Client against a raw HTTP call to the same server.

The upstream is the llmrelay simulator served by uvicorn in a separate process on
127.0.0.1 (no artificial latency). For each mode, the same request is sent:

* raw:      aiohttp.ClientSession.post(prebuilt JSON bytes) + json.loads of the body
            (streaming: read the SSE body line by line, json.loads of every data line,
            until ``[DONE]``) — the fastest client measured here (bench_clients.py);
* llmrelay: Client.chat(...) / iterating Client.stream(...) to its final response, once
            with the default pipeline and once bare (``middleware=[]``: validation,
            resolution, adapter, transport, stream object only).

Calls alternate raw / bare / default so drift affects all alike. Figures per mode: the
difference of wall-clock medians, and the difference of client-process CPU per call
(``time.process_time`` over alternating blocks of 50 calls), which stays meaningful when
the machine is shared. Streams run at two lengths (``--tokens`` and ``--long``); the
per-event cost is the slope between them — (Δ long − Δ short) / (events long − events
short) — so the fixed per-call cost is not counted as per-event cost.

Run:  .venv/bin/python benchmarks/bench_overhead.py [--n 2000] [--tokens 40] [--long 400]
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

import aiohttp
from _support import free_port, start_and_wait

import llmrelay
from llmrelay.settings import Settings
from llmrelay.types import StreamEnd, StreamStart

PROMPT = "Benchmark prompt: say something short."


# The simulator answers every request with a scripted 2,000-word text, cut at max_tokens:
# the stream length is then exactly what the benchmark asks for.
SERVER = """
from llmrelay.simulator.script import Reply
from llmrelay.simulator.server import build_server

class Long:
    def next_reply(self, inp):
        return Reply(text=" word" * 2000)

server, sim = build_server(host="127.0.0.1", port={port}, log_level="warning")
sim.replies = Long()
server.run()
"""


def start_server(port: int) -> subprocess.Popen[bytes]:
    return start_and_wait([sys.executable, "-c", SERVER.format(port=port)], port, "simulator server")


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def run(
    n: int, port: int, tokens: int, long: int, ledger: str
) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    base = f"http://127.0.0.1:{port}"
    deployment = {"provider": "simulator", "model": "sim-1", "base_url": f"{base}/v1"}
    settings = Settings.load(models={"bench": {"deployments": [deployment]}}, ledger={"url": ledger})
    request = {"model": "sim-1", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens}
    body = json.dumps(request, separators=(",", ":")).encode()

    def stream_body(max_tokens: int) -> bytes:
        streamed = {
            **request,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        return json.dumps(streamed, separators=(",", ":")).encode()

    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    url = f"{base}/v1/chat/completions"
    names = ("raw", "bare", "default")
    modes = ("unary", "stream", "long")
    results: dict[str, dict[str, list[float]]] = {m: {k: [] for k in names} for m in modes}
    cpu: dict[str, dict[str, list[float]]] = {m: {k: [] for k in names} for m in modes}
    events: dict[str, int] = {}
    async with (
        aiohttp.ClientSession() as raw,
        llmrelay.Client(settings) as client,
        llmrelay.Client(settings, middleware=[]) as bare,
    ):

        async def raw_unary() -> None:
            async with raw.post(url, data=body, headers=headers) as r:
                json.loads(await r.read())

        def raw_stream(max_tokens: int) -> Callable[[], Awaitable[None]]:
            sbody = stream_body(max_tokens)

            async def go() -> None:
                async with raw.post(url, data=sbody, headers=headers) as r:
                    async for line in r.content:
                        if line.startswith(b"data: ") and line.strip() != b"data: [DONE]":
                            json.loads(line[6:])

            return go

        def lib_stream(c: llmrelay.Client, max_tokens: int) -> Callable[[], Awaitable[object]]:
            return lambda: c.stream(PROMPT, model="bench", max_tokens=max_tokens).final()

        async def lib_unary() -> None:
            await client.chat(PROMPT, model="bench", max_tokens=tokens)

        async def bare_unary() -> None:
            await bare.chat(PROMPT, model="bench", max_tokens=tokens)

        for mode, max_tokens in (("stream", tokens), ("long", long)):
            # what one stream carries: provider events (start and end events are llmrelay's own)
            s = client.stream(PROMPT, model="bench", max_tokens=max_tokens)
            events[mode] = len([ev async for ev in s if not isinstance(ev, StreamStart | StreamEnd)])

        fns: dict[str, dict[str, Callable[[], Awaitable[object]]]] = {
            "unary": {"raw": raw_unary, "bare": bare_unary, "default": lib_unary},
            "stream": {
                "raw": raw_stream(tokens),
                "bare": lib_stream(bare, tokens),
                "default": lib_stream(client, tokens),
            },
            "long": {
                "raw": raw_stream(long),
                "bare": lib_stream(bare, long),
                "default": lib_stream(client, long),
            },
        }
        for mode, per in fns.items():
            calls = n if mode != "long" else max(1, n // 4)
            for _ in range(50):  # warm up pools and caches
                for fn in per.values():
                    await fn()
            for i in range(calls):
                order = names if i % 2 else names[::-1]
                for name in order:
                    results[mode][name].append(await timed(per[name]))
            block = 50
            for _ in range(max(1, calls // block)):
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
    return out, events


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--tokens", type=int, default=40, help="max_tokens of each reply (stream length)")
    ap.add_argument("--long", type=int, default=400, help="max_tokens of the long streams (n/4 of them)")
    args = ap.parse_args()
    load0 = os.getloadavg()
    port = free_port()
    proc = start_server(port)
    ledger_path = f"/tmp/llmrelay-bench-{os.getpid()}.sqlite3"
    try:
        res, events = asyncio.run(run(args.n, port, args.tokens, args.long, f"sqlite:///{ledger_path}"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(ledger_path + suffix):
                os.remove(ledger_path + suffix)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"calls per mode: {args.n} (alternating raw / bare / default), simulator via uvicorn on 127.0.0.1")
    print(f"streams: {events['stream']} and {events['long']} provider events")
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print(f"{'mode':<8} {'client':<18} {'wall µs':>8} {'Δ wall µs':>10} {'CPU µs':>8} {'Δ CPU µs':>9}")
    for mode in ("unary", "stream", "long"):
        base = res[f"{mode}/raw"]
        for name, label in (
            ("raw", "raw aiohttp"),
            ("bare", "llmrelay bare"),
            ("default", "llmrelay default"),
        ):
            r = res[f"{mode}/{name}"]
            print(
                f"{mode:<8} {label:<18} {r['wall_us']:>8.0f} {r['wall_us'] - base['wall_us']:>10.0f}"
                f" {r['cpu_us']:>8.0f} {r['cpu_us'] - base['cpu_us']:>9.0f}"
            )
    extra = events["long"] - events["stream"]
    for name in ("bare", "default"):
        per_event = {
            kind: (
                (res[f"long/{name}"][kind] - res["long/raw"][kind])
                - (res[f"stream/{name}"][kind] - res["stream/raw"][kind])
            )
            / extra
            for kind in ("wall_us", "cpu_us")
        }
        print(
            f"per stream event, llmrelay {name}: {per_event['cpu_us']:.2f} µs CPU, "
            f"{per_event['wall_us']:.2f} µs wall over raw (slope between the two stream lengths)"
        )


if __name__ == "__main__":
    main()
