"""Map-reduce against the simulator: documents several windows long, budgets, extraction."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

import llmrelay
from llmrelay.app.documents import extract, map_reduce, summarize
from llmrelay.app.documents.mapreduce import SUMMARY_REDUCE
from llmrelay.errors import BudgetExceededError, ConfigError
from llmrelay.settings import Settings
from llmrelay.simulator.engine import count_tokens, expected_text
from llmrelay.types import ChatResponse

WORDS = (
    "river",
    "signal",
    "garden",
    "engine",
    "library",
    "window",
    "harbor",
    "question",
    "answer",
    "lantern",
)


def document(min_tokens: int, seed: int = 1) -> str:
    """Markdown prose at least ``min_tokens`` long by the simulator's own tokenizer."""
    rnd = random.Random(seed)
    parts: list[str] = []
    total = 0
    section = 0
    while total < min_tokens * 1.05:  # the parts' counts run a little over the whole's
        if len(parts) % 8 == 0:
            section += 1
            parts.append(f"## Section {section}")
        sentences = [" ".join(rnd.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(6)]
        parts.append(" ".join(sentences))
        total += count_tokens(parts[-1]) + 4
    return "\n\n".join(parts)


def client(**extra: Any) -> llmrelay.Client:
    return llmrelay.Client(Settings.load(ledger={"enabled": False}, **extra))


async def test_a_document_five_windows_long_gives_one_answer_within_budget() -> None:
    async with client() as c:
        window = c.catalog.lookup("simulator", "sim-1").context_window  # type: ignore[union-attr]
        text = document(5 * window)
        assert count_tokens(text) >= 5 * window
        result = await summarize(c, text, budget=2.00, concurrency=4)
        stats = c.simulator.stats
    assert result.window == window and result.chunks >= 5
    assert result.levels == 1 and result.calls == result.chunks + 1 == stats.total_requests
    assert set(stats.statuses) == {200}  # every call fit the window: nothing was refused
    assert result.cost is not None and 0 < result.cost <= 2.00
    assert result.usage.input_tokens == stats.prompt_tokens
    # the answer is the reply to one reduce call over every partial answer, in document order
    combined = SUMMARY_REDUCE.replace("{text}", "\n\n".join(result.partials))
    assert result.answer == expected_text(combined, seed=0)


async def test_a_small_window_needs_several_reduce_levels() -> None:
    small = {"models": {"simulator/sim-1": {"context_window": 1200}}}
    async with client(catalog=small) as c:
        seen: list[tuple[str, int, int]] = []
        result = await map_reduce(
            c,
            document(40_000, seed=2),
            map_prompt="Summarize:\n\n{text}",
            reduce_prompt="Combine:\n\n{text}",
            max_tokens=100,
            overlap=50,
            on_progress=lambda stage, done, total: seen.append((stage, done, total)),
        )
        requests = c.simulator.stats.total_requests
    # the client's preflight refuses any call over the catalog's 1,200-token window: none was
    assert result.window == 1200 and result.levels >= 2 and result.chunks > 40
    assert result.calls == requests and result.answer
    maps = [s for s in seen if s[0] == "map"]
    assert len(maps) == result.chunks and maps[-1][1] == maps[-1][2] == result.chunks
    assert len(seen) == result.calls


async def test_the_budget_is_checked_before_the_first_call() -> None:
    async with client() as c:
        text = document(300_000)
        with pytest.raises(BudgetExceededError, match="could cost up to"):
            await summarize(c, text, budget=0.01)
        unpriced = {"models": {"simulator/sim-1": {"input_price": None, "output_price": None}}}
        assert c.simulator.stats.total_requests == 0
    async with client(catalog=unpriced) as c:
        with pytest.raises(BudgetExceededError, match="cannot be bounded"):
            await summarize(c, "short text", budget=1.0)
        result = await summarize(c, "short text")  # without a budget, an unknown price is reported as None
    assert result.cost is None and result.levels == 0 and result.calls == 1


async def test_extract_leaves_out_parts_with_nothing_relevant() -> None:
    async with client() as c:
        real = c.chat
        prompts: list[str] = []
        in_flight = 0
        most = 0

        async def scripted(messages: Any, **kw: Any) -> ChatResponse:
            nonlocal in_flight, most
            prompt = messages[-1]["content"]
            prompts.append(prompt)
            in_flight += 1
            most = max(most, in_flight)
            try:
                await asyncio.sleep(0.005)
                if prompt.startswith("From the following part") and "Section 1\n" not in prompt:
                    return ChatResponse(id="x", model="sim-1", provider="simulator", text="NONE.")
                return await real(messages, **kw)
            finally:
                in_flight -= 1

        c.chat = scripted  # type: ignore[method-assign]
        text = document(40_000, seed=3)
        result = await extract(
            c, text, "list every lantern", model="local", chunk_tokens=2000, overlap=0, concurrency=3
        )
    maps = [p for p in prompts if p.startswith("From the following part")]
    assert len(maps) == result.chunks > 3 and most <= 3
    assert result.levels == 0  # only the first part had findings: nothing to combine
    assert result.answer == next(p for p in result.partials if p != "NONE.")
    assert "list every lantern" in maps[0]


async def test_bad_arguments() -> None:
    async with client() as c:
        with pytest.raises(ConfigError, match="must contain"):
            await map_reduce(c, "x", map_prompt="no slot", reduce_prompt="{text}")
        with pytest.raises(ConfigError, match="empty"):
            await summarize(c, "   \n ")
        with pytest.raises(ConfigError, match="no context window"):
            await summarize(c, "text", model="simulator/a-model-nobody-knows")
        with pytest.raises(ConfigError, match="lower max_tokens"):
            await summarize(c, "text", max_tokens=100_000)
        with pytest.raises(ConfigError, match="concurrency"):
            await summarize(c, "text", concurrency=0)
