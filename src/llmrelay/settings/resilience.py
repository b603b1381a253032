"""Configuration of the resilience layer: the ``retry``, ``circuit`` and ``routing`` sections.

These models live here rather than in ``llmrelay.settings`` so that the resilience
configuration reads as one piece; ``Settings`` mounts them. The fallback graph of the
configured aliases is checked by ``fallback_problem`` when settings load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

StrategyName: TypeAlias = Literal["weighted_random", "least_in_flight", "lowest_latency", "lowest_cost"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryBudgetSettings(_Strict):
    """Retries (and hedges, and first attempts on a fallback alias) as a share of recent calls.

    A retry is allowed while ``retries < ratio * calls + min_retries`` over the last
    ``window`` seconds, so an outage multiplies upstream traffic by at most ``1 + ratio``.
    """

    ratio: float = Field(default=0.5, ge=0)
    min_retries: int = Field(default=10, ge=0, description="per window, so a quiet client can still retry")
    window: float = Field(default=10.0, gt=0)


class RetrySettings(_Strict):
    enabled: bool = Field(default=True, description="false: one attempt per alias (routing still applies)")
    max_attempts: int = Field(default=4, ge=1, description="upstream attempts per alias, the first included")
    base_delay: float = Field(default=0.5, gt=0, description="first backoff ceiling; doubles per retry")
    max_delay: float = Field(default=8.0, gt=0, description="ceiling of one backoff step")
    max_retry_after: float = Field(
        default=60.0, ge=0, description="a longer Retry-After is not waited for: the error surfaces"
    )
    deadline: float | None = Field(
        default=None, gt=0, description="seconds for a whole call, retries and waits included"
    )
    budget: RetryBudgetSettings = Field(default_factory=RetryBudgetSettings)
    resume: Literal["off", "deterministic", "always"] = Field(
        default="deterministic",
        description="resume a stream that breaks after delivering content: 'deterministic' only for "
        "requests with temperature 0 or a seed (the new stream must repeat what was delivered, "
        "checked), 'always' for any request (still checked), 'off' to surface StreamTruncatedError",
    )

    @model_validator(mode="after")
    def _delays(self) -> RetrySettings:
        if self.max_delay < self.base_delay:
            raise ValueError(
                f"retry.max_delay ({self.max_delay}) must be >= retry.base_delay ({self.base_delay})"
            )
        return self


class CircuitSettings(_Strict):
    """A breaker per deployment: opens when the failure rate over ``window`` seconds reaches
    ``failure_rate`` with at least ``min_volume`` results; after ``cooldown`` one probe
    (allowed ``probe_timeout`` seconds) decides between closing and opening again."""

    enabled: bool = True
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    min_volume: int = Field(default=20, ge=1)
    window: float = Field(default=30.0, gt=0)
    cooldown: float = Field(default=30.0, gt=0)
    probe_timeout: float = Field(default=60.0, gt=0)


class HedgeSettings(_Strict):
    """Opt-in hedged requests (non-streaming calls): after the deployment's ``percentile``
    latency, the same request goes to another deployment; the first answer wins."""

    enabled: bool = False
    percentile: float = Field(default=0.95, gt=0, lt=1)
    min_samples: int = Field(default=20, ge=1, description="latencies seen before hedging starts")
    min_delay: float = Field(default=0.05, ge=0)
    max_delay: float | None = Field(default=None, gt=0)


class RoutingSettings(_Strict):
    strategy: StrategyName = "weighted_random"
    rate_limit_cooldown: float = Field(
        default=5.0, ge=0, description="how long a 429 without Retry-After takes a key/deployment out"
    )
    quota_cooldown: float = Field(default=300.0, ge=0, description="the same for an exhausted quota")
    latency_alpha: float = Field(default=0.3, gt=0, le=1, description="EWMA weight of the newest latency")
    explore: float = Field(
        default=0.05, ge=0, le=1, description="lowest_latency: share of calls sent to a random deployment"
    )
    hedge: HedgeSettings = Field(default_factory=HedgeSettings)


class PriceSettings(_Strict):
    """A deployment's price in USD per million tokens (for the ``lowest_cost`` strategy)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


def fallback_problem(graph: Mapping[str, Sequence[str]]) -> str | None:
    """The first fallback cycle in ``graph`` (alias -> aliases it may fall back to), described,
    or None. Targets outside ``graph`` (``local``, ``host/model``) end a path."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> str | None:
        if node in path:
            cycle = [*path[path.index(node) :], node]
            return f"models.{cycle[0]}: fallback cycle " + " → ".join(cycle)
        if node in done or node not in graph:
            return None
        path.append(node)
        for nxt in graph[node]:
            found = visit(nxt, path)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for alias in graph:
        found = visit(alias, [])
        if found:
            return found
    return None
