"""Acceptance: 2,000 calls, half streaming, against two simulator deployments injecting 30% faults.

Every non-streaming call, and every stream that broke before its first event reached the
caller, must end with the correct, complete answer. A stream that broke after that is
resumed when resuming is on and the request is deterministic (temperature 0): the caller
reads the exact expected answer, nothing lost or repeated. With resuming off it ends in
``StreamTruncatedError`` carrying exactly the text the caller saw — never a silently
short answer, never a duplicated or interleaved one. Upstream requests stay within the
retry budget.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tests.resilience.sims import router_of

import llmrelay
from llmrelay import errors
from llmrelay.settings import Settings
from llmrelay.simulator import expected_text

CALLS = 2000
CONCURRENCY = 48
SERVERS = Path(__file__).with_name("chaos_servers.py")
# the fault kinds that strike a stream after 3 pieces, i.e. after its first event reached the caller
MID_STREAM = ("cut_stream@3/stream", "stream_error@3/stream")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, str(SERVERS), json.dumps({"rate": 0.3, "hang_seconds": 3})],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the chaos servers did not start (exit code {proc.wait(5)})")
        a, b = json.loads(line)["ports"]
        yield f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Tally:
    unary_ok: int = 0
    streams_ok: int = 0
    truncated: int = 0
    timed_out: int = 0
    resumed: int = 0
    wrong: list[str] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)
    attempts: Counter[int] = field(default_factory=Counter)


async def one_call(client: llmrelay.Client, i: int, tally: Tally, **params: object) -> None:
    prompt = f"chaos question number {i}"
    expected = expected_text(prompt, seed=0)
    if i % 2 == 0:
        try:
            reply = await client.chat(prompt, **params)
        except errors.LLMRelayError as exc:
            tally.failed[f"unary {type(exc).__name__}"] += 1
            return
        tally.attempts[reply.meta.attempts] += 1
        if reply.text == expected and reply.finish_reason == "stop":
            tally.unary_ok += 1
        else:
            tally.wrong.append(f"unary {i}: {reply.text!r}")
        return
    stream = client.stream(prompt, **params)
    seen: list[str] = []
    events = 0
    try:
        async for ev in stream:
            events += 1
            if isinstance(ev, llmrelay.TextDelta):
                seen.append(ev.text)
    except errors.LLMRelayError as exc:
        partial = getattr(exc, "partial_text", None)
        if events == 0:
            tally.failed[f"stream before first event {type(exc).__name__}"] += 1
        elif partial != "".join(seen) or not expected.startswith(partial) or partial == expected:
            tally.wrong.append(f"stream {i}: partial {partial!r} after {''.join(seen)!r}")
        elif not isinstance(exc, errors.StreamTruncatedError) or exc.__cause__ is None:
            tally.wrong.append(f"stream {i}: {type(exc).__name__} after delivery, not StreamTruncatedError")
        elif isinstance(exc.__cause__, errors.TimeoutError):
            # no fault: the 1 s read timeout ran out mid-stream (a heavily loaded machine)
            tally.timed_out += 1
        else:
            tally.truncated += 1
        return
    reply = stream.response
    assert reply is not None
    tally.attempts[reply.meta.attempts] += 1
    if "".join(seen) == expected == reply.text:
        tally.streams_ok += 1
        tally.resumed += reply.meta.resumed
    else:
        tally.wrong.append(f"stream {i}: {''.join(seen)!r}")


async def upstream_stats(bases: tuple[str, str]) -> list[dict[str, Any]]:
    async with httpx2.AsyncClient() as http:
        return [(await http.get(f"{base}/_simulator/stats")).json() for base in bases]


@pytest.mark.parametrize("resume", ["off", "deterministic"])
async def test_chaos(upstream: tuple[str, str], capsys: pytest.CaptureFixture[str], resume: str) -> None:
    a, b = upstream
    settings = Settings.load(
        models={
            "chaos": {
                "deployments": [
                    {
                        "provider": "simulator",
                        "model": "gpt-4o-mini",
                        "base_url": f"{a}/v1",
                        "name": "openai-a",
                    },
                    {
                        "provider": "simulator-anthropic",
                        "model": "claude-haiku-4-5",
                        "base_url": b,
                        "name": "anthropic-b",
                    },
                ]
            }
        },
        default_model="chaos",
        timeouts={"connect": 2, "read": 1.0},
        retry={
            "max_attempts": 10,
            "base_delay": 0.02,
            "max_delay": 0.25,
            "resume": resume,
            # resuming is extra upstream traffic paid from the same budget: at 30% faults it
            # needs more room than the default 0.5 retries per call, or some streams are refused it
            "budget": {"ratio": 0.5 if resume == "off" else 1.0},
        },
        ledger={"enabled": False},
        catalog={"preflight": False},
    )
    tally = Tally()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def bounded(i: int) -> None:
        async with limit:
            # resuming needs a deterministic request: temperature 0 where it is on
            await one_call(client, i, tally, **({"temperature": 0} if resume != "off" else {}))

    before = await upstream_stats(upstream)  # the servers live for the module: count this run only
    async with llmrelay.Client(settings, environ={}) as client:
        t0 = time.monotonic()
        await asyncio.gather(*(bounded(i) for i in range(CALLS)))
        duration = time.monotonic() - t0
        budget = router_of(client).budget
    after = await upstream_stats(upstream)
    served = [
        sum(x["requests"].values()) - sum(y["requests"].values()) for x, y in zip(after, before, strict=True)
    ]
    detail: Counter[str] = Counter()
    for x, y in zip(after, before, strict=True):
        detail.update(x["fault_detail"])
        detail.subtract(y["fault_detail"])
    mid_stream = sum(detail[k] for k in MID_STREAM)
    b = settings.retry.budget  # the defaults
    # a sliding window allows ratio x calls, plus the floor once per window the run spanned
    allowed = b.ratio * CALLS + b.min_retries * (duration // b.window + 1)

    rows = [
        ("calls (half streaming)", CALLS),
        ("non-streaming: correct and complete", f"{tally.unary_ok} / {CALLS // 2}"),
        ("streams: correct and complete", tally.streams_ok),
        ("streams: cut after delivery and resumed to the exact answer", tally.resumed),
        ("streams: cut after delivery, StreamTruncatedError + partial text", tally.truncated),
        ("  faults that struck a stream after its first event", mid_stream),
        ("streams: read timeout after delivery (load, not a fault)", tally.timed_out),
        ("wrong, short or duplicated answers", len(tally.wrong)),
        ("errors", sum(tally.failed.values())),
        ("upstream requests (openai-a + anthropic-b)", f"{sum(served)} ({served[0]} + {served[1]})"),
        ("faults injected", f"{sum(detail.values())} ({sum(detail.values()) / sum(served):.1%} of requests)"),
        (
            "retries / budget allowed",
            f"{budget.retries_total} / {allowed:.0f} (denied {budget.denied_total})",
        ),
        ("attempts per call (histogram)", dict(sorted(tally.attempts.items()))),
        ("duration", f"{duration:.1f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    with capsys.disabled():  # the table belongs in every run's output, CI's included
        print(f"\nchaos: 2 deployments, 30% mixed faults each, resume={resume}")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
        print("  faults by kind:", dict(sorted(detail.items())))

    assert not tally.wrong, tally.wrong[:5]
    assert not tally.failed, tally.failed
    assert tally.unary_ok == CALLS // 2
    assert tally.streams_ok + tally.truncated + tally.timed_out == CALLS // 2
    if resume == "off":
        assert tally.truncated == mid_stream  # every mid-stream fault surfaced; no other stream failed
    else:
        assert tally.truncated == tally.timed_out == 0  # every stream cut after delivery was completed
        # each of those faults was resumed (malformed chunks after delivery are resumed too)
        assert tally.resumed >= mid_stream > 0
    assert 0.25 < sum(detail.values()) / sum(served) < 0.35
    # every upstream request is a call's first attempt or a retry paid from the budget
    assert CALLS <= sum(served) <= CALLS + budget.retries_total
    assert budget.retries_total <= allowed
    assert duration < 60
