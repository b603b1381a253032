"""Run the simulator as an HTTP server (``llmrelay simulate --port N``)."""

from __future__ import annotations

import uvicorn

from llmrelay.simulator.core import Simulator, SimulatorConfig
from llmrelay.simulator.faults import FaultPlan


def build_server(
    host: str = "127.0.0.1",
    port: int = 8787,
    config: SimulatorConfig | None = None,
    *,
    faults: FaultPlan | None = None,
    log_level: str = "warning",
) -> tuple[uvicorn.Server, Simulator]:
    """A uvicorn server for a new simulator, not yet started (``server.run()`` blocks)."""
    sim = Simulator(config, faults)
    # The simulator is a benchmark upstream: no per-request access log, no lifespan round-trip.
    settings = uvicorn.Config(
        sim.app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off"
    )
    return uvicorn.Server(settings), sim


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    config: SimulatorConfig | None = None,
    *,
    faults: FaultPlan | None = None,
    log_level: str = "warning",
) -> None:
    """Serve a simulator until interrupted; blocks the calling thread."""
    server, _ = build_server(host, port, config, faults=faults, log_level=log_level)
    server.run()
