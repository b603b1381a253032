"""Provider count endpoints by protocol name (the adapters build and parse them; see
tests/providers/test_*_tokens.py), and Client.count_tokens end to end against the
in-process simulator (no sockets: the network guard stays on)."""

from __future__ import annotations

import json

import pytest

import llmrelay
from llmrelay.errors import AuthenticationError, MalformedResponseError, UnsupportedFeatureError
from llmrelay.providers import ADAPTERS, load_adapter
from llmrelay.secrets import Secret
from llmrelay.settings import Settings
from llmrelay.simulator import SimulatorConfig
from llmrelay.tokens.remote import METHODS, count_request, parse_count
from llmrelay.types import ChatRequest, Message, Tool
from llmrelay.wire import Endpoint

REQ = ChatRequest(
    model="m",
    messages=[Message.system("Be brief."), Message.user("How many tokens is this?")],
    max_tokens=50,
    temperature=0.2,
    tools=[Tool("lookup", "Find", {"type": "object", "properties": {"q": {"type": "string"}}})],
)


def test_anthropic_request_keeps_only_countable_fields():
    ep = Endpoint("anthropic", "claude-haiku-4-5", "https://api.anthropic.com", Secret("sk-ant-xyz"))
    http = count_request(REQ, ep)
    assert http is not None and http.url == "https://api.anthropic.com/v1/messages/count_tokens"
    body = json.loads(http.body or b"")
    assert set(body) == {"model", "messages", "system", "tools"}
    assert http.headers["x-api-key"] == "sk-ant-xyz"


def test_gemini_request_wraps_a_generate_content_request():
    ep = Endpoint("gemini", "gemini-2.5-flash", "https://generativelanguage.googleapis.com", Secret("g-key"))
    http = count_request(REQ, ep)
    assert http is not None and http.url.endswith("/models/gemini-2.5-flash:countTokens")
    inner = json.loads(http.body or b"")["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert "contents" in inner and "systemInstruction" in inner and "generationConfig" not in inner


def test_openai_has_no_count_endpoint():
    assert count_request(REQ, Endpoint("openai", "gpt-4o", "https://api.openai.com/v1")) is None


def test_parse_count():
    assert parse_count("anthropic", b'{"input_tokens": 42}') == 42
    assert parse_count("gemini", b'{"totalTokens": 7, "promptTokensDetails": []}') == 7
    with pytest.raises(MalformedResponseError, match="no integer 'totalTokens'"):
        parse_count("gemini", b'{"input_tokens": 7}')
    with pytest.raises(MalformedResponseError, match="not JSON"):
        parse_count("anthropic", b"<html>")
    with pytest.raises(UnsupportedFeatureError, match="no token-count endpoint"):
        parse_count("openai", b'{"totalTokens": 7}')


def test_methods_are_the_adapters_own():
    expected = {p: load_adapter(p).count_method for p in ADAPTERS if load_adapter(p).count_method}
    assert (
        dict(METHODS)
        == expected
        == {
            "anthropic": "anthropic:count_tokens",
            "gemini": "gemini:countTokens",
            "responses": "responses:input_tokens",
        }
    )
    assert len(METHODS) == 3 and "openai" not in METHODS and "cohere" not in METHODS
    with pytest.raises(KeyError):
        METHODS["openai"]


@pytest.mark.parametrize(
    ("model", "method"),
    [
        ("simulator-anthropic/claude-haiku-4-5", "anthropic:count_tokens"),
        ("simulator-gemini/gemini-2.5-flash", "gemini:countTokens"),
        ("simulator-responses/gpt-4o", "responses:input_tokens"),
    ],
)
async def test_client_asks_the_provider_and_matches_billed_usage(model, method):
    async with llmrelay.Client(Settings.load()) as client:
        counted = await client.count_tokens(REQ.messages, model=model, tools=REQ.tools)
        reply = await client.chat(REQ.messages, model=model, tools=REQ.tools, max_tokens=20)
    assert counted.method == method and counted.exact
    assert reply.usage is not None and counted.tokens == reply.usage.input_tokens


async def test_client_counts_offline_where_there_is_no_endpoint():
    async with llmrelay.Client(Settings.load()) as client:
        counted = await client.count_tokens("hello world", model="simulator/gpt-4o")
    assert counted.method == "tiktoken:o200k_base" and counted.exact
    assert counted.tokens == 3 + 1 + 2 + 3  # framing, "user", "hello world", reply priming


async def test_client_without_a_key_fails_as_a_call_would():
    async with llmrelay.Client(Settings.load(), environ={"ANTHROPIC_API_KEY": ""}) as client:
        with pytest.raises(llmrelay.MissingKeyError):
            await client.count_tokens("hi", model="anthropic/claude-haiku-4-5")


async def test_provider_errors_are_typed():
    async with llmrelay.Client(Settings.load()) as client:
        client._simulator = llmrelay.Simulator(SimulatorConfig(api_keys={"right"}))
        with pytest.raises(AuthenticationError):
            await client.count_tokens("hi", model="simulator-anthropic/claude-haiku-4-5")
