"""First-class request fields on every protocol: the exact JSON sent, and the refusals
(before anything is sent) naming the field and the provider."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers import (
    anthropic_options,
    anthropic_request,
    gemini_request,
    openai_request,
    openai_responses_request,
)
from llmrelay.types import (
    ChatRequest,
    ForcedTool,
    Message,
    PromptCache,
    Reasoning,
    SafetySetting,
    Tool,
)
from llmrelay.wire import Endpoint

OPENAI = Endpoint("openai", "gpt-5", "https://api.openai.com/v1", host="openai")
RESPONSES = Endpoint("responses", "gpt-5", "https://api.openai.com/v1", host="openai-responses")
ANTHROPIC = Endpoint("anthropic", "claude-opus-4-6", "https://api.anthropic.com", host="anthropic")
GEMINI = Endpoint(
    "gemini", "gemini-3-pro-preview", "https://generativelanguage.googleapis.com", host="gemini"
)


def req(**kw: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=(Message.user("hi"),), **kw)


def chat_body(r: ChatRequest) -> dict[str, Any]:
    return openai_request.chat_body(r, OPENAI, stream=False)


def responses_body(r: ChatRequest) -> dict[str, Any]:
    return openai_responses_request.build_body(r, RESPONSES, stream=False)


def anthropic_body(r: ChatRequest, ep: Endpoint = ANTHROPIC) -> dict[str, Any]:
    return anthropic_request.build_body(r, ep, stream=False)


def gemini_body(r: ChatRequest) -> dict[str, Any]:
    return gemini_request.chat_body(r, GEMINI)


BUILDERS = {
    "openai": chat_body,
    "responses": responses_body,
    "anthropic": anthropic_body,
    "gemini": gemini_body,
}


# --------------------------------------------------------------------------- OpenAI Chat Completions


def test_chat_completions_maps_every_field() -> None:
    body = chat_body(
        req(
            reasoning=Reasoning(effort="minimal"),
            prompt_cache=PromptCache(key="tenant-7", retention="24h", auto="5m"),
            service_tier="flex",
            top_logprobs=3,
            verbosity="low",
        )
    )
    assert {k: body[k] for k in body if k not in ("model", "messages")} == {
        "reasoning_effort": "minimal",
        "prompt_cache_key": "tenant-7",
        "prompt_cache_retention": "24h",
        "service_tier": "flex",
        "logprobs": True,
        "top_logprobs": 3,
        "verbosity": "low",
    }


# --------------------------------------------------------------------------- Responses


def test_responses_maps_every_field() -> None:
    body = responses_body(
        req(
            reasoning=Reasoning(effort="high", summary=True),
            prompt_cache=PromptCache(key="k", retention="in_memory"),
            service_tier="priority",
            logprobs=True,
            top_logprobs=2,
            verbosity="high",
        )
    )
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["prompt_cache_key"] == "k" and body["prompt_cache_retention"] == "in_memory"
    assert body["service_tier"] == "priority"
    assert body["include"] == ["message.output_text.logprobs"] and body["top_logprobs"] == 2
    assert body["text"] == {"verbosity": "high"}


def test_responses_keeps_the_format_next_to_verbosity_and_encrypted_reasoning_when_not_stored() -> None:
    from llmrelay.types import ResponseFormat

    body = responses_body(
        req(
            response_format=ResponseFormat(type="json_object"),
            verbosity="low",
            reasoning=Reasoning(effort="low"),
            extra={"store": False},
        )
    )
    assert body["text"] == {"format": {"type": "json_object"}, "verbosity": "low"}
    assert body["include"] == ["reasoning.encrypted_content"]


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_budget_is_enabled_thinking_with_room_for_the_answer() -> None:
    body = anthropic_body(req(reasoning=Reasoning(budget_tokens=2048)))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 2048 + anthropic_options.DEFAULT_MAX_TOKENS


def test_anthropic_effort_is_adaptive_thinking_with_output_config_effort() -> None:
    from llmrelay.types import ResponseFormat

    body = anthropic_body(
        req(reasoning=Reasoning(effort="max"), response_format=ResponseFormat.json_schema({"type": "object"}))
    )
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": {"type": "object"}},
        "effort": "max",
    }


def test_anthropic_effort_none_and_zero_budget_send_no_thinking() -> None:
    assert "thinking" not in anthropic_body(req(reasoning=Reasoning(effort="none")))
    assert "thinking" not in anthropic_body(req(reasoning=Reasoning(budget_tokens=0)))


def test_anthropic_service_tier_top_k() -> None:
    assert anthropic_body(req(service_tier="default"))["service_tier"] == "standard_only"
    assert anthropic_body(req(service_tier="auto"))["service_tier"] == "auto"
    assert anthropic_body(req(top_k=5))["top_k"] == 5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"temperature": 0.2}, "temperature"),
        ({"top_k": 10}, "top_k"),
        ({"top_p": 0.5}, "top_p"),
        ({"tool_choice": "required", "tools": (Tool("f"),)}, "tool_choice"),
        ({"tool_choice": ForcedTool("f"), "tools": (Tool("f"),)}, "tool_choice"),
    ],
)
def test_anthropic_thinking_rules(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.UnsupportedFeatureError, match=f"ChatRequest.{field} .*anthropic model claude"):
        anthropic_body(req(reasoning=Reasoning(budget_tokens=2048), **changes))
    anthropic_body(req(**changes))  # fine without thinking


def test_anthropic_thinking_accepts_temperature_one_and_high_top_p() -> None:
    body = anthropic_body(req(reasoning=Reasoning(budget_tokens=2048), temperature=1, top_p=0.95))
    assert body["temperature"] == 1 and body["top_p"] == 0.95


def test_anthropic_budget_bounds() -> None:
    with pytest.raises(errors.UnsupportedFeatureError, match="smallest thinking budget is 1024"):
        anthropic_body(req(reasoning=Reasoning(budget_tokens=1000)))
    with pytest.raises(
        errors.InvalidRequestError, match=r"max_tokens=2048 must be greater than reasoning.budget"
    ):
        anthropic_body(req(reasoning=Reasoning(budget_tokens=2048), max_tokens=2048))
    assert anthropic_body(req(reasoning=Reasoning(budget_tokens=2048), max_tokens=2049))["max_tokens"] == 2049


def test_anthropic_json_mode_emulation_refuses_first_class_thinking() -> None:
    from llmrelay.types import JSON_OBJECT

    with pytest.raises(errors.UnsupportedFeatureError, match="extended thinking"):
        anthropic_body(req(reasoning=Reasoning(budget_tokens=2048), response_format=JSON_OBJECT))


# --------------------------------------------------------------------------- Gemini


def test_gemini_maps_every_field() -> None:
    body = gemini_body(
        req(
            reasoning=Reasoning(effort="low", summary=True),
            top_k=20,
            safety_settings=(SafetySetting("HARM_CATEGORY_HARASSMENT", "BLOCK_ONLY_HIGH"),),
            top_logprobs=4,
            prompt_cache=PromptCache(cached_content="cachedContents/abc"),
        )
    )
    assert body["generationConfig"] == {
        "topK": 20,
        "thinkingConfig": {"thinkingLevel": "low", "includeThoughts": True},
        "responseLogprobs": True,
        "logprobs": 4,
    }
    assert body["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]
    assert body["cachedContent"] == "cachedContents/abc"


def test_gemini_budget_is_thinking_budget() -> None:
    body = gemini_body(req(reasoning=Reasoning(budget_tokens=0, summary=False)))
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0, "includeThoughts": False}


def test_gemini_cached_content_refuses_a_system_prompt_it_would_repeat() -> None:
    r = ChatRequest(
        model="m",
        messages=(Message.system("be brief"), Message.user("hi")),
        prompt_cache=PromptCache(cached_content="cachedContents/abc"),
    )
    with pytest.raises(errors.UnsupportedFeatureError, match="systemInstruction"):
        gemini_body(r)


# --------------------------------------------------------------------------- refusals


REFUSED = [
    ("openai", {"top_k": 5}, "top_k"),
    ("openai", {"safety_settings": (SafetySetting("HARM_CATEGORY_HARASSMENT", "OFF"),)}, "safety_settings"),
    (
        "openai",
        {"prompt_cache": PromptCache(cached_content="cachedContents/x")},
        "prompt_cache.cached_content",
    ),
    ("openai", {"reasoning": Reasoning(budget_tokens=2048)}, "reasoning.budget_tokens"),
    ("openai", {"reasoning": Reasoning(effort="low", summary="detailed")}, "reasoning.summary"),
    ("openai", {"reasoning": Reasoning(effort="max")}, "reasoning.effort"),
    ("responses", {"top_k": 5}, "top_k"),
    (
        "responses",
        {"prompt_cache": PromptCache(cached_content="cachedContents/x")},
        "prompt_cache.cached_content",
    ),
    ("responses", {"reasoning": Reasoning(budget_tokens=2048)}, "reasoning.budget_tokens"),
    ("anthropic", {"prompt_cache": PromptCache(key="k")}, "prompt_cache.key"),
    ("anthropic", {"prompt_cache": PromptCache(retention="24h")}, "prompt_cache.retention"),
    ("anthropic", {"prompt_cache": PromptCache(cached_content="c")}, "prompt_cache.cached_content"),
    ("anthropic", {"logprobs": True}, "logprobs"),
    ("anthropic", {"top_logprobs": 2}, "top_logprobs"),
    ("anthropic", {"verbosity": "low"}, "verbosity"),
    ("anthropic", {"service_tier": "flex"}, "service_tier"),
    (
        "anthropic",
        {"safety_settings": (SafetySetting("HARM_CATEGORY_HARASSMENT", "OFF"),)},
        "safety_settings",
    ),
    ("anthropic", {"reasoning": Reasoning(effort="minimal")}, "reasoning.effort"),
    ("anthropic", {"reasoning": Reasoning(effort="low", summary="concise")}, "reasoning.summary"),
    ("gemini", {"prompt_cache": PromptCache(key="k")}, "prompt_cache.key"),
    ("gemini", {"service_tier": "auto"}, "service_tier"),
    ("gemini", {"verbosity": "low"}, "verbosity"),
    ("gemini", {"reasoning": Reasoning(effort="none")}, "reasoning.effort"),
    ("gemini", {"reasoning": Reasoning(effort="low", budget_tokens=1024)}, "reasoning"),
]


@pytest.mark.parametrize(("protocol", "changes", "field"), REFUSED)
def test_refusals_name_the_field_and_the_provider(protocol: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.UnsupportedFeatureError) as info:
        BUILDERS[protocol](req(**changes))
    host = {"openai": "openai", "responses": "openai-responses", "anthropic": "anthropic", "gemini": "gemini"}
    assert f"ChatRequest.{field} is set" in info.value.message
    assert info.value.provider == host[protocol]
    assert host[protocol] in info.value.message


def test_logprobs_false_is_not_a_request_for_logprobs() -> None:
    assert "logprobs" not in anthropic_body(req(logprobs=False))
    assert chat_body(req(logprobs=False))["logprobs"] is False


def test_anthropic_first_class_thinking_keeps_replaying_thinking_blocks() -> None:
    # a tool loop with thinking on: the assistant turn goes back with its signed thinking first
    from llmrelay.types import ToolCall

    thinking = {"type": "thinking", "thinking": "Look it up.", "signature": "sig-1"}
    turn = Message(
        role="assistant",
        tool_calls=(ToolCall("toolu_1", "lookup", '{"q": "x"}'),),
        provider_state={"anthropic": {"content": [thinking]}},
    )
    r = ChatRequest(
        model="m",
        messages=(Message.user("find x"), turn, Message.tool("toolu_1", "found")),
        tools=(Tool("lookup"),),
        reasoning=Reasoning(budget_tokens=2048),
    )
    body = anthropic_body(r, replace(ANTHROPIC, model="claude-sonnet-4-5"))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["messages"][1]["content"][0] == thinking
    assert body["messages"][1]["content"][1]["type"] == "tool_use"
