"""One partition's vectors: the nearest stored question to a new one, by cosine similarity.

Vectors are unit length, so cosine similarity is a dot product. A partition searches by
exact brute force (one pass of dot products over a float32 matrix) while it is small;
past ``exact_above`` vectors it moves them into an HNSW graph (usearch, float16 vectors),
whose search takes a millisecond or two at 100,000 vectors where brute force reads the whole
matrix (150 MB at 100,000 × 384) per query. The graph is approximate: it may miss a stored
paraphrase, never invent one — the similarity it reports is computed on the stored float16
vectors (within 1e-4 of float32's on the labelled pairs; int8 would halve the memory but
move similarities by up to 0.01, too much next to a threshold).

Each vector has a deadline (wall-clock seconds); an expired one is never returned, and its
slot is reused. At ``capacity`` (with nothing expired) the oldest vector gives way.

Adding a vector to the graph costs about 1.5 ms of CPU at 100,000 vectors, and a search
as much: given a ``lane`` (an executor with one thread), every graph operation runs there,
in the order it was asked for, so the event loop only keeps the books (which slot holds
which key, until when) and the graph is never touched by two threads at once. The graph
labels a vector by the number it was added under, not by its slot: a slot freed and
handed to another key while a search is queued gets a new label, so a search never
reports one key's similarity under another's name — a label that is no longer live is
skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float32]


#: the HNSW graph's candidate list, when adding and searching. usearch's defaults (40, 64)
#: found a near vector's own match 83% of the time among 100,000 random 384-dimension
#: vectors (the hardest case: real questions cluster); 128 finds it 96% of the time, at
#: about 1.6 ms CPU per search there (256: 99.7%, but 3 ms). See docs/performance.md.
GRAPH_EXPANSION = 128

log = logging.getLogger("llmrelay.cache")


class VectorIndex:
    def __init__(
        self,
        dim: int,
        *,
        capacity: int,
        exact_above: int = 4096,
        auto_graph: bool = True,
        lane: Executor | None = None,
    ) -> None:
        """``auto_graph``: move to the graph inside ``add`` (a second, once); the semantic
        index turns it off and builds the graph on a worker thread instead (``snapshot``,
        ``build_graph``, ``adopt``), so that the event loop never waits for it. ``lane``:
        the one-thread executor the graph's additions, removals and searches run on
        (None: in the caller's thread)."""
        import numpy as np

        self.dim = dim
        self.capacity = capacity
        self.exact_above = exact_above
        self._matrix: Floats = np.zeros((min(16, capacity), dim), dtype=np.float32)
        self._expires: npt.NDArray[np.float64] = np.zeros(len(self._matrix), dtype=np.float64)
        self._born: npt.NDArray[np.int64] = np.zeros(len(self._matrix), dtype=np.int64)
        self._added = 0
        self._keys: list[str | None] = [None] * len(self._matrix)
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._used = 0  # slots ever handed out (the matrix's filled prefix)
        self._graph: Any = None  # a usearch Index once the partition is large
        self.auto_graph = auto_graph
        self._dirty: set[int] | None = None  # slots changed while a graph is being built
        self._snapped: npt.NDArray[np.int64] | None = None  # each slot's label at the snapshot
        self._label: dict[int, int] = {}  # graph label -> slot, for the live vectors in the graph
        self._lane = lane
        self._graph_bytes = 0  # the graph's memory, as of its last change
        # graph operations queued and run: each counter is written by one thread only
        self._queued = 0
        self._ran = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: str) -> bool:
        return key in self._slot

    @property
    def nbytes(self) -> int:
        """Memory held for vectors (the matrix, or the graph)."""
        if self._graph is not None:
            return self._graph_bytes + self._expires.nbytes + self._born.nbytes
        return self._matrix.nbytes + self._expires.nbytes + self._born.nbytes

    def add(self, key: str, vector: Floats, expires: float, now: float) -> None:
        """Keep ``vector`` for ``key`` until ``expires`` (replacing an earlier one)."""
        if key in self._slot:
            self.remove(key)
        slot = self._take_slot(now)
        self._keys[slot] = key
        self._slot[key] = slot
        self._expires[slot] = expires
        self._added += 1
        self._born[slot] = self._added
        if self._graph is not None:
            self._label[self._added] = slot
            self._on_graph(self._graph.add, self._added, vector)
        else:
            self._matrix[slot] = vector
            if self._dirty is not None:
                self._dirty.add(slot)
            if self.auto_graph and self.wants_graph():
                self.adopt(build_graph(*self.snapshot()))

    def remove(self, key: str) -> None:
        slot = self._slot.pop(key, None)
        if slot is None:
            return
        self._keys[slot] = None
        self._expires[slot] = 0.0
        label = int(self._born[slot])
        self._born[slot] = 0
        if self._graph is not None:
            del self._label[label]
            self._on_graph(self._graph.remove, label)
        else:
            self._matrix[slot] = 0.0
            if self._dirty is not None:
                self._dirty.add(slot)
        self._free.append(slot)

    def search(self, vector: Floats, now: float) -> tuple[str, float] | None:
        """The live key whose vector is most similar to ``vector``, with that similarity
        (with a lane, a graph search waits for it in this thread: ``find`` does not)."""
        if not self._slot:
            return None
        if self._graph is None:
            import numpy as np

            # einsum's own loop, not BLAS: a threaded BLAS product's threads contend with
            # the event loop (p99 4 ms of CPU at 4,096 vectors here, against 0.4 ms)
            scores = np.einsum("ij,j->i", self._matrix[: self._used], vector)
            scores[self._expires[: self._used] <= now] = -2.0
            best = int(np.argmax(scores))
            score = float(scores[best])
            key = self._keys[best]
            return None if key is None or score < -1.0 else (key, score)
        k = min(8, len(self._slot))
        if self._lane is None:
            return self._pick(self._graph.search(vector, k), now)
        return self._pick(self._lane.submit(self._graph.search, vector, k).result(), now)

    async def find(self, vector: Floats, now: float) -> tuple[str, float] | None:
        """``search``, awaiting a graph search on the lane instead of blocking for it."""
        if self._graph is None or self._lane is None or not self._slot:
            return self.search(vector, now)
        found = await asyncio.wrap_future(
            self._lane.submit(self._graph.search, vector, min(8, len(self._slot)))
        )
        return self._pick(found, now)

    @property
    def backlog(self) -> int:
        """Graph operations queued on the lane and not run yet."""
        return self._queued - self._ran

    async def settle(self) -> None:
        """Wait until the graph operations asked for so far have run."""
        if self._lane is not None:
            await asyncio.wrap_future(self._lane.submit(_nothing))

    def _pick(self, found: Any, now: float) -> tuple[str, float] | None:
        # a label removed since the search was queued (or whose slot went to another
        # key) is not live: skipped, never reported under the slot's new key
        for label, distance in zip(found.keys, found.distances, strict=True):
            slot = self._label.get(int(label))
            if slot is None:
                continue
            key = self._keys[slot]
            if key is not None and self._expires[slot] > now:
                # cosine distance is 1 - similarity
                return key, 1.0 - float(distance)
        return None

    def _on_graph(self, op: Callable[..., Any], *args: Any) -> None:
        """Run ``op`` on the graph: on the lane, after every operation asked for before."""
        graph = self._graph

        def run() -> None:
            try:
                op(*args)
                self._graph_bytes = int(graph.memory_usage)
            finally:
                self._ran += 1

        self._queued += 1
        if self._lane is None:
            run()
            return
        self._lane.submit(run).add_done_callback(_log_failure)

    def prune(self, now: float) -> int:
        """Drop expired vectors; returns how many."""
        old = [k for k, s in self._slot.items() if self._expires[s] <= now]
        for k in old:
            self.remove(k)
        return len(old)

    # ------------------------------------------------------------------ slots

    def _take_slot(self, now: float) -> int:
        if self._free:
            return self._free.pop()
        if len(self._slot) >= self.capacity:
            if self.prune(now) == 0:
                import numpy as np

                born = self._born[: self._used]
                key = self._keys[int(np.argmin(np.where(born > 0, born, np.iinfo(np.int64).max)))]
                assert key is not None
                self.remove(key)
            return self._free.pop()
        if self._used == len(self._keys):
            self._grow()
        self._used += 1
        return self._used - 1

    def _grow(self) -> None:
        import numpy as np

        size = min(self.capacity, max(16, 2 * len(self._keys)))
        extra = size - len(self._keys)
        self._keys.extend([None] * extra)
        self._expires = np.concatenate([self._expires, np.zeros(extra, dtype=np.float64)])
        self._born = np.concatenate([self._born, np.zeros(extra, dtype=np.int64)])
        if self._graph is None:  # the graph grows by itself
            self._matrix = np.concatenate([self._matrix, np.zeros((extra, self.dim), dtype=np.float32)])

    # ------------------------------------------------------------------ the graph

    def wants_graph(self) -> bool:
        """Past ``exact_above`` and still searched exactly, with no graph being built."""
        return self._graph is None and self._dirty is None and len(self._slot) > self.exact_above

    def snapshot(self) -> tuple[int, Any, Floats]:
        """The live vectors' labels and a copy of the vectors, for ``build_graph``;
        changes made from now on are noted, for ``adopt``."""
        import numpy as np

        self._dirty = set()
        slots = np.fromiter(self._slot.values(), dtype=np.int64, count=len(self._slot))
        self._snapped = self._born.copy()
        return self.dim, self._born[slots].astype(np.uint64), self._matrix[slots].copy()

    def adopt(self, graph: Any) -> None:
        """Search ``graph`` from now on, after applying the changes made since the
        snapshot it was built from (a slot freed, or freed and handed to another key)."""
        import numpy as np

        snapped = self._snapped if self._snapped is not None else np.zeros(0, dtype=np.int64)
        gone: list[int] = []
        new: list[tuple[int, Floats]] = []
        for slot in self._dirty or ():
            old = int(snapped[slot]) if slot < len(snapped) else 0
            if old and old != self._born[slot]:
                gone.append(old)
            if self._keys[slot] is not None and (slot >= len(snapped) or old != self._born[slot]):
                new.append((int(self._born[slot]), self._matrix[slot].copy()))

        def catch_up() -> None:
            for label in gone:
                if graph.contains(label):
                    graph.remove(label)
            for label, vector in new:
                graph.add(label, vector)

        self._label = {int(self._born[s]): s for s in self._slot.values()}
        self._graph = graph
        self._dirty = None
        self._snapped = None
        self._matrix = np.zeros((0, self.dim), dtype=np.float32)  # not a view: frees the matrix
        # first on the lane: every later operation on the graph runs after it
        self._on_graph(catch_up)

    def abandon(self) -> None:
        """A graph being built will not be adopted (it failed): stay exact."""
        self._dirty = None
        self._snapped = None


def _nothing() -> None:
    return None


def _log_failure(done: Future[None]) -> None:
    exc = None if done.cancelled() else done.exception()
    if exc is not None:
        log.warning("cache: a semantic index graph operation failed (%s: %s)", type(exc).__name__, exc)


def build_graph(dim: int, labels: Any, vectors: Floats) -> Any:
    """An HNSW graph of ``vectors`` labelled by ``labels`` (safe on a worker thread: it
    touches no index state)."""
    from usearch.index import Index

    graph = Index(
        ndim=dim,
        metric="cos",
        dtype="f16",
        expansion_add=GRAPH_EXPANSION,
        expansion_search=GRAPH_EXPANSION,
    )
    graph.add(labels, vectors)
    return graph
