"""The simulator's prompt cache: prefixes at boundaries, TTL on the simulator's clock, a bound."""

from __future__ import annotations

import pytest

from llmrelay.simulator.clock import SimClock
from llmrelay.simulator.prompt_cache import AutoRule, PromptCache

RULE = AutoRule(minimum=1024, step=128, ttl=600.0)


def words(n: int, tag: str = "w") -> list[str]:
    return [f" {tag}{i}" for i in range(n)]


def test_a_repeated_prompt_hits_its_longest_boundary() -> None:
    cache = PromptCache(SimClock())
    prompt = words(1500)
    assert cache.longest_prefix("m", prompt, RULE) == 0  # first sight: a write, no hit
    assert cache.longest_prefix("m", prompt, RULE) == 1408  # 1024 + 3 * 128 <= 1500


def test_a_shared_prefix_hits_up_to_where_the_prompts_part() -> None:
    cache = PromptCache(SimClock())
    base = words(1300)
    cache.longest_prefix("m", base, RULE)
    longer = base[:1200] + words(600, "x")
    assert cache.longest_prefix("m", longer, RULE) == 1152  # the last boundary before they differ


def test_prompts_below_the_minimum_are_never_cached() -> None:
    cache = PromptCache(SimClock())
    short = words(1000)
    cache.longest_prefix("m", short, RULE)
    assert cache.longest_prefix("m", short, RULE) == 0
    assert len(cache) == 0


def test_namespaces_do_not_share() -> None:
    cache = PromptCache(SimClock())
    prompt = words(1100)
    cache.longest_prefix("model-a\x00key-1", prompt, RULE)
    assert cache.longest_prefix("model-a\x00key-2", prompt, RULE) == 0
    assert cache.longest_prefix("model-a\x00key-1", prompt, RULE) == 1024


def test_entries_expire_on_the_simulator_clock() -> None:
    clock = SimClock()
    cache = PromptCache(clock)
    prompt = words(1100)
    cache.longest_prefix("m", prompt, RULE)
    clock.advance(599)
    assert cache.longest_prefix("m", prompt, RULE) == 1024  # and the use renews it
    clock.advance(599)
    assert cache.longest_prefix("m", prompt, RULE) == 1024
    clock.advance(601)
    assert cache.longest_prefix("m", prompt, RULE) == 0


def test_explicit_keys_and_the_bound() -> None:
    clock = SimClock()
    cache = PromptCache(clock, limit=3)
    for key in (b"a", b"b", b"c"):
        cache.store(key, 300)
    assert cache.lookup(b"a")  # a is now the most recently used
    cache.store(b"d", 300)
    assert not cache.lookup(b"b") and cache.lookup(b"a") and len(cache) == 3
    clock.advance(300)
    assert not cache.lookup(b"a")


def test_the_clock_only_moves_forward() -> None:
    with pytest.raises(ValueError, match="advance"):
        SimClock().advance(-1)
