"""The official anthropic SDK parses the simulator's thinking blocks (text and signature,
streamed and not) and its prompt-cache usage (writes split by TTL, reads); llmrelay's
adapter reads the same figures from the same bytes."""

from __future__ import annotations

import anthropic
import pytest
from tests.conformance.conftest import Server, read_as_llmrelay

pytestmark = pytest.mark.sdk

MODEL = "claude-sonnet-4-5"
THINK = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture
def sdk(server: Server) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base, api_key="sk-ant-test", max_retries=0)


async def test_thinking_blocks_unary_and_streamed(sdk: anthropic.AsyncAnthropic, server: Server) -> None:
    messages = [{"role": "user", "content": "Think about bridges, conformance run."}]
    r = await sdk.messages.create(model=MODEL, max_tokens=2048, thinking=THINK, messages=messages)
    thinking, text = r.content
    assert thinking.type == "thinking" and thinking.thinking and len(thinking.signature) > 100
    assert text.type == "text" and text.text
    async with sdk.messages.stream(model=MODEL, max_tokens=2048, thinking=THINK, messages=messages) as stream:
        pieces = [e.thinking for e in [x async for x in stream] if e.type == "thinking"]
        final = await stream.get_final_message()
    assert "".join(pieces) == thinking.thinking
    assert final.content[0].type == "thinking" and final.content[0].signature == thinking.signature
    assert final.usage.output_tokens == r.usage.output_tokens
    parser, _ = read_as_llmrelay("anthropic", server.last(), MODEL)
    assert parser.provider_state["anthropic"]["content"][0]["signature"] == thinking.signature


async def test_cache_usage_split_by_ttl(sdk: anthropic.AsyncAnthropic, server: Server) -> None:
    policy = " ".join(f"conformance clause {i} holds." for i in range(500))
    tools = [
        {
            "name": "lookup",
            "description": " ".join(f"tool note {i}." for i in range(400)),
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    system = [{"type": "text", "text": policy, "cache_control": {"type": "ephemeral", "ttl": "5m"}}]
    ask = {"model": MODEL, "max_tokens": 40, "tools": tools, "system": system}
    first = await sdk.messages.create(**ask, messages=[{"role": "user", "content": "First?"}])
    created = first.usage.cache_creation
    assert (
        created is not None
        and created.ephemeral_1h_input_tokens > 0
        and created.ephemeral_5m_input_tokens > 0
    )
    assert (
        first.usage.cache_creation_input_tokens
        == created.ephemeral_1h_input_tokens + created.ephemeral_5m_input_tokens
    )
    assert first.usage.cache_read_input_tokens == 0
    ours, _ = read_as_llmrelay("anthropic", server.last(), MODEL)
    assert ours.usage.cache_write_tokens == first.usage.cache_creation_input_tokens

    async with sdk.messages.stream(**ask, messages=[{"role": "user", "content": "Second?"}]) as stream:
        second = await stream.get_final_message()
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert (
        second.usage.cache_creation is not None and second.usage.cache_creation.ephemeral_1h_input_tokens == 0
    )
