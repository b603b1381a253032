"""Two simulator servers with scripted faults, in their own process (the chaos test's upstream).

    python chaos_servers.py '{"rate": 0.3, "hang_seconds": 3}'

prints one JSON line ``{"ports": [a, b]}`` once both listen, then serves until stdin
closes or the process is terminated. Each server injects ``rate`` mixed faults (see
``FAULTS``), with its own seed; ``GET /_simulator/stats`` reports what it served.
Running the servers in another process keeps the test's client and the servers from
sharing one interpreter lock: each side gets a core, as a real deployment would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import uvicorn

from llmrelay.simulator import Fault, FaultProbabilities, Simulator, SimulatorConfig

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


def bound_socket() -> socket.socket:
    # Bound here and handed to uvicorn: a port picked free and bound later could be taken
    # meanwhile by another process on the machine.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def main(options: dict[str, float]) -> None:
    servers = []
    sockets = [bound_socket(), bound_socket()]
    for seed in (11, 22):
        sim = Simulator(
            SimulatorConfig(hang_seconds=options.get("hang_seconds", 3.0)),
            FaultProbabilities.spread(FAULTS, options.get("rate", 0.3), seed=seed),
        )
        config = uvicorn.Config(
            sim.app,
            log_level="critical",
            access_log=False,
            lifespan="off",
            backlog=2048,
        )
        servers.append(uvicorn.Server(config))
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets, strict=True)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):  # a server gave up starting: exit, and the test reports it
            raise SystemExit("a chaos server did not start")
        await asyncio.sleep(0.01)
    print(json.dumps({"ports": [sock.getsockname()[1] for sock in sockets]}), flush=True)
    # stdin closing (the test ending, or dying) stops the servers
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks)
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
