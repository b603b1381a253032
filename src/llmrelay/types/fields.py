"""First-class request options beyond sampling: reasoning, prompt caching, safety, logprobs.

Each is a frozen value that every protocol adapter maps to its own wire shape (or refuses
before sending, naming the field and the provider); ``docs/library.md`` has the table of
which provider honours which field. Values are checked in ``llmrelay.validation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeAlias

#: how hard a reasoning model thinks. OpenAI takes none…xhigh (which ones depends on the
#: model), Anthropic low…max with adaptive thinking, Gemini 3 minimal…high as thinkingLevel;
#: where a model only takes a token budget, the effort is turned into one (``EFFORT_BUDGETS``).
ReasoningEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
REASONING_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
ReasoningSummary: TypeAlias = Literal["auto", "concise", "detailed"]
REASONING_SUMMARIES: frozenset[str] = frozenset(("auto", "concise", "detailed"))

#: the thinking budget an effort stands for on models that take budgets only (Anthropic
#: before adaptive thinking, Gemini 2.5). Anthropic's smallest budget is 1,024 tokens and
#: Gemini 2.5 Flash's largest 24,576, so ``minimal`` and ``xhigh`` sit at those bounds;
#: ``none`` turns thinking off.
EFFORT_BUDGETS: Mapping[str, int] = MappingProxyType(
    {
        "none": 0,
        "minimal": 1024,
        "low": 2048,
        "medium": 8192,
        "high": 16384,
        "xhigh": 24576,
        "max": 32768,
    }
)

CacheTTL: TypeAlias = Literal["5m", "1h"]
CACHE_TTLS: tuple[str, ...] = ("5m", "1h")
CacheRetention: TypeAlias = Literal["in_memory", "24h"]
CACHE_RETENTIONS: frozenset[str] = frozenset(("in_memory", "24h"))

#: OpenAI's processing tiers; Anthropic takes ``auto`` and ``default`` (sent as its
#: ``standard_only``), Gemini none.
ServiceTier: TypeAlias = Literal["auto", "default", "flex", "priority"]
SERVICE_TIERS: frozenset[str] = frozenset(("auto", "default", "flex", "priority"))
Verbosity: TypeAlias = Literal["low", "medium", "high"]
VERBOSITIES: frozenset[str] = frozenset(("low", "medium", "high"))


@dataclass(frozen=True, slots=True)
class Reasoning:
    """How a reasoning model thinks: an ``effort`` level, a token ``budget_tokens``, or both
    unset for the model's default; ``summary`` asks for the reasoning text back (a summary
    on OpenAI's Responses API, thought summaries on Gemini; Anthropic always returns its
    thinking text, so only ``True``/``"auto"`` are accepted there).

    ``budget_tokens`` is honoured by Anthropic (at least 1,024 and below ``max_tokens``) and
    Gemini (``thinkingBudget``; 0 turns thinking off where the model allows it); OpenAI
    takes effort levels only.
    """

    effort: ReasoningEffort | None = None
    budget_tokens: int | None = None
    summary: ReasoningSummary | bool | None = None

    @property
    def summary_mode(self) -> str | None:
        """The summary asked for as the wire names it (``True`` is ``"auto"``), or None."""
        if self.summary is True:
            return "auto"
        if self.summary is False or self.summary is None:
            return None
        return self.summary


@dataclass(frozen=True, slots=True)
class PromptCache:
    """Provider prompt caching for one call.

    * ``auto`` (Anthropic): place ``cache_control`` breakpoints with this TTL on the tool
      list, the system prompt and the conversation so far, each where the prefix up to it
      is long enough to be cached (``min_tokens``; the catalog's figure for the model when
      unset). Markers placed by hand (``Message.cache``, ``Tool.cache``, ``TextPart.cache``)
      come first; together at most four.
    * ``key`` and ``retention`` (OpenAI Chat and Responses): ``prompt_cache_key`` and
      ``prompt_cache_retention``.
    * ``cached_content`` (Gemini): the name of a cache made with the cachedContents API
      (``cachedContents/…``).

    A field the chosen provider has no parameter for is refused before sending.
    """

    auto: CacheTTL | None = None
    key: str | None = None
    retention: CacheRetention | None = None
    cached_content: str | None = None
    min_tokens: int | None = None


#: Gemini's adjustable harm categories and block thresholds (HarmCategory and
#: HarmBlockThreshold in https://ai.google.dev/api/generate-content#safetysetting).
HARM_CATEGORIES: frozenset[str] = frozenset(
    (
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    )
)
HARM_THRESHOLDS: frozenset[str] = frozenset(
    ("BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")
)


@dataclass(frozen=True, slots=True)
class SafetySetting:
    """One Gemini safety filter: block ``category`` content at ``threshold`` and above."""

    category: str
    threshold: str


@dataclass(frozen=True, slots=True)
class TopLogprob:
    token: str
    logprob: float


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token with its log probability and, when asked for
    (``top_logprobs``), the most likely alternatives at that position."""

    token: str
    logprob: float
    top: tuple[TopLogprob, ...] = ()


__all__ = [
    "CACHE_RETENTIONS",
    "CACHE_TTLS",
    "EFFORT_BUDGETS",
    "HARM_CATEGORIES",
    "HARM_THRESHOLDS",
    "REASONING_EFFORTS",
    "REASONING_SUMMARIES",
    "SERVICE_TIERS",
    "VERBOSITIES",
    "CacheRetention",
    "CacheTTL",
    "PromptCache",
    "Reasoning",
    "ReasoningEffort",
    "ReasoningSummary",
    "SafetySetting",
    "ServiceTier",
    "TokenLogprob",
    "TopLogprob",
    "Verbosity",
]
