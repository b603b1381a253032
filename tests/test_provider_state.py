"""provider_state through the Client: a tool loop with a reasoning model, unary and streamed.

The simulator returns neither thinking blocks nor thought signatures, so each protocol's
upstream here is a stand-in that answers with the golden fixtures (transcribed from the
providers' docs) and records what the Client sent back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

import llmrelay
from llmrelay import Message, Settings, Tool
from llmrelay.transport.http import Transport

FIXTURES = Path(__file__).parent / "fixtures"
ANTHROPIC_URL = "https://anthropic.test"
GEMINI_URL = "https://gemini.test"
WEATHER = Tool(
    "get_weather",
    "Weather for a place",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 2048}}


def body_of(path: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / path).read_text())["body"]).encode()


def sse_of(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


class Upstream:
    """Answers the n-th request with the n-th reply and keeps every request body."""

    def __init__(self, *replies: tuple[bytes, str]) -> None:
        self.replies = list(replies)
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(json.loads(request.content))
        content, kind = self.replies[len(self.sent) - 1]
        return httpx2.Response(200, content=content, headers={"content-type": kind})


JSON = "application/json"
SSE = "text/event-stream"


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[llmrelay.Client, dict[str, Upstream]]]:
    ups: dict[str, Upstream] = {}

    def route(name: str) -> httpx2.MockTransport:
        return httpx2.MockTransport(lambda request: ups[name](request))

    settings = Settings.load(
        models={
            "claude": {
                "deployments": [
                    {
                        "provider": "anthropic",
                        "model": "claude-sonnet-4-5",
                        "base_url": ANTHROPIC_URL,
                        "api_key": "sk-ant-test-000000",
                    }
                ]
            },
            "gemini3": {
                "deployments": [
                    {
                        "provider": "gemini",
                        "model": "gemini-3-flash-preview",
                        "base_url": GEMINI_URL,
                        "api_key": "AIza-test-000000",
                    }
                ]
            },
        }
    )
    transport = Transport(mounts={ANTHROPIC_URL: route("anthropic"), GEMINI_URL: route("gemini")})
    async with transport, llmrelay.Client(settings, environ={}, transport=transport) as client:
        yield client, ups


async def ask(client: llmrelay.Client, messages: list[Message], model: str, streamed: bool) -> Any:
    params: dict[str, Any] = {"model": model, "tools": [WEATHER]}
    if model == "claude":
        params["extra"] = THINKING
    if streamed:
        return await client.stream(messages, **params).final()
    return await client.chat(messages, **params)


def follow_up(question: list[Message], reply: Any) -> list[Message]:
    return [*question, reply.message, *(Message.tool(c.id, '{"temp": 15}') for c in reply.tool_calls)]


@pytest.mark.parametrize("streamed", [False, True], ids=["unary", "stream"])
async def test_anthropic_thinking_blocks_go_back_with_the_tool_use(upstreams: Any, streamed: bool) -> None:
    client, ups = upstreams
    first = (
        (sse_of("anthropic/stream_thinking_tool_use.sse"), SSE)
        if streamed
        else (body_of("anthropic/message_thinking_tool_use.json"), JSON)
    )
    ups["anthropic"] = Upstream(first, (body_of("anthropic/message_basic.json"), JSON))
    question = [Message.user("What's the weather in Paris?")]

    reply = await ask(client, question, "claude", streamed)
    assert reply.finish_reason == "tool_calls" and reply.reasoning
    state = reply.provider_state
    assert state is not None and set(state) == {"anthropic"}
    assert reply.message.provider_state == state
    kept = state["anthropic"]["content"]
    assert kept[0]["type"] == "thinking" and kept[0]["signature"]
    if streamed:
        assert [b["type"] for b in kept] == ["thinking", "redacted_thinking"]

    await ask(client, follow_up(question, reply), "claude", streamed=False)
    replayed = ups["anthropic"].sent[1]["messages"][1]
    assert replayed["role"] == "assistant"
    assert replayed["content"][: len(kept)] == kept
    assert [b["type"] for b in replayed["content"][len(kept) :]] == ["text", "tool_use"]


@pytest.mark.parametrize("streamed", [False, True], ids=["unary", "stream"])
async def test_gemini_signatures_go_back_on_their_calls(upstreams: Any, streamed: bool) -> None:
    client, ups = upstreams
    first = (
        (sse_of("gemini/stream_function_call.sse"), SSE)
        if streamed
        else (body_of("gemini/generate_content_function_call.json"), JSON)
    )
    ups["gemini"] = Upstream(first, (body_of("gemini/generate_content_text.json"), JSON))
    question = [Message.user("Plan it.")]

    reply = await ask(client, question, "gemini3", streamed)
    state = reply.provider_state
    assert state is not None and set(state) == {"gemini"}
    calls = state["gemini"]["calls"]
    assert set(calls) == {reply.tool_calls[0].id}  # one signature: on the step's first call

    await ask(client, follow_up(question, reply), "gemini3", streamed=False)
    model_turn = ups["gemini"].sent[1]["contents"][1]
    assert model_turn["role"] == "model"
    signatures = [p.get("thoughtSignature") for p in model_turn["parts"]]
    assert signatures == [calls[reply.tool_calls[0].id]] + [None] * (len(reply.tool_calls) - 1)


async def test_a_fallback_to_the_other_protocol_ignores_the_state(upstreams: Any) -> None:
    client, ups = upstreams
    ups["anthropic"] = Upstream((body_of("anthropic/message_thinking_tool_use.json"), JSON))
    ups["gemini"] = Upstream((body_of("gemini/generate_content_text.json"), JSON))
    question = [Message.user("What's the weather in Paris?")]
    reply = await ask(client, question, "claude", streamed=False)
    assert reply.provider_state is not None

    await ask(client, follow_up(question, reply), "gemini3", streamed=False)
    model_turn = ups["gemini"].sent[0]["contents"][1]
    # No thinking anywhere; the call gets the validator-skip value, as for any foreign history.
    assert "thinking" not in json.dumps(model_turn)
    assert model_turn["parts"][-1]["thoughtSignature"] == "skip_thought_signature_validator"
