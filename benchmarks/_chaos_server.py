"""A simulator server injecting a mix of faults, for the benchmarks (run in its own process).

    python benchmarks/_chaos_server.py PORT [RATE] [SEED] [HANG_SECONDS]

``RATE`` (default 0.3) of the requests get one of ``FAULTS`` (equally likely), drawn
deterministically from ``SEED`` and the request's index: two servers started with the same
seed inject the same fault sequence. ``GET /_simulator/stats`` reports what was served.
The mix is the one the resilience acceptance test uses (tests/resilience/chaos_servers.py).
"""

from __future__ import annotations

import sys

from llmrelay.simulator import Fault, FaultProbabilities, SimulatorConfig
from llmrelay.simulator.server import serve

FAULTS = [
    Fault.rate_limited(retry_after=0.05),
    Fault.error(500),
    Fault.error(502),
    Fault.error(503),
    Fault.overloaded(),
    Fault("hang"),
    Fault("reset"),
    Fault("malformed"),
    Fault("cut_stream", after_pieces=0),
    Fault("cut_stream", after_pieces=3),
    Fault("stream_error", after_pieces=0),
    Fault("stream_error", after_pieces=3),
]


def main(argv: list[str]) -> None:
    port = int(argv[0])
    rate = float(argv[1]) if len(argv) > 1 else 0.3
    seed = int(argv[2]) if len(argv) > 2 else 11
    hang = float(argv[3]) if len(argv) > 3 else 3.0
    faults = FaultProbabilities.spread(FAULTS, rate, seed=seed)
    serve(port=port, config=SimulatorConfig(hang_seconds=hang), faults=faults, log_level="critical")


if __name__ == "__main__":
    main(sys.argv[1:])
