"""Fitting a request to its model from the catalog's marks: refusals name field, provider
and model; efforts become budgets where a model takes budgets only."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay.catalog import Catalog
from llmrelay.catalog.fit import fit_request
from llmrelay.errors import ConfigError, UnsupportedFeatureError
from llmrelay.types import ChatRequest, Message, PromptCache, Reasoning
from llmrelay.types.fields import EFFORT_BUDGETS

CATALOG = Catalog.load()


def fit(host: str, model: str, protocol: str = "openai", **kw: Any) -> ChatRequest:
    req = ChatRequest(model="m", messages=(Message.user("hi"),), **kw)
    return fit_request(req, CATALOG.lookup(host, model), protocol, host)


@pytest.mark.parametrize(
    ("host", "model", "effort"),
    [
        ("openai", "gpt-5", "none"),  # gpt-5 takes minimal..high
        ("openai", "gpt-5.1", "minimal"),  # gpt-5.1 takes none, low..high
        ("openai", "o3", "minimal"),
        ("openai", "gpt-5", "xhigh"),
        ("gemini", "gemini-3-pro-preview", "medium"),  # Gemini 3 Pro: low and high
        ("anthropic", "claude-opus-4-6", "minimal"),
    ],
)
def test_an_effort_the_model_does_not_take_is_refused(host: str, model: str, effort: str) -> None:
    with pytest.raises(
        UnsupportedFeatureError, match=f"ChatRequest.reasoning.effort .*{host} model {model}"
    ) as info:
        fit(host, model, reasoning=Reasoning(effort=effort))  # type: ignore[arg-type]
    assert info.value.provider == host and info.value.model == model


def test_efforts_the_model_takes_pass_unchanged() -> None:
    r = Reasoning(effort="none")
    assert fit("openai", "gpt-5.1", reasoning=r).reasoning is r
    assert fit("anthropic", "claude-opus-4-6", reasoning=Reasoning(effort="max")).reasoning == Reasoning(
        effort="max"
    )


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "xhigh", "max"])
def test_budget_only_models_get_the_documented_budget(effort: str) -> None:
    for host, model in (("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash")):
        got = fit(host, model, reasoning=Reasoning(effort=effort, summary=True))  # type: ignore[arg-type]
        assert got.reasoning == Reasoning(budget_tokens=EFFORT_BUDGETS[effort], summary=True)


def test_budget_only_model_with_no_effort_thinks_at_the_medium_budget() -> None:
    got = fit("anthropic", "claude-sonnet-4-5", reasoning=Reasoning())
    assert got.reasoning == Reasoning(budget_tokens=8192)


def test_thinking_that_cannot_be_off() -> None:
    with pytest.raises(UnsupportedFeatureError, match="always thinks"):
        fit("gemini", "gemini-2.5-pro", reasoning=Reasoning(effort="none"))
    assert fit("gemini", "gemini-2.5-flash", reasoning=Reasoning(effort="none")).reasoning == Reasoning(
        budget_tokens=0
    )


def test_budgets_on_effort_models_and_reasoning_on_plain_models() -> None:
    with pytest.raises(
        UnsupportedFeatureError, match=r"budget_tokens .*openai model o3.*\(low, medium, high\)"
    ):
        fit("openai", "o3", reasoning=Reasoning(budget_tokens=4096))
    with pytest.raises(UnsupportedFeatureError, match=r"ChatRequest.reasoning .*gpt-4o.*does not reason"):
        fit("openai", "gpt-4o", reasoning=Reasoning(effort="low"))
    # asking a plain model not to think asks for nothing
    assert fit("openai", "gpt-4o", reasoning=Reasoning(effort="none")).reasoning is None


@pytest.mark.parametrize("field", [{"temperature": 0.3}, {"top_p": 0.5}, {"logprobs": True}, {"top_k": 3}])
def test_no_sampling_models_refuse_sampling(field: dict[str, Any]) -> None:
    name = next(iter(field))
    with pytest.raises(UnsupportedFeatureError, match=f"ChatRequest.{name} .*openai model o4-mini"):
        fit("openai", "o4-mini", **field)
    fit("openai", "gpt-4o", **field)  # a sampling model takes it


def test_verbosity_needs_the_mark() -> None:
    assert fit("openai", "gpt-5", verbosity="low").verbosity == "low"
    with pytest.raises(UnsupportedFeatureError, match=r"verbosity .*gpt-4.1"):
        fit("openai", "gpt-4.1", verbosity="low")


def test_responses_only_models_are_refused_on_chat_completions() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"Responses API only.*openai-responses"):
        fit("openai", "o3-pro")
    fit("openai-responses", "o3-pro", "responses")


def test_auto_cache_gets_the_model_minimum() -> None:
    got = fit("anthropic", "claude-haiku-4-5", "anthropic", prompt_cache=PromptCache(auto="5m"))
    assert got.prompt_cache == PromptCache(auto="5m", min_tokens=4096)
    plain = fit("anthropic", "claude-sonnet-4-5", "anthropic", prompt_cache=PromptCache(auto="5m"))
    assert plain.prompt_cache == PromptCache(auto="5m")  # the translator's 1,024 default
    mine = PromptCache(auto="5m", min_tokens=100)
    assert fit("anthropic", "claude-haiku-4-5", "anthropic", prompt_cache=mine).prompt_cache is mine


def test_unknown_models_are_sent_as_asked() -> None:
    req = ChatRequest(
        model="m", messages=(Message.user("hi"),), reasoning=Reasoning(effort="xhigh"), temperature=0.1
    )
    assert fit_request(req, None, "openai", "vllm") is req


def test_unknown_capability_marks_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown capabilities \['effort_extreme'\].*effort_xhigh"):
        Catalog.load({"openai/x": {"context_window": 10, "capabilities": ["effort_extreme"]}})


def test_thinking_budget_is_what_the_fitted_request_carries() -> None:
    from llmrelay.catalog.fit import thinking_budget

    def budget(host: str, model: str, reasoning: Reasoning | None) -> int:
        req = ChatRequest(model="m", messages=(Message.user("hi"),), reasoning=reasoning)
        fitted = fit_request(req, CATALOG.lookup(host, model), host, host)
        carried = fitted.reasoning.budget_tokens if fitted.reasoning is not None else None
        got = thinking_budget(req, CATALOG.lookup(host, model))
        assert got == (carried or 0)
        return got

    assert budget("anthropic", "claude-sonnet-4-5", Reasoning(effort="high")) == 16384
    assert budget("anthropic", "claude-sonnet-4-5", Reasoning()) == 8192
    assert budget("anthropic", "claude-sonnet-4-5", Reasoning(budget_tokens=3000)) == 3000
    assert budget("anthropic", "claude-opus-4-6", Reasoning(effort="high")) == 0  # adaptive: no budget
    assert budget("openai", "o3", Reasoning(effort="high")) == 0
    assert budget("anthropic", "claude-sonnet-4-5", None) == 0
