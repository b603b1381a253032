"""Budget accounts in this process's memory (the default backend).

Spending here lasts as long as the process: use the Redis backend for budgets that
must survive a restart or be shared by several processes. Methods never await, which
makes each one atomic in asyncio.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence

from llmrelay.limits.budget import Account, Refusal
from llmrelay.limits.leases import expire


class _Ledger:
    __slots__ = ("flags", "held", "reserved", "spent")

    def __init__(self) -> None:
        self.spent = 0
        self.reserved = 0
        self.held: dict[str, tuple[int, float]] = {}  # reservation id -> (amount, lease expiry)
        self.flags: set[str] = set()

    def purge(self, now: float) -> None:
        self.reserved -= expire(self.held, now)


class MemoryBudgetBackend:
    """Accounts for one process; ``clock`` gives epoch seconds (for period expiry)."""

    local = True

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._ledgers: dict[str, _Ledger] = {}
        self._expiry: list[tuple[float, str]] = []  # heap: when a past period's ledger may go

    async def reserve(
        self, accounts: Sequence[Account], reservation_id: str, amount: int, lease: float
    ) -> Refusal | None:
        now = self._clock()
        self._forget(now)
        ledgers = [self._ledger(a) for a in accounts]
        for i, (account, ledger) in enumerate(zip(accounts, ledgers, strict=True)):
            ledger.purge(now)
            if account.hard is not None and ledger.spent + ledger.reserved + amount > account.hard:
                return Refusal(i, ledger.spent, ledger.reserved)
        for ledger in ledgers:
            ledger.held[reservation_id] = (amount, now + lease)
            ledger.reserved += amount
        return None

    async def settle(
        self, accounts: Sequence[Account], reservation_id: str, cost: int
    ) -> list[tuple[int, int]]:
        crossed = []
        for i, account in enumerate(accounts):
            ledger = self._ledger(account)
            held = ledger.held.pop(reservation_id, None)
            if held is not None:
                ledger.reserved -= held[0]
            ledger.spent += cost
            if account.soft is not None and ledger.spent >= account.soft and "soft" not in ledger.flags:
                ledger.flags.add("soft")
                crossed.append((i, ledger.spent))
        return crossed

    async def first(self, account: Account, flag: str) -> bool:
        ledger = self._ledger(account)
        if flag in ledger.flags:
            return False
        ledger.flags.add(flag)
        return True

    async def read(self, account: Account) -> tuple[int, int]:
        ledger = self._ledgers.get(account.id)
        if ledger is None:
            return 0, 0
        ledger.purge(self._clock())
        return ledger.spent, ledger.reserved

    def _ledger(self, account: Account) -> _Ledger:
        ledger = self._ledgers.get(account.id)
        if ledger is None:
            ledger = self._ledgers[account.id] = _Ledger()
            now = self._clock()
            ttl = account.ttl(now)
            if ttl is not None:
                heapq.heappush(self._expiry, (now + ttl, account.id))
        return ledger

    def _forget(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            self._ledgers.pop(heapq.heappop(self._expiry)[1], None)
