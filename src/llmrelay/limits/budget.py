"""Spending budgets: per key, user, tag and overall; per day, month or lifetime.

A call first *reserves* the most it could cost, against every budget that applies to
it, atomically; when it is over it *settles* at its real cost (or releases the
reservation if it failed). A hard limit refuses a call whose reservation would not fit,
so concurrent calls can never overshoot it together. A soft limit fires an alert (the
``on_alert`` callback and a ``budget_alert`` log event) the first time spending reaches it
in a period.

Days and months are UTC calendar periods. Money is counted in whole nano-dollars so that
sums are exact in every backend.

    budgets = Budgets([BudgetRule("user", "day", hard=5.0, soft=4.0)])
    reservation = await budgets.reserve(Subject(user="alice"), max_cost=0.03)
    ...
    await reservation.settle(cost=0.012)
"""

from __future__ import annotations

import inspect
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeAlias

from llmrelay.errors import BudgetExceededError, ConfigError
from llmrelay.types import Subject

Scope: TypeAlias = Literal["global", "key", "user", "team", "tag"]
Period: TypeAlias = Literal["day", "month", "lifetime"]
SCOPES: frozenset[str] = frozenset(("global", "key", "user", "team", "tag"))
PERIODS: frozenset[str] = frozenset(("day", "month", "lifetime"))

NANO = 1_000_000_000  # nano-dollars per dollar
#: how long a finished period's counters stay readable (e.g. for "yesterday")
GRACE = 35 * 86400.0

log = logging.getLogger("llmrelay.budget")


def to_nano(dollars: float, *, up: bool = False) -> int:
    return math.ceil(dollars * NANO) if up else round(dollars * NANO)


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """One budget. ``name`` picks one key, user or tag; without it the rule applies to
    each one separately (and ``global`` has no name). ``hard`` refuses, ``soft`` alerts;
    both in US dollars."""

    scope: Scope
    period: Period
    hard: float | None = None
    soft: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        where = f"budget ({self.scope}{' ' + repr(self.name) if self.name else ''}, {self.period})"
        if self.scope not in SCOPES:
            raise ConfigError(
                f"{where}: scope must be one of {', '.join(sorted(SCOPES))}, got {self.scope!r}"
            )
        if self.period not in PERIODS:
            raise ConfigError(f"{where}: period must be one of day, month, lifetime, got {self.period!r}")
        if self.scope == "global" and self.name is not None:
            raise ConfigError(f"{where}: a global budget has no name")
        for field in ("hard", "soft"):
            value = getattr(self, field)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf
            ):
                raise ConfigError(f"{where}: {field} must be a number of dollars >= 0, got {value!r}")
        if self.hard is None and self.soft is None:
            raise ConfigError(f"{where}: give a hard limit, a soft limit or both")
        if self.hard is not None and self.soft is not None and self.soft > self.hard:
            raise ConfigError(f"{where}: the soft limit ({self.soft}) is above the hard limit ({self.hard})")

    def value_for(self, subject: Subject) -> list[str]:
        """The keys, users, teams or tags of ``subject`` this rule counts ("" for global)."""
        if self.scope == "global":
            return [""]
        values: Sequence[str]
        if self.scope == "tag":
            values = subject.tags
        else:
            one = (
                subject.key_id
                if self.scope == "key"
                else subject.team
                if self.scope == "team"
                else subject.user
            )
            values = (one,) if one else ()
        return [v for v in values if self.name is None or v == self.name]


@dataclass(frozen=True, slots=True)
class Account:
    """One counter of spending: a scope value in one period, with its tightest limits."""

    id: str
    scope: Scope
    value: str
    period: Period
    hard: int | None  # nano-dollars
    soft: int | None
    resets_at: float | None  # epoch seconds; None for lifetime

    def ttl(self, now: float) -> float | None:
        """How long its record must be kept from ``now`` (None: for ever)."""
        return None if self.resets_at is None else self.resets_at - now + GRACE

    @property
    def label(self) -> str:
        who = "the global" if self.scope == "global" else f"{self.scope} {self.value!r}'s"
        span = {"day": "daily", "month": "monthly", "lifetime": "lifetime"}[self.period]
        return f"{who} {span} budget"


def period_of(period: Period, now: float) -> tuple[str, float | None]:
    """The period's id and when it ends (UTC)."""
    if period == "lifetime":
        return "all", None
    t = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start.timestamp() + 86400.0
    start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.strftime("%Y-%m"), nxt.timestamp()


def accounts_for(rules: Sequence[BudgetRule], subject: Subject, now: float) -> list[Account]:
    """Every account a call by ``subject`` is counted in; rules sharing one keep the lowest limits."""
    found: dict[str, Account] = {}
    for rule in rules:
        for value in rule.value_for(subject):
            pid, resets = period_of(rule.period, now)
            aid = f"{rule.scope}:{value}:{pid}"
            hard = None if rule.hard is None else to_nano(rule.hard)
            soft = None if rule.soft is None else to_nano(rule.soft)
            old = found.get(aid)
            if old is not None:
                hard = _lowest(hard, old.hard)
                soft = _lowest(soft, old.soft)
            found[aid] = Account(aid, rule.scope, value, rule.period, hard, soft, resets)
    return list(found.values())


def _lowest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation did not fit: account ``index`` has ``spent`` and ``reserved``."""

    index: int
    spent: int
    reserved: int


class BudgetBackend(Protocol):
    """Where spending lives; each method is atomic over the accounts it is given.

    ``local`` is True when the spending lives in this process, so a ``read`` costs no
    round trip."""

    local: bool

    async def reserve(
        self, accounts: Sequence[Account], reservation_id: str, amount: int, lease: float
    ) -> Refusal | None: ...

    async def settle(
        self, accounts: Sequence[Account], reservation_id: str, cost: int
    ) -> list[tuple[int, int]]:
        """Drop the reservation and add ``cost`` (0 releases). Returns ``(index, spent)`` for
        each account whose soft limit this settlement reached first."""
        ...

    async def first(self, account: Account, flag: str) -> bool:
        """True exactly once per account and flag (alerts fire once per period)."""
        ...

    async def read(self, account: Account) -> tuple[int, int]:
        """``(spent, reserved)`` now."""
        ...


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A soft limit reached, or a hard limit exhausted (the first refusal of the period)."""

    level: Literal["soft", "hard"]
    scope: Scope
    name: str
    period: Period
    limit: float
    spent: float

    @property
    def message(self) -> str:
        who = "global" if self.scope == "global" else f"{self.scope} {self.name!r}"
        return f"{who} {self.period} budget: ${self.spent:.4f} spent, {self.level} limit ${self.limit:.4f}"


AlertHandler = Callable[[BudgetAlert], object]


class Budgets:
    """Enforces ``rules`` with a backend (memory by default, ``RedisBudgetBackend`` to share).

    ``lease`` bounds how long a reservation may stay open, so a crashed process does not
    hold budget for ever. ``on_alert`` is called (and awaited if it returns an awaitable)
    for each ``BudgetAlert``; its failures are logged, never raised into the call.
    """

    def __init__(
        self,
        rules: Sequence[BudgetRule],
        backend: BudgetBackend | None = None,
        *,
        on_alert: AlertHandler | None = None,
        lease: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if backend is None:
            from llmrelay.limits.budget_memory import MemoryBudgetBackend

            backend = MemoryBudgetBackend(clock)
        if not lease > 0:
            raise ConfigError(f"budget lease must be a number of seconds > 0, got {lease!r}")
        self.rules = tuple(rules)
        self.backend = backend
        self.lease = lease
        self._handlers: list[AlertHandler] = [on_alert] if on_alert is not None else []
        self._clock = clock
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-{id(self):x}-"

    def add_alert_handler(self, handler: AlertHandler) -> None:
        self._handlers.append(handler)

    def applies(self, subject: Subject) -> bool:
        """Whether any budget counts calls by ``subject``."""
        return any(rule.value_for(subject) for rule in self.rules)

    def accounts(self, subject: Subject) -> list[Account]:
        return accounts_for(self.rules, subject, self._clock())

    async def reserve(self, subject: Subject, max_cost: float) -> Reservation:
        """Hold ``max_cost`` dollars against every budget of ``subject``, or raise
        ``BudgetExceededError`` (nothing held) when a hard limit would be passed.

        The error's ``code`` says why: ``budget_exceeded`` (spent so far leaves no room;
        ``retry_after`` is the time to the period's reset, None for lifetime) or
        ``budget_reserved`` (calls in flight hold the rest; it may fit once they settle).
        """
        if (
            isinstance(max_cost, bool)
            or not isinstance(max_cost, int | float)
            or not 0 <= max_cost < math.inf
        ):
            raise ConfigError(f"max_cost must be a number of dollars >= 0, got {max_cost!r}")
        accounts = self.accounts(subject)
        rid = self._prefix + str(next(self._ids))
        if not accounts:
            return Reservation(self, (), rid, 0)
        amount = to_nano(max_cost, up=True)
        refusal = await self.backend.reserve(accounts, rid, amount, self.lease)
        if refusal is None:
            return Reservation(self, tuple(accounts), rid, amount)
        account = accounts[refusal.index]
        assert account.hard is not None  # only hard limits refuse
        spent, reserved = refusal.spent / NANO, refusal.reserved / NANO
        limit = account.hard / NANO
        if refusal.spent + amount > account.hard:
            if await self.backend.first(account, "hard"):
                await self._alert(
                    BudgetAlert("hard", account.scope, account.value, account.period, limit, spent)
                )
            reset = None if account.resets_at is None else max(account.resets_at - self._clock(), 0.0)
            raise BudgetExceededError(
                f"{account.label} is exhausted: ${spent:.4f} spent of ${limit:.4f}, and this call may cost "
                f"up to ${max_cost:.4f}; nothing was sent"
                + ("" if reset is None else f" (it resets in {reset / 3600:.1f} h)"),
                code="budget_exceeded",
                retry_after=reset,
            )
        raise BudgetExceededError(
            f"{account.label} is held by calls in flight: ${spent:.4f} spent + ${reserved:.4f} reserved "
            f"+ up to ${max_cost:.4f} for this call > ${limit:.4f}; nothing was sent (it may fit once "
            "those calls finish)",
            code="budget_reserved",
        )

    async def status(self, subject: Subject) -> list[tuple[Account, float, float]]:
        """``(account, spent, reserved)`` in dollars for each budget of ``subject``."""
        out = []
        for account in self.accounts(subject):
            spent, reserved = await self.backend.read(account)
            out.append((account, spent / NANO, reserved / NANO))
        return out

    async def _settled(self, crossed: list[tuple[int, int]], accounts: tuple[Account, ...]) -> None:
        for index, spent in crossed:
            a = accounts[index]
            assert a.soft is not None
            await self._alert(BudgetAlert("soft", a.scope, a.value, a.period, a.soft / NANO, spent / NANO))

    async def _alert(self, alert: BudgetAlert) -> None:
        log.warning(
            "budget alert: %s",
            alert.message,
            extra={
                "event": "budget_alert",
                "alert_level": alert.level,
                "scope": alert.scope,
                "subject": alert.name,
                "period": alert.period,
                "limit": alert.limit,
                "spent": alert.spent,
            },
        )
        for handler in self._handlers:
            try:
                result = handler(alert)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("budget alert handler %r failed", handler)


class Reservation:
    """Money held for one call; ``settle`` with the real cost or ``release`` it."""

    __slots__ = ("_budgets", "_done", "accounts", "amount", "id")

    def __init__(self, budgets: Budgets, accounts: tuple[Account, ...], rid: str, amount: int) -> None:
        self._budgets = budgets
        self.accounts = accounts
        self.id = rid
        self.amount = amount
        self._done = False

    async def settle(self, cost: float | None) -> None:
        """The call is over and cost ``cost`` dollars (None: unknown, so the full
        reservation is counted). Settling again does nothing."""
        if self._done:
            return
        self._done = True
        if not self.accounts:
            return
        nano = self.amount if cost is None else max(to_nano(cost), 0)
        crossed = await self._budgets.backend.settle(self.accounts, self.id, nano)
        if crossed:
            await self._budgets._settled(crossed, self.accounts)

    async def release(self) -> None:
        """The call cost nothing (it failed before the provider billed it)."""
        await self.settle(0.0)
