"""The official openai SDK parses reasoning tokens, cached tokens and the service tier on
Chat Completions, streamed and not."""

from __future__ import annotations

import openai
import pytest
from tests.conformance.conftest import Server

pytestmark = pytest.mark.sdk


@pytest.fixture
def sdk(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base}/v1", api_key="sk-test", max_retries=0)


async def test_reasoning_tokens(sdk: openai.AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "Reason about clocks for conformance."}]
    r = await sdk.chat.completions.create(model="o4-mini", messages=messages, reasoning_effort="low")
    details = r.usage.completion_tokens_details
    assert details is not None and details.reasoning_tokens > 0
    assert r.usage.completion_tokens > details.reasoning_tokens
    stream = await sdk.chat.completions.create(
        model="o4-mini",
        messages=messages,
        reasoning_effort="low",
        stream=True,
        stream_options={"include_usage": True},
    )
    last = [c async for c in stream][-1]
    assert last.usage.completion_tokens_details.reasoning_tokens == details.reasoning_tokens
    with pytest.raises(openai.BadRequestError, match="reasoning_effort"):
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=messages, reasoning_effort="low")


async def test_cached_tokens_and_service_tier(sdk: openai.AsyncOpenAI) -> None:
    system = {"role": "system", "content": " ".join(f"Conformance handbook line {i}." for i in range(300))}
    ask = {"model": "gpt-4o-mini", "service_tier": "flex", "prompt_cache_key": "conformance"}
    await sdk.chat.completions.create(messages=[system, {"role": "user", "content": "One?"}], **ask)
    r = await sdk.chat.completions.create(messages=[system, {"role": "user", "content": "Two?"}], **ask)
    assert r.usage.prompt_tokens_details.cached_tokens >= 1024
    assert r.service_tier == "flex"
