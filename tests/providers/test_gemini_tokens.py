"""Gemini token rules: the countTokens request and answer, the image tile rule and the
framing offline estimates use."""

from __future__ import annotations

import json

import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter, protocol_for_model
from llmrelay.providers.gemini import GeminiAdapter
from llmrelay.providers.gemini_tokens import RULES, count_request, image_tokens, parse_count
from llmrelay.secrets import Secret
from llmrelay.types import ChatRequest, Message, Tool
from llmrelay.wire import Endpoint

REQ = ChatRequest(
    model="m",
    messages=[Message.system("Be brief."), Message.user("How many tokens is this?")],
    max_tokens=50,
    temperature=0.2,
    tools=[Tool("lookup", "Find", {"type": "object", "properties": {"q": {"type": "string"}}})],
)
EP = Endpoint(
    "gemini", "gemini-2.5-flash", "https://generativelanguage.googleapis.com", Secret("g-key"), host="gemini"
)


def test_the_adapter_exposes_its_rules_and_endpoint() -> None:
    adapter = load_adapter("gemini")
    assert isinstance(adapter, GeminiAdapter)
    assert adapter.token_rules is RULES
    assert adapter.count_method == "gemini:countTokens"
    assert adapter.count_request(REQ, EP) == count_request(REQ, EP)
    assert adapter.parse_count(b'{"totalTokens": 7}') == 7


def test_count_request_wraps_a_generate_content_request() -> None:
    http = count_request(REQ, EP)
    assert http.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens"
    inner = json.loads(http.body or b"")["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert {"contents", "systemInstruction", "tools"} <= set(inner)
    # output settings (temperature, max tokens) do not change the prompt's size
    assert "generationConfig" not in inner
    assert http.headers["x-goog-api-key"] == "g-key" and "g-key" not in http.url


@pytest.mark.sdk
def test_count_request_and_answer_fit_the_official_sdk_types() -> None:
    from google.genai import types

    inner = json.loads(count_request(REQ, EP).body or b"")["generateContentRequest"]
    # the SDK's models forbid unknown fields: a misspelt field fails here
    types.Content.model_validate(inner["contents"][0])
    types.Tool.model_validate(inner["tools"][0])
    answer = b'{"totalTokens": 31, "cachedContentTokenCount": 0}'
    assert parse_count(answer) == types.CountTokensResponse.model_validate_json(answer).total_tokens


def test_parse_count_errors_name_the_host_and_the_field() -> None:
    with pytest.raises(errors.MalformedResponseError, match="no integer 'totalTokens'") as info:
        parse_count(b'{"input_tokens": 7}', EP)
    assert info.value.provider == "gemini" and info.value.model == "gemini-2.5-flash"
    with pytest.raises(errors.MalformedResponseError, match="not JSON"):
        parse_count(b"\xff")


def test_image_tile_rule() -> None:
    assert image_tokens(384, 384) == 258  # small images are one flat unit
    assert image_tokens(385, 100) == 258  # one 768-px tile
    assert image_tokens(1024, 1024) == 258 * 4
    assert image_tokens(1536, 768) == 258 * 2


def test_estimate_framing_and_model_names() -> None:
    assert RULES.encoding_for("gemini-2.5-flash") is None  # no public tokenizer
    assert RULES.owns_model("gemini-2.5-pro") and RULES.owns_model("gemma-3-27b-it")
    assert RULES.owns_model("google/gemini-2.5-flash")
    assert not RULES.owns_model("claude-haiku-4-5")
    assert protocol_for_model("gemma-3-4b") == "gemini"
