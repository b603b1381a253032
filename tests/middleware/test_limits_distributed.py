"""Acceptance: two OS processes share one $1.00 budget and one RPM limit through Redis.

200 concurrent callers (100 per process) call a TCP simulator that enforces the same
RPM limit itself. Spend must end within one call's maximum cost below the budget and
never above it; the simulator must never see more requests in a window than the limit
(so it answers no 429). The "minute" is scaled down to 0.5 s (``limits.window``) so the
test runs in seconds; the limiter and the simulator measure over the same window.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.limits.redis_support import REDIS_URL, redis_fixture
from tests.simulator.test_server import running

from llmrelay.limits.budget import BudgetRule, Budgets, Subject
from llmrelay.limits.budget_redis import RedisBudgetBackend
from llmrelay.simulator import SimulatorConfig
from llmrelay.simulator.server import build_server

WINDOW = 0.5
RPM = 100  # per WINDOW: 200 calls a second across both processes
BUDGET = 1.00
WORKER = Path(__file__).with_name("limits_worker.py")


@pytest.fixture
async def redis():
    async for pair in redis_fixture():
        yield pair


@pytest.fixture
def simulator():
    server, sim = build_server("127.0.0.1", 0, SimulatorConfig(rpm_limit=RPM, rate_window=WINDOW))
    with running(server) as port:
        yield f"http://127.0.0.1:{port}/v1", sim


async def test_two_processes_share_a_budget_and_an_rpm_limit(redis, simulator) -> None:
    client, prefix = redis
    url, sim = simulator
    settings = {
        "models": {"shared": {"deployments": [{"provider": "simulator", "model": "sim-1", "base_url": url}]}},
        # about $0.002 a call: the dollar lasts ~500 calls, more than 200 callers can hold at once,
        # so both processes keep calling until the end: a few seconds at this rate
        "catalog": {"models": {"simulator/sim-1": {"input_price": 40.0, "output_price": 80.0}}},
        "state": {"redis_url": REDIS_URL, "prefix": prefix},
        "budgets": {"rules": [{"scope": "global", "period": "lifetime", "hard": BUDGET}]},
        "limits": {"window": WINDOW, "max_wait": 60, "deployments": {"simulator/sim-1": {"rpm": RPM}}},
        "ledger": {"enabled": False},
    }
    spec = json.dumps({"settings": settings, "callers": 100})
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            spec,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:  # both ready before either starts
        assert p.stdout is not None
        line = await asyncio.wait_for(p.stdout.readline(), timeout=30)
        assert line == b"ready\n", line
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    done = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=60)
    results = []
    for p, (out, err) in zip(procs, done, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]
        results.append(json.loads(out))
    assert [r["errors"] for r in results] == [[], []]
    calls = [r["ok"] for r in results]
    assert min(calls) > 0.1 * sum(calls)  # both processes did a real share of the work

    budgets = Budgets([BudgetRule("global", "lifetime", hard=BUDGET)], RedisBudgetBackend(client, prefix))
    [(_, spent, reserved)] = await budgets.status(Subject())
    max_call = max(r["max_reserved"] for r in results)
    assert reserved == 0.0
    assert BUDGET - max_call <= spent <= BUDGET
    assert spent == pytest.approx(sum(r["cost"] for r in results), abs=1e-6)

    assert sim.stats.total_requests == sum(r["ok"] for r in results)
    assert sim.stats.rate_limited == 0 and sim.stats.statuses.get(429, 0) == 0
    assert 0 < sim.stats.peak_window_requests <= RPM
