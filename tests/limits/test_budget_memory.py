"""The in-memory budget backend: accounts of finished periods are forgotten."""

from __future__ import annotations

from llmrelay.limits.budget import GRACE, BudgetRule, Budgets, Subject
from llmrelay.limits.budget_memory import MemoryBudgetBackend


async def test_past_periods_are_forgotten_after_the_grace_time() -> None:
    now = [1_800_000_000.0]
    backend = MemoryBudgetBackend(lambda: now[0])
    budgets = Budgets([BudgetRule("user", "day", hard=1.0)], backend, clock=lambda: now[0])
    for i in range(10):
        await (await budgets.reserve(Subject(user=f"u{i}"), 0.1)).settle(0.1)
    assert len(backend._ledgers) == 10
    now[0] += 86400 + GRACE
    await (await budgets.reserve(Subject(user="late"), 0.1)).settle(0.1)
    assert list(backend._ledgers) == [budgets.accounts(Subject(user="late"))[0].id]


async def test_lifetime_accounts_are_kept() -> None:
    now = [1_800_000_000.0]
    backend = MemoryBudgetBackend(lambda: now[0])
    budgets = Budgets([BudgetRule("global", "lifetime", hard=1.0)], backend, clock=lambda: now[0])
    await (await budgets.reserve(Subject(), 0.25)).settle(0.25)
    now[0] += 10 * 365 * 86400
    [(_, spent, _)] = await budgets.status(Subject())
    assert spent == 0.25
