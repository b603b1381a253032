"""llmrelay next to LiteLLM on the same upstream: per-call overhead over a raw HTTP call.

LiteLLM is never a dependency of llmrelay: this script installs it into a virtual
environment of its own (``benchmarks/.venv-litellm``, made on first run with pip from
PyPI) and runs it there, in a child process. Both sides are measured the same way
against the same simulator server (uvicorn on 127.0.0.1, scripted replies of exactly
``max_tokens`` tokens): calls alternate with a raw aiohttp call in the same process, and
the figure is the difference of client CPU per call (``time.process_time``) and of
wall-clock medians. llmrelay runs with its default pipeline; LiteLLM with
``litellm.acompletion`` (model ``openai/sim-1``, ``api_base`` the simulator).

Run:  .venv/bin/python benchmarks/bench_litellm.py [--n 500] [--litellm-version 1.x]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

from _support import free_port, start_and_wait
from bench_overhead import SERVER

HERE = Path(__file__).parent
ENV = HERE / ".venv-litellm"

# Measures one client against raw aiohttp; run by either interpreter. ``make_call`` and
# ``make_stream`` are defined by the prelude of each side.
MEASURE = """
import asyncio, json, statistics, sys, time
import aiohttp

PORT, N, TOKENS = {port}, {n}, {tokens}
URL = f"http://127.0.0.1:{{PORT}}/v1/chat/completions"
MESSAGES = [{{"role": "user", "content": "Benchmark prompt: say something short."}}]
BODY = json.dumps({{"model": "sim-1", "messages": MESSAGES, "max_tokens": TOKENS}}).encode()
SBODY = json.dumps({{"model": "sim-1", "messages": MESSAGES, "max_tokens": TOKENS, "stream": True,
                    "stream_options": {{"include_usage": True}}}}).encode()
HEADERS = {{"content-type": "application/json", "authorization": "Bearer sk-bench"}}

{prelude}

async def main():
    out = {{}}
    async with aiohttp.ClientSession() as raw:
        async def raw_call():
            async with raw.post(URL, data=BODY, headers=HEADERS) as r:
                json.loads(await r.read())
        async def raw_stream():
            async with raw.post(URL, data=SBODY, headers=HEADERS) as r:
                async for line in r.content:
                    if line.startswith(b"data: ") and line.strip() != b"data: [DONE]":
                        json.loads(line[6:])
        call, stream = await make_call(), await make_stream()
        for mode, pair in (("unary", (raw_call, call)), ("stream", (raw_stream, stream))):
            for _ in range(30):
                for fn in pair:
                    await fn()
            walls = ([], [])
            cpus = ([], [])
            for i in range(N):
                for k in ((0, 1) if i % 2 else (1, 0)):
                    c0, t0 = time.process_time(), time.perf_counter()
                    await pair[k]()
                    walls[k].append(time.perf_counter() - t0)
                    cpus[k].append(time.process_time() - c0)
            out[mode] = {{
                "raw_wall_us": statistics.median(walls[0]) * 1e6,
                "wall_us": statistics.median(walls[1]) * 1e6,
                "raw_cpu_us": sum(cpus[0]) / N * 1e6,
                "cpu_us": sum(cpus[1]) / N * 1e6,
            }}
    await close()
    print(json.dumps(out))

asyncio.run(main())
"""

LITELLM_PRELUDE = """
import litellm
BASE = f"http://127.0.0.1:{PORT}/v1"
async def make_call():
    async def call():
        await litellm.acompletion(model="openai/sim-1", messages=MESSAGES, max_tokens=TOKENS,
                                  api_base=BASE, api_key="sk-bench")
    return call
async def make_stream():
    async def stream():
        resp = await litellm.acompletion(model="openai/sim-1", messages=MESSAGES, max_tokens=TOKENS,
                                         api_base=BASE, api_key="sk-bench", stream=True)
        async for _ in resp:
            pass
    return stream
async def close():
    pass
"""

LLMRELAY_PRELUDE = """
import llmrelay
from llmrelay.settings import Settings
dep = {"provider": "simulator", "model": "sim-1", "base_url": f"http://127.0.0.1:{PORT}/v1"}
CLIENT = llmrelay.Client(Settings.load(models={"bench": {"deployments": [dep]}},
                                       ledger={"url": "sqlite:///" + sys.argv[1]}))
async def make_call():
    return lambda: CLIENT.chat(MESSAGES, model="bench", max_tokens=TOKENS)
async def make_stream():
    return lambda: CLIENT.stream(MESSAGES, model="bench", max_tokens=TOKENS).final()
async def close():
    await CLIENT.aclose()
"""


def litellm_python(version: str | None) -> Path:
    python = ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {ENV} and installing litellm (once)…", flush=True)
        venv.EnvBuilder(with_pip=True).create(ENV)
    spec = f"litellm=={version}" if version else "litellm"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", spec, "aiohttp"],
        check=True,
    )
    return python


def measure(python: Path | str, prelude: str, port: int, n: int, tokens: int, *args: str) -> dict:
    code = MEASURE.format(port=port, n=n, tokens=tokens, prelude=prelude)
    done = subprocess.run([str(python), "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def version_of(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--litellm-version", default=None)
    args = ap.parse_args()
    python = litellm_python(args.litellm_version)
    port = free_port()
    server = start_and_wait([sys.executable, "-c", SERVER.format(port=port)], port, "simulator server")
    ledger = f"/tmp/llmrelay-bench-litellm-{os.getpid()}.sqlite3"
    try:
        ours = measure(sys.executable, LLMRELAY_PRELUDE, port, args.n, args.tokens, ledger)
        theirs = measure(python, LITELLM_PRELUDE, port, args.n, args.tokens)
    finally:
        server.terminate()
        server.wait(timeout=10)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(ledger + suffix):
                os.remove(ledger + suffix)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"litellm {version_of(python)} (in {ENV.name}); {args.n} calls each, alternating with raw aiohttp")
    print(f"{'mode':<7} {'client':<20} {'Δ CPU µs/call':>14} {'Δ wall µs (median)':>19}")
    for mode in ("unary", "stream"):
        for label, r in (("llmrelay (default)", ours[mode]), ("litellm.acompletion", theirs[mode])):
            print(
                f"{mode:<7} {label:<20} {r['cpu_us'] - r['raw_cpu_us']:>14.0f}"
                f" {r['wall_us'] - r['raw_wall_us']:>19.0f}"
            )


if __name__ == "__main__":
    main()
