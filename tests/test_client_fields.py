"""First-class request fields end to end through the in-process simulator, one test per
protocol, and refusals that never reach it."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay import Message, PromptCache, Reasoning
from llmrelay.errors import UnsupportedFeatureError
from llmrelay.wire import HttpRequest


class Recording:
    """A transport that records what the client sends and refuses to send anything."""

    def __init__(self) -> None:
        self.sent: list[HttpRequest] = []

    async def send(self, request: HttpRequest) -> Any:
        self.sent.append(request)
        raise AssertionError("nothing should have been sent")

    def stream(self, request: HttpRequest) -> Any:
        self.sent.append(request)
        raise AssertionError("nothing should have been sent")

    async def aclose(self) -> None:
        return None


async def test_responses_reasoning_round_trip() -> None:
    async with llmrelay.Client(environ={}) as client:
        first = await client.chat(
            "What is 2+2?",
            model="simulator-responses/o4-mini",
            reasoning=Reasoning(effort="high", summary=True),
            extra={"store": False},
        )
        assert first.reasoning  # the summary came back
        assert first.provider_state is not None
        # the reasoning item is replayed with the next turn and accepted
        again = await client.chat(
            [Message.user("What is 2+2?"), first.message, Message.user("And 3+3?")],
            model="simulator-responses/o4-mini",
            reasoning="low",
            extra={"store": False},
        )
        assert again.text


async def test_chat_completions_reasoning_effort_is_accepted() -> None:
    async with llmrelay.Client(environ={}) as client:
        reply = await client.chat("hi", model="simulator/o4-mini", reasoning="low", service_tier="flex")
        assert reply.text
        # the tier that served the call, as the provider reports it (the simulator serves
        # flex and priority as asked, and "auto" as "default")
        assert reply.details.get("service_tier") == "flex"
        auto = await client.chat("hi", model="simulator/o4-mini", service_tier="auto")
        assert auto.details.get("service_tier") == "default"


async def test_anthropic_thinking_is_accepted() -> None:
    async with llmrelay.Client(environ={}) as client:
        reply = await client.chat(
            [Message.system("Be brief. " * 600), Message.user("hi")],
            model="simulator-anthropic/claude-sonnet-4-5",
            reasoning=Reasoning(effort="low"),
            prompt_cache=PromptCache(auto="5m"),
        )
        assert reply.text


async def test_gemini_thinking_is_accepted() -> None:
    async with llmrelay.Client(environ={}) as client:
        reply = await client.chat(
            "hi", model="simulator-gemini/gemini-2.5-flash", reasoning=Reasoning(effort="minimal"), top_k=20
        )
        assert reply.text


@pytest.mark.parametrize(
    ("model", "params", "field"),
    [
        ("openai/gpt-4o", {"top_k": 5}, "top_k"),
        ("openai/gpt-5", {"reasoning": Reasoning(effort="none")}, "reasoning.effort"),
        ("openai/o3", {"temperature": 0.2}, "temperature"),
        (
            "openai/gpt-4o",
            {"prompt_cache": {"cached_content": "cachedContents/x"}},
            "prompt_cache.cached_content",
        ),
        ("anthropic/claude-sonnet-4-5", {"prompt_cache": {"key": "k"}}, "prompt_cache.key"),
        ("gemini/gemini-2.5-flash", {"verbosity": "low"}, "verbosity"),
    ],
)
async def test_refused_before_anything_is_sent(model: str, params: dict[str, Any], field: str) -> None:
    transport = Recording()
    env = {"OPENAI_API_KEY": "sk-test-0", "ANTHROPIC_API_KEY": "sk-ant-0", "GEMINI_API_KEY": "g-0"}
    async with llmrelay.Client(environ=env, transport=transport, middleware=[]) as client:  # type: ignore[arg-type]
        with pytest.raises(UnsupportedFeatureError, match=f"ChatRequest.{field} is set"):
            await client.chat("hi", model=model, **params)
        with pytest.raises(UnsupportedFeatureError, match=f"ChatRequest.{field} is set"):
            async for _ in client.stream("hi", model=model, **params):
                pass
    assert transport.sent == []


async def test_responses_only_models_resolve_to_the_responses_host() -> None:
    async with llmrelay.Client(environ={"OPENAI_API_KEY": "sk-test-0"}) as client:
        ep = client.route("openai/o3-pro").deployments[0].endpoint
        assert (ep.host, ep.provider) == ("openai-responses", "responses")
        assert client.route("openai/gpt-4o").deployments[0].endpoint.host == "openai"
