"""The one place the order of the pipeline's layers is written.

Outermost first::

    ledger → observe → guard → cache → preflight → budget → ratelimit → route → retry → hedge
      → deployment_limit → circuit → observe_attempt → (send)

The ledger is outermost so that it records every call as the caller saw it, refusals
included. Cache (opt-in) answers from stored answers before anything is spent or
limited. Preflight refuses a prompt that fits no deployment before budget and rate
limits reserve anything. Route walks an alias's fallbacks; retry runs the attempts on
one alias, asking the router for a deployment each time, and resumes streams that
break after delivering content; hedge (opt-in) races a slow attempt against another
deployment; deployment_limit charges the provider's rate limits to the deployment each
attempt really uses; circuit sees exactly one upstream request per attempt. Guard (opt-in)
masks or refuses what its policies find in the prompt and the reply. Observe
reports each call as the caller sees it and, innermost, each upstream request (its span,
and the ``traceparent`` header it carries).

Each slot names a layer class with ``from_context(ctx) -> layer | None`` (None when its
settings turn it off). ``docs/architecture.md`` shows this order, and a test checks
that it does. Insert your own layers with ``before(slot, layer)`` / ``after(slot,
layer)`` (``Client(layers=[...])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from llmrelay.errors import ConfigError
from llmrelay.middleware.budget import BudgetMiddleware
from llmrelay.middleware.cache import CacheMiddleware
from llmrelay.middleware.circuit import CircuitMiddleware
from llmrelay.middleware.deployment_limit import DeploymentLimit
from llmrelay.middleware.guard import GuardMiddleware
from llmrelay.middleware.hedge import HedgeMiddleware
from llmrelay.middleware.ledger import LedgerMiddleware
from llmrelay.middleware.observe import AttemptObserver, ObserveMiddleware
from llmrelay.middleware.preflight import Preflight
from llmrelay.middleware.ratelimit import RateLimitMiddleware
from llmrelay.middleware.retry import RetryMiddleware
from llmrelay.middleware.route import RouteMiddleware
from llmrelay.pipeline import Layer
from llmrelay.pipeline.context import StackContext


class LayerFactory(Protocol):
    def from_context(self, ctx: StackContext) -> Layer | None: ...


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    layer: LayerFactory


#: the default pipeline, outermost first
STACK: tuple[Slot, ...] = (
    Slot("ledger", LedgerMiddleware),
    Slot("observe", ObserveMiddleware),
    Slot("guard", GuardMiddleware),
    Slot("cache", CacheMiddleware),
    Slot("preflight", Preflight),
    Slot("budget", BudgetMiddleware),
    Slot("ratelimit", RateLimitMiddleware),
    Slot("route", RouteMiddleware),
    Slot("retry", RetryMiddleware),
    Slot("hedge", HedgeMiddleware),
    Slot("deployment_limit", DeploymentLimit),
    Slot("circuit", CircuitMiddleware),
    Slot("observe_attempt", AttemptObserver),
)


@dataclass(frozen=True, slots=True)
class Placement:
    """A user layer placed next to a named slot."""

    layer: Layer
    slot: str
    where: Literal["before", "after"]


def before(slot: str, layer: Layer) -> Placement:
    """Place ``layer`` just outside the layer at ``slot`` (it sees the call first)."""
    return Placement(layer, slot, "before")


def after(slot: str, layer: Layer) -> Placement:
    """Place ``layer`` just inside the layer at ``slot``."""
    return Placement(layer, slot, "after")


def build_stack(
    ctx: StackContext, placements: Sequence[Placement] = (), slots: Sequence[Slot] = STACK
) -> list[Layer]:
    """The layers of ``slots`` that the settings turn on, with ``placements`` inserted.

    A placement's slot must exist in ``slots`` (it need not be turned on)."""
    names = [s.name for s in slots]
    for p in placements:
        if p.slot not in names:
            raise ConfigError(
                f"cannot place {type(p.layer).__name__} {p.where} {p.slot!r}: no such slot; "
                + f"the slots are {', '.join(names)}"
            )
    stack: list[Layer] = []
    for slot in slots:
        stack.extend(p.layer for p in placements if p.slot == slot.name and p.where == "before")
        layer = slot.layer.from_context(ctx)
        if layer is not None:
            stack.append(layer)
        stack.extend(p.layer for p in placements if p.slot == slot.name and p.where == "after")
    return stack


def slot_names(slots: Sequence[Slot] = STACK) -> tuple[str, ...]:
    return tuple(s.name for s in slots)
