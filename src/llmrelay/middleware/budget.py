"""Budgets in the pipeline: reserve a call's maximum cost before it is sent, settle after.

The maximum is the dearest of the alias's deployments and its fallbacks: every prompt
token at the input price plus the output bound (``max_tokens``, else the model's maximum
output, else the rest of its context window) at the output price. A prompt whose count
is an estimate is raised by ``budgets.estimate_margin`` first. A call whose maximum
cannot be bounded (a model with no price, or nothing bounding its output) is refused
under ``unknown_price: refuse`` (the default) and passes uncounted under ``allow``.

A unary call that fails releases its reservation (providers do not bill errors); a stream
that fails after it started, or is closed early, is counted at its reported cost or, if
none arrived, at the full reservation, since the provider may have billed what it sent.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from llmrelay.catalog import Catalog
from llmrelay.errors import BudgetExceededError, ConfigError, LLMRelayError
from llmrelay.limits.budget import NANO, Account, AlertHandler, BudgetRule, Budgets, Reservation
from llmrelay.middleware.sizing import model_info, output_bound, prompt_tokens
from llmrelay.observe.record import BudgetLevel
from llmrelay.pipeline import Call, Observer, Op
from llmrelay.pipeline.context import StackContext
from llmrelay.resilience.lru import Bounded
from llmrelay.resolve import Deployment, Route

log = logging.getLogger("llmrelay.budget")

#: seconds between two reads of one budget account for the spend gauges
REPORT_EVERY = 1.0


@dataclass(slots=True)
class BudgetSpend:
    """Left on ``call.ext`` by a layer that reports budgets (the observe layer, with
    metrics on): the budget layer fills ``levels`` when it settles the call. Without it
    nothing is read back, so budgets cost no extra backend reads when nobody reports them."""

    levels: list[BudgetLevel] = field(default_factory=list)


def budget_label(rules: Sequence[BudgetRule], account: Account) -> tuple[str, bool]:
    """The account's ``budget`` metric label, and whether it is one of many (a budget
    applying to each key, user, team or tag separately). Bounded by the configuration:
    team and tag names a rule gives, never a key or user id."""
    if account.scope == "global":
        return "global", False
    for rule in rules:
        if rule.scope == account.scope and rule.period == account.period and rule.name == account.value:
            return (account.value if account.scope in ("team", "tag") else "named"), False
    return "each", True


class BudgetMiddleware(Observer):
    ops: ClassVar[frozenset[Op]] = frozenset(("chat", "embed"))

    def __init__(
        self,
        budgets: Budgets,
        catalog: Catalog,
        resolve: Callable[[str | None], Route],
        *,
        unknown_price: Literal["refuse", "allow"] = "refuse",
        estimate_margin: float = 0.25,
    ) -> None:
        self.budgets = budgets
        self._catalog = catalog
        self._resolve = resolve
        self._unknown_price = unknown_price
        self._margin = estimate_margin
        # when each account was last read for the gauges: at most one backend read per
        # account per REPORT_EVERY seconds, so metrics never add a Redis round trip per call
        self._read_at: Bounded[str, list[float]] = Bounded(4096)

    def max_cost(self, call: Call) -> tuple[float | None, str]:
        """The most the call can cost in dollars (None: cannot be bounded) and, when
        unbounded, the deployment to blame."""
        worst = 0.0
        for dep in self._deployments(call):
            info = model_info(self._catalog, dep)
            prompt = prompt_tokens(call, dep, info, self._margin)
            out = output_bound(call, info, prompt)
            cost = None if out is None else self._catalog.max_cost(info, prompt, out)
            if cost is None:
                return None, dep.name
            worst = max(worst, cost)
        return worst, ""

    def _deployments(self, call: Call) -> list[Deployment]:
        first = call.route if call.route is not None else self._resolve(call.model)
        out: list[Deployment] = list(first.deployments)
        seen: set[str] = {first.alias}
        pending = list(first.fallbacks)
        while pending:
            alias = pending.pop(0)
            if alias in seen:
                continue
            seen.add(alias)
            try:
                route = self._resolve(alias)
            except LLMRelayError:
                continue  # a fallback that cannot resolve is never sent to either
            out.extend(route.deployments)
            pending.extend(route.fallbacks)
        return out

    @classmethod
    def from_context(cls, ctx: StackContext) -> BudgetMiddleware | None:
        cfg = ctx.settings.budgets
        if not cfg.rules:
            return None
        rules = [BudgetRule(r.scope, r.period, r.hard, r.soft, r.name) for r in cfg.rules]
        backend = None
        if ctx.state.distributed:
            from llmrelay.limits.budget_redis import RedisBudgetBackend

            backend = RedisBudgetBackend(ctx.state.redis(), ctx.state.prefix)
        on_alert = load_callback(cfg.alert_callback) if cfg.alert_callback else None
        budgets = Budgets(rules, backend, on_alert=on_alert, lease=cfg.lease)
        return cls(
            budgets,
            ctx.model_catalog(),
            ctx.resolve,
            unknown_price=cfg.unknown_price,
            estimate_margin=cfg.estimate_margin,
        )

    async def before(self, call: Call) -> Reservation | None:
        subject = call.subject
        if not self.budgets.applies(subject):
            return None
        cost, blame = self.max_cost(call)
        if cost is None:
            if self._unknown_price == "allow":
                log.warning("budget: %s has no known price or output bound; the call is not counted", blame)
                cost = 0.0
            else:
                raise BudgetExceededError(
                    f"a budget applies to this call but its cost cannot be bounded: {blame} has no known "
                    "price or output limit. Set max_tokens, add the model's prices to the catalog "
                    "(catalog.models in the settings), or set budgets.unknown_price: allow",
                    code="budget_price_unknown",
                )
        return await self.budgets.reserve(subject, cost)

    async def after(self, call: Call, state: Reservation | None, error: BaseException | None) -> None:
        if state is None:
            return
        out = call.outcome
        if error is None:
            await state.settle(out.cost)
        elif call.stream and out.started:
            # the provider may have billed what it streamed: its reported cost, else the reservation
            await state.settle(out.cost)
        else:
            await state.release()  # providers do not bill a request that failed
        watch = call.get(BudgetSpend)
        if watch is not None and state.accounts:
            try:
                await self._report(watch, state.accounts)
            except Exception as exc:  # a gauge is never worth failing a call that was settled
                log.debug("budget: could not read what the budgets hold for the metrics: %r", exc)

    async def _report(self, watch: BudgetSpend, accounts: tuple[Account, ...]) -> None:
        """What each budget holds now: one backend read per budget (from memory, or a Redis
        round trip); from a shared backend at most once per ``REPORT_EVERY`` seconds for
        each account, and a gauge that skips a call keeps its last value."""
        rules = self.budgets.rules
        throttle = not self.budgets.backend.local
        now = time.monotonic()
        for a in accounts:
            if throttle:
                last = self._read_at.get_or_make(a.id, lambda: [-REPORT_EVERY])
                if now - last[0] < REPORT_EVERY:
                    continue
                last[0] = now
            spent, _reserved = await self.budgets.backend.read(a)
            label, each = budget_label(rules, a)
            watch.levels.append(
                BudgetLevel(
                    a.scope,
                    label,
                    a.period,
                    a.id.rsplit(":", 1)[-1],
                    spent / NANO,
                    None if a.hard is None else a.hard / NANO,
                    None if a.soft is None else a.soft / NANO,
                    each,
                )
            )


def load_callback(path: str) -> AlertHandler:
    """``package.module:function`` as a callable, or ``ConfigError`` naming what is wrong."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"budgets.alert_callback: cannot import {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"budgets.alert_callback: {module_name!r} has no callable {attr!r}")
    handler: AlertHandler = fn
    return handler
