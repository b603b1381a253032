"""The pipeline's middleware — one module each — and the one place their order is set.

Outermost first, the full order is::

    ledger → observe → guard → cache → preflight → budget → ratelimit
      → route → retry → hedge → deployment_limit → circuit → (send)

Route walks an alias's fallbacks; retry runs the attempts on one alias, asking the
router for a deployment each time; hedge (opt-in) races a slow attempt against another
deployment; deployment_limit charges the provider's rate limits to the deployment each
attempt really uses; circuit, innermost, sees exactly one upstream request per attempt.

The ledger is outermost so that it records every call as the caller saw it, refusals
and cache hits included.

``STACK`` lists the modules that exist, in that order. Each module exposes
``build(ctx: StackContext) -> Middleware | None`` (None when its settings turn it off).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmrelay.catalog import Catalog
from llmrelay.pipeline import Middleware
from llmrelay.resolve import Route
from llmrelay.settings import Settings
from llmrelay.state import StateContext

#: the modules of ``llmrelay.middleware`` that make up the default pipeline, outermost first
STACK: tuple[str, ...] = (
    "ledger",
    "preflight",
    "budget",
    "ratelimit",
    "route",
    "retry",
    "hedge",
    "deployment_limit",
    "circuit",
)


@dataclass(frozen=True, slots=True)
class StackContext:
    """What a middleware may use: settings, model resolution, shared state backends and
    the model catalog (context windows, prices; ``None`` only when built by hand)."""

    settings: Settings
    resolve: Callable[[str | None], Route]
    state: StateContext
    environ: dict[str, str]
    catalog: Catalog | None = None


def build_stack(ctx: StackContext, names: tuple[str, ...] = STACK) -> list[Middleware]:
    stack: list[Middleware] = []
    for name in names:
        module: Any = importlib.import_module(f"llmrelay.middleware.{name}")
        mw = module.build(ctx)
        if mw is not None:
            stack.append(mw)
    return stack
