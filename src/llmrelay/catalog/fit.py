"""Fit a request to the model that will serve it, from the catalog's capability marks.

The protocol adapters refuse what a *protocol* has no parameter for (``top_k`` on OpenAI,
``prompt_cache.key`` on Anthropic). What depends on the *model* is decided here, before
the adapter translates, once per attempt (so a fallback to another model is fitted
afresh):

* ``no_sampling`` models refuse temperature, top_p, top_k and logprobs;
* ``verbosity`` is refused where the model lacks the mark;
* ``responses_only`` models are refused outside the Responses protocol;
* reasoning: an effort the model does not take (``effort_<level>`` marks) is refused; on
  models that take token budgets only (``thinking_budget`` without ``thinking_adaptive``
  or ``thinking_level``) an effort becomes the budget ``EFFORT_BUDGETS`` gives it;
  ``effort='none'`` on a model that does not reason is dropped (nothing to turn off);
* ``PromptCache.auto`` gets the model's minimum cacheable length (``cache_min_*``).

An unknown model (no catalog entry) is sent as asked: the provider has the last word.
"""

from __future__ import annotations

from dataclasses import replace

from llmrelay.catalog.entries import CACHE_MIN_MARKS, EFFORT_MARKS, ModelInfo
from llmrelay.errors import UnsupportedFeatureError
from llmrelay.types import ChatRequest
from llmrelay.types.fields import EFFORT_BUDGETS, Reasoning

RESPONSES_PROTOCOL = "responses"
_SAMPLING = ("temperature", "top_p", "top_k", "logprobs", "top_logprobs")


def _refuse(field: str, why: str, info: ModelInfo, provider: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"ChatRequest.{field} is set, but {provider} model {info.model} cannot honour it: {why}",
        provider=provider,
        model=info.model,
    )


def fit_request(req: ChatRequest, info: ModelInfo | None, protocol: str, provider: str) -> ChatRequest:
    """``req`` as the model can take it, or ``UnsupportedFeatureError`` naming the field,
    the provider and the model. ``req`` itself is not changed."""
    if info is None:
        return req
    caps = info.capabilities
    if "responses_only" in caps and protocol != RESPONSES_PROTOCOL:
        raise UnsupportedFeatureError(
            f"{provider} model {info.model} is served by OpenAI's Responses API only; use the "
            f"openai-responses host (model 'openai-responses/{info.model}', or provider: openai-responses "
            "in the deployment)",
            provider=provider,
            model=info.model,
        )
    if "no_sampling" in caps:
        for name in _SAMPLING:
            value = getattr(req, name)
            if value is not None and value is not False:
                raise _refuse(
                    name,
                    "this reasoning model takes no sampling parameters (temperature, top_p, top_k, "
                    "logprobs); leave them unset, or steer it with reasoning=Reasoning(effort=...)",
                    info,
                    provider,
                )
    if req.verbosity is not None and "verbosity" not in caps:
        raise _refuse("verbosity", "only GPT-5 family models take verbosity", info, provider)
    reasoning = _fit_reasoning(req.reasoning, info, provider) if req.reasoning is not None else None
    pc = req.prompt_cache
    if pc is not None and pc.auto is not None and pc.min_tokens is None:
        minimum = max((n for mark, n in CACHE_MIN_MARKS.items() if mark in caps), default=None)
        if minimum is not None:
            pc = replace(pc, min_tokens=minimum)
    if reasoning is req.reasoning and pc is req.prompt_cache:
        return req
    return replace(req, reasoning=reasoning, prompt_cache=pc)


def _fit_reasoning(r: Reasoning, info: ModelInfo, provider: str) -> Reasoning | None:
    caps = info.capabilities
    if "reasoning" not in caps:
        if r.effort == "none" and r.budget_tokens in (None, 0):
            return None  # thinking off on a model that never thinks: nothing to send
        raise _refuse(
            "reasoning",
            "the model does not reason; leave reasoning unset or choose a reasoning model",
            info,
            provider,
        )
    efforts = {mark[len("effort_") :] for mark in caps & EFFORT_MARKS}
    by_budget = "thinking_budget" in caps
    levels = bool(efforts) and ("thinking_adaptive" in caps or "thinking_level" in caps or not by_budget)
    if r.budget_tokens is not None and not by_budget:
        raise _refuse(
            "reasoning.budget_tokens",
            "the model takes reasoning effort levels, not token budgets"
            + (f" ({', '.join(_ordered(efforts))})" if efforts else ""),
            info,
            provider,
        )
    if r.effort is None:
        if r.budget_tokens is None and by_budget and not levels:
            # a model that takes budgets only needs one to think: the medium budget
            return replace(r, budget_tokens=EFFORT_BUDGETS["medium"])
        return r
    if r.effort == "none" and "thinking_required" in caps:
        raise _refuse(
            "reasoning.effort", "the model always thinks; 'none' cannot turn it off", info, provider
        )
    if levels:
        if r.effort not in efforts:
            raise _refuse(
                "reasoning.effort",
                f"the model takes efforts {', '.join(_ordered(efforts))}, not {r.effort!r}",
                info,
                provider,
            )
        return r
    if by_budget and r.budget_tokens is None:
        return replace(r, effort=None, budget_tokens=EFFORT_BUDGETS[r.effort])
    if not by_budget:
        raise _refuse("reasoning.effort", "the model always reasons; its depth cannot be set", info, provider)
    return r


def _ordered(efforts: set[str]) -> list[str]:
    order = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
    return [e for e in order if e in efforts]


def thinking_budget(req: ChatRequest, info: ModelInfo | None) -> int:
    """The thinking budget the request will carry on this model, as ``fit_request`` would
    set it (0 when none): what a protocol that counts thinking inside an output limit it
    fills in itself (Anthropic, with ``max_tokens`` unset) adds to that limit. Never raises:
    a request the model cannot take is refused by ``fit_request``."""
    r = req.reasoning
    if r is None:
        return 0
    if r.budget_tokens is not None:
        return r.budget_tokens
    if info is None:
        return 0
    caps = info.capabilities
    budget_only = "thinking_budget" in caps and not caps & {"thinking_adaptive", "thinking_level"}
    if not budget_only or "reasoning" not in caps or caps & EFFORT_MARKS:
        return 0
    return EFFORT_BUDGETS.get(r.effort or "medium", 0)
