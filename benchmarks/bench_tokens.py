"""Token counting and pricing speed: encoding build, exact and estimated request counts,
catalog load, lookup, cost, and charge with cache writes by lifetime and service tiers.
Run: .venv/bin/python benchmarks/bench_tokens.py"""

from __future__ import annotations

import statistics
import time

from _support import TURN, best_us

from llmrelay.catalog import Catalog
from llmrelay.tokens import count_request, encodings
from llmrelay.types import ChatRequest, Message, Usage


def main() -> None:
    for name in ("cl100k_base", "o200k_base"):
        encodings.get_encoding.cache_clear()
        t0 = time.perf_counter()
        encodings.get_encoding(name)
        print(f"build {name}: {(time.perf_counter() - t0) * 1000:.0f} ms (once per process)")
    messages = [Message.system("You are a careful analyst.")]
    messages += [Message.user(TURN) if i % 2 == 0 else Message.assistant(TURN) for i in range(20)]
    req = ChatRequest(model="x", messages=messages)
    tokens = count_request(req, model="openai/gpt-4o").tokens
    t0 = time.perf_counter()
    catalog = Catalog.load()
    print(f"catalog load: {(time.perf_counter() - t0) * 1000:.1f} ms")
    for model in ("openai/gpt-4o", "openai/gpt-4", "anthropic/claude-sonnet-4-5"):
        us = best_us(lambda m=model: count_request(req, model=m, catalog=catalog))
        print(f"count_request 21 messages (~{tokens} tokens) {model}: {us:.0f} µs")
    info = catalog.lookup("openai", "gpt-4o")
    usage = Usage(1200, 300, 400)
    lookup_us = best_us(lambda: catalog.lookup("openai", "gpt-4o-2024-08-06"), number=2000)
    print(f"lookup dated name: {lookup_us:.1f} µs")
    print(f"cost: {best_us(lambda: catalog.cost(info, usage), number=5000):.2f} µs")
    claude = catalog.lookup("anthropic", "claude-sonnet-4-5")
    cached = Usage(13050, 700, 10000, 3000, 0, cache_write_1h_tokens=2000)
    us = best_us(lambda: catalog.charge(claude, cached, "standard"), number=5000)
    print(f"charge with cache reads and 5m/1h writes (prices from section factors): {us:.2f} µs")
    gpt5 = catalog.lookup("openai", "gpt-5")
    us = best_us(lambda: catalog.charge(gpt5, usage, "flex"), number=5000)
    print(f"charge under the flex tier: {us:.2f} µs")
    long_text = TURN * 500
    per_mb = statistics.median(
        best_us(lambda: len(encodings.get_encoding("o200k_base").encode_ordinary(long_text)), 3, 5)
        / len(long_text.encode())
        for _ in range(3)
    )
    print(f"o200k_base encode: {1 / per_mb:.1f} MB/s")


if __name__ == "__main__":
    main()
