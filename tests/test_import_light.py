"""``import llmrelay`` stays light: the optional and heavy dependencies are imported only
when the feature that needs them is used (a fresh interpreter, so nothing else loaded them)."""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = (
    "opentelemetry",  # a core dependency (the API), imported only when traces are on
    "prometheus_client",
    "structlog",
    "numpy",
    "tiktoken",
    "redis",
    "asyncpg",
    "usearch",
    "aiohttp",
)


def test_import_llmrelay_loads_no_optional_or_heavy_dependency() -> None:
    code = "import sys, json, llmrelay; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(json.loads(out.stdout))
    assert loaded & set(LAZY) == set()
