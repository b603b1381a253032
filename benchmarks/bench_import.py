"""Wall time of ``python -c "import llmrelay"`` (and of constructing a Client).

Each command runs in a fresh interpreter, R times; we report the median and the
median of a bare ``python -c pass`` for reference.
Run:  .venv/bin/python benchmarks/bench_import.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "bare interpreter": "pass",
    "import llmrelay": "import llmrelay",
    "import llmrelay.cli.main": "import llmrelay.cli.main",
    "Client() constructed": "import llmrelay; llmrelay.Client()",
}


def wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    for code in COMMANDS.values():  # warm the OS page cache and .pyc files
        wall(code)
    print(f"{'command':<45} {'median ms':>10} {'min ms':>8}")
    for label, code in COMMANDS.items():
        times = [wall(code) for _ in range(args.runs)]
        print(f"{label:<45} {statistics.median(times) * 1000:>10.1f} {min(times) * 1000:>8.1f}")


if __name__ == "__main__":
    main()
