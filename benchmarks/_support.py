"""Shared by the benchmark scripts: free ports and servers started in their own process."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence


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
