"""Run the simulator as an HTTP server (``llmrelay simulate --port N``)."""

from __future__ import annotations

import uvicorn

from llmrelay.simulator.core import Simulator, SimulatorConfig
from llmrelay.simulator.faults import FaultPlan


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    config: SimulatorConfig | None = None,
    *,
    faults: FaultPlan | None = None,
    log_level: str = "warning",
) -> None:
    """Serve a simulator until interrupted; blocks the calling thread."""
    sim = Simulator(config, faults)
    # The simulator is a benchmark upstream: skip per-request access logs, keep the event loop lean.
    uvicorn.run(sim.app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off")
