"""OpenAI's extras in the simulator: reasoning on chat, automatic prompt caching, service tiers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.simulator.openai_harness import USER, chat, chunks, harness

LONG = " ".join(f"Section {i} of the handbook says what it says." for i in range(200))  # ~2,000 tokens


def long_chat(question: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": LONG}, {"role": "user", "content": question}]
    return {"model": "gpt-4o", "messages": messages, **extra}


async def test_reasoning_models_report_reasoning_tokens() -> None:
    async with harness() as h:
        plain = (await h.post(chat())).json()["usage"]
        low = (await h.post(chat(model="o4-mini", reasoning_effort="low"))).json()
        high = (await h.post(chat(model="o4-mini", reasoning_effort="high"))).json()["usage"]
        default = (await h.post(chat(model="gpt-5-mini"))).json()["usage"]  # reasoning models reason unasked
        none = (await h.post(chat(model="gpt-5-mini", reasoning_effort="none"))).json()["usage"]
    usage = low["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning < high["completion_tokens_details"]["reasoning_tokens"]
    assert usage["completion_tokens"] == plain["completion_tokens"] + reasoning  # counted in the completion
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert default["completion_tokens_details"]["reasoning_tokens"] > 0
    assert none["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_reasoning_spends_max_completion_tokens_first() -> None:
    async with harness() as h:
        r = (await h.post(chat(model="o4-mini", reasoning_effort="high", max_completion_tokens=30))).json()
    assert r["choices"][0]["finish_reason"] == "length" and r["choices"][0]["message"]["content"] == ""
    assert (
        r["usage"]["completion_tokens"] == 30 == r["usage"]["completion_tokens_details"]["reasoning_tokens"]
    )


async def test_the_stream_reports_the_same_usage() -> None:
    async with harness() as h:
        unary = (await h.post(chat(model="o4-mini"))).json()["usage"]
        streamed = chunks(
            (await h.post(chat(model="o4-mini", stream=True, stream_options={"include_usage": True}))).text
        )
    assert streamed[-1]["usage"]["completion_tokens_details"] == unary["completion_tokens_details"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            chat(reasoning_effort="low"),
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
        ),
        (chat(model="o4-mini", reasoning_effort="extreme"), "Invalid value: 'extreme'"),
        (chat(service_tier="gold"), "Invalid value: 'gold'"),
        (chat(prompt_cache_retention="forever"), "Invalid value: 'forever'"),
    ],
)
async def test_refusals(body: dict[str, Any], message: str) -> None:
    async with harness() as h:
        r = await h.post(body)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith(message)


async def test_automatic_prefix_caching() -> None:
    async with harness() as h:
        first = (await h.post(long_chat("First question?"))).json()["usage"]
        second = (await h.post(long_chat("Second question?"))).json()["usage"]
        keyed = (await h.post(long_chat("Third?", prompt_cache_key="tenant-7"))).json()["usage"]
        other_model = (await h.post({**long_chat("Fourth?"), "model": "gpt-4o-mini"})).json()["usage"]
        short = [(await h.post(chat(messages=[USER]))).json()["usage"] for _ in range(2)]
        h.sim.clock.advance(601)
        expired = (await h.post(long_chat("Fifth?"))).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    cached = second["prompt_tokens_details"]["cached_tokens"]
    assert 1024 <= cached <= second["prompt_tokens"] and cached % 128 == 0
    assert second["prompt_tokens"] - cached < 200  # all but the new question and the framing
    assert keyed["prompt_tokens_details"]["cached_tokens"] == 0  # another key routes to another cache
    assert other_model["prompt_tokens_details"]["cached_tokens"] == 0
    assert short[1]["prompt_tokens_details"]["cached_tokens"] == 0  # under 1,024 tokens: never cached
    assert expired["prompt_tokens_details"]["cached_tokens"] == 0


async def test_responses_report_cached_input_tokens() -> None:
    body = {"model": "gpt-4o", "instructions": LONG, "input": "First question?"}
    async with harness(url="/v1/responses") as h:
        await h.post(body)
        again = (await h.post({**body, "input": "Second question?", "service_tier": "flex"})).json()
    assert again["usage"]["input_tokens_details"]["cached_tokens"] >= 1024
    assert again["service_tier"] == "flex"


@pytest.mark.parametrize(
    ("asked", "served"), [(None, "default"), ("auto", "default"), ("flex", "flex"), ("priority", "priority")]
)
async def test_service_tier_is_echoed(asked: str | None, served: str) -> None:
    extra = {} if asked is None else {"service_tier": asked}
    async with harness() as h:
        unary = (await h.post(chat(**extra))).json()
        streamed = chunks((await h.post(chat(stream=True, **extra))).text)
    assert unary["service_tier"] == served
    assert {c["service_tier"] for c in streamed} == {served}
