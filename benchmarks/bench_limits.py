"""Rate limits and budgets: what a decision costs, and how close a batch runs to its limit.

1. Decision cost: one ``Limiter`` acquire + settle (rpm + tpm + concurrency on one key)
   and one ``Budgets`` reserve + settle (two accounts), uncontended, in memory and in
   Redis (127.0.0.1:6379, a throw-away key prefix).
2. Batch under an RPM limit: N calls through ``Client.chat`` (C at a time) against the
   simulator served by uvicorn in a separate process, configured to enforce R requests
   per window itself (answering 429 beyond). The client limits the deployment to the same
   R. The window is scaled down (``--window``, default 2 s) so that the run takes seconds;
   the theoretical floor is ``(ceil(N/R) - 1) * window`` (the first R go at once, each
   later R one window after the previous ones finished). A perfect run takes just over
   that and gets zero 429s.

Run:  .venv/bin/python benchmarks/bench_limits.py [--n 400 --rpm 50 --window 2 --c 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx2
from _support import free_port, start_and_wait

import llmrelay
from llmrelay.limits.budget import BudgetRule, Budgets, Subject
from llmrelay.limits.budget_redis import RedisBudgetBackend
from llmrelay.limits.ratelimit import Limiter, Limits
from llmrelay.limits.ratelimit_redis import RedisLimiterBackend
from llmrelay.settings import Settings

REDIS_URL = os.environ.get("LLMRELAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def start_simulator(port: int, rpm: int, window: float) -> subprocess.Popen[bytes]:
    code = (
        "from llmrelay.simulator import SimulatorConfig; from llmrelay.simulator.server import serve; "
        f"serve(host='127.0.0.1', port={port}, config=SimulatorConfig(rpm_limit={rpm}, rate_window={window}))"
    )
    return start_and_wait([sys.executable, "-c", code], port, "simulator server")


async def redis_client() -> Any:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.ping()
    return client


async def clean(client: Any, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)


# --------------------------------------------------------------------------- decisions


async def time_decisions(n: int, redis: Any | None, prefix: str) -> dict[str, float]:
    """Median and mean µs of a limiter decision and of a budget decision (each with its settle)."""
    limiter_backend = RedisLimiterBackend(redis, prefix) if redis is not None else None
    budget_backend = RedisBudgetBackend(redis, prefix) if redis is not None else None
    # Limits high enough never to refuse: this measures the decision, not waiting.
    limiter = Limiter(limiter_backend, limits=Limits(rpm=10**9, tpm=10**12, concurrency=10**6))
    budgets = Budgets(
        [BudgetRule("global", "month", hard=1e9), BudgetRule("user", "day", hard=1e9)], budget_backend
    )
    subject = Subject(user="bench")
    out: dict[str, float] = {}
    for name in ("limiter", "budget"):
        samples = []
        for i in range(n + 50):
            t0 = time.perf_counter()
            if name == "limiter":
                permit = await limiter.acquire("deployment:bench", tokens=500)
                await permit.settle(tokens=300)
            else:
                reservation = await budgets.reserve(subject, 0.01)
                await reservation.settle(0.005)
            if i >= 50:  # warm-up: script loading, connection
                samples.append((time.perf_counter() - t0) * 1e6)
        out[f"{name}_p50_us"] = statistics.median(samples)
        out[f"{name}_mean_us"] = statistics.fmean(samples)
    return out


# --------------------------------------------------------------------------- batch under an RPM limit


async def batch(n: int, rpm: int, window: float, concurrency: int, redis_url: str | None) -> dict[str, Any]:
    port = free_port()
    proc = start_simulator(port, rpm, window)
    base = f"http://127.0.0.1:{port}"
    prefix = f"llmrelay-bench-{uuid.uuid4().hex[:8]}:"
    try:
        settings = Settings.load(
            models={
                "sim": {
                    "deployments": [{"provider": "simulator", "model": "sim-1", "base_url": base + "/v1"}]
                }
            },
            limits={"window": window, "max_wait": 3600, "deployments": {"simulator/sim-1": {"rpm": rpm}}},
            state={"redis_url": redis_url, "prefix": prefix},
            ledger={"enabled": False},
        )
        async with llmrelay.Client(settings, environ={}) as client:
            gate = asyncio.Semaphore(concurrency)
            failures = 0

            async def one(i: int) -> None:
                nonlocal failures
                async with gate:
                    try:
                        await client.chat(f"batch call {i}", model="sim", max_tokens=16)
                    except Exception:
                        failures += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - t0
            if redis_url is not None:
                await clean(client.state.redis(), prefix)
        async with httpx2.AsyncClient() as http:
            stats = (await http.get(base + "/_simulator/stats")).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    floor = (math.ceil(n / rpm) - 1) * window
    return {
        "backend": "redis" if redis_url else "memory",
        "n": n,
        "rpm": rpm,
        "window_s": window,
        "elapsed_s": round(elapsed, 3),
        "floor_s": floor,
        "n_over_r_s": n / rpm * window,
        "ratio_to_floor": round(elapsed / floor, 3) if floor else None,
        "provider_429s": stats["statuses"].get("429", 0),
        "provider_peak_per_window": stats["peak_window_requests"],
        "client_failures": failures,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="calls in the batch")
    ap.add_argument("--rpm", type=int, default=50, help="requests per window (client and simulator)")
    ap.add_argument("--window", type=float, default=2.0, help="seconds in a scaled 'minute'")
    ap.add_argument("--c", type=int, default=64, help="calls in flight from the batch")
    ap.add_argument("--decisions", type=int, default=3000)
    args = ap.parse_args()
    print(f"# {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    try:
        redis = await redis_client()
    except Exception as exc:
        print(f"no Redis at {REDIS_URL} ({type(exc).__name__}): Redis figures skipped")
        redis = None
    prefix = f"llmrelay-bench-{uuid.uuid4().hex[:8]}:"
    rows = {"memory": await time_decisions(args.decisions, None, prefix)}
    if redis is not None:
        rows["redis"] = await time_decisions(args.decisions, redis, prefix)
        await clean(redis, prefix)
        await redis.aclose()
    print(json.dumps({"decisions": rows}, indent=2))
    for redis_url in [None] + ([REDIS_URL] if redis is not None else []):
        print(json.dumps(await batch(args.n, args.rpm, args.window, args.c, redis_url), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
