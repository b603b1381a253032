"""Per-model state is bounded: arbitrary model names cannot grow memory."""

from __future__ import annotations

import pytest

import llmrelay
from llmrelay.client import ROUTE_CACHE
from llmrelay.errors import ConfigError
from llmrelay.resilience.health import HealthBoard
from llmrelay.resilience.keys import KeyPools
from llmrelay.resilience.lru import Bounded
from llmrelay.secrets import Secret
from llmrelay.settings import Settings


def test_least_recently_used_goes_first() -> None:
    b: Bounded[str, int] = Bounded(2)
    assert b.get_or_make("a", lambda: 1) == 1
    b.get_or_make("b", lambda: 2)
    assert b.get_or_make("a", lambda: 99) == 1  # a is used again: b is now the oldest
    b.get_or_make("c", lambda: 3)
    assert (b.get("a"), b.get("b"), b.get("c")) == (1, None, 3) and len(b) == 2
    with pytest.raises(ConfigError):
        Bounded(0)


def test_health_and_key_pools_stay_bounded() -> None:
    board = HealthBoard(limit=100)
    pools = KeyPools(limit=100)
    for i in range(1000):
        board(f"simulator/model-{i}").in_flight += 1
        pools(f"simulator/model-{i}", "http://x", (Secret(f"sk-key-{i:08d}"),))
    assert len(board) == 100 and len(pools) == 100
    assert board("simulator/model-999").in_flight == 1  # the recent ones are kept


async def test_the_clients_routes_stay_bounded() -> None:
    async with llmrelay.Client(Settings.load(), environ={}) as client:
        for i in range(ROUTE_CACHE + 500):
            client.route(f"simulator/any-model-{i}")
        assert len(client._routes) == ROUTE_CACHE
        reply = await client.chat("hi", model="simulator/any-model-3")  # evicted, resolved again
        assert reply.text
