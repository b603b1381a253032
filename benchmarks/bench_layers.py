"""What each default layer costs per unary call, with the network taken out.

The upstream is an in-process mock transport (httpx2.MockTransport mounted on the
Transport) answering every chat call with the same prebuilt JSON body, so the figures
are llmrelay's own CPU: request building, validation, the layers, the adapter, the
response. Each layer is measured alone on top of a bare client (``middleware=[]``), and
the whole default stack together; "transport only" is one ``Transport.send`` of a
prebuilt request. CPU is ``time.process_time`` per call (the ledger's writer thread
included), the median of ``--rounds`` rounds of ``--n`` calls.

Run:  .venv/bin/python benchmarks/bench_layers.py [--n 2000] [--rounds 5]
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
from collections.abc import Awaitable, Callable

import httpx2

import llmrelay
from llmrelay.settings import Settings
from llmrelay.transport.http import Timeouts, Transport
from llmrelay.types import ChatRequest, Message

BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "sim-1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "word " * 40}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 40, "total_tokens": 50},
    }
).encode()


def answer(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(
        200, headers={"content-type": "application/json", "x-request-id": "r1"}, content=BODY
    )


async def cpu_per_call(fn: Callable[[], Awaitable[object]], n: int, rounds: int) -> float:
    for _ in range(200):
        await fn()
    samples = []
    for _ in range(rounds):
        t0 = time.process_time()
        for _ in range(n):
            await fn()
        samples.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(samples)


async def run(n: int, rounds: int, folder: str) -> list[tuple[str, float]]:
    transport = Transport(timeouts=Timeouts(), mounts={"http://fake": httpx2.MockTransport(answer)})
    dep = {"provider": "openai", "model": "sim-1", "base_url": "http://fake/v1", "api_key": "sk-bench-000000"}
    settings = Settings.load(
        models={"b": {"deployments": [dep]}}, ledger={"url": f"sqlite:///{folder}/l.sqlite3"}
    )
    full = llmrelay.Client(settings, transport=transport)
    bare = llmrelay.Client(settings, middleware=[], transport=transport)
    adapter = bare._terminal._adapter("openai")
    prebuilt = adapter.chat_request(
        ChatRequest(model="sim-1", messages=(Message.user("Benchmark prompt"),), max_tokens=40),
        bare.route("b").deployments[0].endpoint,
        stream=False,
    )

    def chat(client: llmrelay.Client) -> Callable[[], Awaitable[object]]:
        return lambda: client.chat("Benchmark prompt", model="b", max_tokens=40)

    rows = [("transport only", await cpu_per_call(lambda: transport.send(prebuilt), n, rounds))]
    base = await cpu_per_call(chat(bare), n, rounds)
    rows.append(("bare client (no layers)", base))
    for layer in full._middleware:
        alone = llmrelay.Client(settings, middleware=[layer], transport=transport)
        rows.append((f"  + {type(layer).__name__} alone", await cpu_per_call(chat(alone), n, rounds)))
    rows.append(("default stack", await cpu_per_call(chat(full), n, rounds)))
    for c in (full, bare):
        await c.aclose()
    await transport.aclose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(run(args.n, args.rounds, folder))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    base = dict(rows)["bare client (no layers)"]
    print(f"{'':<34} {'CPU µs/call':>12} {'over bare':>10}")
    for name, us in rows:
        delta = f"{us - base:>10.0f}" if name.startswith(("  +", "default")) else f"{'':>10}"
        print(f"{name:<34} {us:>12.0f} {delta}")


if __name__ == "__main__":
    main()
