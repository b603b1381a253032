"""HTTP client comparison for the transport: httpx2 vs httpx vs aiohttp (and llmrelay's Transport).

The upstream is a minimal ASGI app served by uvicorn in a *separate process* on
127.0.0.1, so the client's CPU time (``time.process_time`` in this process) measures
the client alone. Workloads:

* ``json``: POST a ~300 B chat-like body, read a ~1 KB JSON answer;
* ``sse``:  POST, read a 200-event SSE stream (one write per event, OpenAI-chunk sized),
  every client feeding the same ``SSEDecoder`` so only the HTTP stack differs.

Each is run N times sequentially (median latency) and with C concurrent workers
(requests/s); every figure is the best of 3 runs (best of 3 medians for latency).

Run:  .venv/bin/python benchmarks/bench_transport.py [--n 2000] [--c 32] [--streams 100]
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
from dataclasses import dataclass
from typing import Any

from _support import free_port, start_and_wait

REQUEST_BODY = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "x" * 200}],
        "stream": False,
    }
).encode()
HEADERS = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
N_EVENTS = 200


# --------------------------------------------------------------------------- the server (child process)


def serve(port: int) -> None:
    import uvicorn

    json_body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "y" * 700}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 180, "total_tokens": 200},
        }
    ).encode()
    event = (
        b"data: "
        + json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}],
            }
        ).encode()
        + b"\n\n"
    )

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["path"] == "/sse":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            for _ in range(N_EVENTS - 1):
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
        else:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(json_body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": json_body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def start_server(port: int) -> subprocess.Popen[bytes]:
    return start_and_wait([sys.executable, __file__, "--serve", str(port)], port, "benchmark server")


# --------------------------------------------------------------------------- the clients


@dataclass
class Client:
    name: str
    json_once: Callable[[], Awaitable[None]]
    sse_once: Callable[[], Awaitable[int]]
    close: Callable[[], Awaitable[None]]


def _events(decoder: Any, chunk: bytes) -> int:
    return len(decoder.feed(chunk))


async def make_clients(base: str, pool: int) -> list[Client]:
    import aiohttp
    import httpx
    import httpx2

    from llmrelay.transport.http import Transport
    from llmrelay.transport.sse import SSEDecoder
    from llmrelay.wire import HttpRequest

    clients = []

    def for_httpx_like(name: str, client: Any) -> Client:
        async def json_once() -> None:
            r = await client.post(base + "/json", content=REQUEST_BODY, headers=HEADERS)
            assert r.status_code == 200 and len(r.content) > 900

        async def sse_once() -> int:
            decoder, n = SSEDecoder(), 0
            async with client.stream("POST", base + "/sse", content=REQUEST_BODY, headers=HEADERS) as r:
                async for chunk in r.aiter_bytes():
                    n += _events(decoder, chunk)
            return n + len(decoder.flush())

        return Client(name, json_once, sse_once, client.aclose)

    limits2 = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    clients.append(for_httpx_like("httpx2", httpx2.AsyncClient(limits=limits2)))
    limits1 = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    clients.append(for_httpx_like("httpx", httpx.AsyncClient(limits=limits1)))

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=pool))

    async def aio_json() -> None:
        async with session.post(base + "/json", data=REQUEST_BODY, headers=HEADERS) as r:
            body = await r.read()
            assert r.status == 200 and len(body) > 900

    async def aio_sse() -> int:
        decoder, n = SSEDecoder(), 0
        async with session.post(base + "/sse", data=REQUEST_BODY, headers=HEADERS) as r:
            async for chunk in r.content.iter_any():
                n += _events(decoder, chunk)
        return n + len(decoder.flush())

    clients.append(Client("aiohttp", aio_json, aio_sse, session.close))

    transport = Transport(max_connections=pool)
    json_req = HttpRequest("POST", base + "/json", HEADERS, REQUEST_BODY)
    sse_req = HttpRequest("POST", base + "/sse", HEADERS, REQUEST_BODY)

    async def tr_json() -> None:
        r = await transport.send(json_req)
        assert r.status == 200 and len(r.body) > 900

    async def tr_sse() -> int:
        n = 0
        async with transport.stream(sse_req) as r:
            async for _ in r.aiter_sse():
                n += 1
        return n

    clients.append(Client("llmrelay Transport", tr_json, tr_sse, transport.aclose))
    return clients


# --------------------------------------------------------------------------- measurement


@dataclass
class Figures:
    seq_median_us: float
    seq_cpu_us: float
    conc_rps: float
    conc_cpu_us: float


async def sequential(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[float, float]:
    """(median wall latency, client CPU per call), in microseconds."""
    lat = []
    c0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        lat.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / n
    return statistics.median(lat) * 1e6, cpu * 1e6


async def concurrent(fn: Callable[[], Awaitable[Any]], total: int, workers: int) -> tuple[float, float]:
    """(calls per second, client CPU per call in microseconds)."""
    per = total // workers

    async def worker() -> None:
        for _ in range(per):
            await fn()

    c0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    wall = time.perf_counter() - t0
    done = per * workers
    return done / wall, (time.process_time() - c0) / done * 1e6


async def measure(fn: Callable[[], Awaitable[Any]], n: int, total: int, workers: int) -> Figures:
    for _ in range(min(50, n)):  # warm the pool and the code paths
        await fn()
    seq = [await sequential(fn, n) for _ in range(3)]
    conc = [await concurrent(fn, total, workers) for _ in range(3)]
    return Figures(
        seq_median_us=min(s[0] for s in seq),
        seq_cpu_us=min(s[1] for s in seq),
        conc_rps=max(c[0] for c in conc),
        conc_cpu_us=min(c[1] for c in conc),
    )


def decode_only() -> list[tuple[str, float]]:
    """SSE decoding alone: µs per event for 20,000 OpenAI-sized events in 4 KiB reads, best of 3."""
    from llmrelay.transport.sse import SSEDecoder

    event = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"delta":{"content":"tok "}}]}\n\n'
    raw = event * 20_000
    chunks = [raw[i : i + 4096] for i in range(0, len(raw), 4096)]

    def ours() -> int:
        decoder = SSEDecoder()
        return sum(len(decoder.feed(c)) for c in chunks) + len(decoder.flush())

    runners: list[tuple[str, Callable[[], int]]] = [("llmrelay SSEDecoder", ours)]
    try:
        from openai._streaming import SSEDecoder as OpenAIDecoder  # private, for comparison only

        runners.append(
            ("openai SDK SSEDecoder", lambda: sum(1 for _ in OpenAIDecoder().iter_bytes(iter(chunks))))
        )
    except ImportError:
        pass
    out = []
    for name, run in runners:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            n = run()
            best = min(best, time.perf_counter() - t0)
        assert n == 20_000, (name, n)
        out.append((name, best / n * 1e6))
    return out


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
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {system}"


def versions() -> str:
    import aiohttp
    import httpx
    import httpx2
    import uvicorn

    return (
        f"httpx2 {httpx2.__version__}, httpx {httpx.__version__}, aiohttp {aiohttp.__version__}, "
        f"uvicorn {uvicorn.__version__} (h11 server)"
    )


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    proc = start_server(port)
    try:
        clients = await make_clients(f"http://127.0.0.1:{port}", args.c)
        results: dict[str, tuple[Figures, Figures]] = {}
        for client in clients:
            events = await client.sse_once()
            assert events == N_EVENTS, (client.name, events)
            js = await measure(client.json_once, args.n, args.n * 2, args.c)
            sse = await measure(client.sse_once, args.streams, args.streams * 2, max(2, args.c // 4))
            results[client.name] = (js, sse)
            await client.close()
    finally:
        proc.terminate()
        proc.wait(10)

    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(
        f"json: {args.n} sequential + {args.n * 2} over {args.c} workers; sse ({N_EVENTS} events): "
        f"{args.streams} sequential + {args.streams * 2} over {max(2, args.c // 4)} workers; best of 3"
    )
    print()
    head = (
        "| client | json p50 µs | json CPU µs/req | json req/s (conc.) | json CPU µs/req (conc.) "
        "| sse p50 ms/stream | sse CPU µs/event | sse streams/s (conc.) |"
    )
    print(head)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (js, sse) in results.items():
        print(
            f"| {name} | {js.seq_median_us:.0f} | {js.seq_cpu_us:.0f} | {js.conc_rps:.0f} "
            f"| {js.conc_cpu_us:.0f} | {sse.seq_median_us / 1000:.1f} | {sse.seq_cpu_us / N_EVENTS:.1f} "
            f"| {sse.conc_rps:.1f} |"
        )
    print()
    print("SSE decoding alone (20,000 events, 4 KiB reads):")
    for name, us in decode_only():
        print(f"  {name}: {us:.2f} µs/event")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sequential JSON requests per run")
    parser.add_argument("--c", type=int, default=32, help="concurrent workers for JSON (SSE uses c/4)")
    parser.add_argument("--streams", type=int, default=100, help="sequential SSE streams per run")
    asyncio.run(main(parser.parse_args()))
