"""Preflight: prompt + max_tokens over the context window fails before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.catalog import Catalog
from llmrelay.middleware.callstate import TooSmall
from llmrelay.middleware.preflight import Preflight, prompt_upper_bound
from llmrelay.middleware.sizing import PromptCounts
from llmrelay.pipeline import Call
from llmrelay.pipeline.context import StackContext
from llmrelay.resolve import Resolver
from llmrelay.settings import Settings
from llmrelay.state import StateContext
from llmrelay.tokens import count_request
from llmrelay.types import ChatRequest, Message

# simulator/gpt-4o counted exactly (o200k), with a tiny window so limits are easy to reach
TINY = {"simulator/gpt-4o": {"base": "openai/gpt-4o", "context_window": 60}}


def client(catalog: dict[str, Any] | None = None, **settings: Any) -> llmrelay.Client:
    return llmrelay.Client(Settings.load(catalog={"models": catalog or {}}, **settings))


def watch(c: llmrelay.Client) -> list[Call]:
    """The calls the client completes, as its response hook sees them."""
    seen: list[Call] = []
    c.hooks.response.append(seen.append)
    return seen


def counts(call: Call) -> dict[str, Any]:
    found = call.get(PromptCounts)
    return {} if found is None else dict(found.by_deployment)


def sent(c: llmrelay.Client) -> int:
    return sum(c.simulator.stats.requests.values())


async def test_exact_boundary():
    prompt = count_request(
        ChatRequest(model="x", messages=[Message.user("hello there")]), model="openai/gpt-4o"
    )
    assert prompt.exact
    async with client(TINY) as c:
        calls = watch(c)
        ok = await c.chat("hello there", model="simulator/gpt-4o", max_tokens=60 - prompt.tokens)
        assert ok.text and counts(calls[-1])["simulator/gpt-4o"] == prompt
        with pytest.raises(llmrelay.ContextWindowExceededError) as err:
            await c.chat("hello there", model="simulator/gpt-4o", max_tokens=61 - prompt.tokens)
        assert sent(c) == 1  # the refused call never reached the provider
    message = str(err.value)
    assert f"the prompt is {prompt.tokens} tokens" in message and "60-token context window" in message
    assert (
        err.value.status is None
        and err.value.model == "gpt-4o"
        and err.value.code == "context_length_exceeded"
    )


async def test_huge_prompt_on_the_default_model_is_refused_locally():
    async with client() as c:
        with pytest.raises(
            llmrelay.ContextWindowExceededError, match="128000-token context window of simulator/sim-1"
        ):
            await c.chat("word " * 140_000)
        assert sent(c) == 0


async def test_streams_are_refused_before_opening():
    async with client(TINY) as c:
        stream = c.stream("hi", model="simulator/gpt-4o", max_tokens=100)
        with pytest.raises(llmrelay.ContextWindowExceededError):
            async for _ in stream:
                pass
        assert sent(c) == 0


async def test_estimates_get_the_benefit_of_the_doubt():
    # sim-1 has no public tokenizer: an estimate up to 15% over the window still goes out
    async with client({"simulator/sim-1": {"context_window": 100}}) as c:
        req = ChatRequest(model="local", messages=[Message.user("x" * 400)])
        estimate = count_request(req, model="simulator/sim-1")
        assert not estimate.exact and 100 < estimate.tokens <= 100 / 0.85
        reply = await c.chat(req, max_tokens=1)
        assert reply.text is not None and sent(c) == 1


async def test_unknown_models_are_left_to_the_provider():
    async with client() as c:
        with pytest.raises(llmrelay.ContextWindowExceededError) as err:
            await c.chat("hi", model="simulator/not-in-the-catalog", max_tokens=10**6)
    assert err.value.status == 400  # the simulator's own answer: preflight let it through


async def test_a_fallback_with_room_lets_the_call_through():
    models = {
        "small": {
            "deployments": [{"provider": "simulator", "model": "gpt-4o"}],
            "context_window_fallback": "big",
        },
        "big": {"deployments": [{"provider": "simulator", "model": "gpt-4o-mini"}]},
    }
    async with client(TINY, models=models) as c:
        calls = watch(c)
        reply = await c.chat("hello there", model="small", max_tokens=200)
        assert reply.text and calls[-1].get(TooSmall) == TooSmall(("simulator/gpt-4o",))
        with pytest.raises(llmrelay.ContextWindowExceededError):
            await c.chat("hello there", model="simulator/gpt-4o", max_tokens=200)


def test_only_the_context_window_fallback_chain_counts():
    catalog = {"simulator/gpt-4o-mini": {"base": "openai/gpt-4o-mini", "context_window": 60}}
    settings = Settings.load(
        catalog={"models": TINY | catalog},
        models={
            "small": {
                "deployments": [{"provider": "simulator", "model": "gpt-4o"}],
                "context_window_fallback": "smaller",
                "fallbacks": ["big"],  # for outages only: routing never sends a too-long prompt there
            },
            "smaller": {"deployments": [{"provider": "simulator", "model": "gpt-4o-mini"}]},
            "big": {"deployments": [{"provider": "simulator", "model": "gpt-4.1"}]},
        },
    )
    resolver = Resolver(settings, {})
    ctx = StackContext(settings, resolver.resolve, StateContext(None, "t:"), {}, Catalog.load(TINY | catalog))
    preflight = Preflight.from_context(ctx)
    assert preflight is not None
    call = Call(ChatRequest(model="small", messages=[Message.user("hello there")], max_tokens=200))
    with pytest.raises(llmrelay.ContextWindowExceededError, match="and 1 other deployments"):
        preflight.check(call)
    fits = Call(ChatRequest(model="small", messages=[Message.user("hello there")], max_tokens=20))
    preflight.check(fits)
    assert fits.get(TooSmall) is None


def test_disabled_by_settings():
    settings = Settings.load(catalog={"preflight": False})
    ctx = StackContext(settings, Resolver(settings, {}).resolve, StateContext(None, "t:"), {})
    assert Preflight.from_context(ctx) is None
    on = Settings.load()
    assert isinstance(
        Preflight.from_context(StackContext(on, Resolver(on, {}).resolve, StateContext(None, "t:"), {})),
        Preflight,
    )


def test_upper_bound_never_undercounts():
    texts = ["hello there", "naïve café — ünïcödé 🙂🙂🙂", "x" * 5000, "日本語のテキスト" * 50, " \n\t " * 40]
    for text in texts:
        req = ChatRequest(model="x", messages=[Message.system("be brief"), Message.user(text)])
        bound = prompt_upper_bound(req)
        assert bound is not None
        for model in ("openai/gpt-4o", "openai/gpt-4"):
            assert count_request(req, model=model).tokens <= bound
    with_tools = ChatRequest(model="x", messages=[Message.user("hi")], tools=[llmrelay.Tool("f")])
    assert prompt_upper_bound(with_tools) is None


async def test_small_prompts_are_not_counted_but_large_ones_are():
    roomy = {"simulator/gpt-4o": {"base": "openai/gpt-4o", "context_window": 100_000}}
    async with client(roomy) as c:
        calls = watch(c)
        small = await c.chat("hello there", model="simulator/gpt-4o", max_tokens=50)
        assert small.text and counts(calls[-1]) == {}  # far below the window: no tokenizer run
        big = "word " * 30_000  # the bound (4 × chars) exceeds the window, the real count does not
        large = await c.chat(big, model="simulator/gpt-4o", max_tokens=50)
        assert large.text and counts(calls[-1])["simulator/gpt-4o"].exact


async def test_too_small_alias_goes_to_its_context_window_fallback_without_sending():
    models = {
        "small": {
            "deployments": [{"provider": "simulator", "model": "gpt-4o"}],
            "context_window_fallback": "big",
        },
        "big": {"deployments": [{"provider": "simulator", "model": "gpt-4o-mini"}]},
    }
    async with client(TINY, models=models) as c:
        reply = await c.chat("word " * 100, model="small", max_tokens=5)
        assert reply.text
        assert sent(c) == 1  # only the fallback was asked; the too-small model never was
        assert reply.meta.deployment == "simulator/gpt-4o-mini"


async def test_the_thinking_budget_anthropic_adds_to_its_default_output_limit_is_reserved():
    # with max_tokens unset, a thinking call to Anthropic asks for the budget plus the usual 4,096
    small = {
        "simulator-anthropic/claude-sonnet-4-5": {
            "base": "anthropic/claude-sonnet-4-5",
            "context_window": 6000,
        }
    }
    async with client(small) as c:
        model = "simulator-anthropic/claude-sonnet-4-5"
        assert (await c.chat("hello", model=model)).text  # 4,096 of output fits
        with pytest.raises(llmrelay.ContextWindowExceededError):
            await c.chat("hello", model=model, reasoning=llmrelay.Reasoning(effort="low"))  # + 2,048
        assert sent(c) == 1
        assert (await c.chat("hello", model=model, reasoning="none")).text
