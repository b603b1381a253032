"""Conversations in Redis (redis-py asyncio), shared by any number of processes and replicas.

Keys, under the store's prefix: ``conv:<id>`` a hash of the conversation's settings and
summary, ``conv:<id>:turns`` a list of turns as JSON, and ``conversations`` a sorted set of
ids by last update. Every change is one server-side script, so it is atomic: an append is
a single ``RPUSH`` of its whole batch (contiguous, never lost) plus the bookkeeping, and a
fork copies under the same guarantee. Not for Redis Cluster (a conversation's keys and the
index live in different slots).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from llmrelay.app.conversations import codec
from llmrelay.app.conversations.errors import (
    ConversationExistsError,
    ConversationNotFoundError,
    ConversationStoreError,
)
from llmrelay.app.conversations.store import (
    ConversationInfo,
    StoredConversation,
    check_id,
    display_url,
    fork_upto,
)
from llmrelay.errors import ConfigError, LLMRelayError
from llmrelay.secrets import redact
from llmrelay.types import Message

# KEYS: hash, turns, index. ARGV: id, now, field/value pairs. 0 when it exists already.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""
# KEYS: hash, turns, index. ARGV: id, now, turns... The new length, or -1 when there is no conversation.
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('RPUSH', KEYS[2], unpack(ARGV, 3))
redis.call('HSET', KEYS[1], 'updated', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return n
"""
# KEYS: hash, turns, index. ARGV: id, now, n fields, field/value pairs..., turns...
_SAVE = """
redis.call('DEL', KEYS[1], KEYS[2])
local nf = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nf))
if #ARGV > 3 + nf then redis.call('RPUSH', KEYS[2], unpack(ARGV, 4 + nf)) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""
# KEYS: hash. ARGV: summary, upto. 1 stored, 0 a summary covering as much exists, -1 no conversation.
_SUMMARY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[1], 'summary_upto') or '0')
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'summary', ARGV[1], 'summary_upto', ARGV[2])
return 1
"""
# KEYS: hash, turns, index. ARGV: id, now, model, system. -1 no conversation.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'model', string.sub(ARGV[3], 2)) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'system', string.sub(ARGV[4], 2)) end
redis.call('HSET', KEYS[1], 'updated', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""
# KEYS: hash, turns, index, new hash, new turns. ARGV: new id, now, upto (-1: all).
# -1 no source, -2 the new id exists, -3 upto past the end; else the new length.
_FORK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[4]) == 1 then return -2 end
local len = redis.call('LLEN', KEYS[2])
local n = tonumber(ARGV[3])
if n < 0 then n = len end
if n > len then return -3 end
local fields = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[4], unpack(fields))
redis.call('HSET', KEYS[4], 'id', ARGV[1], 'created', ARGV[2], 'updated', ARGV[2])
local upto = tonumber(redis.call('HGET', KEYS[1], 'summary_upto') or '0')
if upto > n then
  redis.call('HDEL', KEYS[4], 'summary')
  redis.call('HSET', KEYS[4], 'summary_upto', '0')
end
local i = 0
while i < n do
  local chunk = redis.call('LRANGE', KEYS[2], i, math.min(i + 999, n - 1))
  redis.call('RPUSH', KEYS[5], unpack(chunk))
  i = i + 1000
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return n
"""
# KEYS: hash, turns, index. ARGV: id.
_DELETE = """
local n = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return n
"""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStore:
    def __init__(
        self, redis: Any, prefix: str = "llmrelay:", *, owns_client: bool = False, url: str = ""
    ) -> None:
        """``redis`` is a ``redis.asyncio.Redis``; with ``owns_client`` the store closes it."""
        if not prefix:
            raise ConfigError("the Redis key prefix must not be empty (e.g. llmrelay:)")
        self._redis = redis
        self._prefix = prefix
        self._owns = owns_client
        self._url = url
        self._scripts: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, prefix: str = "llmrelay:") -> RedisStore:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigError(
                "a Redis conversation store needs redis-py: pip install 'llmrelay[redis]'"
            ) from None
        return cls(Redis.from_url(url), prefix, owns_client=True, url=url)

    def __repr__(self) -> str:
        return f"RedisStore({self.description!r})"

    @property
    def description(self) -> str:
        where = display_url(self._url) if self._url else "redis"
        return f"{where} (prefix {self._prefix!r})"

    # ------------------------------------------------------------------ plumbing

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self._prefix}conv:{conversation_id}"
        return [base, f"{base}:turns", f"{self._prefix}conversations"]

    async def _call(self, name: str, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self._redis.register_script(source)
        try:
            return await script(keys=list(keys), args=list(args))
        except Exception as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> ConversationStoreError:
        return ConversationStoreError(
            f"conversation store {self.description}: {redact(f'{type(exc).__name__}: {exc}')}"
        )

    async def _do(self, op: Any) -> Any:
        try:
            return await op
        except LLMRelayError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    def _missing(self, conversation_id: str) -> ConversationNotFoundError:
        return ConversationNotFoundError(f"no conversation {conversation_id!r} in {self.description}")

    @staticmethod
    def _fields(info: ConversationInfo) -> list[str]:
        pairs: dict[str, str] = {
            "id": info.id,
            "created": repr(info.created),
            "updated": repr(info.updated),
            "summary_upto": str(info.summary_upto),
        }
        if info.model is not None:
            pairs["model"] = info.model
        if info.system is not None:
            pairs["system"] = info.system
        if info.summary is not None:
            pairs["summary"] = info.summary
        if info.metadata:
            pairs["metadata"] = json.dumps(dict(info.metadata), separators=(",", ":"))
        return [x for kv in pairs.items() for x in kv]

    @staticmethod
    def _info(fields: Mapping[Any, Any], length: int) -> ConversationInfo:
        f = {_text(k): _text(v) for k, v in fields.items()}
        meta = f.get("metadata")
        return ConversationInfo(
            id=f.get("id") or "",
            model=f.get("model"),
            system=f.get("system"),
            length=length,
            summary=f.get("summary"),
            summary_upto=int(f.get("summary_upto") or 0),
            created=float(f.get("created") or 0),
            updated=float(f.get("updated") or 0),
            metadata=json.loads(meta) if meta else {},
        )

    async def _snapshot(
        self, conversation_id: str, start: int, with_turns: bool
    ) -> tuple[ConversationInfo, list[Any]]:
        keys = self._keys(conversation_id)
        pipe = self._redis.pipeline(transaction=True)  # MULTI/EXEC: one consistent view
        pipe.hgetall(keys[0])
        pipe.llen(keys[1])
        if with_turns:
            pipe.lrange(keys[1], start, -1)
        results = await self._do(pipe.execute())
        if not results[0]:
            raise self._missing(conversation_id)
        return self._info(results[0], int(results[1])), (results[2] if with_turns else [])

    # ------------------------------------------------------------------ the store

    async def create(
        self,
        conversation_id: str,
        *,
        model: str | None = None,
        system: str | None = None,
        metadata: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> ConversationInfo:
        check_id(conversation_id)
        now = time.time()
        info = ConversationInfo(
            conversation_id, model, system, created=now, updated=now, metadata=dict(metadata or {})
        )
        created = await self._call(
            "create", _CREATE, self._keys(conversation_id), [conversation_id, repr(now), *self._fields(info)]
        )
        if not created and not exist_ok:
            raise ConversationExistsError(f"conversation {conversation_id!r} already exists")
        return info if created else await self.info(conversation_id)

    async def info(self, conversation_id: str) -> ConversationInfo:
        return (await self._snapshot(conversation_id, 0, False))[0]

    async def load(self, conversation_id: str) -> StoredConversation:
        info, raw = await self._snapshot(conversation_id, 0, True)
        return StoredConversation(info, tuple(codec.loads(r) for r in raw))

    async def messages(self, conversation_id: str, start: int = 0) -> list[Message]:
        _, raw = await self._snapshot(conversation_id, start, True)
        return [codec.loads(r) for r in raw]

    async def append(self, conversation_id: str, messages: Sequence[Message]) -> int:
        texts = [codec.dumps(m) for m in messages]
        if not texts:
            return (await self.info(conversation_id)).length
        n = int(
            await self._call(
                "append", _APPEND, self._keys(conversation_id), [conversation_id, repr(time.time()), *texts]
            )
        )
        if n < 0:
            raise self._missing(conversation_id)
        return n

    async def save(self, conversation: StoredConversation) -> None:
        info = conversation.info
        check_id(info.id)
        now = time.time()
        fields = self._fields(replace(info, created=info.created or now, updated=now))
        texts = [codec.dumps(m) for m in conversation.messages]
        await self._call(
            "save", _SAVE, self._keys(info.id), [info.id, repr(now), len(fields), *fields, *texts]
        )

    async def update(
        self, conversation_id: str, *, model: str | None = None, system: str | None = None
    ) -> None:
        # a leading "=" tells a value (even an empty one) from "leave as it is"
        args = [
            conversation_id,
            repr(time.time()),
            "" if model is None else f"={model}",
            "" if system is None else f"={system}",
        ]
        if int(await self._call("update", _UPDATE, self._keys(conversation_id), args)) < 0:
            raise self._missing(conversation_id)

    async def set_summary(self, conversation_id: str, summary: str, upto: int) -> bool:
        result = int(await self._call("summary", _SUMMARY, self._keys(conversation_id)[:1], [summary, upto]))
        if result < 0:
            raise self._missing(conversation_id)
        return result == 1

    async def list(self, limit: int | None = None) -> list[ConversationInfo]:
        index = f"{self._prefix}conversations"
        ids = [
            _text(r) or ""
            for r in await self._do(self._redis.zrevrange(index, 0, -1 if limit is None else limit - 1))
        ]
        pipe = self._redis.pipeline(transaction=False)  # one round trip for all of them
        for cid in ids:
            keys = self._keys(cid)
            pipe.hgetall(keys[0])
            pipe.llen(keys[1])
        results = await self._do(pipe.execute()) if ids else []
        # a conversation deleted between the two reads has no fields left: skip it
        return [
            self._info(fields, int(length))
            for fields, length in zip(results[::2], results[1::2], strict=True)
            if fields
        ]

    async def delete(self, conversation_id: str) -> bool:
        return int(await self._call("delete", _DELETE, self._keys(conversation_id), [conversation_id])) > 0

    async def fork(self, conversation_id: str, new_id: str, *, upto: int | None = None) -> ConversationInfo:
        check_id(new_id)
        if upto is not None and upto < 0:
            fork_upto(upto, 0)  # raises the same error as the other stores
        keys = self._keys(conversation_id) + self._keys(new_id)[:2]
        result = int(
            await self._call("fork", _FORK, keys, [new_id, repr(time.time()), -1 if upto is None else upto])
        )
        if result == -1:
            raise self._missing(conversation_id)
        if result == -2:
            raise ConversationExistsError(f"cannot fork into {new_id!r}: that conversation already exists")
        if result == -3:
            length = (await self.info(conversation_id)).length
            fork_upto(upto, length)  # raises, naming the range
        return await self.info(new_id)

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()
