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
from collections.abc import AsyncIterator, Callable
from typing import Literal

from llmrelay.catalog import Catalog, overrides_from_settings
from llmrelay.errors import BudgetExceededError, ConfigError, LLMRelayError
from llmrelay.limits.budget import AlertHandler, BudgetRule, Budgets, Reservation
from llmrelay.limits.calls import model_info, output_bound, prompt_tokens, subject_of
from llmrelay.middleware import StackContext
from llmrelay.pipeline import Call, StreamHandler, UnaryHandler
from llmrelay.resolve import Deployment, Route
from llmrelay.types import ChatResponse, StreamEvent

log = logging.getLogger("llmrelay.budget")


class BudgetMiddleware:
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

    def max_cost(self, call: Call) -> tuple[float | None, str]:
        """The most the call can cost in dollars (None: cannot be bounded) and, when
        unbounded, the deployment to blame."""
        worst = 0.0
        for dep in self._deployments(call.request.model):
            info = model_info(self._catalog, dep)
            prompt = prompt_tokens(call, dep, info, self._margin)
            out = output_bound(call, info, prompt)
            cost = None if out is None else self._catalog.max_cost(info, prompt, out)
            if cost is None:
                return None, dep.name
            worst = max(worst, cost)
        return worst, ""

    def _deployments(self, model: str) -> list[Deployment]:
        out: list[Deployment] = []
        seen: set[str] = set()
        pending = [model]
        while pending:
            alias = pending.pop(0)
            if alias in seen:
                continue
            seen.add(alias)
            try:
                route = self._resolve(alias)
            except LLMRelayError:
                if alias == model:
                    raise
                continue  # a fallback that cannot resolve is never sent to either
            out.extend(route.deployments)
            pending.extend(route.fallbacks)
        return out

    async def _reserve(self, call: Call) -> Reservation | None:
        subject = subject_of(call)
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

    async def handle(self, call: Call, call_next: UnaryHandler) -> ChatResponse:
        reservation = await self._reserve(call)
        if reservation is None:
            return await call_next(call)
        try:
            resp = await call_next(call)
        except BaseException:
            await reservation.release()
            raise
        await reservation.settle(resp.cost)
        return resp

    async def handle_stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        reservation = await self._reserve(call)
        if reservation is None:
            async for ev in call_next(call):
                yield ev
            return
        started = False
        try:
            async for ev in call_next(call):
                started = True
                yield ev
        except BaseException:
            if started:
                await reservation.settle(call.meta.get("cost"))
            else:
                await reservation.release()
            raise
        await reservation.settle(call.meta.get("cost"))


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


def build(ctx: StackContext) -> BudgetMiddleware | None:
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
    catalog = ctx.catalog if ctx.catalog is not None else Catalog.load(overrides_from_settings(ctx.settings))
    return BudgetMiddleware(
        budgets, catalog, ctx.resolve, unknown_price=cfg.unknown_price, estimate_margin=cfg.estimate_margin
    )
