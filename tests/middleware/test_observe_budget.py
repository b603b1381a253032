"""Budget spend against limits in the metrics: the budget layer says what each budget
holds when it settles a call, and the observe layer turns it into bounded gauges."""

from __future__ import annotations

import pytest
from tests.observe.kit import rig, sim_deployment

import llmrelay
from llmrelay.errors import BudgetExceededError
from llmrelay.simulator import Simulator

MODELS = {"chat": {"deployments": [sim_deployment("a")]}}
RULES = [
    {"scope": "global", "period": "day", "hard": 10, "soft": 5},
    {"scope": "team", "name": "search", "period": "month", "hard": 2},
    {"scope": "user", "period": "day", "hard": 1},  # each user separately
    {"scope": "user", "name": "carol", "period": "lifetime", "hard": 3},
]


async def test_spent_and_limits_per_budget_with_bounded_labels() -> None:
    ann = llmrelay.Subject(user="ann", team="search")
    bob = llmrelay.Subject(user="bob")
    async with rig({"a": Simulator()}, MODELS, budgets={"rules": RULES}) as r:
        a1 = await r.client.chat("one", max_tokens=20, subject=ann)
        a2 = await r.client.chat("two", max_tokens=20, subject=ann)
        b1 = await r.client.chat("three three three three", max_tokens=60, subject=bob)
        c1 = await r.client.chat("four", max_tokens=10, subject=llmrelay.Subject(user="carol"))
        costs = [x.cost for x in (a1, a2, b1, c1)]
        assert all(c is not None and c > 0 for c in costs)
        ann_spent = a1.cost + a2.cost  # type: ignore[operator]
        every = sum(costs)  # type: ignore[arg-type]

        def spent(**labels: str) -> float:
            return r.samples("llmrelay_budget_spent_usd", **labels)

        assert spent(scope="global", budget="global", window="day") == pytest.approx(every)
        assert spent(scope="team", budget="search", window="month") == pytest.approx(ann_spent)
        # a budget for each user: the most any one of them has spent today
        assert spent(scope="user", budget="each", window="day") == pytest.approx(
            max(ann_spent, b1.cost, c1.cost)  # type: ignore[type-var]
        )
        # a budget naming one user: counted, under a label that is not the user's id
        assert spent(scope="user", budget="named", window="lifetime") == pytest.approx(c1.cost)

        def limit(**labels: str) -> float:
            return r.samples("llmrelay_budget_limit_usd", **labels)

        assert limit(scope="global", window="day", level="hard") == 10
        assert limit(scope="global", window="day", level="soft") == 5
        assert limit(scope="team", budget="search", level="hard") == 2
        assert limit(scope="user", budget="each", level="hard") == 1
        text = r.scrape()
    for who in ("ann", "bob", "carol"):
        assert f'"{who}"' not in text


async def test_a_refused_call_leaves_the_gauges_as_they_were() -> None:
    rules = [{"scope": "team", "name": "search", "period": "day", "hard": 0.000001}]
    async with rig({"a": Simulator()}, MODELS, budgets={"rules": rules}) as r:
        with pytest.raises(BudgetExceededError):
            await r.client.chat("x", max_tokens=50, subject=llmrelay.Subject(team="search"))
        assert r.samples("llmrelay_refusals_total", reason="budget") == 1
        assert "llmrelay_budget_spent_usd{" not in r.scrape()


async def test_without_metrics_the_budget_layer_reads_nothing_back() -> None:
    from llmrelay.middleware.budget import BudgetSpend

    seen: list[object] = []

    class Spy(llmrelay.Observer):
        async def after(self, call: llmrelay.Call, state: object, error: BaseException | None) -> None:
            seen.append(call.get(BudgetSpend))

    rules = [{"scope": "global", "period": "day", "hard": 10}]
    settings = llmrelay.Settings.load(ledger={"enabled": False}, budgets={"rules": rules})
    async with llmrelay.Client(settings, environ={}, layers=[llmrelay.before("budget", Spy())]) as client:
        await client.chat("hello", max_tokens=5)
    assert seen == [None]


async def test_a_backend_that_cannot_be_read_back_fails_no_call() -> None:
    from llmrelay.limits.budget import Account
    from llmrelay.limits.budget_memory import MemoryBudgetBackend
    from llmrelay.middleware.budget import BudgetMiddleware

    class Unreadable(MemoryBudgetBackend):
        async def read(self, account: Account) -> tuple[int, int]:
            raise ConnectionError("backend went away")

    rules = [{"scope": "global", "period": "day", "hard": 10}]
    async with rig({"a": Simulator()}, MODELS, budgets={"rules": rules}) as r:
        layer = next(x for x in r.client._middleware if isinstance(x, BudgetMiddleware))
        layer.budgets.backend = Unreadable()
        reply = await r.client.chat("hello", max_tokens=5)
        assert reply.text
        assert r.samples("llmrelay_requests_total", outcome="ok") == 1
        assert "llmrelay_budget_spent_usd{" not in r.scrape()


async def test_with_redis_each_process_reports_the_shared_spend() -> None:
    from tests.limits.redis_support import REDIS_URL, clean, redis_or_skip, unique_prefix

    redis = await redis_or_skip()
    prefix = unique_prefix()
    state = {"redis_url": REDIS_URL, "prefix": prefix}
    rules = [{"scope": "global", "period": "day", "hard": 10}]
    labels = {"scope": "global", "budget": "global", "window": "day"}
    try:
        # two clients on one Redis budget, as two replicas of a service would be
        async with (
            rig({"a": Simulator()}, MODELS, budgets={"rules": rules}, state=state) as one,
            rig({"a": Simulator()}, MODELS, budgets={"rules": rules}, state=state) as two,
        ):
            first = await one.client.chat("one", max_tokens=20)
            second = await two.client.chat("two", max_tokens=20)
            assert first.cost and second.cost
            assert one.samples("llmrelay_budget_spent_usd", **labels) == pytest.approx(first.cost)
            assert two.samples("llmrelay_budget_spent_usd", **labels) == pytest.approx(
                first.cost + second.cost
            )
    finally:
        await clean(redis, prefix)
        await redis.aclose()  # type: ignore[attr-defined]


async def test_a_shared_backend_is_read_for_the_gauges_at_most_once_a_second() -> None:
    from llmrelay.limits.budget import Account
    from llmrelay.limits.budget_memory import MemoryBudgetBackend
    from llmrelay.middleware.budget import BudgetMiddleware

    class Remote(MemoryBudgetBackend):
        local = False  # as Redis: every read would be a round trip
        reads = 0

        async def read(self, account: Account) -> tuple[int, int]:
            Remote.reads += 1
            return await super().read(account)

    rules = [{"scope": "global", "period": "day", "hard": 10}]
    labels = {"scope": "global", "budget": "global", "window": "day"}
    async with rig({"a": Simulator()}, MODELS, budgets={"rules": rules}) as r:
        layer = next(x for x in r.client._middleware if isinstance(x, BudgetMiddleware))
        layer.budgets.backend = Remote()
        first = await r.client.chat("one", max_tokens=5)
        for _ in range(4):
            await r.client.chat("again", max_tokens=5)
        assert Remote.reads == 1  # five calls within a second: one read
        assert first.cost and r.samples("llmrelay_budget_spent_usd", **labels) == pytest.approx(first.cost)
