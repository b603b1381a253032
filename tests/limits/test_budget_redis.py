"""The Redis budget backend against the machine's Redis: shared, atomic, alerting once."""

from __future__ import annotations

import asyncio

import pytest

from llmrelay.errors import BudgetExceededError
from llmrelay.limits.budget import BudgetAlert, BudgetRule, Budgets, Subject
from llmrelay.limits.budget_redis import RedisBudgetBackend

ALICE = Subject(user="alice", tags=("exp",))


async def test_reserve_settle_release_and_refusal_codes(redis) -> None:
    client, prefix = redis
    budgets = Budgets([BudgetRule("user", "day", hard=1.0)], RedisBudgetBackend(client, prefix))
    held = await budgets.reserve(ALICE, 0.7)
    assert [s[1:] for s in await budgets.status(ALICE)] == [(0.0, 0.7)]
    with pytest.raises(BudgetExceededError) as err:
        await budgets.reserve(ALICE, 0.4)
    assert err.value.code == "budget_reserved"
    await held.settle(0.65)
    await (await budgets.reserve(ALICE, 0.3)).release()
    with pytest.raises(BudgetExceededError) as err:
        await budgets.reserve(ALICE, 0.4)
    assert err.value.code == "budget_exceeded" and err.value.retry_after is not None
    assert [s[1:] for s in await budgets.status(ALICE)] == [(0.65, 0.0)]
    # day accounts expire some weeks after their day; lifetime ones never
    ttl = await client.ttl(f"{prefix}budget:{budgets.accounts(ALICE)[0].id}:spent")
    assert 35 * 86400 < ttl <= 36 * 86400


async def test_two_processes_share_one_budget_without_overshoot(redis) -> None:
    client, prefix = redis
    rules = [BudgetRule("global", "lifetime", hard=1.0), BudgetRule("tag", "lifetime", hard=5.0)]
    a = Budgets(rules, RedisBudgetBackend(client, prefix))
    b = Budgets(rules, RedisBudgetBackend(client, prefix))

    async def caller(budgets: Budgets) -> None:
        while True:
            try:
                r = await budgets.reserve(ALICE, 0.05)
            except BudgetExceededError as e:
                if e.code == "budget_reserved":
                    await asyncio.sleep(0.002)
                    continue
                return
            await asyncio.sleep(0.002)
            await r.settle(0.031)

    await asyncio.gather(*(caller(a if i % 2 else b) for i in range(40)))
    status = {acc.id: (spent, reserved) for acc, spent, reserved in await a.status(ALICE)}
    spent, reserved = status["global::all"]
    assert reserved == 0.0 and 1.0 - 0.05 < spent <= 1.0
    assert status["tag:exp:all"] == (spent, 0.0)
    assert await client.ttl(f"{prefix}budget:global::all:spent") == -1


async def test_alerts_fire_once_across_processes_and_leases_lapse(redis) -> None:
    client, prefix = redis
    got: list[BudgetAlert] = []
    rules = [BudgetRule("global", "day", hard=1.0, soft=0.5)]
    a = Budgets(rules, RedisBudgetBackend(client, prefix), on_alert=got.append, lease=0.2)
    b = Budgets(rules, RedisBudgetBackend(client, prefix), on_alert=got.append, lease=0.2)
    await (await a.reserve(ALICE, 0.3)).settle(0.3)
    await (await b.reserve(ALICE, 0.3)).settle(0.3)
    await (await a.reserve(ALICE, 0.1)).settle(0.1)
    assert [(x.level, round(x.spent, 6)) for x in got] == [("soft", 0.6)]
    await b.reserve(ALICE, 0.3)  # never settled: its process "died"
    with pytest.raises(BudgetExceededError):
        await a.reserve(ALICE, 0.1)
    await asyncio.sleep(0.25)
    for budgets in (a, b, a):
        with pytest.raises(BudgetExceededError, match="exhausted"):
            await budgets.reserve(ALICE, 0.35)
    assert [x.level for x in got] == ["soft", "hard"]
    await (await a.reserve(ALICE, 0.3)).settle(0.3)
