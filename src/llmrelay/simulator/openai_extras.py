"""What OpenAI's two text APIs (Chat Completions and Responses) add around a reply: the
service tier echoed, the automatic prompt cache, and hidden reasoning on reasoning models.

* ``service_tier``: a request's ``"auto"`` (or none) is served as ``"default"``; ``"flex"``,
  ``"priority"``, ``"scale"`` and ``"default"`` are echoed.
* Prompt caching is automatic: a prompt whose first 1,024 tokens or more were seen before
  (by the same model, under the same ``prompt_cache_key``) reports the cached prefix, in
  128-token increments, as OpenAI documents in its prompt-caching guide. Entries live ten
  minutes after their last use (``prompt_cache_retention: "24h"``: a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import GenerationInput
from llmrelay.simulator.openai_checks import OpenAIError, invalid_value
from llmrelay.simulator.prompt_cache import AutoRule, PromptCache, prompt_sequence

TIERS = ("auto", "default", "flex", "scale", "priority")
RETENTIONS = ("in_memory", "24h")
MIN_CACHED = 1024
CACHE_STEP = 128
IN_MEMORY_TTL = 600.0
EXTENDED_TTL = 86_400.0
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


@dataclass(frozen=True, slots=True)
class Extras:
    """The request fields these features read."""

    service_tier: str
    cache_key: str
    retention: str


#: what a request without any of these fields gets
DEFAULT_EXTRAS = Extras("default", "", "in_memory")


def is_reasoning_model(model: str) -> bool:
    """o-series and the gpt-5 family (the Responses API uses the same rule)."""
    return model.rsplit("/", 1)[-1].lower().startswith(REASONING_PREFIXES)


def extras_of(body: Mapping[str, Any]) -> Extras:
    tier = body.get("service_tier")
    if tier is not None and tier not in TIERS:
        raise invalid_value("service_tier", tier, TIERS)
    key = body.get("prompt_cache_key")
    if key is not None and not isinstance(key, str):
        raise OpenAIError(
            f"Invalid type for 'prompt_cache_key': expected a string, but got {type(key).__name__} instead.",
            param="prompt_cache_key",
            code="invalid_type",
        )
    retention = body.get("prompt_cache_retention")
    if retention is not None and retention not in RETENTIONS:
        raise invalid_value("prompt_cache_retention", retention, RETENTIONS)
    served = "default" if tier in (None, "auto") else str(tier)
    return Extras(served, key or "", str(retention or "in_memory"))


def reasoning_effort(body: Mapping[str, Any], model: str) -> str | None:
    """Chat Completions' ``reasoning_effort``: the effort a reasoning model spends (``medium``
    unless asked; None for ``none``); refused on other models, as OpenAI refuses it."""
    effort = body.get("reasoning_effort")
    if not is_reasoning_model(model):
        if effort is not None:
            raise OpenAIError(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                param="reasoning_effort",
                code="unsupported_parameter",
            )
        return None
    if effort is None:
        return "medium"
    if effort not in EFFORTS:
        raise invalid_value("reasoning_effort", effort, EFFORTS)
    return None if effort == "none" else str(effort)


def cached_tokens(
    cache: PromptCache,
    inp: GenerationInput,
    extras: Extras,
    prompt: int,
    conversation: list[str] | None = None,
) -> int:
    """The prompt tokens served from the cache (0, or 1,024 and up in 128-token steps)."""
    if prompt < MIN_CACHED:
        return 0  # too short to cache: skip tokenizing the prompt again
    ttl = EXTENDED_TTL if extras.retention == "24h" else IN_MEMORY_TTL
    rule = AutoRule(MIN_CACHED, CACHE_STEP, ttl)
    hit = cache.longest_prefix(
        f"openai\x00{inp.model}\x00{extras.cache_key}", prompt_sequence(inp, conversation), rule
    )
    return min(hit, prompt - prompt % CACHE_STEP)
