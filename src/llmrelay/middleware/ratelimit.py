"""Rate limits in the pipeline: per key and user here, once per call; per deployment (to
stay under the provider's limits) in ``deployment_limit``, once per attempt on the
deployment routing chose. Both go through a ``Limiter`` (see ``llmrelay.limits.ratelimit``).

A call draws a request, its tokens (prompt + output bound) and a place in flight from
each limit that applies, all at once; when it is over its tokens are settled at what it
really used. In ``wait`` mode it queues (FIFO) up to ``limits.max_wait``; in ``fail``
mode it is refused at once with a ``RateLimitError`` carrying ``retry_after``.

The deployment is the current attempt's (``call.attempt``) when set, else the alias's
first. Without ``max_tokens``, the tokens held are capped at the smallest tpm
limit involved, so a call that does not bound its output is not refused for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from llmrelay.catalog import Catalog
from llmrelay.limits.ratelimit import Claim, Limiter, Limits, Permit
from llmrelay.middleware.sizing import model_info, output_bound, prompt_tokens
from llmrelay.pipeline import Call, Observer, Op
from llmrelay.pipeline.context import StackContext
from llmrelay.resolve import Route
from llmrelay.settings.limits import LimitSettings, RateLimitSettings


class RateLimitMiddleware(Observer):
    # a token count asks nothing of a provider's chat or embedding limits
    ops: ClassVar[frozenset[Op]] = frozenset(("chat", "embed"))

    def __init__(
        self,
        limiter: Limiter,
        catalog: Catalog,
        resolve: Callable[[str | None], Route],
        *,
        deployments: Mapping[str, Limits] | None = None,
        keys: Mapping[str, Limits] | None = None,
        users: Mapping[str, Limits] | None = None,
        output_tokens: int = 4096,
    ) -> None:
        self.limiter = limiter
        self._catalog = catalog
        self._resolve = resolve
        self._deployments = dict(deployments or {})
        self._keys = dict(keys or {})
        self._users = dict(users or {})
        self._output_tokens = output_tokens

    def claims(self, call: Call) -> list[Claim]:
        """What the call asks of each limit that applies to it."""
        if call.route is None:
            call.route = self._resolve(call.model)
        dep = call.deployment()
        subject = call.subject
        found: list[tuple[str, Limits]] = []
        if (lim := self._deployments.get(dep.name)) is not None:
            found.append((f"deployment:{dep.name}", lim))
        if subject.key_id and (lim := self._keys.get(subject.key_id, self._keys.get("*"))) is not None:
            found.append((f"key:{subject.key_id}", lim))
        if subject.user and (lim := self._users.get(subject.user, self._users.get("*"))) is not None:
            found.append((f"user:{subject.user}", lim))
        if not found:
            return []
        tokens = 0
        tpms = [lim.tpm for _, lim in found if lim.tpm is not None]
        if tpms:
            info = model_info(self._catalog, dep)
            prompt = prompt_tokens(call, dep, info)
            out = output_bound(call, info, prompt)
            tokens = prompt + (self._output_tokens if out is None else out)
            if call.op != "chat" or call.chat.max_tokens is None:
                tokens = min(tokens, *tpms)
        return [Claim(key, lim, tokens) for key, lim in found]

    @classmethod
    def from_context(cls, ctx: StackContext) -> RateLimitMiddleware | None:
        """Per-key and per-user limits (per-deployment ones are ``DeploymentLimit``'s)."""
        cfg = ctx.settings.limits
        keys = limits_from(cfg.keys, cfg.window)
        users = limits_from(cfg.users, cfg.window)
        if not (keys or users):
            return None
        return cls(
            limiter_for(ctx, cfg),
            ctx.model_catalog(),
            ctx.resolve,
            keys=keys,
            users=users,
            output_tokens=cfg.output_tokens,
        )

    async def before(self, call: Call) -> Permit | None:
        claims = self.claims(call)
        if not claims:
            return None
        permit = await self.limiter.acquire_all(claims)
        call.report.rate_limit_wait += permit.waited
        return permit

    async def after(self, call: Call, state: Permit | None, error: BaseException | None) -> None:
        if state is not None:
            # unsettled usage (an error) keeps what was reserved: the provider may have counted it
            usage = call.outcome.usage
            await state.settle(usage.total_tokens if usage is not None else None)


def limits_from(entries: Mapping[str, LimitSettings], window: float) -> dict[str, Limits]:
    return {
        name: Limits(rpm=e.rpm, tpm=e.tpm, concurrency=e.concurrency, window=window)
        for name, e in entries.items()
        if e.rpm is not None or e.tpm is not None or e.concurrency is not None
    }


def limiter_for(ctx: StackContext, cfg: RateLimitSettings) -> Limiter:
    """A Limiter on the context's shared state (Redis when configured) with ``cfg``'s waiting rules."""
    backend = None
    if ctx.state.distributed:
        from llmrelay.limits.ratelimit_redis import RedisLimiterBackend

        backend = RedisLimiterBackend(ctx.state.redis(), ctx.state.prefix)
    max_wait = cfg.max_wait if cfg.mode == "wait" else 0.0
    return Limiter(backend, max_wait=max_wait, lease=cfg.lease, poll=cfg.poll)
