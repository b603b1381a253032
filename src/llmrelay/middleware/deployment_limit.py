"""Per-deployment rate limits, charged to the deployment each attempt really goes to.

It sits inside ``retry`` and ``hedge``, where routing has chosen the attempt's
deployment (``call.attempt``), and outside ``circuit``, so a local refusal is
not taken for the deployment failing. In ``fail`` mode the refusal is a local
``RateLimitError`` with ``retry_after``: the retry layer then moves to another
deployment of the alias or waits. Per-key and per-user limits, which apply once per call
whatever the deployment, are ``ratelimit``'s.
"""

from __future__ import annotations

from llmrelay.middleware.ratelimit import RateLimitMiddleware, limiter_for, limits_from
from llmrelay.pipeline.context import StackContext


class DeploymentLimit(RateLimitMiddleware):
    """Per-deployment limits, one admission per attempt."""

    @classmethod
    def from_context(cls, ctx: StackContext) -> DeploymentLimit | None:
        cfg = ctx.settings.limits
        deployments = limits_from(cfg.deployments, cfg.window)
        if not deployments:
            return None
        return cls(
            limiter_for(ctx, cfg),
            ctx.model_catalog(),
            ctx.resolve,
            deployments=deployments,
            output_tokens=cfg.output_tokens,
        )
