"""Acceptance: under an RPM limit R a batch of N finishes within 1.1 × N/R, with no upstream 429.

The upstream simulator enforces the same limit itself (a sliding window, as providers
count), so any call the client let through too early would come back as a 429. The
"minute" is scaled down to one second (``limits.window`` and the simulator's
``rate_window``) so the test runs in seconds; everything else is as configured in
production. The batch is sent with more concurrency than the limit allows, so the limiter,
not the concurrency, sets the pace.
"""

from __future__ import annotations

import time

import llmrelay
from llmrelay.app.batch import run_batch
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Transport

WINDOW = 1.0  # seconds: the scaled "minute"
R = 40  # requests per window
N = 200  # N / R = 5 windows


async def test_batch_keeps_under_the_rpm_limit_and_finishes_in_time() -> None:
    sim = Simulator(SimulatorConfig(seed=1, rpm_limit=R, rate_window=WINDOW, latency=0.005))
    transport = Transport(mounts={"http://limited.sim": StreamingASGITransport(sim.app)})
    settings = Settings.load(
        models={
            "limited": {
                "deployments": [
                    {"provider": "simulator", "model": "sim-1", "base_url": "http://limited.sim/v1"}
                ]
            }
        },
        limits={"window": WINDOW, "deployments": {"simulator/sim-1": {"rpm": R}}},
        ledger={"enabled": False},
    )
    async with transport, llmrelay.Client(settings, transport=transport) as client:
        started = time.monotonic()
        report = await run_batch(client, [f"request {i}" for i in range(N)], model="limited", concurrency=64)
        elapsed = time.monotonic() - started

    assert report.succeeded == N and report.failed == 0
    assert sim.stats.statuses.get(429, 0) == 0 and sim.stats.rate_limited == 0
    assert sim.stats.peak_window_requests <= R
    assert sim.stats.total_requests == N  # nothing was sent twice
    bound = 1.1 * N / R * WINDOW
    assert elapsed <= bound, f"{N} calls at {R} per {WINDOW:g}s took {elapsed:.2f}s (bound {bound:.2f}s)"
    # and the limit really was what set the pace: N calls cannot fit in fewer windows than this
    assert elapsed >= (N / R - 1) * WINDOW


async def test_a_local_refusal_is_waited_out_not_recorded() -> None:
    # fail mode: the limiter refuses at once; the batch waits for the slot and sends again
    settings = Settings.load(
        limits={"mode": "fail", "window": 0.5, "deployments": {"simulator/sim-1": {"rpm": 5}}},
        ledger={"enabled": False},
    )
    async with llmrelay.Client(settings) as client:
        report = await run_batch(client, [f"q{i}" for i in range(12)], concurrency=12)
    assert report.succeeded == 12 and report.failed == 0
    assert client.simulator.stats.total_requests == 12
