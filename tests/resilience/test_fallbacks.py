from __future__ import annotations

import pytest

from llmrelay import errors
from llmrelay.resilience.fallbacks import next_fallback, reason_for
from llmrelay.settings import AliasSettings

DEP = [{"provider": "simulator", "model": "m"}]
ALIASES = {
    "main": AliasSettings(
        deployments=DEP,  # type: ignore[arg-type]
        fallbacks=["second", "third"],
        context_window_fallback="long",
        content_filter_fallback="lenient",
    ),
    "second": AliasSettings(deployments=DEP, fallbacks=["other"]),  # type: ignore[arg-type]
    "third": AliasSettings(deployments=DEP),  # type: ignore[arg-type]
    "long": AliasSettings(deployments=DEP),  # type: ignore[arg-type]
    "lenient": AliasSettings(deployments=DEP),  # type: ignore[arg-type]
}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errors.ContextWindowExceededError("x"), "context_window"),
        (errors.ContentFilterError("x"), "content_filter"),
        (errors.RateLimitError("x"), "rate_limited"),
        (errors.QuotaExceededError("x"), "rate_limited"),
        (errors.ServiceUnavailableError("x"), "unavailable"),
        (errors.TimeoutError("x"), "unavailable"),
        (errors.CircuitOpenError("x"), "unavailable"),
        (errors.InvalidRequestError("x"), None),
        (errors.AuthenticationError("x"), None),
    ],
)
def test_reasons(error: errors.LLMRelayError, reason: str | None) -> None:
    assert reason_for(error) == reason


def test_rules_by_error() -> None:
    cw = next_fallback(ALIASES, "main", "main", errors.ContextWindowExceededError("x"), ["main"])
    assert cw is not None and (cw.alias, cw.reason) == ("long", "context_window")
    cf = next_fallback(ALIASES, "main", "main", errors.ContentFilterError("x"), ["main"])
    assert cf is not None and cf.alias == "lenient"
    rl = next_fallback(ALIASES, "main", "main", errors.RateLimitError("x"), ["main"])
    assert rl is not None and (rl.alias, rl.reason) == ("second", "rate_limited")
    assert next_fallback(ALIASES, "main", "main", errors.InvalidRequestError("x"), ["main"]) is None


def test_the_original_chain_is_followed_and_nothing_twice() -> None:
    # "second" failing goes on along main's chain (third), not second's own (other)
    nxt = next_fallback(ALIASES, "main", "second", errors.ServiceUnavailableError("x"), ["main", "second"])
    assert nxt is not None and nxt.alias == "third"
    assert (
        next_fallback(
            ALIASES, "main", "third", errors.ServiceUnavailableError("x"), ["main", "second", "third"]
        )
        is None
    )
    # a context window on "second" has no rule there
    assert (
        next_fallback(ALIASES, "main", "second", errors.ContextWindowExceededError("x"), ["main", "second"])
        is None
    )
    # an unconfigured model name has no fallbacks at all
    assert next_fallback(ALIASES, "openai/gpt-4o", "openai/gpt-4o", errors.RateLimitError("x"), []) is None
