"""The semantic cache: embedding time, lookup at 100,000 entries, memory, a hit end to end.

1. Embedding: the local encoder (all-MiniLM-L6-v2, numpy, one thread) on one short
   question, and per question in a batch of 32. Reported apart from the lookup: a call
   pays it once, whether the lookup hits or not.
2. Lookup: ``SemanticIndex.find`` (its graph search on the index's worker thread: the
   CPU figure is the event loop's share) in one partition holding N unit vectors (random ones: the
   hardest case for the HNSW graph; embedding 100,000 real questions would take a quarter
   of an hour), for queries near a stored vector (hits) and random ones (misses). Also
   recall: how often a near query finds its own vector. Plus the exact brute-force search
   at the size where a partition moves to the graph (``exact_above``, 4,096).
   Building it: each addition's time on the event loop once the partition has its graph
   (the graph's own work is queued for the worker thread), and the whole build.
3. Memory: what the index holds for N vectors (the graph's own count plus the arrays), and
   the process's resident-set growth while building it.
4. A semantic hit through ``Client.chat`` (memory backend, ledger off): embedding + lookup
   + the exact store's read, against an exact hit on the same client.
5. The labelled pairs of tests/cache/semantic_pairs.py: the lowest similarity of a
   paraphrase pair and the highest of a pair of different questions.

Run:  .venv/bin/python benchmarks/bench_semantic.py [--n 2000 --entries 100000] [--pairs-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

import llmrelay
from llmrelay.cache.embedder import LocalEmbedder
from llmrelay.cache.semantic import Probe, SemanticIndex
from llmrelay.cache.vectors import VectorIndex
from llmrelay.settings import Settings
from llmrelay.settings.cache import SemanticSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def percentiles(samples: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall-clock and CPU (this thread's) percentiles: on a shared machine the wall p99 is
    mostly time spent preempted, which the CPU figure leaves out."""
    s, c = sorted(samples), sorted(cpu)
    last = max(0, int(len(s) * 0.99) - 1)
    return {
        "p50_us": round(statistics.median(s), 1),
        "p99_us": round(s[last], 1),
        "mean_us": round(statistics.fmean(s), 1),
        "cpu_p50_us": round(statistics.median(c), 1),
        "cpu_p99_us": round(c[last], 1),
    }


def time_sync(fn: Callable[[], object], n: int, warm: int = 20) -> dict[str, float]:
    for _ in range(warm):
        fn()
    samples, cpu = [], []
    for _ in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.thread_time() - c0) * 1e6)
    return percentiles(samples, cpu)


async def time_async(fn: Callable[[], Awaitable[object]], n: int, warm: int = 20) -> dict[str, float]:
    """(CPU here is the event loop thread's: the local embedder's worker thread is not in it.)"""
    for _ in range(warm):
        await fn()
    samples, cpu = [], []
    for _ in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.thread_time() - c0) * 1e6)
    return percentiles(samples, cpu)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- embedding


def embedding(n: int) -> dict[str, Any]:
    emb = LocalEmbedder()
    one = "How do I reset the password of my account?"
    batch = [f"Question number {i}: how do I reset the password of account {i}?" for i in range(32)]
    single = time_sync(lambda: emb.encode_now([one]), n, warm=5)
    per_batch = time_sync(lambda: emb.encode_now(batch), max(10, n // 20), warm=2)
    return {
        "embed_one_question": single,
        "embed_batch_of_32_per_question_us": round(per_batch["p50_us"] / 32, 1),
    }


# --------------------------------------------------------------------------- lookup


def unit(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:  # type: ignore[type-arg]
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def near(rng: np.random.Generator, v: np.ndarray, noise: float = 0.02) -> np.ndarray:  # type: ignore[type-arg]
    q = v + rng.standard_normal(v.shape).astype(np.float32) * noise
    return q / np.linalg.norm(q)  # type: ignore[no-any-return]


async def lookup(n: int, entries: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    vectors = unit(rng, entries)
    index = SemanticIndex(SemanticSettings(max_entries=entries), LocalEmbedder())
    partition = "p" * 32
    rss0 = rss_bytes()
    graph_from = SemanticSettings().exact_above + 1
    on_loop, on_loop_cpu = [], []
    t0 = time.perf_counter()
    for i in range(entries):
        c1, t1 = time.thread_time(), time.perf_counter()
        await index.remember(Probe(partition, vectors[i]), f"{i:032x}", 3600)
        if i > graph_from:  # the graph's additions: queued for the index's worker thread
            on_loop.append((time.perf_counter() - t1) * 1e6)
            on_loop_cpu.append((time.thread_time() - c1) * 1e6)
    queued_s = time.perf_counter() - t0
    await index.settle()
    build_s = time.perf_counter() - t0
    rss1 = rss_bytes()
    out: dict[str, Any] = {
        "entries": len(index),
        "build_s": round(build_s, 1),
        "insert_us_per_vector": round(build_s / entries * 1e6, 1),
        # what one addition past exact_above holds the event loop for (the graph's own
        # work is on the worker thread: the rest of build_s after queued_s)
        "queued_s": round(queued_s, 1),
        "insert_on_loop_past_graph": percentiles(on_loop, on_loop_cpu) if on_loop else None,
        "index_mb": round(index.nbytes / 2**20, 1),
        "rss_growth_mb": round((rss1 - rss0) / 2**20, 1),
    }
    picks = rng.integers(0, entries, n)
    queries = [near(rng, vectors[i]) for i in picks]
    misses = unit(rng, n)
    found = 0
    for i, q in zip(picks, queries, strict=True):
        m = await index.find(Probe(partition, q), 0.9)
        found += m is not None and m.key == f"{i:032x}"
    out["recall_near_queries"] = round(found / n, 4)
    it = iter(queries * 2)
    out["lookup_hit"] = await time_async(lambda: index.find(Probe(partition, next(it)), 0.9), n - 20)
    it2 = iter(list(misses) * 2)
    out["lookup_miss"] = await time_async(lambda: index.find(Probe(partition, next(it2)), 0.9), n - 20)
    # the exact search at the size a partition leaves it for the graph
    small = VectorIndex(384, capacity=10_000, exact_above=10_000)
    for i in range(4096):
        small.add(f"k{i}", vectors[i], 1e12, 0.0)
    it3 = iter(queries * 2)
    out["exact_search_4096"] = time_sync(lambda: small.search(next(it3), 0.0), n - 20)
    await index.aclose()
    return out


# --------------------------------------------------------------------------- through the client


async def client_hits(n: int) -> dict[str, Any]:
    settings = Settings(
        ledger={"enabled": False}, cache={"enabled": True, "semantic": {"enabled": True, "threshold": 0.8}}
    )
    out: dict[str, Any] = {}
    async with llmrelay.Client(settings) as client:
        await client.chat("How do I reset my password?", temperature=0)
        para = await client.chat("How can I reset my password?", temperature=0)
        if para.meta.cache != "hit":
            return {"error": f"no semantic hit ({para.meta.cache})"}
        out["similarity"] = para.meta.cache_similarity
        out["chat_semantic_hit"] = await time_async(
            lambda: client.chat("How can I reset my password?", temperature=0), n
        )
        out["chat_exact_hit"] = await time_async(
            lambda: client.chat("How do I reset my password?", temperature=0), n
        )
    return out


def pairs() -> dict[str, Any]:
    from tests.cache.semantic_pairs import DIFFERENT, PARAPHRASES

    emb = LocalEmbedder()

    def sim(a: str, b: str) -> float:
        v = emb.encode_now([a, b])
        return float(v[0] @ v[1])

    para = [sim(a, b) for a, b in PARAPHRASES]
    diff = [sim(a, b) for a, b in DIFFERENT]
    # the similarity a partition's HNSW graph reports (float16 vectors) against float32's
    errors = []
    for a, b in PARAPHRASES + DIFFERENT:
        v = emb.encode_now([a, b])
        graph = VectorIndex(384, capacity=4, exact_above=1)
        graph.add("a", v[0], 1e12, 0.0)
        graph.add("opposite", -v[0], 1e12, 0.0)
        found = graph.search(v[1], 0.0)
        assert found is not None
        errors.append(abs(found[1] - float(v[0] @ v[1])))
    return {
        "each_paraphrase": {b: round(x, 3) for (_, b), x in zip(PARAPHRASES, para, strict=True)},
        "each_different": {b: round(x, 3) for (_, b), x in zip(DIFFERENT, diff, strict=True)},
        "graph_similarity_max_error": float(f"{max(errors):.2g}"),
        "paraphrase_pairs": len(para),
        "paraphrase_min": round(min(para), 3),
        "paraphrase_median": round(statistics.median(para), 3),
        "paraphrases_at_or_above_0.9": sum(s >= 0.9 for s in para),
        "different_pairs": len(diff),
        "different_max": round(max(diff), 3),
        "different_at_or_above_0.9": sum(s >= 0.9 for s in diff),
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--pairs-only", action="store_true", help="only the labelled pairs' similarities")
    args = ap.parse_args()
    if args.pairs_only:
        doc = {"command": "benchmarks/bench_semantic.py --pairs-only", "pairs": pairs()}
        print(json.dumps(doc, indent=2))
        return
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "command": f"benchmarks/bench_semantic.py --n {args.n} --entries {args.entries}",
    }
    result.update(embedding(min(args.n, 300)))
    result["pairs"] = pairs()
    result["client"] = await client_hits(min(args.n, 300))
    result["lookup"] = await lookup(args.n, args.entries)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
