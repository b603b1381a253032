"""The response cache: what a key costs, what a hit costs, and what entries weigh.

1. Key hashing: ``cache_key`` (canonical JSON + BLAKE2b) for a one-line request and for a
   20-turn conversation with a tool (~8 kB of messages).
2. Hit latency through ``Client.chat`` (ledger off, every other default layer on), in
   memory, SQLite (a temporary file) and Redis (127.0.0.1:6379, a throw-away prefix),
   against the bare pipeline: the same client with the cache off and, in the cache's slot,
   a controller that answers with a ready response (so both sides skip upstream and only
   the cache's own work differs). Also a streamed hit drained to its end. The in-memory
   hit is also timed interleaved with the bare pipeline (one call of each, in turn), so
   that the load of a shared machine weighs on both alike: ``memory_over_bare`` is the
   median of the paired differences, the figure the ≤ 50 µs target is judged on.
3. Memory: Python heap growth (tracemalloc) per entry of the in-memory backend, for N
   entries of a short answer (~300 bytes of text).

Run:  .venv/bin/python benchmarks/bench_cache.py [--n 3000 --entries 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import llmrelay
from llmrelay.cache import Entry, MemoryBackend, cache_key, encode, namespace
from llmrelay.middleware.stack import before
from llmrelay.pipeline import Call, Controller, UnaryHandler
from llmrelay.settings import Settings
from llmrelay.types import ChatRequest, ChatResponse, Message, Subject, Tool, Usage

REDIS_URL = os.environ.get("LLMRELAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PROMPT = "What is the capital of France?"


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50_us": round(statistics.median(s), 1),
        "p99_us": round(s[int(len(s) * 0.99) - 1], 1),
        "mean_us": round(statistics.fmean(s), 1),
    }


def time_sync(fn: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(200):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return percentiles(samples)


async def time_async(fn: Callable[[], Awaitable[object]], n: int) -> dict[str, float]:
    for _ in range(200):
        await fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return percentiles(samples)


# --------------------------------------------------------------------------- keys


def key_costs(n: int) -> dict[str, Any]:
    client = llmrelay.Client(Settings(ledger={"enabled": False}))
    route = client.route("local")
    space = namespace(Subject(key_id="vk_1", user="ann"))
    small = ChatRequest("local", (Message.user(PROMPT),), temperature=0)
    turns = [Message.system("You are a helpful assistant. " * 4)]
    for i in range(19):
        turns.append(Message.user(f"Question {i}: " + "tell me more about relays and caches. " * 8))
    tool = Tool("weather", "the weather", {"type": "object", "properties": {"city": {"type": "string"}}})
    large = ChatRequest("local", tuple(turns), temperature=0, max_tokens=500, tools=(tool,))
    size = sum(len(m.text()) for m in large.messages)
    return {
        "key_small": time_sync(lambda: cache_key(small, route, space), n),
        "key_large": {**time_sync(lambda: cache_key(large, route, space), n), "message_chars": size},
    }


async def time_paired(
    base: Callable[[], Awaitable[object]], fn: Callable[[], Awaitable[object]], n: int
) -> dict[str, float]:
    """``fn`` and ``base`` timed in turn; the median of ``fn - base`` over the pairs."""
    for _ in range(200):
        await base()
        await fn()
    diffs, bases, fns = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        await base()
        t1 = time.perf_counter()
        await fn()
        t2 = time.perf_counter()
        bases.append((t1 - t0) * 1e6)
        fns.append((t2 - t1) * 1e6)
        diffs.append(fns[-1] - bases[-1])
    return {
        "bare_p50_us": round(statistics.median(bases), 1),
        "hit_p50_us": round(statistics.median(fns), 1),
        "over_bare_p50_us": round(statistics.median(diffs), 1),
    }


# --------------------------------------------------------------------------- hits


class Ready(Controller):
    """Answers every chat with a ready response: the pipeline with no upstream and no cache."""

    def __init__(self) -> None:
        self.resp = ChatResponse("r", "sim-1", "simulator", "Paris.", usage=Usage(10, 3))

    async def unary(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
        call.outcome.set_response(self.resp)
        return self.resp


async def hit_latency(n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = Settings(ledger={"enabled": False})
    async with llmrelay.Client(base, layers=[before("preflight", Ready())]) as bare:
        out["bare_pipeline"] = await time_async(lambda: bare.chat(PROMPT, temperature=0), n)
    tmp = Path(tempfile.mkdtemp(prefix="llmrelay-bench-cache-"))
    prefix = f"llmrelay-bench-{uuid.uuid4().hex[:8]}:cache:"
    backends: dict[str, dict[str, Any]] = {
        "memory": {},
        "sqlite": {"backend": "sqlite", "path": str(tmp / "cache.sqlite3")},
        "redis": {"backend": "redis", "redis_url": REDIS_URL, "prefix": prefix},
    }
    for name, extra in backends.items():
        settings = Settings(ledger={"enabled": False}, cache={"enabled": True, **extra})
        try:
            async with llmrelay.Client(settings) as client:
                first = await client.chat(PROMPT, temperature=0)
                hit = await client.chat(PROMPT, temperature=0)
                if first.meta.cache != "miss" or hit.meta.cache != "hit":
                    out[f"hit_{name}"] = {"error": f"no hit ({first.meta.cache}, {hit.meta.cache})"}
                    continue
                out[f"hit_{name}"] = await time_async(lambda c=client: c.chat(PROMPT, temperature=0), n)  # type: ignore[misc]
                out[f"hit_{name}"]["over_bare_p50_us"] = round(
                    out[f"hit_{name}"]["p50_us"] - out["bare_pipeline"]["p50_us"], 1
                )
                if name == "memory":
                    async with llmrelay.Client(base, layers=[before("preflight", Ready())]) as bare:
                        out["memory_over_bare"] = await time_paired(
                            lambda b=bare: b.chat(PROMPT, temperature=0),  # type: ignore[misc]
                            lambda c=client: c.chat(PROMPT, temperature=0),  # type: ignore[misc]
                            n,
                        )

                    async def stream_hit(c: llmrelay.Client = client) -> None:
                        async for _ in c.stream(PROMPT, temperature=0):
                            pass

                    out["stream_hit_memory"] = await time_async(stream_hit, n)
                if name == "redis":
                    await client._middleware[0].store.backend.clear()  # type: ignore[attr-defined]
        except Exception as exc:  # a missing Redis is reported, not fatal
            out[f"hit_{name}"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


# --------------------------------------------------------------------------- memory


async def memory_per_entry(entries: int) -> dict[str, Any]:
    text = "Paris is the capital of France. " * 10
    backend = MemoryBackend(max_bytes=2**40)
    tracemalloc.start()
    before_bytes = tracemalloc.get_traced_memory()[0]
    for i in range(entries):
        e = Entry(
            f"resp_{i}",
            "sim-1",
            "simulator",
            "local",
            text + str(i),
            (),
            "stop",
            None,
            Usage(20, 80),
            0.0001,
            None,
            None,
            created=time.time(),
        )
        await backend.set(f"{i:032x}", e, encode(e), 3600)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    stats = await backend.stats()
    return {
        "entries": entries,
        "heap_mb": round((after - before_bytes) / 2**20, 1),
        "heap_bytes_per_entry": round((after - before_bytes) / entries),
        "counted_bytes_per_entry": round(stats.bytes / entries),
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "command": f"benchmarks/bench_cache.py --n {args.n} --entries {args.entries}",
    }
    result.update(key_costs(args.n))
    result.update(await hit_latency(args.n))
    result["memory"] = await memory_per_entry(args.entries)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
