"""Fallback rules: which alias to try when one has failed, by kind of failure.

* context window exceeded → the alias's ``context_window_fallback`` (a larger model);
* content filtered → its ``content_filter_fallback``;
* rate limited, quota exhausted or unavailable (5xx, timeouts, open circuits, cut
  answers…) → the next alias of the *original* alias's ``fallbacks`` chain;
* anything else (a bad request, a bad key) → no fallback: another model would fail too.

An alias is never tried twice in one call. Pure: the caller supplies the settings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from llmrelay import errors
from llmrelay.settings import AliasSettings

Reason: TypeAlias = Literal["context_window", "content_filter", "rate_limited", "unavailable"]


@dataclass(frozen=True, slots=True)
class Fallback:
    alias: str
    reason: Reason


def reason_for(error: BaseException) -> Reason | None:
    if isinstance(error, errors.ContextWindowExceededError):
        return "context_window"
    if isinstance(error, errors.ContentFilterError):
        return "content_filter"
    if isinstance(error, errors.RateLimitError):  # QuotaExceeded included
        return "rate_limited"
    if isinstance(error, errors.CircuitOpenError) or (
        isinstance(error, errors.LLMRelayError) and error.retryable
    ):
        return "unavailable"
    return None


def next_fallback(
    aliases: Mapping[str, AliasSettings],
    original: str,
    current: str,
    error: BaseException,
    tried: Collection[str],
) -> Fallback | None:
    """Where a call that started on ``original`` goes after ``current`` failed with ``error``."""
    reason = reason_for(error)
    if reason is None:
        return None
    here = aliases.get(current)
    if reason == "context_window":
        target = here.context_window_fallback if here is not None else None
        return Fallback(target, reason) if target and target not in tried else None
    if reason == "content_filter":
        target = here.content_filter_fallback if here is not None else None
        return Fallback(target, reason) if target and target not in tried else None
    chain = aliases.get(original)
    for target in chain.fallbacks if chain is not None else ():
        if target not in tried:
            return Fallback(target, reason)
    return None
