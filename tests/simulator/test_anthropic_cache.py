"""Anthropic prompt caching in the simulator: breakpoints, TTL split, reads, expiry, rules."""

from __future__ import annotations

from typing import Any

import pytest
from tests.simulator.test_anthropic import HEADERS, WEATHER, client_for

from llmrelay.simulator import Simulator
from llmrelay.simulator.engine import count_tokens

MODEL = "claude-sonnet-4-5"  # caches from 1,024 tokens
LONG = " ".join(f"clause{i} of the standing policy." for i in range(700))  # about 4,900 tokens
OTHER = " ".join(f"appendix{i} on the procedure." for i in range(600))


def cc(ttl: str | None = None) -> dict[str, Any]:
    return {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}


def ask(system: Any, question: str = "Summarise the policy.", **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 50,
        "system": system,
        "messages": [{"role": "user", "content": question}],
        **extra,
    }


async def usage(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    async with client_for(sim) as http:
        r = await http.post("/v1/messages", json=body, headers=HEADERS)
    assert r.status_code == 200, r.text
    return dict(r.json()["usage"])


async def test_first_request_writes_and_the_repeat_reads() -> None:
    sim = Simulator()
    body = ask([{"type": "text", "text": LONG, "cache_control": cc()}])
    plain = await usage(Simulator(), ask([{"type": "text", "text": LONG}]))
    first = await usage(sim, body)
    assert first["cache_read_input_tokens"] == 0
    assert first["cache_creation_input_tokens"] >= count_tokens(LONG)
    assert first["cache_creation"] == {
        "ephemeral_5m_input_tokens": first["cache_creation_input_tokens"],
        "ephemeral_1h_input_tokens": 0,
    }
    # input_tokens is only what follows the breakpoint: the three parts add up to the whole prompt
    assert first["input_tokens"] + first["cache_creation_input_tokens"] == plain["input_tokens"]
    second = await usage(
        sim, ask([{"type": "text", "text": LONG, "cache_control": cc()}], "Another question?")
    )
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    assert second["input_tokens"] < plain["input_tokens"] - count_tokens(LONG) + 20


async def test_writes_are_split_by_ttl() -> None:
    sim = Simulator()
    tool = {**WEATHER, "description": OTHER, "cache_control": cc("1h")}
    body = ask([{"type": "text", "text": LONG, "cache_control": cc("5m")}], tools=[tool])
    first = await usage(sim, body)
    split = first["cache_creation"]
    assert split["ephemeral_1h_input_tokens"] >= count_tokens(OTHER)
    assert split["ephemeral_5m_input_tokens"] >= count_tokens(LONG)
    assert (
        split["ephemeral_1h_input_tokens"] + split["ephemeral_5m_input_tokens"]
        == first["cache_creation_input_tokens"]
    )
    # six minutes on, the 5m part has expired and is written again; the 1h part is read
    sim.clock.advance(360)
    later = await usage(sim, body)
    assert later["cache_read_input_tokens"] == split["ephemeral_1h_input_tokens"]
    assert later["cache_creation"] == {
        "ephemeral_5m_input_tokens": split["ephemeral_5m_input_tokens"],
        "ephemeral_1h_input_tokens": 0,
    }
    sim.clock.advance(3600)
    assert (await usage(sim, body))["cache_read_input_tokens"] == 0


async def test_entries_expire_after_their_ttl() -> None:
    sim = Simulator()
    body = ask([{"type": "text", "text": LONG, "cache_control": cc()}])
    await usage(sim, body)
    sim.clock.advance(299)
    assert (await usage(sim, body))["cache_read_input_tokens"] > 0  # and the read renews the entry
    sim.clock.advance(299)
    assert (await usage(sim, body))["cache_read_input_tokens"] > 0
    sim.clock.advance(301)
    expired = await usage(sim, body)
    assert expired["cache_read_input_tokens"] == 0 and expired["cache_creation_input_tokens"] > 0


async def test_a_prefix_below_the_minimum_is_not_cached() -> None:
    sim = Simulator()
    short = ask([{"type": "text", "text": "Be brief. " * 100, "cache_control": cc()}])
    for _ in range(2):
        u = await usage(sim, short)
        assert u["cache_creation_input_tokens"] == 0 and u["cache_read_input_tokens"] == 0
    # Haiku 4.5 needs 4,096 tokens: a prompt that Sonnet caches can be too short for it
    third = LONG[: len(LONG) // 3]
    assert 1024 < count_tokens(third) < 4096
    mid = ask([{"type": "text", "text": third, "cache_control": cc()}])
    assert (await usage(sim, mid))["cache_creation_input_tokens"] > 0
    haiku = await usage(sim, {**mid, "model": "claude-haiku-4-5"})
    assert haiku["cache_creation_input_tokens"] == 0


async def test_different_prefixes_do_not_share() -> None:
    sim = Simulator()
    await usage(sim, ask([{"type": "text", "text": LONG, "cache_control": cc()}]))
    other = await usage(sim, ask([{"type": "text", "text": OTHER + LONG, "cache_control": cc()}]))
    assert other["cache_read_input_tokens"] == 0 and other["cache_creation_input_tokens"] > 0


@pytest.mark.parametrize(
    ("system", "message"),
    [
        (
            [{"type": "text", "text": f"part {i}", "cache_control": cc()} for i in range(5)],
            "A maximum of 4 blocks with cache_control may be provided. Found 5.",
        ),
        (
            [
                {"type": "text", "text": "a", "cache_control": cc("5m")},
                {"type": "text", "text": "b", "cache_control": cc("1h")},
            ],
            "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block",
        ),
        (
            [{"type": "text", "text": "a", "cache_control": {"type": "persistent"}}],
            "system.0.cache_control.type",
        ),
        ([{"type": "text", "text": "a", "cache_control": cc("2h")}], "Input should be '5m' or '1h'"),
    ],
)
async def test_breakpoint_rules(system: list[dict[str, Any]], message: str) -> None:
    async with client_for(Simulator()) as http:
        r = await http.post("/v1/messages", json=ask(system), headers=HEADERS)
    assert r.status_code == 400 and message in r.json()["error"]["message"]
