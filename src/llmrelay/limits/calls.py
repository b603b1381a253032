"""What the budget and rate-limit middleware need to know about a call before it is sent:
who it is for, where it goes, and how many tokens (and so dollars) it can use at most."""

from __future__ import annotations

import math

from llmrelay.catalog import Catalog, ModelInfo
from llmrelay.ledger.record import key_label
from llmrelay.limits.budget import Subject
from llmrelay.pipeline import Call
from llmrelay.resolve import Deployment, Route
from llmrelay.tokens import TokenCount, count_for

#: where prompt counts are kept on ``call.meta``, per deployment, so each is made once
_COUNTS = "prompt_tokens_by_deployment"


def subject_of(call: Call) -> Subject:
    """The key (``call.meta["key"]``, set by the gateway, or ``metadata["key"]``; named as
    in the ledger, a Secret by its fingerprint), user and tags."""
    req = call.request
    key = call.meta.get("key")
    if key is None and req.metadata:
        key = req.metadata.get("key")
    return Subject(key=key_label(key), user=req.user or None, tags=tuple(req.tags))


def deployment_of(call: Call, route: Route) -> Deployment:
    """The deployment routing chose (``call.meta["deployment"]``), else the alias's first."""
    chosen = call.meta.get("deployment")
    if isinstance(chosen, Deployment):
        return chosen
    if isinstance(chosen, str):
        for dep in route.deployments:
            if dep.name == chosen:
                return dep
    return route.deployments[0]


def model_info(catalog: Catalog, dep: Deployment) -> ModelInfo | None:
    ep = dep.endpoint
    return catalog.lookup(ep.host or ep.provider, ep.model)


def prompt_tokens(call: Call, dep: Deployment, info: ModelInfo | None, margin: float = 0.0) -> int:
    """Prompt tokens on ``dep``; an estimate (not an exact count) is raised by ``margin``
    so that what is reserved stays an upper bound. Counted once per call and deployment."""
    counts: dict[str, TokenCount] = call.meta.setdefault(_COUNTS, {})
    count = counts.get(dep.name)
    if count is None:
        ep = dep.endpoint
        count = counts[dep.name] = count_for(call.request, info, ep.provider, ep.model)
    return count.tokens if count.exact else math.ceil(count.tokens * (1 + margin))


def output_bound(call: Call, info: ModelInfo | None, prompt: int) -> int | None:
    """The most output the call can produce: its ``max_tokens``, else the model's maximum
    output, else what is left of its context window; None when nothing bounds it."""
    if call.request.max_tokens is not None:
        return call.request.max_tokens
    if info is None:
        return None
    if info.max_output:
        return info.max_output
    return max(info.context_window - prompt, 0)
