"""Which calls the cache takes part in: the per-alias plan the layer keeps is the plan."""

from __future__ import annotations

from itertools import product

from llmrelay.cache import CacheOptions
from llmrelay.cache.policy import Plan, alias_plan, plan
from llmrelay.settings.cache import CacheSettings
from llmrelay.types import ChatRequest, Message

ASK = (Message.user("hi"),)
SAMPLED = ChatRequest("a", ASK)
ZERO = ChatRequest("a", ASK, temperature=0)
SEEDED = ChatRequest("a", ASK, temperature=1.0, seed=3)


def settings(**alias: object) -> CacheSettings:
    return CacheSettings.model_validate({"enabled": True, "ttl": 60, "models": {"a": alias} if alias else {}})


def test_an_alias_turned_off_is_never_cached() -> None:
    s = settings(enabled=False)
    assert alias_plan(s, "a") == (True, None)
    assert all(plan(s, "a", r, None) is None for r in (SAMPLED, ZERO, SEEDED))
    # a call that names a mode takes part whatever the alias says
    assert plan(s, "a", SAMPLED, CacheOptions(mode="read")) is not None


def test_deterministic_only_lets_temperature_zero_and_seeded_calls_in() -> None:
    s = settings()
    only, p = alias_plan(s, "a")
    assert only and p == Plan(
        read=True, write=True, ttl=60, stale=s.stale_if_error, shared=False, semantic=None
    )
    assert plan(s, "a", SAMPLED, None) is None
    assert plan(s, "a", ZERO, None) == p == plan(s, "a", SEEDED, None)
    relaxed = settings(deterministic_only=False, ttl=5, shared=True)
    assert alias_plan(relaxed, "a")[0] is False
    got = plan(relaxed, "a", SAMPLED, None)
    assert got is not None and (got.ttl, got.shared) == (5, True)
    # another alias keeps the section's values
    assert plan(relaxed, "b", SAMPLED, None) is None


def test_the_alias_plan_is_what_plan_gives_every_call_without_options() -> None:
    for enabled, only, ttl in product((None, True, False), (None, True, False), (None, 7.0)):
        s = settings(enabled=enabled, deterministic_only=only, ttl=ttl)
        keep_only, p = alias_plan(s, "a")
        for req in (SAMPLED, ZERO, SEEDED):
            deterministic = req is not SAMPLED
            expected = None if p is None or (keep_only and not deterministic) else p
            assert plan(s, "a", req, None) == expected
