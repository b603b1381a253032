"""Shared by the benchmark scripts: free ports, servers started in their own process, and
the best time of a small function in a loop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Sequence

#: a conversation turn of ordinary English, for counting and building benchmarks
TURN = (
    "Could you summarise the attached quarterly report, focusing on revenue growth, "
    "the main risks the board identified, and what changed since the last quarter? "
)


def best_us(fn: Callable[[], object], repeat: int = 5, number: int = 200) -> float:
    """The best of ``repeat`` runs of ``number`` calls to ``fn``, in µs per call."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return min(runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_and_wait(args: Sequence[str], port: int, what: str = "server") -> subprocess.Popen[bytes]:
    """Start ``args`` and return once it accepts connections on ``port`` (20 s at most)."""
    proc = subprocess.Popen(list(args))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not start on port {port}")
