"""The semantic cache: answers to paraphrases of a question already answered.

A chat call whose exact key misses may still be served by a stored answer when its **last
user turn** means the same as a stored one: cosine similarity of their embeddings at or
above the threshold. Only calls that agree on everything else may match — the partition
is the exact-cache key of the request with its last user turn removed (so the same
deployments, parameters, tools, system prompt and earlier turns), in the same namespace
(so never across tenants), for the same embedding model. The stored answer itself is the
exact cache's entry: the semantic index maps a question's vector to that entry's key.

Replicas share it through Redis: each keeps its own index and reads the vectors the others
added from one stream per partition (``llmrelay.cache.vectorlog``).

A partition's HNSW graph (past ``exact_above`` vectors) is added to and searched on one
worker thread of the index's own (``VectorIndex``'s lane), never on the event loop: an
addition there costs about 1.5 ms at 100,000 vectors. A lookup awaits the additions asked
for before it, so a question indexed on this replica is found by the next lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from llmrelay.cache.embedder import Embedder
from llmrelay.cache.key import cache_key
from llmrelay.cache.vectorlog import VectorLog
from llmrelay.cache.vectors import VectorIndex, build_graph
from llmrelay.resolve import Route
from llmrelay.settings.cache import SemanticSettings
from llmrelay.types import ChatRequest, ImagePart, Subject, TextPart

if TYPE_CHECKING:
    from llmrelay.cache.minilm import Floats

log = logging.getLogger("llmrelay.cache")

#: graph operations a partition may have queued before the one adding waits for them
#: (about 0.4 s of the worker's time at 100,000 vectors): vectors arriving faster than the
#: graph takes them — a replica reading another's stream — wait instead of piling up
MAX_BACKLOG = 256


def last_user_text(req: ChatRequest) -> str | None:
    """The text of the request's final message when it is a user turn of text only (None:
    a tool result, an assistant prefill, an image — nothing a text embedding can match)."""
    if not req.messages:
        return None
    m = req.messages[-1]
    if m.role != "user" or m.tool_calls or m.tool_call_id is not None:
        return None
    if isinstance(m.content, str):
        return m.content if m.content.strip() else None
    if m.content is None:
        return None
    texts: list[str] = []
    for part in m.content:
        if isinstance(part, ImagePart) or not isinstance(part, TextPart):
            return None
        texts.append(part.text)
    text = "\n".join(texts)
    return text if text.strip() else None


def partition_key(req: ChatRequest, route: Route, space: str, embedder: str) -> str:
    """Where a question may find its paraphrases: everything but the last user turn, the
    namespace, and the embedding model (hex, 32 digits)."""
    context = cache_key(replace(req, messages=tuple(req.messages[:-1])), route, space)
    return hashlib.blake2b(f"semantic|{embedder}|{context}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Probe:
    """A call's question: its partition and vector (kept to index the call's own answer)."""

    partition: str
    vector: Floats


@dataclass(frozen=True, slots=True)
class Match:
    key: str
    similarity: float


@dataclass(slots=True)
class SemanticCounters:
    lookups: int = 0
    matched: int = 0
    indexed: int = 0
    failures: int = 0


class SemanticIndex:
    """Every partition's vectors in this process, within ``max_entries`` in all (the least
    recently used partitions go first), kept in step with the shared log when there is one."""

    def __init__(self, settings: SemanticSettings, embedder: Embedder, vlog: VectorLog | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.vlog = vlog
        self.counters = SemanticCounters()
        self._parts: OrderedDict[str, VectorIndex] = OrderedDict()
        self._synced: dict[str, tuple[str, float]] = {}  # partition -> (last log id, when read)
        self._total = 0
        # one thread: graph operations run one at a time, in the order they were asked for
        # (it starts with the first of them; a process whose partitions stay small has none)
        self._lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmrelay-semantic")

    def __len__(self) -> int:
        return self._total

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._parts.values())

    async def probe(self, req: ChatRequest, route: Route, space: str, subject: Subject) -> Probe | None:
        """The call's question, embedded (None when it has none, or the embedder failed:
        the call goes on without the semantic cache)."""
        text = last_user_text(req)
        if text is None:
            return None
        try:
            vector = await self.embedder.embed(text, subject)
        except Exception as exc:  # an embedder that fails costs a semantic miss, never the call
            self.counters.failures += 1
            log.warning("cache: embedding the question failed (%s); semantic lookup skipped", exc)
            return None
        return Probe(partition_key(req, route, space, self.embedder.name), vector)

    async def find(self, probe: Probe, threshold: float) -> Match | None:
        """The stored question most similar to the probe's, if it reaches ``threshold``."""
        self.counters.lookups += 1
        await self._sync(probe.partition, len(probe.vector))
        part = self._parts.get(probe.partition)
        if part is None:
            return None
        self._parts.move_to_end(probe.partition)
        best = await part.find(probe.vector, time.time())
        if best is None or best[1] < threshold:
            return None
        self.counters.matched += 1
        return Match(best[0], round(best[1], 4))

    async def remember(self, probe: Probe, key: str, ttl: float) -> None:
        """Index the probe's question for the answer stored under ``key`` for ``ttl``."""
        expires = time.time() + ttl
        self._add(probe.partition, key, probe.vector, expires)
        self.counters.indexed += 1
        await self._grow(probe.partition)
        await self._keep_up(probe.partition)
        if self.vlog is not None:
            try:
                await self.vlog.append(probe.partition, key, probe.vector, expires, ttl)
            except Exception as exc:
                self.counters.failures += 1
                log.warning("cache: sharing a semantic entry failed (%s)", exc)

    def forget(self, partition: str, key: str) -> None:
        """The answer under ``key`` is gone: stop matching it."""
        part = self._parts.get(partition)
        if part is not None and key in part:
            part.remove(key)
            self._total -= 1

    def prune(self) -> int:
        now = time.time()
        n = 0
        for name in list(self._parts):
            n += self._parts[name].prune(now)
            if not len(self._parts[name]):
                del self._parts[name]
                self._synced.pop(name, None)
        self._total -= n
        return n

    async def settle(self) -> None:
        """Wait until every partition's graph has the vectors added to it so far."""
        for part in list(self._parts.values()):
            await part.settle()

    async def aclose(self) -> None:
        # queued graph additions are dropped: the index goes with this process
        self._lane.shutdown(wait=False, cancel_futures=True)
        try:
            await self.embedder.aclose()
        finally:
            if self.vlog is not None:
                await self.vlog.aclose()

    # ------------------------------------------------------------------ internals

    def _add(self, partition: str, key: str, vector: Floats, expires: float) -> None:
        part = self._parts.get(partition)
        if part is None:
            part = VectorIndex(
                len(vector),
                capacity=self.settings.max_entries,
                exact_above=self.settings.exact_above,
                auto_graph=False,
                lane=self._lane,
            )
            self._parts[partition] = part
        self._parts.move_to_end(partition)
        before = len(part)
        part.add(key, vector, expires, time.time())
        self._total += len(part) - before
        while self._total > self.settings.max_entries and len(self._parts) > 1:
            name, oldest = self._parts.popitem(last=False)
            self._synced.pop(name, None)
            self._total -= len(oldest)

    async def _grow(self, partition: str) -> None:
        """Move a partition past ``exact_above`` into its graph, built on a worker thread
        (about a second for 4,096 vectors): searches and additions go on meanwhile, on the
        exact matrix, and the ones made during the build are applied to the graph after."""
        part = self._parts.get(partition)
        if part is None or not part.wants_graph():
            return
        try:
            graph = await asyncio.to_thread(build_graph, *part.snapshot())
        except BaseException:
            part.abandon()
            raise
        part.adopt(graph)

    async def _keep_up(self, partition: str) -> None:
        part = self._parts.get(partition)
        if part is not None and part.backlog > MAX_BACKLOG:
            await part.settle()

    async def _sync(self, partition: str, dim: int) -> None:
        """Read what other replicas added to this partition since the last read (at most
        every ``sync_interval`` seconds)."""
        if self.vlog is None:
            return
        last, when = self._synced.get(partition, ("0", 0.0))
        now = time.monotonic()
        if when and now - when < self.settings.sync_interval:
            return
        wall = time.time()
        while True:  # a partition seen for the first time may take several reads
            try:
                records, last = await self.vlog.read(partition, last)
            except Exception as exc:
                self.counters.failures += 1
                log.warning("cache: reading shared semantic entries failed (%s)", exc)
                return
            self._synced[partition] = (last, now)
            part = self._parts.get(partition)
            for r in records:
                # a record of another dimension (written by a differently configured
                # replica) is skipped: it cannot be compared
                if r.expires > wall and len(r.vector) == dim and (part is None or r.key not in part):
                    self._add(partition, r.key, r.vector, r.expires)
                    await self._keep_up(partition)
            await self._grow(partition)
            if len(records) < self.vlog.batch:
                return
