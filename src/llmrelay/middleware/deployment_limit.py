"""Per-deployment rate limits, charged to the deployment each attempt really goes to.

It sits inside ``retry`` and ``hedge``, where routing has chosen the attempt's
deployment (``call.meta["deployment"]``), and outside ``circuit``, so a local refusal is
not taken for the deployment failing. In ``fail`` mode the refusal is a local
``RateLimitError`` with ``retry_after``: the retry layer then moves to another
deployment of the alias or waits. Per-key and per-user limits, which apply once per call
whatever the deployment, are ``ratelimit``'s.
"""

from __future__ import annotations

from llmrelay.catalog import Catalog, overrides_from_settings
from llmrelay.middleware import StackContext
from llmrelay.middleware.ratelimit import RateLimitMiddleware, limiter_for, limits_from


def build(ctx: StackContext) -> RateLimitMiddleware | None:
    cfg = ctx.settings.limits
    deployments = limits_from(cfg.deployments, cfg.window)
    if not deployments:
        return None
    catalog = ctx.catalog if ctx.catalog is not None else Catalog.load(overrides_from_settings(ctx.settings))
    return RateLimitMiddleware(
        limiter_for(ctx, cfg), catalog, ctx.resolve, deployments=deployments, output_tokens=cfg.output_tokens
    )
