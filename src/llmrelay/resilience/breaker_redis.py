"""Circuit breakers in Redis, so that every replica sees the same state.

Each deployment's breaker is one hash (``<prefix>circuit:<name>``): ``state``,
``opened_at``, ``probe_until`` and the window's ``s:<bucket>`` / ``f:<bucket>``
counts. Every change is one Lua script, so concurrent replicas cannot both take the
probe or double-count a window. Times come from the caller's wall clock (replicas'
clocks are assumed NTP-close: a skew only shifts a cool-down by that much). Keys expire
after a few windows of silence.

If Redis cannot be reached the breakers fail open: traffic flows as if closed and
a warning is logged; an unavailable Redis must not take the provider down with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis.exceptions import RedisError

from llmrelay.resilience.breaker import (
    CLOSED,
    BreakerConfig,
    BreakerView,
    CircuitState,
    Outcome,
    Permit,
    Transition,
)

log = logging.getLogger("llmrelay.circuit")

_DOWN = (RedisError, OSError)

# Returns {code, retry_in}: 0 allowed, 1 probe (open -> half-open), 2 probe, 3 refused.
# Numbers go back as strings (all 17 digits): Redis would truncate a Lua float reply to an
# integer, and Lua's own tostring keeps only 14 significant digits of an epoch time.
_ACQUIRE = """
local function num(x) return string.format('%.17g', x) end
local now = tonumber(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'closed' then return {0, '0'} end
if state == 'open' then
  local ready = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0') + tonumber(ARGV[2])
  if now < ready then return {3, num(ready - now)} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', num(now + tonumber(ARGV[3])))
  return {1, '0'}
end
local until_ = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if now < until_ then return {3, num(until_ - now)} end
redis.call('HSET', KEYS[1], 'probe_until', num(now + tonumber(ARGV[3])))
return {2, '0'}
"""

# ARGV: now, outcome, probe, bucket width, buckets, min volume, failure rate, ttl ms.
# Returns {transition, failures, total}; transition '' when the state did not change.
_RECORD = """
local function num(x) return string.format('%.17g', x) end
local now, outcome, probe = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local function drop_window()
  local fields = redis.call('HKEYS', KEYS[1])
  for _, f in ipairs(fields) do
    if string.sub(f, 2, 2) == ':' then redis.call('HDEL', KEYS[1], f) end
  end
end
local function decide()
  if probe then
    if state ~= 'half_open' then return {'', 0, 0} end
    if outcome == 'success' then
      drop_window()
      redis.call('HSET', KEYS[1], 'state', 'closed', 'probe_until', '0')
      return {'half_open>closed', 0, 0}
    elseif outcome == 'failure' then
      redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', num(now), 'probe_until', '0')
      return {'half_open>open', 0, 0}
    end
    redis.call('HSET', KEYS[1], 'probe_until', '0')
    return {'', 0, 0}
  end
  if state ~= 'closed' or outcome == 'ignore' then return {'', 0, 0} end
  local width, buckets = tonumber(ARGV[4]), tonumber(ARGV[5])
  local bucket = math.floor(now / width)
  redis.call('HINCRBY', KEYS[1], (outcome == 'success' and 's:' or 'f:') .. bucket, 1)
  local all = redis.call('HGETALL', KEYS[1])
  local ok, bad = 0, 0
  for i = 1, #all, 2 do
    local f = all[i]
    if string.sub(f, 2, 2) == ':' then
      local b = tonumber(string.sub(f, 3))
      if b <= bucket - buckets then
        redis.call('HDEL', KEYS[1], f)
      elseif string.sub(f, 1, 1) == 's' then
        ok = ok + tonumber(all[i + 1])
      else
        bad = bad + tonumber(all[i + 1])
      end
    end
  end
  local total = ok + bad
  if total >= tonumber(ARGV[6]) and bad >= tonumber(ARGV[7]) * total then
    drop_window()
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', num(now), 'probe_until', '0')
    return {'closed>open', bad, total}
  end
  return {'', bad, total}
end
local result = decide()
-- last, so that it also covers a hash that emptied out and was created anew
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return result
"""


class RedisBreakers:
    """``BreakerStore`` over a ``redis.asyncio.Redis`` client (see ``llmrelay.state``)."""

    def __init__(
        self,
        redis: Any,
        prefix: str,
        config: BreakerConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config if config is not None else BreakerConfig()
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)
        cfg = self.config
        self._ttl_ms = str(int((cfg.window + cfg.cooldown + cfg.probe_timeout) * 2000))

    def key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    async def acquire(self, name: str) -> Permit:
        cfg = self.config
        try:
            code, retry_in = await self._acquire(
                keys=[self.key(name)], args=[repr(self._clock()), repr(cfg.cooldown), repr(cfg.probe_timeout)]
            )
        except _DOWN as exc:  # fail open
            _unreachable(exc)
            return Permit(True)
        code = int(code)
        if code == 0:
            return Permit(True)
        if code == 3:
            return Permit(False, retry_in=float(retry_in))
        opened = Transition(name, "open", "half_open") if code == 1 else None
        return Permit(True, probe=True, transition=opened)

    async def record(self, name: str, outcome: Outcome, probe: bool) -> Transition | None:
        cfg = self.config
        args = [
            repr(self._clock()),
            outcome,
            "1" if probe else "0",
            repr(cfg.bucket_width),
            str(cfg.buckets),
            str(cfg.min_volume),
            repr(cfg.failure_rate),
            self._ttl_ms,
        ]
        try:
            change, failures, total = await self._record(keys=[self.key(name)], args=args)
        except _DOWN as exc:
            _unreachable(exc)
            return None
        change = change.decode() if isinstance(change, bytes) else str(change)
        if not change:
            return None
        old, new = change.split(">")
        return Transition(name, _state(old), _state(new), int(failures), int(total))

    async def views(self, names: Iterable[str]) -> dict[str, BreakerView]:
        names = list(names)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hmget(self.key(name), "state", "opened_at", "probe_until")
                rows = await pipe.execute()
        except _DOWN as exc:
            _unreachable(exc)
            return dict.fromkeys(names, CLOSED)
        now, out = self._clock(), {}
        for name, (state, opened_at, probe_until) in zip(names, rows, strict=True):
            s = _state(state.decode() if state else "closed")
            if s == "open":
                out[name] = BreakerView("open", max(0.0, float(opened_at or 0) + self.config.cooldown - now))
            elif s == "half_open":
                out[name] = BreakerView("half_open", max(0.0, float(probe_until or 0) - now))
            else:
                out[name] = CLOSED
        return out

    async def reset(self, name: str) -> None:
        try:
            await self._redis.delete(self.key(name))
        except _DOWN as exc:
            _unreachable(exc)


def _state(value: str) -> CircuitState:
    if value == "open":
        return "open"
    if value == "half_open":
        return "half_open"
    return "closed"


def _unreachable(exc: BaseException) -> None:
    # The exception text names the Redis host, never a credential (redis-py redacts URLs).
    log.warning(
        "circuit state in Redis unavailable; treating breakers as closed",
        extra={"event": "circuit_state_unavailable", "error": type(exc).__name__},
    )
