"""OpenAI token rules: the cookbook framing, encodings by model family, the image tile rule,
and the absence of a count endpoint."""

from __future__ import annotations

import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter, protocol_for_model
from llmrelay.providers.openai import OpenAIAdapter
from llmrelay.providers.openai_tokens import RULES, TOOL_FRAMING, guess_encoding, image_tokens
from llmrelay.types import ChatRequest, Message
from llmrelay.wire import Endpoint


def test_the_adapter_exposes_its_rules_and_has_no_count_endpoint() -> None:
    adapter = load_adapter("openai")
    assert isinstance(adapter, OpenAIAdapter)
    assert adapter.token_rules is RULES
    assert adapter.count_method is None
    ep = Endpoint("openai", "gpt-4o", "https://api.openai.com/v1", host="groq")
    assert adapter.count_request(ChatRequest(model="m", messages=[Message.user("hi")]), ep) is None
    with pytest.raises(errors.UnsupportedFeatureError, match="no token-count endpoint") as info:
        adapter.parse_count(b'{"totalTokens": 3}', ep)
    assert info.value.provider == "groq"


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        ((1024, 1024), "high", 765),  # 768x768 -> 4 tiles
        ((2048, 4096), "high", 1105),  # OpenAI's worked example: 768x1536 -> 6 tiles
        ((4096, 8192), "low", 85),
        ((256, 256), None, 255),  # one tile
    ],
)
def test_image_tiles(size: tuple[int, int], detail: str | None, tokens: int) -> None:
    assert image_tokens(*size, detail) == tokens
    assert RULES.image_tokens(*size, detail) == tokens


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("claude-3-haiku", None),
        ("llama-3.1-8b-instant", None),
    ],
)
def test_encodings_by_family(model: str, encoding: str | None) -> None:
    assert guess_encoding(model) == encoding
    assert RULES.encoding_for(model) == encoding


def test_tool_framing_by_encoding() -> None:
    assert RULES.framing_for("cl100k_base") is TOOL_FRAMING["cl100k_base"]
    assert RULES.framing_for("o200k_base") is TOOL_FRAMING["o200k_base"]
    assert TOOL_FRAMING["cl100k_base"].func_init == 10 and TOOL_FRAMING["o200k_base"].func_init == 7
    # an encoding without published framing is treated like the newest one
    assert RULES.framing_for("p50k_base") is TOOL_FRAMING["o200k_base"]


def test_unclaimed_model_names_default_to_the_openai_protocol() -> None:
    assert not RULES.owns_model("gpt-4o")  # OpenAI claims no prefix: it is the fallback
    assert protocol_for_model("gpt-4o") == "openai"
    assert protocol_for_model("llama-3.1-8b-instant") == "openai"
