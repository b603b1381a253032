"""A conversation that fits its model: the system prompt and the newest turns within a token budget.

    conv = await Conversation.open(client, "support-42", store=open_store(), system="Be brief.")
    reply = await conv.send("Where is my order?")     # sends system + what fits, stores both turns

Every call goes through the public ``Client`` (``chat``, ``stream``, ``count_tokens``), so
retries, limits, cost and the ledger apply; calls carry ``metadata={"conversation": id}``.
The turns sent are chosen anew for each call (see ``window``); all turns stay stored.
A call that fails leaves the conversation unchanged: the new turn and the reply are stored
together, only once the reply is complete.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.app.conversations.counting import ModelCounter, request_params
from llmrelay.app.conversations.errors import ConversationOverflowError
from llmrelay.app.conversations.store import ConversationInfo, ConversationStore, StoredConversation, check_id
from llmrelay.app.conversations.store_memory import MemoryStore
from llmrelay.app.conversations.strategies import FitRequest, Strategy, Summary, Truncate
from llmrelay.app.conversations.streaming import ConversationStream
from llmrelay.app.conversations.window import flatten, total, units_of
from llmrelay.errors import ConfigError
from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.types import ChatResponse, Message

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.stream import ChatStream

#: attempts to fit under an exact count from the provider that came out higher than ours
_FIT_ATTEMPTS = 3
#: an estimated window above this share of the budget is checked with the provider's exact count
_VERIFY_ABOVE = 0.8


@dataclass(frozen=True, slots=True)
class Window:
    """What one call sends: ``messages`` (system prompt, summary, kept turns) of ``tokens``
    prompt tokens (``exact`` or an estimate that leans high) against ``budget``.
    ``kept`` turns are sent; ``dropped`` are stored but not sent (summarized, when
    ``summary`` is set)."""

    messages: tuple[Message, ...]
    tokens: int
    exact: bool
    budget: int
    kept: int
    dropped: int
    summary: str | None = None


class Conversation:
    """Turns with a model, kept in a store and sent within a token budget.

    ``budget`` is the prompt tokens a call may use (default: the model's context window from
    the catalog, less room for the reply: ``max_tokens`` or the model's max output).
    ``strategy`` decides what happens to turns that no longer fit (``Truncate`` by default,
    ``Summarize()``, ``DropMiddle()``). ``params`` are chat parameters for every call
    (``temperature``, ``max_tokens``, ``tools``…). Without a ``store`` the conversation lives
    in memory. Calls on one Conversation object are serialized.
    """

    def __init__(
        self,
        client: Client,
        *,
        conversation_id: str | None = None,
        model: str | None = None,
        system: str | None = None,
        store: ConversationStore | None = None,
        budget: int | None = None,
        strategy: Strategy | None = None,
        params: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        if budget is not None and budget <= 0:
            raise ConfigError(f"budget must be a positive number of tokens, got {budget}")
        self._client = client
        self.id = check_id(conversation_id or f"c-{uuid.uuid4().hex[:16]}")
        self._model = model
        self._system = system
        self.store: ConversationStore = store if store is not None else MemoryStore()
        self._budget = budget
        self.strategy: Strategy = strategy if strategy is not None else Truncate()
        self._params = dict(params or {})
        self._metadata = dict(metadata or {})
        self._verify = verify
        self._turns: list[Message] = []
        self._sizes: list[int] = []
        self._sized_for: str | None = None
        self._summary: Summary | None = None
        self._counter: ModelCounter | None = None
        self._ready = False
        self._explicit = (model is not None, system is not None)
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        client: Client,
        conversation_id: str,
        *,
        store: ConversationStore,
        create: bool = True,
        **options: Any,
    ) -> Conversation:
        """The stored conversation ``conversation_id`` (made when missing, unless ``create``
        is False: then ``ConversationNotFoundError``). A ``model`` or ``system`` given here
        replaces the stored one; otherwise the stored ones are used."""
        conv = cls(client, conversation_id=conversation_id, store=store, **options)
        if not create:
            await store.info(conversation_id)
        await conv.refresh()
        return conv

    # ------------------------------------------------------------------ state

    @property
    def model(self) -> str | None:
        """The model name calls use (None: the client's default model)."""
        return self._model

    @property
    def system(self) -> str | None:
        return self._system

    @property
    def turns(self) -> tuple[Message, ...]:
        """Every stored turn, oldest first (as of the last call or ``refresh``)."""
        return tuple(self._turns)

    @property
    def summary(self) -> str | None:
        """The running summary of turns that fell out (``Summarize`` strategy)."""
        return self._summary.text if self._summary is not None else None

    async def refresh(self) -> ConversationInfo:
        """Create the conversation in its store if needed, and pick up turns other writers
        appended since the last call."""
        async with self._lock:
            return await self._sync()

    async def _sync(self) -> ConversationInfo:
        if not self._ready:
            info = await self.store.create(
                self.id, model=self._model, system=self._system, metadata=self._metadata, exist_ok=True
            )
            changed = (self._explicit[0] and info.model != self._model) or (
                self._explicit[1] and info.system != self._system
            )
            if changed:
                await self.store.update(
                    self.id,
                    model=self._model if self._explicit[0] else None,
                    system=self._system if self._explicit[1] else None,
                )
            if not self._explicit[0]:
                self._model = info.model
            if not self._explicit[1]:
                self._system = info.system
            self._ready = True
        else:
            info = await self.store.info(self.id)
        if info.length > len(self._turns):
            self._turns.extend(await self.store.messages(self.id, len(self._turns)))
        elif info.length < len(self._turns):  # rewritten elsewhere (save): start again
            self._turns = await self.store.messages(self.id)
            self._sizes.clear()
        self._summary = Summary(info.summary, info.summary_upto) if info.summary else None
        return info

    async def append(self, *messages: Message | Mapping[str, Any]) -> None:
        """Store turns (for example tool results) without calling the model. One call is
        one atomic batch: a tool call's results appended together stay together."""
        batch = list(coerce_messages(list(messages)))
        async with self._lock:
            await self._sync()
            await self._store(batch)

    async def _store(self, batch: Sequence[Message]) -> None:
        if not batch:
            return
        end = await self.store.append(self.id, batch)
        if end == len(self._turns) + len(batch):
            self._turns.extend(batch)
        else:  # others appended meanwhile: take the store's order
            self._turns.extend(await self.store.messages(self.id, len(self._turns)))

    # ------------------------------------------------------------------ fitting

    def _count(self) -> ModelCounter:
        if self._counter is None or self._sized_for != self._model:
            self._counter = ModelCounter.for_model(self._client, self._model)
            self._sized_for = self._model
            self._sizes.clear()
        return self._counter

    def _sizes_of(self, turns: Sequence[Message]) -> list[int]:
        counter = self._count()
        stored = len(self._turns)
        while len(self._sizes) < stored:
            self._sizes.append(counter.message(self._turns[len(self._sizes)]))
        return self._sizes[:stored] + [counter.message(m) for m in turns[stored:]]

    async def window(self, content: MessagesLike | None = None, **params: Any) -> Window:
        """What a call with ``content`` as the new turn(s) would send now (it may make and
        store a summary, as the call would)."""
        pending = _pending(content)
        async with self._lock:
            await self._sync()
            return await self._fit(pending, self._call_params(params))

    async def _fit(self, pending: Sequence[Message], params: Mapping[str, Any]) -> Window:
        turns = [*self._turns, *pending]
        counter = self._count()
        units = units_of(turns, self._sizes_of(turns))
        system = [Message.system(self._system)] if self._system else []
        tools, fmt = request_params(params)
        fixed = counter.overhead(tools, fmt) + sum(counter.message(m) for m in system)
        budget = self._budget if self._budget is not None else counter.budget(params.get("max_tokens"))
        shrink = 0
        for _ in range(_FIT_ATTEMPTS):
            fit = FitRequest(
                turns,
                units,
                budget - fixed - shrink,
                counter,
                self._summary,
                self._client,
                self._model,
                self.id,
            )
            arranged = await self.strategy.arrange(fit)
            if arranged.summary is not None:
                await self._keep_summary(arranged.summary)
            messages = (*system, *arranged.preamble, *flatten(arranged.kept, turns))
            tokens = fixed + sum(counter.message(m) for m in arranged.preamble) + total(arranged.kept)
            exact = counter.exact and tools is None and fmt is None and all(map(_plain, messages))
            # an estimate leans high, so only one near the budget (or one already found short)
            # is worth the provider's exact count
            if not exact and self._verify and (shrink or tokens > budget * _VERIFY_ABOVE):
                extra = {k: params[k] for k in ("tools", "response_format") if params.get(k) is not None}
                count = await self._client.count_tokens(list(messages), model=self._model, **extra)
                if count.exact:  # the provider counted: its figure is the one that matters
                    if count.tokens > budget:
                        # our estimate was this much short: fit again with that much less room
                        shrink = max(shrink + 1, count.tokens - tokens)
                        tokens = count.tokens
                        continue
                    tokens, exact = count.tokens, True
            kept = sum(len(u.indices) for u in arranged.kept)
            return Window(messages, tokens, exact, budget, kept, len(turns) - kept, self.summary)
        raise ConversationOverflowError(
            f"conversation {self.id}: the provider counts {tokens} prompt tokens for the smallest window "
            f"llmrelay could make, over the budget of {budget}",
            model=self._model,
        )

    async def _keep_summary(self, summary: Summary) -> None:
        # The summary never claims turns that are not stored yet (the new turn is stored after the reply).
        upto = min(summary.upto, len(self._turns))
        if upto > 0 and await self.store.set_summary(self.id, summary.text, upto):
            self._summary = Summary(summary.text, upto)

    def _call_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**self._params, **params}
        merged["metadata"] = {"conversation": self.id, **(merged.get("metadata") or {})}
        merged.pop("model", None)
        return merged

    # ------------------------------------------------------------------ calls

    async def send(self, content: MessagesLike | None = None, **params: Any) -> ChatResponse:
        """Add ``content`` (a user turn as text, or Messages such as tool results) and get
        the reply; both are stored once the reply is complete. ``None`` asks the model to
        go on from the stored turns."""
        pending = _pending(content)
        async with self._lock:
            await self._sync()
            call_params = self._call_params(params)
            window = await self._fit(pending, call_params)
            reply = await self._client.chat(list(window.messages), model=self._model, **call_params)
            await self._store([*pending, reply.message])
            return reply

    async def _open_stream(
        self, pending: Sequence[Message], params: Mapping[str, Any]
    ) -> tuple[ChatStream, Window]:
        """Take the conversation (until ``_close_stream``), fit, and start the stream."""
        await self._lock.acquire()
        try:
            await self._sync()
            call_params = self._call_params(params)
            window = await self._fit(pending, call_params)
            return self._client.stream(list(window.messages), model=self._model, **call_params), window
        except BaseException:
            self._lock.release()
            raise

    async def _close_stream(self, pending: Sequence[Message], response: ChatResponse | None) -> None:
        """Store the turn when the stream completed (``response``), and let the conversation go."""
        try:
            if response is not None:
                await self._store([*pending, response.message])
        finally:
            self._lock.release()

    def stream(self, content: MessagesLike | None = None, **params: Any) -> ConversationStream:
        """Like ``send``, streamed; use ``async with`` so the conversation is released when
        the stream is left early (nothing is stored then)."""
        return ConversationStream(self, _pending(content), params)

    # ------------------------------------------------------------------ whole conversations

    async def save(self, store: ConversationStore | None = None, conversation_id: str | None = None) -> None:
        """Write the whole conversation to ``store`` (default its own) under
        ``conversation_id`` (default its own), replacing what is there."""
        async with self._lock:
            info = await self._sync()
            snapshot = StoredConversation(
                ConversationInfo(
                    id=check_id(conversation_id or self.id),
                    model=self._model,
                    system=self._system,
                    length=len(self._turns),
                    summary=self.summary,
                    summary_upto=self._summary.upto if self._summary else 0,
                    created=info.created,
                    metadata=info.metadata,
                ),
                tuple(self._turns),
            )
            await (store or self.store).save(snapshot)

    async def fork(self, conversation_id: str, *, upto: int | None = None) -> Conversation:
        """A copy of this conversation (its first ``upto`` turns) under a new id, in the same
        store, with the same budget, strategy and params; the two then go their own ways."""
        async with self._lock:
            await self._sync()
            await self.store.fork(self.id, conversation_id, upto=upto)
        return await Conversation.open(
            self._client,
            conversation_id,
            store=self.store,
            create=False,
            budget=self._budget,
            strategy=self.strategy,
            params=self._params,
            verify=self._verify,
        )

    async def delete(self) -> bool:
        """Remove the conversation from its store (this object starts empty again)."""
        async with self._lock:
            removed = await self.store.delete(self.id)
            self._turns.clear()
            self._sizes.clear()
            self._summary = None
            self._ready = False
            return removed


def _plain(m: Message) -> bool:
    """Whether the offline count of ``m`` is exact when the encoding is known (text only)."""
    return not m.tool_calls and m.tool_call_id is None and all(p.type == "text" for p in m.parts())


def _pending(content: MessagesLike | None) -> tuple[Message, ...]:
    return () if content is None else coerce_messages(content)
