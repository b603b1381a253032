"""The semantic cache through a Client on the simulator, with the real offline model.

Paraphrases reach the stored answer, questions that only share a subject do not (a small
labelled set the suite ships); a match needs the same model, parameters, system prompt and
tenant; a semantic hit is a complete call, unary or streamed.
"""

from __future__ import annotations

import pytest
from tests.cache.semantic_pairs import DIFFERENT, PARAPHRASES
from tests.cache.semantic_support import model_or_skip, semantic_client

from llmrelay.client import Client
from llmrelay.settings import Settings
from llmrelay.types import Message, StreamEnd, StreamStart, Subject, TextDelta


async def _ask_pair(client: Client, first: str, second: str) -> tuple[str | None, str | None, float | None]:
    a = await client.chat(first, temperature=0)
    b = await client.chat(second, temperature=0)
    return a.meta.cache, b.meta.cache, b.meta.cache_similarity


@pytest.mark.parametrize(("first", "second"), PARAPHRASES)
async def test_a_paraphrase_is_served_the_stored_answer(first: str, second: str) -> None:
    # 0.8: the labelled set's paraphrases all reach it, its different questions all stay below
    async with semantic_client(threshold=0.8) as client:
        a = await client.chat(first, temperature=0)
        b = await client.chat(second, temperature=0)
        assert (a.meta.cache, b.meta.cache) == ("miss", "hit")
        assert b.text == a.text and b.cost == 0.0 and b.usage == a.usage
        assert b.meta.cache_similarity is not None and 0.8 <= b.meta.cache_similarity <= 1.0
        assert b.meta.attempts == 0 and client.simulator.stats.total_requests == 1


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
async def test_a_different_question_is_not(first: str, second: str) -> None:
    async with semantic_client(threshold=0.8) as client:
        assert await _ask_pair(client, first, second) == ("miss", "miss", None)
        assert client.simulator.stats.total_requests == 2


async def test_the_default_threshold_serves_no_different_question() -> None:
    async with semantic_client() as client:
        for first, second in DIFFERENT:
            assert (await _ask_pair(client, first, second))[1] == "miss", second


async def test_an_exact_hit_reports_no_similarity() -> None:
    async with semantic_client() as client:
        await client.chat("How do I reset my password?", temperature=0)
        again = await client.chat("How do I reset my password?", temperature=0)
        assert again.meta.cache == "hit" and again.meta.cache_similarity is None


async def test_tenants_never_share_semantic_answers() -> None:
    ann, bob = Subject(key_id="k1", user="ann"), Subject(key_id="k2", user="bob")
    async with semantic_client(threshold=0.8) as client:
        await client.chat("How do I reset my password?", temperature=0, subject=ann)
        other = await client.chat("How can I reset my password?", temperature=0, subject=bob)
        same = await client.chat("How can I reset my password?", temperature=0, subject=ann)
        assert (other.meta.cache, same.meta.cache) == ("miss", "hit")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"system": "Answer in French."}, {"system": "Answer in German."}),
        ({"model": "local"}, {"model": "simulator/sim-large"}),
        ({"max_tokens": 50}, {"max_tokens": 60}),
        ({"seed": 1}, {"seed": 2}),
    ],
)
async def test_context_must_be_the_same(first: dict[str, object], second: dict[str, object]) -> None:
    def messages(params: dict[str, object], text: str) -> list[Message]:
        system = params.pop("system", None)
        return ([Message.system(str(system))] if system else []) + [Message.user(text)]

    async with semantic_client(threshold=0.5) as client:
        p1, p2 = dict(first), dict(second)
        a = await client.chat(messages(p1, "How do I reset my password?"), temperature=0, **p1)  # type: ignore[arg-type]
        b = await client.chat(messages(p2, "How can I reset my password?"), temperature=0, **p2)  # type: ignore[arg-type]
        assert (a.meta.cache, b.meta.cache) == ("miss", "miss")


async def test_earlier_turns_must_be_the_same() -> None:
    async with semantic_client(threshold=0.8) as client:
        one = [
            Message.user("I use the mobile app."),
            Message.assistant("OK."),
            Message.user("How do I reset my password?"),
        ]
        two = [
            Message.user("I use the website."),
            Message.assistant("OK."),
            Message.user("How can I reset my password?"),
        ]
        three = [
            Message.user("I use the mobile app."),
            Message.assistant("OK."),
            Message.user("How can I reset my password?"),
        ]
        results = [(await client.chat(m, temperature=0)).meta.cache for m in (one, two, three)]
        assert results == ["miss", "miss", "hit"]


async def test_a_streamed_semantic_hit_is_a_complete_stream() -> None:
    async with semantic_client(threshold=0.8) as client:
        first = await client.chat("How do I cancel my subscription?", temperature=0)
        stream = client.stream("How can I cancel my subscription?", temperature=0)
        events = [ev async for ev in stream]
        final = await stream.final()
        assert isinstance(events[0], StreamStart) and isinstance(events[-1], StreamEnd)
        assert "".join(ev.text for ev in events if isinstance(ev, TextDelta)) == first.text
        assert final.meta.cache == "hit" and final.meta.cache_similarity is not None
        assert events[-1].cost == 0.0 and events[-1].usage == first.usage
        assert client.simulator.stats.total_requests == 1


async def test_a_streamed_answer_is_indexed_for_unary_paraphrases() -> None:
    async with semantic_client(threshold=0.8) as client:
        async with client.stream("How do I delete my account?", temperature=0) as s:
            text = "".join([ev.text async for ev in s if isinstance(ev, TextDelta)])
        b = await client.chat("How can I delete my account?", temperature=0)
        assert b.meta.cache == "hit" and b.text == text


async def test_only_aliases_that_opt_in_match_paraphrases() -> None:
    model_or_skip()
    settings = Settings(
        models={
            "faq": {"deployments": [{"provider": "simulator", "model": "sim-small"}]},
            "chat": {"deployments": [{"provider": "simulator", "model": "sim-small"}]},
        },
        cache={"enabled": True, "models": {"faq": {"semantic": True, "semantic_threshold": 0.8}}},
        ledger={"enabled": False},
    )
    async with Client(settings) as client:
        for alias, expected in (("faq", "hit"), ("chat", "miss")):
            await client.chat("How do I reset my password?", model=alias, temperature=0)
            b = await client.chat("How can I reset my password?", model=alias, temperature=0)
            assert b.meta.cache == expected, alias


async def test_non_deterministic_calls_stay_out_unless_opted_in() -> None:
    async with semantic_client(threshold=0.8) as client:
        await client.chat("How do I reset my password?", temperature=0.7)
        b = await client.chat("How can I reset my password?", temperature=0.7)
        assert b.meta.cache is None


async def test_the_provider_embedder_goes_through_the_pipeline() -> None:
    # the simulator's embeddings have no meaning (a hash of the text), so the same text in
    # a message whose other fields differ (its name: in the exact key, not in the embedding)
    # is the paraphrase here: similarity 1.0, served by the semantic index
    settings = Settings(
        cache={"enabled": True, "semantic": {"enabled": True, "embedder": "provider", "model": "local"}},
        ledger={"enabled": False},
    )
    async with Client(settings) as client:
        a = await client.chat([Message(role="user", content="Reset my password", name="ann")], temperature=0)
        b = await client.chat([Message(role="user", content="Reset my password", name="bob")], temperature=0)
        assert (a.meta.cache, b.meta.cache) == ("miss", "hit")
        assert b.meta.cache_similarity == pytest.approx(1.0, abs=1e-4)
        # two chats and two embeddings (one per question) reached the simulator
        assert client.simulator.stats.total_requests == 3
