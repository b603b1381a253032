"""Conversations in this process's memory: for tests, scripts and REPL sessions not worth keeping.

Every method runs without awaiting in between its reads and writes, so on one event loop
each is atomic without a lock. Messages are kept as the immutable ``Message`` objects.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from llmrelay.app.conversations.errors import ConversationExistsError, ConversationNotFoundError
from llmrelay.app.conversations.store import (
    ConversationInfo,
    StoredConversation,
    check_id,
    fork_summary,
    fork_upto,
)
from llmrelay.types import Message


@dataclass(slots=True)
class _Entry:
    info: ConversationInfo
    messages: list[Message] = field(default_factory=list)

    def current(self) -> ConversationInfo:
        return replace(self.info, length=len(self.messages))


class MemoryStore:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    @property
    def description(self) -> str:
        return "memory://"

    def _get(self, conversation_id: str) -> _Entry:
        entry = self._entries.get(conversation_id)
        if entry is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r} in memory")
        return entry

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
        existing = self._entries.get(conversation_id)
        if existing is not None:
            if exist_ok:
                return existing.current()
            raise ConversationExistsError(f"conversation {conversation_id!r} already exists")
        now = time.time()
        info = ConversationInfo(
            conversation_id, model, system, created=now, updated=now, metadata=dict(metadata or {})
        )
        self._entries[conversation_id] = _Entry(info)
        return info

    async def info(self, conversation_id: str) -> ConversationInfo:
        return self._get(conversation_id).current()

    async def load(self, conversation_id: str) -> StoredConversation:
        entry = self._get(conversation_id)
        return StoredConversation(entry.current(), tuple(entry.messages))

    async def messages(self, conversation_id: str, start: int = 0) -> list[Message]:
        return list(self._get(conversation_id).messages[start:])

    async def append(self, conversation_id: str, messages: Sequence[Message]) -> int:
        entry = self._get(conversation_id)
        entry.messages.extend(messages)
        entry.info = replace(entry.info, updated=time.time())
        return len(entry.messages)

    async def save(self, conversation: StoredConversation) -> None:
        info = conversation.info
        check_id(info.id)
        now = time.time()
        self._entries[info.id] = _Entry(
            replace(info, created=info.created or now, updated=now), list(conversation.messages)
        )

    async def update(
        self, conversation_id: str, *, model: str | None = None, system: str | None = None
    ) -> None:
        entry = self._get(conversation_id)
        entry.info = replace(
            entry.info,
            model=model if model is not None else entry.info.model,
            system=system if system is not None else entry.info.system,
            updated=time.time(),
        )

    async def set_summary(self, conversation_id: str, summary: str, upto: int) -> bool:
        entry = self._get(conversation_id)
        if upto <= entry.info.summary_upto:
            return False
        entry.info = replace(entry.info, summary=summary, summary_upto=upto)
        return True

    async def list(self, limit: int | None = None) -> list[ConversationInfo]:
        infos = sorted((e.current() for e in self._entries.values()), key=lambda i: i.updated, reverse=True)
        return infos[:limit] if limit is not None else infos

    async def delete(self, conversation_id: str) -> bool:
        return self._entries.pop(conversation_id, None) is not None

    async def fork(self, conversation_id: str, new_id: str, *, upto: int | None = None) -> ConversationInfo:
        check_id(new_id)
        entry = self._get(conversation_id)
        if new_id in self._entries:
            raise ConversationExistsError(f"cannot fork into {new_id!r}: that conversation already exists")
        n = fork_upto(upto, len(entry.messages))
        summary, summary_upto = fork_summary(entry.current(), n)
        now = time.time()
        info = replace(
            entry.info, id=new_id, summary=summary, summary_upto=summary_upto, created=now, updated=now
        )
        self._entries[new_id] = _Entry(info, list(entry.messages[:n]))
        return replace(info, length=n)

    async def aclose(self) -> None:
        return None
