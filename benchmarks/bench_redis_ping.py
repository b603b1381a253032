"""One Redis round trip from this machine: the floor under every Redis-backed decision.

Sequential ``PING``s (after a warm-up), timed one by one: from redis-py's asyncio
client (what llmrelay's Redis backends use), and from a bare asyncio socket writing the
RESP command itself, which leaves out the client library. Also one ``EVALSHA`` of a
trivial Lua script (``return 1``), the shape of llmrelay's limiter and budget calls.

Run:  .venv/bin/python benchmarks/bench_redis_ping.py [--n 5000] [--url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

WARM_UP = 200


async def timed(n: int, once: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(WARM_UP):
        await once()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - t0) * 1e6)
    return samples


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    return (
        f"| {name} | {statistics.median(samples):.0f} | {p90:.0f} | {statistics.fmean(samples):.0f} "
        f"| {ordered[0]:.0f} |"
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--url", default=os.environ.get("LLMRELAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()

    import redis
    from redis.asyncio import Redis

    client = Redis.from_url(args.url)
    try:
        info = await client.info("server")
    except Exception as exc:
        print(f"no Redis at {args.url} ({type(exc).__name__}: {exc})", file=sys.stderr)
        raise SystemExit(1) from None
    rows = [("redis-py asyncio `PING`", await timed(args.n, client.ping))]
    sha = await client.script_load("return 1")
    rows.append(
        ("redis-py asyncio `EVALSHA` (`return 1`)", await timed(args.n, lambda: client.evalsha(sha, 0)))
    )
    await client.aclose()

    where = urlparse(args.url)
    reader, writer = await asyncio.open_connection(where.hostname or "127.0.0.1", where.port or 6379)

    async def raw_ping() -> None:
        writer.write(b"*1\r\n$4\r\nPING\r\n")
        if await reader.readline() != b"+PONG\r\n":
            raise RuntimeError("Redis did not answer PONG")

    rows.append(("bare asyncio socket `PING` (no client library)", await timed(args.n, raw_ping)))
    writer.close()
    await writer.wait_closed()

    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}; "
        f"Redis {info.get('redis_version')} at {where.hostname}:{where.port}, redis-py {redis.__version__}"
    )
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"{args.n} sequential round trips after {WARM_UP} warm-up ones, µs")
    print()
    print("| round trip | p50 µs | p90 µs | mean µs | min µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, samples in rows:
        print(summary(name, samples))


if __name__ == "__main__":
    asyncio.run(main())
