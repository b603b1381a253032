"""Rate-limit counters in Redis, shared by every process and replica.

Each counter is four keys: calls in flight (sorted set, scored by lease expiry),
finished calls still in their window (sorted set, scored by expiry), each entry's
amount (hash) and the running total. Every decision is one server-side Lua script, so
taking several counters at once is atomic, and time is the Redis server's clock, so
replicas with skewed clocks still agree.

The keys of one call's counters must live on one Redis node (no cluster slot spread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmrelay.limits.ratelimit import Slot

if TYPE_CHECKING:
    from redis.asyncio import Redis

_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

-- Drop what has expired (keeping the stored total in step); return the counter's total.
local function purge(f, s, a, tk)
  local total = tonumber(redis.call('GET', tk) or '0')
  local dropped = false
  for _, z in ipairs({f, s}) do
    local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
    if #old > 0 then
      for _, m in ipairs(old) do
        total = total - (tonumber(redis.call('HGET', a, m)) or 0)
        redis.call('HDEL', a, m)
      end
      redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
      dropped = true
    end
  end
  if total < 0 then total = 0 end
  if dropped then redis.call('SET', tk, total, 'KEEPTTL') end
  return total
end

local function keep(ttl_ms, f, s, a, tk)
  for _, k in ipairs({f, s, a, tk}) do
    if redis.call('PTTL', k) < ttl_ms then redis.call('PEXPIRE', k, ttl_ms) end
  end
end
"""

# KEYS: f, s, a, t per slot. ARGV: permit id, lease, then limit, amount, hold per slot.
# Returns nil when admitted, else {slot index, seconds before it can fit (a lower bound)}.
_ACQUIRE = (
    _COMMON
    + """
local id = ARGV[1]
local lease = tonumber(ARGV[2])
local n = #KEYS / 4

-- Seconds until `need` frees: finished calls at their expiry, calls in flight no sooner
-- than `hold` from now (they must finish first).
local function wait_for(f, s, a, need, hold)
  local flying = 0
  for _, m in ipairs(redis.call('ZRANGE', f, 0, -1)) do
    flying = flying + (tonumber(redis.call('HGET', a, m)) or 0)
  end
  local freed, counted = 0, false
  local entries = redis.call('ZRANGE', s, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local exp = tonumber(entries[i + 1])
    if not counted and exp >= now + hold then
      freed = freed + flying
      counted = true
      if freed >= need then return hold end
    end
    freed = freed + (tonumber(redis.call('HGET', a, entries[i])) or 0)
    if freed >= need then return exp - now end
  end
  return hold
end

local totals = {}
local worst, worst_after = -1, -1
for i = 0, n - 1 do
  local f, s, a, tk = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  local limit, amount, hold = tonumber(ARGV[3+3*i]), tonumber(ARGV[4+3*i]), tonumber(ARGV[5+3*i])
  local total = purge(f, s, a, tk)
  totals[i + 1] = total
  local over = total + amount - limit
  if over > 0 then
    local after = wait_for(f, s, a, over, hold)
    if after > worst_after then worst, worst_after = i, after end
  end
end
if worst >= 0 then return {worst, tostring(worst_after)} end
for i = 0, n - 1 do
  local f, s, a, tk = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  local amount, hold = tonumber(ARGV[4+3*i]), tonumber(ARGV[5+3*i])
  redis.call('ZADD', f, now + lease, id)
  redis.call('HSET', a, id, amount)
  redis.call('SET', tk, totals[i + 1] + amount)
  keep(math.ceil((math.max(lease, hold) + 1) * 1000), f, s, a, tk)
end
return false
"""
)

# KEYS: f, s, a, t per slot. ARGV: permit id, then amount, hold per slot.
_SETTLE = (
    _COMMON
    + """
local id = ARGV[1]
local n = #KEYS / 4
for i = 0, n - 1 do
  local f, s, a, tk = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  local amount, hold = tonumber(ARGV[2+2*i]), tonumber(ARGV[3+2*i])
  local total = purge(f, s, a, tk)
  if redis.call('ZREM', f, id) == 1 then
    total = total - (tonumber(redis.call('HGET', a, id)) or 0)
    redis.call('HDEL', a, id)
  end
  if amount > 0 and hold > 0 then
    redis.call('ZADD', s, now + hold, id)
    redis.call('HSET', a, id, amount)
    total = total + amount
  end
  if total < 0 then total = 0 end
  redis.call('SET', tk, total, 'KEEPTTL')
  keep(math.ceil((hold + 1) * 1000), f, s, a, tk)
end
return false
"""
)


class RedisLimiterBackend:
    """Counters in Redis under ``prefix`` (e.g. ``StateContext.prefix``)."""

    def __init__(self, redis: Redis, prefix: str = "llmrelay:") -> None:
        self._redis = redis
        self._prefix = prefix + "rl:"
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._settle: Any = redis.register_script(_SETTLE)

    def _keys(self, slots: Sequence[Slot]) -> list[str]:
        keys: list[str] = []
        for s in slots:
            base = self._prefix + s.bucket
            keys += (base + ":f", base + ":s", base + ":a", base + ":t")
        return keys

    async def try_acquire(
        self, slots: Sequence[Slot], permit_id: str, lease: float
    ) -> tuple[int, float] | None:
        args: list[str | int | float] = [permit_id, lease]
        for s in slots:
            args += (s.limit, s.amount, s.hold)
        out = await self._acquire(keys=self._keys(slots), args=args)
        if out is None:
            return None
        return int(out[0]), float(out[1])

    async def settle(self, slots: Sequence[Slot], permit_id: str, amounts: Sequence[int]) -> None:
        args: list[str | int | float] = [permit_id]
        for s, amount in zip(slots, amounts, strict=True):
            args += (amount, s.hold)
        await self._settle(keys=self._keys(slots), args=args)

    async def usage(self, bucket: str) -> int:
        """What a counter holds now, expired entries aside (for tests and reports)."""
        slot = Slot(bucket, 1, 0, 0.0, "rpm")
        # A settle of nothing under an unknown id purges and leaves the total current.
        await self._settle(keys=self._keys([slot]), args=["-", 0, 0])
        raw = await self._redis.get(self._prefix + bucket + ":t")
        return int(float(raw)) if raw is not None else 0
