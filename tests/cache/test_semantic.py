"""The semantic cache's engines: what a question is, where it may match, the vector index."""

from __future__ import annotations

import asyncio

import pytest

np = pytest.importorskip("numpy")

from llmrelay.cache.semantic import last_user_text, partition_key  # noqa: E402
from llmrelay.cache.vectors import VectorIndex  # noqa: E402
from llmrelay.resolve import Resolver  # noqa: E402
from llmrelay.settings import Settings  # noqa: E402
from llmrelay.types import ChatRequest, ImagePart, Message, TextPart  # noqa: E402


def _req(*messages: Message, **params: object) -> ChatRequest:
    return ChatRequest(model="local", messages=tuple(messages), **params)  # type: ignore[arg-type]


def _route(model: str = "local"):  # type: ignore[no-untyped-def]
    return Resolver(Settings(), {}).resolve(model)


def test_the_question_is_the_final_user_turn_of_text() -> None:
    assert last_user_text(_req(Message.system("s"), Message.user("hello"))) == "hello"
    assert last_user_text(_req(Message.user([TextPart("a"), TextPart("b")]))) == "a\nb"
    assert last_user_text(_req(Message.user("q"), Message.assistant("prefill"))) is None
    assert last_user_text(_req(Message.user([TextPart("see"), ImagePart(url="https://x/y.png")]))) is None
    assert last_user_text(_req(Message.user("   "))) is None


def test_the_partition_is_everything_but_the_question() -> None:
    route = _route()
    base = partition_key(_req(Message.system("s"), Message.user("one")), route, "ns", "m")
    assert partition_key(_req(Message.system("s"), Message.user("two")), route, "ns", "m") == base
    for other in (
        partition_key(_req(Message.system("t"), Message.user("one")), route, "ns", "m"),
        partition_key(_req(Message.system("s"), Message.user("one"), temperature=0.5), route, "ns", "m"),
        partition_key(_req(Message.system("s"), Message.user("one")), route, "other tenant", "m"),
        partition_key(_req(Message.system("s"), Message.user("one")), route, "ns", "another embedder"),
        partition_key(_req(Message.system("s"), Message.user("one")), _route("simulator/other"), "ns", "m"),
    ):
        assert other != base


def _unit(rng, n: int, dim: int):  # type: ignore[no-untyped-def]
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("exact_above", [10_000, 20])  # brute force, then the HNSW graph
def test_the_index_finds_the_nearest_live_vector(exact_above: int) -> None:
    rng = np.random.default_rng(7)
    v = _unit(rng, 200, 32)
    ix = VectorIndex(32, capacity=1000, exact_above=exact_above)
    for i in range(200):
        ix.add(f"k{i}", v[i], expires=100.0 if i % 2 else 1e12, now=0.0)
    assert len(ix) == 200
    key, sim = ix.search(v[10], now=0.0)  # type: ignore[misc]
    assert key == "k10" and sim == pytest.approx(1.0, abs=1e-3)
    # an expired vector is never returned, even as the closest
    found = ix.search(v[11], now=200.0)
    assert found is not None and found[0] != "k11" and found[1] < 0.99
    ix.remove("k10")
    found = ix.search(v[10], now=0.0)
    assert found is not None and found[0] != "k10"
    assert ix.prune(now=200.0) == 100 and len(ix) == 99


def test_at_capacity_the_oldest_vector_gives_way() -> None:
    rng = np.random.default_rng(3)
    v = _unit(rng, 30, 16)
    ix = VectorIndex(16, capacity=20, exact_above=1000)
    for i in range(30):
        ix.add(f"k{i}", v[i], expires=1e12, now=0.0)
    assert len(ix) == 20
    assert ix.search(v[29], 0.0)[0] == "k29"  # type: ignore[index]
    assert ix.search(v[10], 0.0)[0] == "k10"  # type: ignore[index]
    assert ix.search(v[3], 0.0)[0] != "k3"  # type: ignore[index]


def test_the_encoder_gives_all_minilm_l6_v2_vectors() -> None:
    from tests.cache.semantic_support import model_or_skip

    model_or_skip()
    from llmrelay.cache.minilm import SentenceEncoder, default_model_dir

    enc = SentenceEncoder(default_model_dir())
    out = enc.encode(["This is an example sentence", "Each sentence is converted"])
    # the first components of this sentence's vector as published for the model
    # (sentence-transformers/all-MiniLM-L6-v2), computed there with PyTorch
    assert out[0][:5] == pytest.approx([0.0676569, 0.0634959, 0.0487131, 0.0793049, 0.0374480], abs=1e-5)
    assert np.linalg.norm(out, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    # padding a shorter text in a batch does not change its vector
    alone = enc.encode(["Each sentence is converted"])[0]
    assert np.abs(alone - out[1]).max() < 1e-5


def test_a_model_path_without_a_model_is_a_config_error_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.cache.semantic_support import model_or_skip

    from llmrelay.client import Client
    from llmrelay.errors import ConfigError

    model_or_skip()
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    settings = Settings(cache={"enabled": True, "semantic": {"enabled": True, "model_path": str(tmp_path)}})
    with pytest.raises(ConfigError, match=r"model_path .* model.safetensors, tokenizer.json missing"):
        Client(settings)


def test_the_provider_embedder_needs_a_model() -> None:
    from llmrelay.client import Client
    from llmrelay.errors import ConfigError

    settings = Settings(cache={"enabled": True, "semantic": {"enabled": True, "embedder": "provider"}})
    with pytest.raises(ConfigError, match=r"cache\.semantic\.model"):
        Client(settings)


def test_changes_made_while_the_graph_is_built_reach_it() -> None:
    from llmrelay.cache.vectors import build_graph

    rng = np.random.default_rng(11)
    v = _unit(rng, 60, 32)
    ix = VectorIndex(32, capacity=1000, exact_above=20, auto_graph=False)
    for i in range(30):
        ix.add(f"k{i}", v[i], 1e12, 0.0)
    assert ix.wants_graph()
    snap = ix.snapshot()
    assert not ix.wants_graph()  # one build at a time
    ix.remove("k3")
    ix.add("new", v[50], 1e12, 0.0)  # takes k3's freed slot
    ix.add("k40", v[40], 1e12, 0.0)
    assert ix.search(v[50], 0.0)[0] == "new"  # type: ignore[index]  # still searched exactly
    ix.adopt(build_graph(*snap))
    assert ix.nbytes > 0 and ix._graph is not None
    assert ix.search(v[50], 0.0)[0] == "new"  # type: ignore[index]
    assert ix.search(v[40], 0.0)[0] == "k40"  # type: ignore[index]
    found = ix.search(v[3], 0.0)
    assert found is not None and found[0] != "k3" and found[0] != "new"
    assert len(ix) == 31


async def test_the_semantic_index_builds_a_partitions_graph_off_the_event_loop() -> None:
    from llmrelay.cache.embedder import FunctionEmbedder
    from llmrelay.cache.semantic import Probe, SemanticIndex
    from llmrelay.settings.cache import SemanticSettings

    async def never(text: str, subject: object) -> list[float]:
        raise AssertionError("not called")

    index = SemanticIndex(SemanticSettings(exact_above=50), FunctionEmbedder("f", never))  # type: ignore[arg-type]
    v = _unit(np.random.default_rng(5), 80, 32)
    for i in range(80):
        await index.remember(Probe("p", v[i]), f"k{i}", 60)
    part = index._parts["p"]
    assert part._graph is not None and not part.wants_graph()
    match = await index.find(Probe("p", v[64]), 0.99)
    assert match is not None and match.key == "k64"


def _graph_index(n: int, lane: object) -> tuple[VectorIndex, object]:
    v = _unit(np.random.default_rng(3), n, 32)
    ix = VectorIndex(32, capacity=1000, exact_above=20, lane=lane)  # type: ignore[arg-type]
    for i in range(n // 2):
        ix.add(f"k{i}", v[i], 1e12, 0.0)
    assert ix._graph is not None
    return ix, v


async def test_a_search_queued_before_a_slot_changes_hands_never_names_the_new_key() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as lane:
        ix, v = _graph_index(60, lane)
        await ix.settle()
        gate = threading.Event()
        lane.submit(gate.wait)  # the lane is busy: the search below waits behind it
        search = asyncio.ensure_future(ix.find(v[5], 0.0))
        await asyncio.sleep(0)
        ix.remove("k5")
        ix.add("new", v[50], 1e12, 0.0)  # takes k5's slot; added to the graph after the search
        gate.set()
        found = await search
        # the graph held k5's vector in that slot: reporting it as "new" would be a wrong hit
        assert found is None or found[0] not in ("k5", "new")
        if found is not None:
            i = int(found[0][1:])
            assert found[1] == pytest.approx(float(v[i] @ v[5]), abs=1e-2)
        assert (await ix.find(v[50], 0.0))[0] == "new"  # type: ignore[index]
        again = await ix.find(v[5], 0.0)
        assert again is None or again[0] != "k5"


async def test_lookups_concurrent_with_additions_and_removals_report_only_live_keys() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    with ThreadPoolExecutor(1) as lane:
        ix, v = _graph_index(300, lane)
        live = {f"k{i}" for i in range(150)}
        results: list[tuple[int, tuple[str, float] | None]] = []

        async def look(i: int) -> None:
            results.append((i, await ix.find(v[i], 0.0)))

        tasks = []
        for step in range(150, 300):
            tasks.append(asyncio.ensure_future(look(int(rng.integers(0, 300)))))
            ix.add(f"k{step}", v[step], 1e12, 0.0)
            live.add(f"k{step}")
            gone = f"k{int(rng.integers(0, step))}"
            ix.remove(gone)
            live.discard(gone)
            if step % 10 == 0:
                await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        assert len(results) == 150
        for i, found in results:
            if found is not None:  # whatever it names, the similarity is that key's own
                j = int(found[0][1:])
                assert found[1] == pytest.approx(float(v[j] @ v[i]), abs=1e-2)
        await ix.settle()
        assert len(ix) == len(live)
        for key in live:
            assert (await ix.find(v[int(key[1:])], 0.0))[0] == key  # type: ignore[index]


async def test_a_partitions_graph_is_added_to_and_searched_off_the_event_loop() -> None:
    import threading

    from llmrelay.cache.embedder import FunctionEmbedder
    from llmrelay.cache.semantic import Probe, SemanticIndex
    from llmrelay.settings.cache import SemanticSettings

    async def never(text: str, subject: object) -> list[float]:
        raise AssertionError("not called")

    class Spy:
        def __init__(self, graph: object) -> None:
            self.graph = graph
            self.threads: set[str] = set()

        def __getattr__(self, name: str) -> object:
            return getattr(self.graph, name)

        def add(self, *args: object) -> object:
            self.threads.add(threading.current_thread().name)
            return self.graph.add(*args)  # type: ignore[attr-defined]

        def search(self, *args: object) -> object:
            self.threads.add(threading.current_thread().name)
            return self.graph.search(*args)  # type: ignore[attr-defined]

    index = SemanticIndex(SemanticSettings(exact_above=50), FunctionEmbedder("f", never))  # type: ignore[arg-type]
    v = _unit(np.random.default_rng(5), 100, 32)
    try:
        for i in range(60):
            await index.remember(Probe("p", v[i]), f"k{i}", 60)
        part = index._parts["p"]
        await index.settle()
        spy = Spy(part._graph)
        part._graph = spy
        for i in range(60, 100):
            await index.remember(Probe("p", v[i]), f"k{i}", 60)
        match = await index.find(Probe("p", v[90]), 0.99)
        assert match is not None and match.key == "k90"
        assert spy.threads and all(t.startswith("llmrelay-semantic") for t in spy.threads)
        assert threading.current_thread().name not in spy.threads
    finally:
        await index.aclose()


async def test_vectors_arriving_faster_than_the_graph_takes_them_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from llmrelay.cache import semantic
    from llmrelay.cache.embedder import FunctionEmbedder
    from llmrelay.cache.semantic import Probe, SemanticIndex
    from llmrelay.settings.cache import SemanticSettings

    async def never(text: str, subject: object) -> list[float]:
        raise AssertionError("not called")

    monkeypatch.setattr(semantic, "MAX_BACKLOG", 2)
    index = SemanticIndex(SemanticSettings(exact_above=20), FunctionEmbedder("f", never))  # type: ignore[arg-type]
    v = _unit(np.random.default_rng(8), 40, 32)
    gate = threading.Event()
    try:
        for i in range(25):
            await index.remember(Probe("p", v[i]), f"k{i}", 60)
        await index.settle()
        part = index._parts["p"]
        assert part._graph is not None and part.backlog == 0
        index._lane.submit(gate.wait)  # the worker is busy

        async def more() -> None:
            for i in range(25, 35):
                await index.remember(Probe("p", v[i]), f"k{i}", 60)

        adding = asyncio.ensure_future(more())
        await asyncio.sleep(0.05)
        assert not adding.done() and part.backlog == 3  # the third queued addition waits
        gate.set()
        await asyncio.wait_for(adding, 10)
        await index.settle()
        assert part.backlog == 0 and len(part) == 35
        assert (await index.find(Probe("p", v[34]), 0.99)).key == "k34"  # type: ignore[union-attr]
    finally:
        gate.set()
        await index.aclose()
