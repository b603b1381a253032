"""Budget accounts in Redis, shared by every process and replica, kept across restarts.

An account is a few keys under ``<prefix>budget:<scope>:<value>:<period>``: money spent,
open reservations (a sorted set scored by lease expiry, with a hash of amounts), their
total, and once-per-period alert flags. Reserving against several accounts is one Lua
script, so it is atomic; a period's keys expire some weeks after the period ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmrelay.limits.budget import Account, Refusal

if TYPE_CHECKING:
    from redis.asyncio import Redis

_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

-- Drop lapsed reservations; return the reserved total.
local function purge(r, ra, rt)
  local total = tonumber(redis.call('GET', rt) or '0')
  local old = redis.call('ZRANGEBYSCORE', r, '-inf', now)
  if #old > 0 then
    for _, m in ipairs(old) do
      total = total - (tonumber(redis.call('HGET', ra, m)) or 0)
      redis.call('HDEL', ra, m)
    end
    redis.call('ZREMRANGEBYSCORE', r, '-inf', now)
    if total < 0 then total = 0 end
    redis.call('SET', rt, total, 'KEEPTTL')
  end
  return total
end

local function keep(ttl, keys)
  if ttl > 0 then
    for _, k in ipairs(keys) do redis.call('EXPIRE', k, ttl) end
  end
end
"""

# KEYS: spent, r, ra, rt per account. ARGV: id, amount, lease, then hard ('' = none), ttl per account.
_RESERVE = (
    _COMMON
    + """
local id, amount, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #KEYS / 4
for i = 0, n - 1 do
  local spent_k, r, ra, rt = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  local reserved = purge(r, ra, rt)
  local hard = ARGV[4+2*i]
  if hard ~= '' then
    local spent = tonumber(redis.call('GET', spent_k) or '0')
    if spent + reserved + amount > tonumber(hard) then
      return {i, tostring(spent), tostring(reserved)}
    end
  end
end
for i = 0, n - 1 do
  local spent_k, r, ra, rt = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  redis.call('ZADD', r, now + lease, id)
  redis.call('HSET', ra, id, amount)
  redis.call('INCRBY', rt, amount)
  keep(tonumber(ARGV[5+2*i]), {spent_k, r, ra, rt})
end
return false
"""
)

# KEYS: spent, r, ra, rt, soft flag per account. ARGV: id, cost, then soft ('' = none), ttl per account.
# Returns {index, spent, ...} for each account whose soft limit this settlement reached first.
_SETTLE = (
    _COMMON
    + """
local id, cost = ARGV[1], tonumber(ARGV[2])
local n = #KEYS / 5
local crossed = {}
for i = 0, n - 1 do
  local spent_k, r, ra, rt, flag = KEYS[5*i+1], KEYS[5*i+2], KEYS[5*i+3], KEYS[5*i+4], KEYS[5*i+5]
  purge(r, ra, rt)
  if redis.call('ZREM', r, id) == 1 then
    local held = tonumber(redis.call('HGET', ra, id)) or 0
    redis.call('HDEL', ra, id)
    local left = tonumber(redis.call('DECRBY', rt, held))
    if left < 0 then redis.call('SET', rt, 0, 'KEEPTTL') end
  end
  local spent = redis.call('INCRBY', spent_k, cost)
  local soft, ttl = ARGV[3+2*i], tonumber(ARGV[4+2*i])
  keep(ttl, {spent_k})
  if soft ~= '' and spent >= tonumber(soft) then
    local ok
    if ttl > 0 then
      ok = redis.call('SET', flag, 1, 'NX', 'EX', ttl)
    else
      ok = redis.call('SET', flag, 1, 'NX')
    end
    if ok then
      crossed[#crossed + 1] = i
      crossed[#crossed + 1] = spent
    end
  end
end
return crossed
"""
)

# KEYS: spent, r, ra, rt. Returns {spent, reserved}.
_READ = (
    _COMMON
    + """
local reserved = purge(KEYS[2], KEYS[3], KEYS[4])
return {tonumber(redis.call('GET', KEYS[1]) or '0'), reserved}
"""
)


class RedisBudgetBackend:
    """Accounts in Redis under ``prefix`` (e.g. ``StateContext.prefix``)."""

    local = False

    def __init__(self, redis: Redis, prefix: str = "llmrelay:") -> None:
        self._redis = redis
        self._prefix = prefix + "budget:"
        self._reserve: Any = redis.register_script(_RESERVE)
        self._settle: Any = redis.register_script(_SETTLE)
        self._read: Any = redis.register_script(_READ)

    def _keys(self, account: Account, *suffixes: str) -> list[str]:
        base = self._prefix + account.id
        return [f"{base}:{s}" for s in suffixes]

    @staticmethod
    def _ttl(account: Account) -> int:
        ttl = account.ttl(time.time())
        return 0 if ttl is None else max(math.ceil(ttl), 1)

    async def reserve(
        self, accounts: Sequence[Account], reservation_id: str, amount: int, lease: float
    ) -> Refusal | None:
        keys: list[str] = []
        args: list[str | int | float] = [reservation_id, amount, lease]
        for a in accounts:
            keys += self._keys(a, "spent", "r", "ra", "rt")
            args += ("" if a.hard is None else a.hard, self._ttl(a))
        out = await self._reserve(keys=keys, args=args)
        if out is None:
            return None
        return Refusal(int(out[0]), int(float(out[1])), int(float(out[2])))

    async def settle(
        self, accounts: Sequence[Account], reservation_id: str, cost: int
    ) -> list[tuple[int, int]]:
        keys: list[str] = []
        args: list[str | int | float] = [reservation_id, cost]
        for a in accounts:
            keys += self._keys(a, "spent", "r", "ra", "rt", "soft")
            args += ("" if a.soft is None else a.soft, self._ttl(a))
        out = await self._settle(keys=keys, args=args)
        return [(int(out[i]), int(out[i + 1])) for i in range(0, len(out), 2)]

    async def first(self, account: Account, flag: str) -> bool:
        ttl = self._ttl(account)
        ok = await self._redis.set(self._keys(account, flag)[0], 1, nx=True, ex=ttl or None)
        return bool(ok)

    async def read(self, account: Account) -> tuple[int, int]:
        out = await self._read(keys=self._keys(account, "spent", "r", "ra", "rt"))
        return int(out[0]), int(out[1])
