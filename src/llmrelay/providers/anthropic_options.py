"""Anthropic request options: the API version, max_tokens, extended thinking and the
fields the Messages API has no parameter for (refused before sending).

Rules from Anthropic's "Extended thinking", "Adaptive thinking" and "Effort" guides: a
thinking budget is at least 1,024 tokens and below max_tokens; thinking is incompatible
with a changed temperature or top_k, top_p below 0.95 and forced tool use; adaptive
thinking takes ``output_config.effort`` (low…max).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from llmrelay import errors
from llmrelay.providers.request_fields import refuse_cache_fields, refuse_set, unsupported, wants_logprobs
from llmrelay.types import ChatRequest, ForcedTool
from llmrelay.wire import Endpoint

DEFAULT_VERSION = "2023-06-01"
#: the API version that removed temperature, top_p and top_k
SAMPLING_REMOVED_IN = "2026-10-21"
DEFAULT_MAX_TOKENS = 4096
PROTOCOL = "anthropic"
#: the smallest thinking budget Anthropic accepts (extended thinking guide)
MIN_THINKING_BUDGET = 1024
#: output_config.effort levels (effort guide: max from Opus/Sonnet 4.6, xhigh from Opus 4.7)
_EFFORTS = frozenset(("low", "medium", "high", "xhigh", "max"))
#: ChatRequest.service_tier -> Anthropic's service_tier ("auto" may use Priority Tier capacity)
SERVICE_TIERS: Mapping[str, str] = MappingProxyType({"auto": "auto", "default": "standard_only"})
_NO_SUCH_FIELD = (
    (
        "verbosity",
        "Anthropic's Messages API has no verbosity parameter; say how long to answer in the prompt",
    ),
    ("safety_settings", "safety settings are Gemini's; Anthropic has no per-request safety filters"),
)


def reject_unsupported(req: ChatRequest, ep: Endpoint) -> None:
    # seed is a best-effort hint everywhere, so dropping it changes no contract; a penalty
    # changes the output distribution, so silently ignoring a non-zero one would mislead.
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(req, name)
        if value:
            raise unsupported_feature(
                f"{name}={value} is not supported by Anthropic's Messages API; leave it unset (or 0) "
                "for Anthropic deployments",
                ep,
            )
    refuse_set(req, _NO_SUCH_FIELD, ep, PROTOCOL)
    if wants_logprobs(req):
        name = "logprobs" if req.logprobs else "top_logprobs"
        raise unsupported(name, "Anthropic's Messages API returns no log probabilities", ep, PROTOCOL)
    refuse_cache_fields(
        req,
        ("key", "retention"),
        "prompt_cache_key and prompt_cache_retention are OpenAI's; Anthropic caches at cache_control "
        "breakpoints: mark Message.cache / Tool.cache / TextPart.cache, or set PromptCache(auto='5m')",
        ep,
        PROTOCOL,
    )
    refuse_cache_fields(
        req,
        ("cached_content",),
        "a cachedContents resource is Gemini's; Anthropic caches at cache_control breakpoints",
        ep,
        PROTOCOL,
    )
    if req.service_tier is not None and req.service_tier not in SERVICE_TIERS:
        raise unsupported(
            "service_tier",
            f"Anthropic takes service_tier 'auto' (Priority Tier when available) or 'default' (sent as "
            f"'standard_only'), not {req.service_tier!r}",
            ep,
            PROTOCOL,
        )
    version = api_version(ep)
    if version >= SAMPLING_REMOVED_IN:
        # API version 2026-10-21 answers 400 to any temperature/top_p/top_k, even at their defaults.
        for name in ("temperature", "top_p", "top_k"):
            if getattr(req, name) is not None:
                raise unsupported_feature(
                    f"{name} is not accepted by Anthropic API version {version} (removed in "
                    f"{SAMPLING_REMOVED_IN}); leave it unset, or pin the deployment option "
                    f"version='{DEFAULT_VERSION}'",
                    ep,
                )


def unsupported_feature(message: str, ep: Endpoint) -> errors.UnsupportedFeatureError:
    return errors.UnsupportedFeatureError(message, provider=ep.host or "anthropic", model=ep.model or None)


def api_version(ep: Endpoint) -> str:
    return str(ep.options.get("version", DEFAULT_VERSION))


def max_tokens(req: ChatRequest, ep: Endpoint, thinking: Mapping[str, Any] | None = None) -> int:
    default = ep.options.get("default_max_tokens", DEFAULT_MAX_TOKENS)
    budget = thinking.get("budget_tokens") if thinking is not None else None
    value = req.max_tokens if req.max_tokens is not None else default
    # 0 is valid: Anthropic then only writes the prompt cache and generates nothing.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.InvalidRequestError(
            f"max_tokens must be a non-negative integer for Anthropic (it is required), got {value!r}"
        )
    if isinstance(budget, int):
        if req.max_tokens is None:
            # the thinking budget is part of max_tokens: leave the default room for the answer
            return budget + value
        if value <= budget:
            raise errors.InvalidRequestError(
                f"max_tokens={value} must be greater than reasoning.budget_tokens={budget} for "
                f"{ep.host or PROTOCOL} model {ep.model}: Anthropic counts thinking within max_tokens; "
                "raise max_tokens or lower the budget",
                provider=ep.host or PROTOCOL,
                model=ep.model or None,
            )
    return value


def thinking(req: ChatRequest, ep: Endpoint) -> tuple[dict[str, Any] | None, str | None]:
    """``(thinking, output_config.effort)`` for ``req.reasoning`` (extended thinking, adaptive
    thinking and effort guides): a budget is ``{"type": "enabled", "budget_tokens": n}``, an
    effort without a budget is adaptive thinking with that effort, ``effort='none'`` or a
    zero budget is no thinking. The catalog turns efforts into budgets for models that take
    budgets only (``llmrelay.catalog.fit``)."""
    r = req.reasoning
    if r is None:
        return None, None
    if r.summary_mode not in (None, "auto"):
        raise unsupported(
            "reasoning.summary",
            "Claude returns its thinking as it is (summarised on Claude 4 models), with no choice of "
            "summary style; use summary=True or leave it unset",
            ep,
            PROTOCOL,
        )
    if r.effort is not None and r.effort != "none" and r.effort not in _EFFORTS:
        raise unsupported(
            "reasoning.effort", "Anthropic's efforts are low, medium, high, xhigh and max", ep, PROTOCOL
        )
    budget = r.budget_tokens
    if r.effort == "none" or budget == 0:
        if budget or (r.effort not in (None, "none")):
            raise errors.InvalidRequestError(
                "reasoning asks for both no thinking and some thinking; give either effort='none' or a budget"
            )
        return None, None
    thinking: dict[str, Any]
    if budget is not None:
        if budget < MIN_THINKING_BUDGET:
            raise unsupported(
                "reasoning.budget_tokens",
                f"Anthropic's smallest thinking budget is {MIN_THINKING_BUDGET} tokens, got {budget}",
                ep,
                PROTOCOL,
            )
        thinking = {"type": "enabled", "budget_tokens": budget}
    else:
        thinking = {"type": "adaptive"}
    _check_thinking_rules(req, ep)
    return thinking, r.effort


def _check_thinking_rules(req: ChatRequest, ep: Endpoint) -> None:
    """Extended thinking is incompatible with a changed temperature or top_k, a top_p below
    0.95 and forced tool use (extended thinking guide, "Feature compatibility")."""
    why = None
    if req.temperature is not None and req.temperature != 1:
        why = ("temperature", f"temperature={req.temperature} (leave it unset or 1)")
    elif req.top_k is not None:
        why = ("top_k", "top_k (leave it unset)")
    elif req.top_p is not None and req.top_p < 0.95:
        why = ("top_p", f"top_p={req.top_p} (use 0.95 to 1, or leave it unset)")
    elif req.tool_choice == "required" or isinstance(req.tool_choice, ForcedTool):
        why = ("tool_choice", f"tool_choice={req.tool_choice!r} (use 'auto' or 'none')")
    if why is not None:
        raise unsupported(
            why[0], f"Anthropic does not allow {why[1]} while thinking is on (reasoning is set)", ep, PROTOCOL
        )
