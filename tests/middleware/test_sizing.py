"""What the middleware learn about a call before sending it."""

from __future__ import annotations

import math
from dataclasses import replace

from llmrelay import Settings
from llmrelay.catalog import Catalog
from llmrelay.middleware.sizing import PromptCounts, model_info, output_bound, prompt_tokens
from llmrelay.pipeline import Attempt, Call
from llmrelay.resolve import Resolver
from llmrelay.tokens import count_for, count_text
from llmrelay.types import ChatRequest, EmbeddingRequest, Message

REQ = ChatRequest(model="local", messages=(Message.user("How many tokens is this?"),))


def test_deployment_is_the_attempts_else_the_routes_first() -> None:
    models = {
        "pair": {
            "deployments": [{"provider": "simulator", "model": "a"}, {"provider": "simulator", "model": "b"}]
        }
    }
    route = Resolver(Settings.load(models=models), {}).resolve("pair")
    first, second = route.deployments
    assert Call(REQ, route=route).deployment() is first
    assert Call(REQ, route=route, attempt=Attempt(second, 1)).deployment() is second


def test_prompt_tokens_pad_estimates_only_and_count_once() -> None:
    catalog = Catalog.load()
    dep = Resolver(Settings.load(), {}).resolve("local").deployments[0]
    info = model_info(catalog, dep)
    assert info is not None and info.model == "sim-1"
    count = count_for(REQ, info, dep.endpoint.provider, dep.endpoint.model)
    assert not count.exact  # the simulator's model has no public tokenizer
    call = Call(REQ)
    assert prompt_tokens(call, dep, info) == count.tokens
    assert prompt_tokens(call, dep, info, margin=0.25) == math.ceil(count.tokens * 1.25)
    counts = call.get(PromptCounts)
    assert counts is not None and list(counts.by_deployment) == ["simulator/sim-1"]

    gpt = (
        Resolver(Settings.load(), {"OPENAI_API_KEY": "sk-test-123456"})
        .resolve("openai/gpt-4o")
        .deployments[0]
    )
    gpt_info = model_info(catalog, gpt)
    exact = prompt_tokens(Call(REQ), gpt, gpt_info, margin=0.25)
    assert exact == count_for(REQ, gpt_info, "openai", "gpt-4o").tokens  # exact counts are not padded


def test_output_bound() -> None:
    info = Catalog.load().lookup("openai", "gpt-4o")
    assert info is not None and info.max_output
    assert output_bound(Call(ChatRequest(model="m", messages=(), max_tokens=7)), info, 10) == 7
    assert output_bound(Call(REQ), info, 10) == info.max_output
    assert output_bound(Call(REQ), None, 10) is None
    no_max = replace(info, max_output=None)
    assert output_bound(Call(REQ), no_max, 100) == info.context_window - 100


def test_embedding_inputs_are_counted_and_produce_no_output() -> None:
    gpt = (
        Resolver(Settings.load(), {"OPENAI_API_KEY": "sk-test-123456"})
        .resolve("openai/text-embedding-3-small")
        .deployments[0]
    )
    info = model_info(Catalog.load(), gpt)
    call = Call(EmbeddingRequest(model="openai/text-embedding-3-small", inputs=["hello world", "two"]))
    tokens = prompt_tokens(call, gpt, info)
    assert tokens == count_text("hello world", "cl100k_base") + count_text("two", "cl100k_base") == 3
    assert output_bound(call, info, tokens) == 0
