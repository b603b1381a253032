"""The router: for each attempt, which deployment and which key; afterwards, what it taught us.

``acquire`` filters the alias's deployments (open circuits, keys cooling down after a
429 or refused with 401/403, deployments excluded for this call), prefers the ones this
call has not failed on yet, lets the alias's strategy choose, and hands back a
``Lease``: the deployment with the chosen key on its endpoint. ``release`` returns
the lease with the attempt's result: latency statistics, cool-downs and key removal.

The router composes parts it is given: the retry policy and retry budget (what to
try again, and how much extra traffic is allowed), the health board (latency and
in-flight per deployment), the key pools, and the circuit breakers. One router per
client, shared by the retry, hedge and circuit layers (see ``shared``); its state is per
process and bounded (least recently used deployments are forgotten), except the circuit
breakers, which live in Redis when ``state.redis_url`` is set.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from llmrelay import errors
from llmrelay.resilience.backoff import RetryPolicy
from llmrelay.resilience.breaker import BreakerConfig, BreakerStore, BreakerView, MemoryBreakers
from llmrelay.resilience.budget import RetryBudget
from llmrelay.resilience.health import HealthBoard
from llmrelay.resilience.keys import KeyPool, KeyPools, KeySlot
from llmrelay.resilience.strategies import Candidate, estimate_cost, pick
from llmrelay.resolve import Deployment, Route
from llmrelay.settings import Settings
from llmrelay.state import StateContext
from llmrelay.types import ChatRequest
from llmrelay.types.report import RoutingEvent

if TYPE_CHECKING:
    from llmrelay.catalog import Catalog

log = logging.getLogger("llmrelay.route")
key_log = logging.getLogger("llmrelay.keys")

PriceOf = Callable[[Deployment], "tuple[float, float] | None"]


@dataclass(frozen=True, slots=True)
class Lease:
    """One attempt's claim on a deployment; give it back with ``Router.release``."""

    deployment: Deployment
    slot: KeySlot = field(compare=False)
    started: float
    stream: bool

    @property
    def name(self) -> str:
        return self.deployment.name


@dataclass(frozen=True, slots=True)
class Unavailable:
    """No deployment can take the attempt now. ``wait``: seconds until a rate-limited one
    cools down; None when waiting would not help (open circuits, refused keys)."""

    wait: float | None
    error: errors.LLMRelayError


class Router:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        health: HealthBoard | None = None,
        pools: KeyPools | None = None,
        breakers: BreakerStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        price_of: PriceOf | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.policy = policy if policy is not None else policy_from(self.settings)
        self.budget = budget if budget is not None else budget_from(self.settings)
        self.health = health if health is not None else HealthBoard(self.settings.routing.latency_alpha)
        self.pools = pools if pools is not None else KeyPools()
        self.breakers = breakers
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self._price_of = price_of

    # ------------------------------------------------------------------ state

    def pool(self, dep: Deployment) -> KeyPool:
        return self.pools(dep.name, dep.endpoint.base_url, dep.keys or (dep.endpoint.api_key,))

    def strategy_for(self, alias: str) -> str:
        configured = self.settings.models.get(alias)
        if configured is not None and configured.strategy is not None:
            return configured.strategy
        return self.settings.routing.strategy

    def hedging(self, alias: str) -> bool:
        configured = self.settings.models.get(alias)
        if configured is not None and configured.hedge is not None:
            return configured.hedge
        return self.settings.routing.hedge.enabled

    def hedge_delay(self, name: str) -> float | None:
        """When to hedge a unary call to ``name``: its latency percentile, within the
        configured bounds; None until enough latencies have been seen."""
        cfg = self.settings.routing.hedge
        h = self.health(name)
        if h.samples < cfg.min_samples:
            return None
        p = h.percentile(cfg.percentile)
        if p is None:
            return None
        delay = max(cfg.min_delay, p)
        return min(delay, cfg.max_delay) if cfg.max_delay is not None else delay

    # ------------------------------------------------------------------ per attempt

    async def acquire(
        self,
        route: Route,
        *,
        request: ChatRequest | None,
        stream: bool,
        avoid: Collection[str] = (),
        exclude: Collection[str] = (),
    ) -> Lease | Unavailable:
        views: Mapping[str, BreakerView] = {}
        if self.breakers is not None:
            views = await self.breakers.views([d.name for d in route.deployments])
        now = self.clock()
        ready: list[Deployment] = []
        reasons: list[tuple[str, str, float | None]] = []  # (deployment, why, seconds until ready)
        for dep in route.deployments:
            if dep.name in exclude:
                reasons.append((dep.name, exclude_reason(exclude, dep.name), None))
                continue
            view = views.get(dep.name)
            if view is not None and not view.available:
                why = "circuit open" if view.state == "open" else "circuit probing"
                reasons.append((dep.name, why, view.retry_in))
                continue
            wait = self.pool(dep).available_in(now)
            if wait is None:
                reasons.append((dep.name, "keys refused", None))
            elif wait > 0:
                reasons.append((dep.name, "rate limited", wait))
            else:
                ready.append(dep)
        if not ready:
            return self._unavailable(route.alias, reasons)
        fresh = [d for d in ready if d.name not in avoid] or ready
        dep = self._choose(route.alias, fresh, request, stream)
        slot = self.pool(dep).take(now)
        assert slot is not None  # available_in said a key is usable now, and nothing awaited since
        if slot.key is not dep.endpoint.api_key:
            dep = replace(dep, endpoint=replace(dep.endpoint, api_key=slot.key))
        self.health(dep.name).in_flight += 1
        return Lease(dep, slot, now, stream)

    def _choose(
        self, alias: str, deps: list[Deployment], request: ChatRequest | None, stream: bool
    ) -> Deployment:
        if len(deps) == 1:
            return deps[0]
        cands = []
        for d in deps:
            h = self.health(d.name)
            price = d.price if d.price is not None or self._price_of is None else self._price_of(d)
            cands.append(
                Candidate(
                    d.name,
                    d.weight,
                    h.in_flight,
                    h.speed(stream),
                    estimate_cost(request, price) if request is not None else None,
                )
            )
        chosen = pick(self.strategy_for(alias), cands, self.rng, explore=self.settings.routing.explore)
        return deps[cands.index(chosen)]

    def _unavailable(self, alias: str, reasons: list[tuple[str, str, float | None]]) -> Unavailable:
        # Only a rate limit is worth waiting for: an open circuit means "go elsewhere",
        # which is the route layer's business (fallbacks), not a reason to sit still.
        waits = [w for _, why, w in reasons if w is not None and why == "rate limited"]
        wait = min(waits) if waits else None
        detail = "; ".join(
            f"{name}: {why}" + (f" ({w:.1f} s left)" if w is not None else "") for name, why, w in reasons
        )
        message = f"no deployment of {alias!r} can take the call now — {detail}"
        whys = {why for _, why, _ in reasons}
        error: errors.LLMRelayError
        if "rate limited" in whys or LOCAL_LIMIT in whys:
            error = errors.RateLimitError(message, retry_after=wait)
        elif whys <= {"keys refused"}:
            error = errors.AuthenticationError(
                message + ". Every API key was refused (401/403); fix the keys and restart."
            )
        else:
            soonest = [w for _, _, w in reasons if w is not None]
            error = errors.CircuitOpenError(message, retry_after=min(soonest) if soonest else None)
        return Unavailable(wait, error)

    def release(
        self, lease: Lease, error: BaseException | None = None, *, ttft: float | None = None
    ) -> list[RoutingEvent]:
        """Account for a finished attempt; returns the events worth reporting (cool-downs, removed keys).

        A cancelled attempt (``error`` is a ``CancelledError``) only gives back its slot.
        """
        now = self.clock()
        h = self.health(lease.name)
        h.in_flight = max(0, h.in_flight - 1)
        if error is None:
            if lease.stream:
                h.observe(ttft=ttft if ttft is not None else now - lease.started)
            else:
                h.observe(latency=now - lease.started)
            return []
        if not isinstance(error, errors.LLMRelayError) or refused_locally(error):
            # llmrelay's own limits already know when the deployment frees up: cooling its
            # keys here too would make later calls wait where the caller chose to fail fast
            return []
        pool = self.pool(lease.deployment)
        r = self.settings.routing
        if isinstance(error, errors.RateLimitError):
            quota = isinstance(error, errors.QuotaExceededError)
            seconds = r.quota_cooldown if quota else r.rate_limit_cooldown
            if error.retry_after is not None:
                seconds = max(seconds, error.retry_after) if quota else error.retry_after
            pool.cool(lease.slot, now + seconds)
            key = lease.slot.fingerprint if len(pool) > 1 else None
            log.info(
                "deployment cooling down after a rate limit",
                extra={
                    "event": "cooldown",
                    "deployment": lease.name,
                    "seconds": round(seconds, 3),
                    "key": key,
                },
            )
            return [RoutingEvent("cooldown", lease.name, seconds=round(seconds, 3), key=key)]
        if isinstance(error, errors.AuthenticationError | errors.PermissionDeniedError):
            pool.revoke(lease.slot)
            event = RoutingEvent(
                "key_removed",
                lease.name,
                key=lease.slot.fingerprint,
                status=error.status,
                keys_left=len(pool) - len(pool.revoked),
            )
            key_log.warning(
                "API key refused by the provider; removed from the pool",
                extra={
                    "event": "key_removed",
                    "deployment": lease.name,
                    "key": event.key,
                    "status": event.status,
                    "keys_left": event.keys_left,
                },
            )
            return [event]
        return []


def policy_from(settings: Settings) -> RetryPolicy:
    r = settings.retry
    return RetryPolicy(
        max_attempts=r.max_attempts if r.enabled else 1,
        base_delay=r.base_delay,
        max_delay=r.max_delay,
        max_retry_after=r.max_retry_after,
    )


def budget_from(settings: Settings) -> RetryBudget:
    b = settings.retry.budget
    return RetryBudget(b.ratio, b.min_retries, b.window)


#: why a deployment was excluded from a call (see ``Exclusions``)
LOCAL_LIMIT = "refused by llmrelay's own rate limit"
TOO_SMALL = "context window too small for the prompt"
CIRCUIT_OPEN = "circuit open"


def exclude_reason(exclude: Collection[str], name: str) -> str:
    """Why an attempt may not use ``name``: the retry layer's ``Exclusions`` say why."""
    why = getattr(exclude, "reasons", {}).get(name)
    return why if isinstance(why, str) else "excluded"


class Exclusions(set[str]):
    """Deployments one call may not use, each with the reason (for error messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: dict[str, str] = {}

    def exclude(self, name: str, why: str) -> None:
        self.add(name)
        self.reasons[name] = why


def breakers_for(settings: Settings, state: StateContext) -> BreakerStore | None:
    c = settings.circuit
    if not c.enabled:
        return None
    config = BreakerConfig(c.failure_rate, c.min_volume, c.window, c.cooldown, c.probe_timeout)
    if state.distributed:
        from llmrelay.resilience.breaker_redis import RedisBreakers

        return RedisBreakers(state.redis(), state.key("circuit", ""), config)
    return MemoryBreakers(config)


def catalog_prices(catalog: Catalog | None) -> PriceOf | None:
    """Deployment prices from the model catalog, for deployments without a ``price`` of their own."""
    if catalog is None:
        return None

    def price_of(dep: Deployment) -> tuple[float, float] | None:
        info = catalog.lookup(dep.endpoint.host or dep.endpoint.provider, dep.endpoint.model)
        if info is None or info.input_price is None or info.output_price is None:
            return None
        return (info.input_price, info.output_price)

    return price_of


def shared(settings: Settings, state: StateContext, catalog: Catalog | None = None) -> Router:
    """The client's router (created on first use), shared by its resilience middleware."""
    return state.shared(
        "llmrelay.resilience.router",
        lambda: Router(
            settings,
            policy=policy_from(settings),
            budget=budget_from(settings),
            health=HealthBoard(settings.routing.latency_alpha),
            pools=KeyPools(),
            breakers=breakers_for(settings, state),
            price_of=catalog_prices(catalog),
        ),
    )


def refused_locally(error: BaseException) -> bool:
    """An attempt llmrelay itself refused before sending: an open circuit, or one of its
    own rate limits (``llmrelay.limits`` marks those with a ``local_…`` code)."""
    if isinstance(error, errors.CircuitOpenError):
        return True
    return isinstance(error, errors.RateLimitError) and (error.code or "").startswith("local_")
