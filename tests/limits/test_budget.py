"""Budgets: rules, periods, reservations that cannot overshoot, alerts — in memory."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from llmrelay.errors import BudgetExceededError, ConfigError
from llmrelay.limits.budget import (
    BudgetAlert,
    BudgetRule,
    Budgets,
    Subject,
    accounts_for,
    period_of,
    to_nano,
)

ALICE = Subject(key_id="team-a", user="alice", tags=("exp", "prod"))


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, at: str = "2026-11-23T12:00:00") -> None:
        self.now = ts(at)

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"scope": "org", "period": "day", "hard": 1}, "scope must be one of"),
        ({"scope": "user", "period": "week", "hard": 1}, "period must be one of"),
        ({"scope": "global", "period": "day", "hard": 1, "name": "x"}, "global budget has no name"),
        ({"scope": "user", "period": "day", "hard": -1}, "hard must be a number of dollars >= 0"),
        ({"scope": "user", "period": "day", "soft": "5"}, "soft must be a number"),
        ({"scope": "user", "period": "day", "hard": float("nan")}, "hard must be"),
        ({"scope": "user", "period": "day", "hard": True}, "hard must be"),
        ({"scope": "user", "period": "day"}, "hard limit, a soft limit or both"),
        ({"scope": "user", "period": "day", "hard": 1, "soft": 2}, "soft limit .* above the hard"),
    ],
)
def test_bad_rules_are_refused_clearly(kwargs, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        BudgetRule(**kwargs)


def test_periods_are_utc_calendar_days_and_months() -> None:
    assert period_of("day", ts("2026-11-23T23:59:59")) == ("2026-11-23", ts("2026-11-24T00:00:00"))
    assert period_of("month", ts("2026-12-31T10:00:00")) == ("2026-12", ts("2027-01-01T00:00:00"))
    assert period_of("month", ts("2026-02-03T00:00:00"))[1] == ts("2026-03-01T00:00:00")
    assert period_of("lifetime", 0.0) == ("all", None)


def test_which_accounts_a_call_counts_in() -> None:
    rules = [
        BudgetRule("global", "month", hard=100),
        BudgetRule("user", "day", hard=5),  # each user
        BudgetRule("user", "day", hard=3, soft=2, name="alice"),  # alice is tighter
        BudgetRule("user", "day", hard=9, name="bob"),
        BudgetRule("tag", "lifetime", soft=7),
        BudgetRule("key", "day", hard=50, name="team-b"),
    ]
    accounts = {a.id: a for a in accounts_for(rules, ALICE, ts("2026-11-23T12:00:00"))}
    assert sorted(accounts) == [
        "global::2026-11",
        "tag:exp:all",
        "tag:prod:all",
        "user:alice:2026-11-23",
    ]
    alice = accounts["user:alice:2026-11-23"]
    assert (alice.hard, alice.soft) == (to_nano(3), to_nano(2))
    assert alice.label == "user 'alice''s daily budget"
    assert accounts_for(rules, Subject(), 0.0)[0].id.startswith("global::")
    assert len(accounts_for(rules, Subject(), 0.0)) == 1


# --------------------------------------------------------------------------- reserve and settle


async def test_reserve_settle_and_release() -> None:
    budgets = Budgets([BudgetRule("user", "day", hard=1.0)], clock=Clock())
    r = await budgets.reserve(ALICE, 0.4)
    [(_, spent, reserved)] = await budgets.status(ALICE)
    assert (spent, reserved) == (0.0, 0.4)
    await r.settle(0.1)
    await r.settle(0.3)  # once only
    assert (await budgets.status(ALICE))[0][1:] == (0.1, 0.0)
    r2 = await budgets.reserve(ALICE, 0.9)
    await r2.release()
    assert (await budgets.status(ALICE))[0][1:] == (0.1, 0.0)
    r3 = await budgets.reserve(ALICE, 0.5)
    await r3.settle(None)  # cost unknown: the whole reservation counts
    assert (await budgets.status(ALICE))[0][1:] == (0.6, 0.0)


async def test_hard_limit_refuses_when_spent_leaves_no_room() -> None:
    clock = Clock("2026-11-23T18:00:00")
    budgets = Budgets([BudgetRule("user", "day", hard=1.0)], clock=clock)
    await (await budgets.reserve(ALICE, 0.9)).settle(0.95)
    with pytest.raises(BudgetExceededError) as err:
        await budgets.reserve(ALICE, 0.06)
    e = err.value
    assert e.code == "budget_exceeded"
    assert "user 'alice''s daily budget is exhausted: $0.9500 spent of $1.0000" in e.message
    assert "nothing was sent" in e.message
    assert e.retry_after == pytest.approx(6 * 3600)  # midnight UTC
    await (await budgets.reserve(ALICE, 0.05)).settle(0.05)  # exactly to the limit is fine
    clock.now = ts("2026-11-24T00:00:01")  # a new day, a new budget
    await budgets.reserve(ALICE, 0.5)


async def test_reservations_in_flight_refuse_with_their_own_code() -> None:
    budgets = Budgets([BudgetRule("global", "lifetime", hard=1.0)], clock=Clock())
    held = await budgets.reserve(ALICE, 0.8)
    with pytest.raises(BudgetExceededError) as err:
        await budgets.reserve(ALICE, 0.3)
    assert err.value.code == "budget_reserved"
    assert "$0.8000 reserved" in err.value.message and err.value.retry_after is None
    await held.settle(0.2)
    await budgets.reserve(ALICE, 0.3)


async def test_concurrent_reservations_never_overshoot() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)], clock=Clock())
    spent_ok = 0

    async def caller() -> None:
        nonlocal spent_ok
        while True:
            try:
                r = await budgets.reserve(ALICE, 0.03)
            except BudgetExceededError as e:
                if e.code == "budget_reserved":
                    await asyncio.sleep(0.001)
                    continue
                return
            await asyncio.sleep(0.001)
            await r.settle(0.02)
            spent_ok += 1

    await asyncio.gather(*(caller() for _ in range(100)))
    [(_, spent, reserved)] = await budgets.status(ALICE)
    assert reserved == 0.0
    assert 1.0 - 0.03 < spent <= 1.0
    assert spent == pytest.approx(spent_ok * 0.02)


async def test_a_lapsed_reservation_stops_holding_budget() -> None:
    clock = Clock()
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)], lease=60, clock=clock)
    await budgets.reserve(ALICE, 0.9)  # its process died
    with pytest.raises(BudgetExceededError):
        await budgets.reserve(ALICE, 0.2)
    clock.now += 61
    await budgets.reserve(ALICE, 0.2)


async def test_bad_amounts() -> None:
    budgets = Budgets([BudgetRule("global", "day", hard=1.0)])
    for bad in (-0.1, float("inf"), float("nan"), "1"):
        with pytest.raises(ConfigError, match="max_cost"):
            await budgets.reserve(ALICE, bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lease"):
        Budgets([], lease=0)


async def test_calls_outside_every_budget_hold_nothing() -> None:
    budgets = Budgets([BudgetRule("user", "day", hard=1.0, name="bob")])
    assert not budgets.applies(ALICE)
    r = await budgets.reserve(ALICE, 100.0)
    assert r.accounts == ()
    await r.settle(100.0)


# --------------------------------------------------------------------------- alerts


async def test_soft_and_hard_alerts_fire_once_per_period(caplog) -> None:
    clock = Clock()
    got: list[BudgetAlert] = []

    async def handler(alert: BudgetAlert) -> None:
        got.append(alert)

    budgets = Budgets([BudgetRule("user", "day", hard=1.0, soft=0.5)], on_alert=handler, clock=clock)
    caplog.set_level(logging.WARNING, logger="llmrelay.budget")
    await (await budgets.reserve(ALICE, 0.4)).settle(0.4)
    assert got == []
    await (await budgets.reserve(ALICE, 0.4)).settle(0.4)
    await (await budgets.reserve(ALICE, 0.1)).settle(0.1)
    assert [(a.level, a.scope, a.name, a.period) for a in got] == [("soft", "user", "alice", "day")]
    assert got[0].limit == 0.5 and got[0].spent == pytest.approx(0.8)
    for _ in range(2):
        with pytest.raises(BudgetExceededError):
            await budgets.reserve(ALICE, 0.2)
    assert [a.level for a in got] == ["soft", "hard"]
    records = [r for r in caplog.records if getattr(r, "event", None) == "budget_alert"]
    assert [r.alert_level for r in records] == ["soft", "hard"]  # type: ignore[attr-defined]
    assert "user 'alice' day budget: $0.8000 spent, soft limit $0.5000" in records[0].getMessage()
    clock.now += 86400
    await (await budgets.reserve(ALICE, 0.6)).settle(0.6)
    assert [a.level for a in got] == ["soft", "hard", "soft"]


async def test_a_failing_alert_handler_is_logged_not_raised(caplog) -> None:
    seen: list[str] = []

    def broken(alert: BudgetAlert) -> None:
        raise RuntimeError("pager down")

    budgets = Budgets([BudgetRule("global", "day", soft=0.1)], on_alert=broken)
    budgets.add_alert_handler(lambda a: seen.append(a.level))
    await (await budgets.reserve(ALICE, 0.2)).settle(0.2)
    assert seen == ["soft"]
    assert any("alert handler" in r.getMessage() for r in caplog.records)
