"""The budget middleware through a Client and the in-process simulator."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay import Settings
from llmrelay.catalog import Catalog
from llmrelay.errors import BudgetExceededError, ConfigError, InvalidRequestError
from llmrelay.limits.budget import BudgetAlert, BudgetRule, Budgets, Subject
from llmrelay.middleware.budget import BudgetMiddleware, load_callback
from llmrelay.pipeline import Call
from llmrelay.simulator import Fault, FaultSequence
from llmrelay.types import ChatRequest, Message

# Notional prices big enough that a few calls reach a dollar: $0.001 per prompt token,
# $0.002 per output token.
PRICEY = {"simulator/sim-1": {"input_price": 1000.0, "output_price": 2000.0}}


def settings(**budgets: Any) -> Settings:
    return Settings.load(catalog={"models": PRICEY}, budgets=budgets)


def client_with(budgets: Budgets, *, unknown_price: str = "refuse", models: Any = None) -> llmrelay.Client:
    """A Client whose only middleware is the budget one (so retries cannot blur the picture)."""
    s = Settings.load(catalog={"models": PRICEY}, models=models or {})
    holder: dict[str, llmrelay.Client] = {}
    mw = BudgetMiddleware(
        budgets,
        Catalog.load(PRICEY),
        lambda m: holder["c"].route(m),
        unknown_price=unknown_price,  # type: ignore[arg-type]
    )
    holder["c"] = llmrelay.Client(s, environ={}, middleware=[mw])
    return holder["c"]


ALICE = Subject(user="alice")


async def test_a_call_over_the_hard_limit_is_refused_before_sending() -> None:
    async with llmrelay.Client(
        settings(rules=[{"scope": "global", "period": "day", "hard": 0.01}]), environ={}
    ) as client:
        with pytest.raises(BudgetExceededError) as err:
            await client.chat("Hello there", max_tokens=20)
        assert err.value.code == "budget_exceeded"
        assert "global daily budget" in err.value.message
        assert client.simulator.stats.total_requests == 0


async def test_the_actual_cost_is_settled_and_the_next_calls_see_it() -> None:
    budgets = Budgets([BudgetRule("user", "day", hard=1.0)])
    async with client_with(budgets) as client:
        reply = await client.chat("Hello there", max_tokens=20, user="alice")
        assert reply.cost is not None and reply.cost > 0
        [(_, spent, reserved)] = await budgets.status(ALICE)
        assert spent == pytest.approx(reply.cost) and reserved == 0.0
        await client.chat("Hello there", max_tokens=20, user="bob")  # bob's budget is his own
        assert (await budgets.status(ALICE))[0][1] == pytest.approx(reply.cost)


async def test_the_reservation_is_the_maximum_possible_cost() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        mw = client._middleware[0]
        assert isinstance(mw, BudgetMiddleware)
        req = ChatRequest(model="local", messages=(Message.user("Hello there"),), max_tokens=100)
        cost, _ = mw.max_cost(Call(req))
        reply = await client.chat(req)
        assert reply.usage is not None and reply.cost is not None
        assert reply.cost <= cost
        # 100 output tokens at $0.002 plus the (estimated, padded) prompt at $0.001
        assert 0.2 + reply.usage.input_tokens * 0.001 <= cost < 0.2 + 3 * reply.usage.input_tokens * 0.001


async def test_a_failed_call_releases_its_reservation() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        client.simulator.faults = FaultSequence([Fault.error(400, "bad")])
        with pytest.raises(InvalidRequestError):
            await client.chat("Hello there", max_tokens=20)
        assert [s[1:] for s in await budgets.status(Subject())] == [(0.0, 0.0)]


async def test_streams_settle_at_their_reported_cost() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        final = await client.stream("Tell me a story", max_tokens=30).final()
        [(_, spent, reserved)] = await budgets.status(Subject())
        assert final.cost is not None and spent == pytest.approx(final.cost) and reserved == 0.0


async def test_a_stream_that_fails_before_its_first_event_costs_nothing() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        client.simulator.faults = FaultSequence([Fault.error(400, "bad")])
        with pytest.raises(InvalidRequestError):
            await client.stream("Tell me a story", max_tokens=30).final()
        assert [s[1:] for s in await budgets.status(Subject())] == [(0.0, 0.0)]


async def test_an_unpriced_model_under_a_budget_is_refused_or_allowed_uncounted() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        with pytest.raises(BudgetExceededError) as err:
            await client.chat("Hi", model="simulator/mystery-model", max_tokens=10)
        assert err.value.code == "budget_price_unknown"
        assert "simulator/mystery-model has no known price" in err.value.message
        assert "budgets.unknown_price: allow" in err.value.message
        assert client.simulator.stats.total_requests == 0
    async with client_with(budgets, unknown_price="allow") as client:
        reply = await client.chat("Hi", model="simulator/mystery-model", max_tokens=10)
        assert reply.cost is None
        assert [s[1:] for s in await budgets.status(Subject())] == [(0.0, 0.0)]


async def test_fallback_deployments_count_towards_the_maximum() -> None:
    models = {
        "cheap": {"deployments": [{"provider": "simulator", "model": "sim-1"}], "fallbacks": ["dear"]},
        "dear": {"deployments": [{"provider": "simulator", "model": "gpt-4o"}]},
    }
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets, models=models) as client:
        mw = client._middleware[0]
        assert isinstance(mw, BudgetMiddleware)
        base = ChatRequest(model="dear", messages=(Message.user("Hello"),), max_tokens=1000)
        dear, _ = mw.max_cost(Call(base))
        alone, _ = mw.max_cost(Call(ChatRequest(model="local", messages=base.messages, max_tokens=1000)))
        both, _ = mw.max_cost(Call(ChatRequest(model="cheap", messages=base.messages, max_tokens=1000)))
        assert dear is not None and alone is not None and both == max(dear, alone)


async def test_keys_and_tags_come_from_the_call() -> None:
    budgets = Budgets([BudgetRule("key", "day", hard=0.001, name="team-a"), BudgetRule("tag", "day", soft=9)])
    async with client_with(budgets) as client:
        with pytest.raises(BudgetExceededError, match="key 'team-a'"):
            await client.chat("Hello", max_tokens=5, subject=Subject(key_id="team-a"))
        # request metadata is the caller's to write: it never names the key that pays
        await client.chat("Hello", max_tokens=5, metadata={"key": "team-a"})
        await client.chat("Hello", max_tokens=5, subject=Subject(key_id="team-b", tags=("exp",)))
        [(account, spent, _)] = await budgets.status(Subject(tags=("exp",)))
        assert account.id.startswith("tag:exp:") and spent > 0


async def test_settings_build_the_middleware_with_its_alert_callback() -> None:
    s = settings(
        rules=[{"scope": "global", "period": "day", "soft": 0.0001}],
        alert_callback="tests.middleware.test_budget:collect",
    )
    async with llmrelay.Client(s, environ={}) as client:
        await client.chat("Hello", max_tokens=5)
    assert any(a.level == "soft" for a in COLLECTED)


COLLECTED: list[BudgetAlert] = []


def collect(alert: BudgetAlert) -> None:
    COLLECTED.append(alert)


def test_bad_alert_callbacks_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="cannot import 'no_such_module_xyz'"):
        load_callback("no_such_module_xyz:fn")
    with pytest.raises(ConfigError, match="has no callable 'nope'"):
        load_callback("logging:nope")
    with pytest.raises(ConfigError, match=r"budgets\.alert_callback"):
        Settings.load(budgets={"alert_callback": "not a path"})
    assert load_callback("logging:getLogger") is __import__("logging").getLogger


async def test_a_stream_closed_early_counts_its_full_reservation() -> None:
    # The provider may have billed what it sent; with no usage reported, assume the worst.
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    async with client_with(budgets) as client:
        mw = client._middleware[0]
        assert isinstance(mw, BudgetMiddleware)
        req = ChatRequest(model="local", messages=(Message.user("Tell me a long story"),), max_tokens=200)
        most, _ = mw.max_cost(Call(req))
        stream = client.stream(req)
        await stream.__anext__()
        await stream.aclose()
        [(_, spent, reserved)] = await budgets.status(Subject())
        assert reserved == 0.0 and most is not None and spent == pytest.approx(most, abs=1e-9)
