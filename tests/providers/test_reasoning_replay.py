"""Reasoning across a tool turn, through ``llmrelay.Client`` and the in-process simulator,
on each of the four protocols.

The simulator signs what a reasoning model hides or shows (Anthropic ``thinking`` blocks,
Gemini ``thoughtSignature``, Responses ``encrypted_content``) and refuses a replayed turn
whose signature or thought was changed. So a second turn that the simulator accepts
proves the adapters replay the signatures byte-identical, and a tampered
``provider_state`` must come back as llmrelay's ``InvalidRequestError`` (a 400).
Reasoning is turned on with the first-class ``reasoning=`` field (``llmrelay.Reasoning``).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

import llmrelay
from llmrelay import errors
from llmrelay.settings import Settings
from llmrelay.types import ChatResponse, Message, Reasoning, Tool

WEATHER = Tool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
QUESTION = "What is the weather in Paris and in Lyon today?"


def _anthropic_sig(state: dict[str, Any]) -> None:
    block = state["anthropic"]["content"][0]
    block["signature"] = block["signature"][:-8] + "AAAAAAA="


def _anthropic_text(state: dict[str, Any]) -> None:
    state["anthropic"]["content"][0]["thinking"] += " (edited)"


def _gemini_sig(state: dict[str, Any]) -> None:
    calls = state["gemini"]["calls"]
    first = next(iter(calls))
    calls[first] = calls[first][:-8] + "AAAAAAA="


def _responses_sig(state: dict[str, Any]) -> None:
    item = state["responses"]["items"][0]
    item["encrypted_content"] = item["encrypted_content"][:-4] + "0000"


# alias: (provider, model, reasoning, extra, max_tokens)
CASES: dict[str, tuple[str, str, Reasoning, dict[str, Any] | None, int | None]] = {
    "anthropic": ("simulator-anthropic", "claude-sonnet-4-5", Reasoning(budget_tokens=2048), None, 4096),
    "gemini": (
        "simulator-gemini",
        "gemini-3-flash-preview",
        Reasoning(effort="low", summary=True),
        None,
        None,
    ),
    # store: false (nothing kept at the provider), so the encrypted reasoning is what is replayed
    "responses": (
        "simulator-responses",
        "o4-mini",
        Reasoning(effort="low", summary=True),
        {"store": False},
        None,
    ),
    "chat": ("simulator", "o4-mini", Reasoning(effort="low"), None, None),
}
TAMPER: dict[str, list[Callable[[dict[str, Any]], None]]] = {
    "anthropic": [_anthropic_sig, _anthropic_text],
    "gemini": [_gemini_sig],
    "responses": [_responses_sig],
}


@pytest.fixture
async def client() -> AsyncIterator[llmrelay.Client]:
    models = {
        alias: {"deployments": [{"provider": p, "model": m}]} for alias, (p, m, _, _, _) in CASES.items()
    }
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}, models=models)) as c:
        yield c


async def _ask(
    client: llmrelay.Client, alias: str, messages: list[Message], stream: bool = False
) -> ChatResponse:
    _, _, reasoning, extra, max_tokens = CASES[alias]
    kw: dict[str, Any] = {
        "tools": [WEATHER],
        "reasoning": reasoning,
        "extra": extra,
        "max_tokens": max_tokens,
    }
    if not stream:
        return await client.chat(messages, model=alias, **kw)
    chat_stream = client.stream(messages, model=alias, **kw)
    return await chat_stream.final()


def _answered(first: ChatResponse, message: Message) -> list[Message]:
    results = [Message(role="tool", content="sunny, 21 C", tool_call_id=c.id) for c in first.tool_calls]
    return [Message(role="user", content=QUESTION), message, *results]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("alias", list(CASES))
async def test_a_tool_turn_with_reasoning_is_replayed_and_accepted(
    client: llmrelay.Client, alias: str, stream: bool
) -> None:
    first = await _ask(client, alias, [Message(role="user", content=QUESTION)], stream)
    assert first.finish_reason == "tool_calls" and first.tool_calls
    assert first.usage is not None and first.usage.output_tokens > 0
    if alias != "anthropic":  # Anthropic folds thinking into output_tokens without a separate count
        assert first.usage.reasoning_tokens > 0
        assert first.usage.output_tokens > first.usage.reasoning_tokens
    if alias != "chat":  # Chat Completions keeps no reasoning to replay
        assert first.provider_state
    second = await _ask(client, alias, _answered(first, first.message), stream)
    assert second.finish_reason == "stop" and second.text
    assert client.simulator.stats.statuses[400] == 0


@pytest.mark.parametrize(
    ("alias", "tamper"),
    [(alias, t) for alias, ts in TAMPER.items() for t in ts],
    ids=lambda v: getattr(v, "__name__", v),
)
async def test_a_tampered_signature_is_refused(
    client: llmrelay.Client, alias: str, tamper: Callable[[dict[str, Any]], None]
) -> None:
    first = await _ask(client, alias, [Message(role="user", content=QUESTION)])
    assert first.provider_state is not None
    state = copy.deepcopy(dict(first.provider_state))
    tamper(state)
    changed = replace(first.message, provider_state=state)
    with pytest.raises(errors.InvalidRequestError):
        await _ask(client, alias, _answered(first, changed))
    assert client.simulator.stats.statuses[400] == 1
    # the same turn, unchanged, is still accepted: the refusal was the tampering
    again = await _ask(client, alias, _answered(first, first.message))
    assert again.finish_reason == "stop"


async def test_reasoning_effort_is_refused_on_a_model_that_does_not_reason() -> None:
    models = {"plain": {"deployments": [{"provider": "simulator", "model": "gpt-4o-mini"}]}}
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}, models=models)) as c:
        with pytest.raises(errors.InvalidRequestError, match="reasoning_effort"):
            await c.chat("Hello", model="plain", extra={"reasoning_effort": "low"})


async def test_redacted_thinking_is_replayed_whole(client: llmrelay.Client) -> None:
    trigger = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"
    question = Message(role="user", content=f"{trigger} {QUESTION}")
    first = await _ask(client, "anthropic", [question], stream=True)
    assert first.provider_state is not None
    assert [b["type"] for b in first.provider_state["anthropic"]["content"]] == ["redacted_thinking"]
    results = [Message(role="tool", content="sunny", tool_call_id=c.id) for c in first.tool_calls]
    second = await _ask(client, "anthropic", [question, first.message, *results])
    assert second.finish_reason == "stop"
    assert client.simulator.stats.statuses[400] == 0
