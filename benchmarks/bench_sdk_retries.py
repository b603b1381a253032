"""The official ``openai`` SDK's retries against llmrelay's, on the same faulty upstream.

Each client runs the same N calls (half streaming, C at a time) against its own
simulator server (a separate process) started with the same seed, so both face the same
fault sequence: 30 % of requests get one of the acceptance test's faults (429 with
Retry-After, 500, 502, 503, 529, a hang, a connection reset, a malformed body, a stream
cut or an error event before or after its 3rd piece). Every call has a known right
answer (the simulator is deterministic), and each outcome is classified:

* correct: the complete, right text (and, unary, finish reason ``stop``);
* error: the call raised (for llmrelay, "after partial text" counts streams that failed
  after their first event with a typed error carrying the text seen so far);
* short, passed off as complete: a stream that ended *without* an error, its text a strict
  prefix of the right answer (a cut stream the client did not notice);
* wrong: anything else (text that is not a prefix, duplicated or interleaved pieces).

Rows: the SDK with its default ``max_retries=2`` and with ``max_retries=9`` (10 attempts,
as many as llmrelay's chaos settings), and llmrelay with its default retry settings and with
the acceptance test's (``max_attempts: 10, base_delay: 0.02, max_delay: 0.25``). Every client
uses a 2 s connect and 1 s read timeout (a hang costs one read timeout).

Run:  .venv/bin/python benchmarks/bench_sdk_retries.py [--calls 400 --concurrency 48 --rate 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from _support import free_port, start_and_wait

import llmrelay
from llmrelay import errors
from llmrelay.settings import Settings
from llmrelay.simulator import expected_text

SERVER = Path(__file__).with_name("_chaos_server.py")
CONNECT_TIMEOUT, READ_TIMEOUT = 2.0, 1.0


@dataclass
class Tally:
    correct: int = 0
    errors: int = 0
    errors_after_text: int = 0
    short_as_complete: int = 0
    wrong: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def text_outcome(self, text: str, expected: str) -> None:
        """A call that ended without an error, with ``text``."""
        if text == expected:
            self.correct += 1
        elif expected.startswith(text):
            self.short_as_complete += 1
        else:
            self.wrong += 1

    def error(self, exc: BaseException, text_seen: str) -> None:
        self.errors += 1
        self.errors_after_text += bool(text_seen)
        self.kinds[type(exc).__name__] += 1


Call = Callable[[int, Tally], Awaitable[None]]


def prompt_of(i: int) -> str:
    return f"chaos question number {i}"


# --------------------------------------------------------------------------- the official SDK


def sdk_caller(base: str, max_retries: int) -> tuple[Call, Callable[[], Awaitable[None]]]:
    import httpx
    import openai

    sdk = openai.AsyncOpenAI(
        base_url=f"{base}/v1",
        api_key="sk-bench",
        max_retries=max_retries,
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
    )

    async def call(i: int, tally: Tally) -> None:
        prompt, expected = prompt_of(i), expected_text(prompt_of(i), seed=0)
        messages: Any = [{"role": "user", "content": prompt}]
        seen: list[str] = []
        try:
            if i % 2 == 0:
                r = await sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)
                text = r.choices[0].message.content or ""
                if r.choices[0].finish_reason != "stop" and text == expected:
                    tally.wrong += 1
                    return
                tally.text_outcome(text, expected)
                return
            stream = await sdk.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        seen.append(choice.delta.content)
        except Exception as exc:  # whatever the SDK lets through is an error the caller sees
            tally.error(exc, "".join(seen))
            return
        tally.text_outcome("".join(seen), expected)

    return call, sdk.close


# --------------------------------------------------------------------------- llmrelay


def relay_caller(base: str, retry: dict[str, Any]) -> tuple[Call, Callable[[], Awaitable[None]]]:
    settings = Settings.load(
        models={
            "chaos": {
                "deployments": [{"provider": "simulator", "model": "gpt-4o-mini", "base_url": f"{base}/v1"}]
            }
        },
        default_model="chaos",
        timeouts={"connect": CONNECT_TIMEOUT, "read": READ_TIMEOUT},
        retry=retry,
        ledger={"enabled": False},
        catalog={"preflight": False},
    )
    client = llmrelay.Client(settings, environ={})

    async def call(i: int, tally: Tally) -> None:
        prompt, expected = prompt_of(i), expected_text(prompt_of(i), seed=0)
        if i % 2 == 0:
            try:
                reply = await client.chat(prompt)
            except errors.LLMRelayError as exc:
                tally.error(exc, "")
                return
            if reply.finish_reason != "stop" and reply.text == expected:
                tally.wrong += 1
                return
            tally.text_outcome(reply.text, expected)
            return
        seen: list[str] = []
        try:
            async for ev in client.stream(prompt):
                if isinstance(ev, llmrelay.TextDelta):
                    seen.append(ev.text)
        except errors.LLMRelayError as exc:
            partial = getattr(exc, "partial_text", None)
            if seen and partial != "".join(seen):
                tally.wrong += 1  # a typed error must carry exactly the text the caller saw
                return
            tally.error(exc, "".join(seen))
            return
        tally.text_outcome("".join(seen), expected)

    return call, client.aclose


# --------------------------------------------------------------------------- running a row


@dataclass
class Row:
    client: str
    tally: Tally
    upstream: int
    faults: int
    seconds: float


async def run_row(
    name: str, make: Callable[[str], tuple[Call, Callable[[], Awaitable[None]]]], args: argparse.Namespace
) -> Row:
    port = free_port()
    proc = start_and_wait(
        [sys.executable, str(SERVER), str(port), str(args.rate), str(args.seed), "3"], port, "chaos server"
    )
    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        call, close = make(base)
        gate = asyncio.Semaphore(args.concurrency)

        async def bounded(i: int) -> None:
            async with gate:
                await call(i, tally)

        t0 = time.perf_counter()
        await asyncio.gather(*(bounded(i) for i in range(args.calls)))
        seconds = time.perf_counter() - t0
        await close()
        async with httpx2.AsyncClient() as http:
            stats = (await http.get(f"{base}/_simulator/stats")).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return Row(name, tally, sum(stats["requests"].values()), sum(stats["faults"].values()), seconds)


def machine() -> str:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=400, help="calls per client, half streaming")
    ap.add_argument("--concurrency", type=int, default=48)
    ap.add_argument("--rate", type=float, default=0.3, help="share of requests that get a fault")
    ap.add_argument("--seed", type=int, default=11, help="the fault sequence (the same for every row)")
    args = ap.parse_args()

    import openai

    chaos_retry = {"max_attempts": 10, "base_delay": 0.02, "max_delay": 0.25}
    rows = []
    for name, make in [
        ("openai SDK, max_retries=2 (its default)", lambda b: sdk_caller(b, 2)),
        ("openai SDK, max_retries=9", lambda b: sdk_caller(b, 9)),
        ("llmrelay, default retry settings", lambda b: relay_caller(b, {})),
        ("llmrelay, max_attempts=10 (chaos test settings)", lambda b: relay_caller(b, chaos_retry)),
    ]:
        rows.append(await run_row(name, make, args))

    print(f"machine: {machine()}; openai {openai.__version__}, llmrelay {llmrelay.__version__}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(
        f"{args.calls} calls per client (half streaming), {args.concurrency} at a time; "
        f"{args.rate:.0%} mixed faults, seed {args.seed}; timeouts {CONNECT_TIMEOUT:g} s connect, "
        f"{READ_TIMEOUT:g} s read"
    )
    print()
    print(
        "| client | correct | errors (after partial text) | short, passed off as complete | wrong "
        "| upstream requests | faults injected | seconds |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        t = r.tally
        print(
            f"| {r.client} | {t.correct} | {t.errors} ({t.errors_after_text}) | {t.short_as_complete} "
            f"| {t.wrong} | {r.upstream} | {r.faults} | {r.seconds:.1f} |"
        )
    print()
    for r in rows:
        print(f"errors by type, {r.client}: {dict(r.tally.kinds.most_common())}")


if __name__ == "__main__":
    asyncio.run(main())
