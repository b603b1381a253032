"""Anthropic token rules: the count_tokens request and answer (checked against the official
SDK), the image area rule and the framing offline estimates use."""

from __future__ import annotations

import json
import math

import anthropic
import httpx2 as httpx
import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter, protocol_for_model
from llmrelay.providers.anthropic import AnthropicAdapter
from llmrelay.providers.anthropic_tokens import (
    RULES,
    TOOL_USE_PROMPT,
    count_request,
    image_tokens,
    parse_count,
)
from llmrelay.secrets import Secret
from llmrelay.types import ChatRequest, Message, Tool
from llmrelay.wire import Endpoint

KEY = "sk-ant-api03-COUNTKEY0123456789"
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}
REQ = ChatRequest(
    model="m",
    messages=[Message.system("Be brief."), Message.user("How many tokens is this?")],
    max_tokens=50,
    temperature=0.2,
    stop=["END"],
    tools=[Tool("lookup", "Find", SCHEMA)],
)


def endpoint(**kw: object) -> Endpoint:
    base: dict[str, object] = {
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "base_url": "https://api.anthropic.com",
        "api_key": Secret(KEY),
        "host": "anthropic",
    }
    base.update(kw)
    return Endpoint(**base)  # type: ignore[arg-type]


def test_the_adapter_exposes_its_rules_and_endpoint() -> None:
    adapter = load_adapter("anthropic")
    assert isinstance(adapter, AnthropicAdapter)
    assert adapter.token_rules is RULES
    assert adapter.count_method == "anthropic:count_tokens"
    assert adapter.count_request(REQ, endpoint()) == count_request(REQ, endpoint())
    assert adapter.parse_count(b'{"input_tokens": 42}') == 42


def test_count_request_keeps_only_countable_fields() -> None:
    http = count_request(REQ, endpoint())
    assert http.method == "POST" and http.url == "https://api.anthropic.com/v1/messages/count_tokens"
    body = json.loads(http.body or b"")
    # sampling and output limits are refused by count_tokens: they must not be sent
    assert set(body) == {"model", "messages", "system", "tools"}
    assert body["model"] == "claude-haiku-4-5"
    assert http.headers["x-api-key"] == KEY
    assert KEY not in repr(http)


def test_count_request_url_keeps_the_query_and_a_v1_base() -> None:
    http = count_request(REQ, endpoint(base_url="https://gw.example/anthropic/v1", query={"tenant": "a"}))
    assert http.url == "https://gw.example/anthropic/v1/messages/count_tokens?tenant=a"


def test_count_request_rejects_what_a_chat_call_would() -> None:
    # the same translation as chat: an option Anthropic cannot take fails the same way
    bad = ChatRequest(model="m", messages=[Message.user("hi")], presence_penalty=0.5)
    with pytest.raises(errors.UnsupportedFeatureError):
        AnthropicAdapter().chat_request(bad, endpoint(), stream=False)
    with pytest.raises(errors.UnsupportedFeatureError):
        count_request(bad, endpoint())


@pytest.mark.sdk
def test_count_request_matches_the_official_sdk() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"input_tokens": 42})

    sdk = anthropic.Anthropic(
        api_key=KEY,
        base_url="https://api.anthropic.com",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
        max_retries=0,
    )
    counted = sdk.messages.count_tokens(
        model="claude-haiku-4-5",
        system="Be brief.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "How many tokens is this?"}]}],
        tools=[{"name": "lookup", "description": "Find", "input_schema": SCHEMA}],
    )
    ep = endpoint(options={"auth": "bearer", "version": anthropic._constants.ANTHROPIC_API_VERSION})
    # (the SDK's API version has no sampling options at all)
    ours = count_request(ChatRequest(model="m", messages=REQ.messages, max_tokens=50, tools=REQ.tools), ep)
    (sent,) = seen
    assert ours.url == str(sent.url)
    assert json.loads(ours.body or b"") == json.loads(sent.content)
    for name in ("authorization", "anthropic-version", "content-type"):
        assert ours.headers[name] == sent.headers[name], name
    assert parse_count(b'{"input_tokens": 42}') == counted.input_tokens


def test_parse_count_errors_name_the_host_and_the_field() -> None:
    ep = endpoint(host="simulator-anthropic")
    with pytest.raises(errors.MalformedResponseError, match="no integer 'input_tokens'") as info:
        parse_count(b'{"totalTokens": 7}', ep)
    assert info.value.provider == "simulator-anthropic"
    with pytest.raises(errors.MalformedResponseError, match="not JSON") as info:
        parse_count(b"<html>")
    assert info.value.provider == "anthropic"
    for bad in (b'{"input_tokens": -1}', b'{"input_tokens": true}', b'{"input_tokens": 1.5}', b"[1]"):
        with pytest.raises(errors.MalformedResponseError):
            parse_count(bad)


def test_image_area_rule() -> None:
    assert image_tokens(1000, 1000) == 1334  # 1000*1000/750, rounded up
    assert image_tokens(1568, 700) == math.ceil(1568 * 700 / 750)  # within both limits: unscaled
    assert image_tokens(8000, 8000) == math.ceil(1_150_000 / 750)  # scaled to ~1.15 MP first
    assert image_tokens(3136, 100) == math.ceil(1568 * 50 / 750)  # long side to 1568 px first
    assert image_tokens(1, 1) == 1


def test_estimate_framing_and_model_names() -> None:
    assert RULES.tools_prompt == TOOL_USE_PROMPT > 0
    assert RULES.encoding_for("claude-sonnet-4-5") is None  # no public tokenizer
    assert RULES.owns_model("claude-3-5-haiku-20241022")
    assert RULES.owns_model("anthropic/claude-sonnet-4.5")  # an OpenRouter-style vendor prefix
    assert not RULES.owns_model("gpt-4o")
    assert protocol_for_model("claude-opus-4-1") == "anthropic"
