"""Async HTTP clients for the network path: client CPU and latency per call against the simulator.

The upstream is llmrelay's simulator served by uvicorn in *separate processes* on
127.0.0.1, so ``time.process_time`` in this process (every thread, so pyreqwest's
Rust runtime thread too) is the client's own CPU. Clients: a bare ``httpx2.AsyncClient``,
a bare ``aiohttp.ClientSession``, a bare ``pyreqwest`` client when it is installed, and
llmrelay's ``Transport`` (whatever backend it uses for network origins). Every client
feeds the same ``SSEDecoder``, so only the HTTP stack differs. Workloads:

* ``unary``: POST an OpenAI chat request, read the ~800 B JSON answer;
* ``sse burst``: the same request streamed (~60 events); the unpaced simulator writes the
  whole stream at once, so it arrives in a few reads;
* ``sse paced``: the same stream from a simulator pacing at ``--tps`` tokens per second,
  so each event arrives in a read of its own, as from a real provider.

Figures: the median wall-clock time per call, calls interleaved round-robin across the
clients (order reversed every round) so drift hits all alike; client CPU per call, the
median over alternating blocks of ``--block`` calls per client; for ``unary`` also CPU per
call and calls per second with ``--c`` concurrent workers (alternating blocks too).

Run:  .venv/bin/python benchmarks/bench_clients.py [--n 1000] [--block 50] [--c 16] [--tps 4000]
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
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from _support import free_port, start_and_wait

# A prompt whose simulated answer is 58 tokens: 61 SSE events with the role, finish and usage chunks.
PROMPT = "Benchmark prompt 270: tell me a story."
PATH = "/v1/chat/completions"
HEADERS = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
UNARY_BODY = json.dumps(
    {"model": "sim-1", "messages": [{"role": "user", "content": PROMPT}]}, separators=(",", ":")
).encode()
STREAM_BODY = json.dumps(
    {
        "model": "sim-1",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    },
    separators=(",", ":"),
).encode()


def start_simulator(port: int, tps: float | None) -> subprocess.Popen[bytes]:
    code = (
        "from llmrelay.simulator.core import SimulatorConfig; "
        "from llmrelay.simulator.server import serve; "
        f"serve(host='127.0.0.1', port={port}, config=SimulatorConfig(tokens_per_second={tps!r}))"
    )
    return start_and_wait([sys.executable, "-c", code], port, "simulator server")


# --------------------------------------------------------------------------- the clients


@dataclass
class Contender:
    name: str
    unary: Callable[[str], Awaitable[None]]
    stream: Callable[[str], Awaitable[int]]
    close: Callable[[], Awaitable[None]]


async def make_contenders(pool: int) -> list[Contender]:
    import aiohttp
    import httpx2

    from llmrelay.transport.http import Transport
    from llmrelay.transport.sse import SSEDecoder
    from llmrelay.wire import HttpRequest

    out: list[Contender] = []

    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    hx = httpx2.AsyncClient(limits=limits, timeout=30)

    async def hx_unary(base: str) -> None:
        r = await hx.post(base + PATH, content=UNARY_BODY, headers=HEADERS)
        assert r.status_code == 200 and len(r.content) > 500

    async def hx_stream(base: str) -> int:
        decoder, n = SSEDecoder(), 0
        async with hx.stream("POST", base + PATH, content=STREAM_BODY, headers=HEADERS) as r:
            async for chunk in r.aiter_bytes():
                n += len(decoder.feed(chunk))
        return n + len(decoder.flush())

    out.append(Contender("httpx2", hx_unary, hx_stream, hx.aclose))

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=pool))

    async def aio_unary(base: str) -> None:
        async with session.post(base + PATH, data=UNARY_BODY, headers=HEADERS) as r:
            body = await r.read()
            assert r.status == 200 and len(body) > 500

    async def aio_stream(base: str) -> int:
        decoder, n = SSEDecoder(), 0
        async with session.post(base + PATH, data=STREAM_BODY, headers=HEADERS) as r:
            async for chunk in r.content.iter_any():
                n += len(decoder.feed(chunk))
        return n + len(decoder.flush())

    out.append(Contender("aiohttp", aio_unary, aio_stream, session.close))

    try:
        from pyreqwest.client import ClientBuilder
    except ImportError:
        print("pyreqwest is not installed: skipped (pip install pyreqwest)", file=sys.stderr)
    else:
        rq = ClientBuilder().max_connections(pool).follow_redirects(False).build()

        async def rq_unary(base: str) -> None:
            r = await rq.post(base + PATH).headers(HEADERS).body_bytes(UNARY_BODY).build().send()
            body = await r.bytes()
            assert r.status == 200 and len(body) > 500

        async def rq_stream(base: str) -> int:
            decoder, n = SSEDecoder(), 0
            async with rq.post(base + PATH).headers(HEADERS).body_bytes(STREAM_BODY).build_streamed() as r:
                reader = r.body_reader
                while (chunk := await reader.read_chunk()) is not None:
                    n += len(decoder.feed(chunk.to_bytes()))
            return n + len(decoder.flush())

        out.append(Contender("pyreqwest", rq_unary, rq_stream, rq.close))

    transport = Transport(max_connections=pool)
    requests: dict[tuple[str, bool], HttpRequest] = {}

    def request(base: str, stream: bool) -> HttpRequest:
        req = requests.get((base, stream))
        if req is None:
            body = STREAM_BODY if stream else UNARY_BODY
            req = requests[(base, stream)] = HttpRequest("POST", base + PATH, HEADERS, body)
        return req

    async def tr_unary(base: str) -> None:
        r = await transport.send(request(base, False))
        assert r.status == 200 and len(r.body) > 500

    async def tr_stream(base: str) -> int:
        n = 0
        async with transport.stream(request(base, True)) as r:
            async for _ in r.aiter_sse():
                n += 1
        return n

    out.append(Contender("llmrelay Transport", tr_unary, tr_stream, transport.aclose))
    return out


# --------------------------------------------------------------------------- measurement


@dataclass
class Row:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    conc_cpu: list[float] = field(default_factory=list)
    conc_rate: list[float] = field(default_factory=list)


async def interleaved_wall(fns: list[Callable[[], Awaitable[Any]]], n: int, rows: list[Row]) -> None:
    order = list(range(len(fns)))
    for i in range(n):
        for k in order if i % 2 else order[::-1]:
            t0 = time.perf_counter()
            await fns[k]()
            rows[k].wall.append(time.perf_counter() - t0)


async def alternating_cpu(
    fns: list[Callable[[], Awaitable[Any]]], n: int, block: int, rows: list[Row]
) -> None:
    for _ in range(max(1, n // block)):
        for k, fn in enumerate(fns):
            c0 = time.process_time()
            for _ in range(block):
                await fn()
            rows[k].cpu.append((time.process_time() - c0) / block)


async def alternating_concurrent(
    fns: list[Callable[[], Awaitable[Any]]], n: int, block: int, workers: int, rows: list[Row]
) -> None:
    per = max(1, block // 4)  # calls per worker in one block

    async def worker(fn: Callable[[], Awaitable[Any]]) -> None:
        for _ in range(per):
            await fn()

    for _ in range(max(1, n // (per * workers))):
        for k, fn in enumerate(fns):
            c0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(fn) for _ in range(workers)))
            wall = time.perf_counter() - t0
            rows[k].conc_cpu.append((time.process_time() - c0) / (per * workers))
            rows[k].conc_rate.append(per * workers / wall)


async def run(
    args: argparse.Namespace, burst: str, paced: str
) -> tuple[list[str], dict[str, list[Row]], int]:
    contenders = await make_contenders(args.c)
    names = [c.name for c in contenders]
    try:
        counts = {c.name: (await c.stream(burst), await c.stream(paced)) for c in contenders}
        events = counts[names[0]][0]
        assert all(v == (events, events) for v in counts.values()), counts
        workloads: dict[str, list[Callable[[], Awaitable[Any]]]] = {
            "unary": [lambda c=c: c.unary(burst) for c in contenders],
            "sse burst": [lambda c=c: c.stream(burst) for c in contenders],
            "sse paced": [lambda c=c: c.stream(paced) for c in contenders],
        }
        results: dict[str, list[Row]] = {}
        for wl, fns in workloads.items():
            n = args.n if wl == "unary" else max(args.block, args.n // 4)
            rows = [Row() for _ in fns]
            for fn in fns:  # warm pools and code paths
                for _ in range(20):
                    await fn()
            await interleaved_wall(fns, n, rows)
            await alternating_cpu(fns, n, args.block if wl == "unary" else args.block // 5 or 1, rows)
            if wl == "unary":
                await alternating_concurrent(fns, n, args.block, args.c, rows)
            results[wl] = rows
    finally:
        for c in contenders:
            await c.close()
    return names, results, events


# --------------------------------------------------------------------------- report


def machine() -> str:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def versions() -> str:
    out = []
    for dist in ("httpx2", "aiohttp", "pyreqwest", "uvicorn"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} (not installed)")
    return ", ".join(out)


def report(args: argparse.Namespace, names: list[str], results: dict[str, list[Row]], events: int) -> None:
    med = statistics.median
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"stream: {events} SSE events; paced at {args.tps:g} tokens/s; medians")
    print()
    print(
        "| client | unary wall µs | unary CPU µs | unary CPU µs, c="
        f"{args.c} | unary calls/s, c={args.c} | sse burst wall ms | sse burst CPU µs/event "
        "| sse paced wall ms | sse paced CPU µs/event |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, name in enumerate(names):
        u, b, p = (results[w][k] for w in ("unary", "sse burst", "sse paced"))
        print(
            f"| {name} | {med(u.wall) * 1e6:.0f} | {med(u.cpu) * 1e6:.0f} | {med(u.conc_cpu) * 1e6:.0f} "
            f"| {med(u.conc_rate):.0f} | {med(b.wall) * 1e3:.2f} | {med(b.cpu) / events * 1e6:.1f} "
            f"| {med(p.wall) * 1e3:.1f} | {med(p.cpu) / events * 1e6:.1f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=1000, help="unary calls per client (streams: n/4)")
    ap.add_argument("--block", type=int, default=50, help="calls per CPU block (streams: block/5)")
    ap.add_argument("--c", type=int, default=16, help="concurrent workers, and the pool size")
    ap.add_argument("--tps", type=float, default=4000.0, help="tokens per second of the paced stream")
    args = ap.parse_args()
    burst_port, paced_port = free_port(), free_port()
    procs = [start_simulator(burst_port, None), start_simulator(paced_port, args.tps)]
    try:
        names, results, events = asyncio.run(
            run(args, f"http://127.0.0.1:{burst_port}", f"http://127.0.0.1:{paced_port}")
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    report(args, names, results, events)


if __name__ == "__main__":
    main()
