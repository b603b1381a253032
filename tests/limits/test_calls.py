"""What the middleware learn about a call before sending it."""

from __future__ import annotations

import math
from dataclasses import replace

from llmrelay import Settings
from llmrelay.catalog import Catalog
from llmrelay.limits.calls import deployment_of, model_info, output_bound, prompt_tokens, subject_of
from llmrelay.pipeline import Call
from llmrelay.resolve import Resolver
from llmrelay.secrets import Secret
from llmrelay.tokens import count_for
from llmrelay.types import ChatRequest, Message

REQ = ChatRequest(model="local", messages=(Message.user("How many tokens is this?"),))


def test_subject_from_meta_metadata_user_and_tags() -> None:
    secret = Secret("sk-virtual-key-123456")
    s = subject_of(
        Call(ChatRequest(model="m", messages=(), user="alice", tags=("a", "b")), meta={"key": secret})
    )
    assert (s.key, s.user, s.tags) == (f"fp:{secret.fingerprint}", "alice", ("a", "b"))
    s = subject_of(Call(ChatRequest(model="m", messages=(), metadata={"key": "team-a"})))
    assert (s.key, s.user, s.tags) == ("team-a", None, ())
    s = subject_of(Call(ChatRequest(model="m", messages=(), metadata={"key": "sk-proj-abcdefghijkl"})))
    assert s.key is not None and "sk-proj" not in s.key  # a real key passed by mistake is scrubbed


def test_deployment_is_routings_choice_else_the_first() -> None:
    models = {
        "pair": {
            "deployments": [{"provider": "simulator", "model": "a"}, {"provider": "simulator", "model": "b"}]
        }
    }
    route = Resolver(Settings.load(models=models), {}).resolve("pair")
    first, second = route.deployments
    assert deployment_of(Call(REQ), route) is first
    assert deployment_of(Call(REQ, meta={"deployment": second}), route) is second
    assert deployment_of(Call(REQ, meta={"deployment": "simulator/b"}), route) is second
    assert deployment_of(Call(REQ, meta={"deployment": "elsewhere/x"}), route) is first


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
    assert list(call.meta["prompt_tokens_by_deployment"]) == ["simulator/sim-1"]

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
