from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest

from llmrelay.simulator.openai_checks import OpenAIError
from llmrelay.simulator.openai_embeddings import (
    EMBEDDING_CONTEXT,
    default_dimensions,
    embeddings_payload,
    input_tokens,
    parse_embeddings,
)


def test_embeddings_inputs() -> None:
    call = parse_embeddings({"model": "text-embedding-3-small", "input": "hello"})
    assert call.texts == ("hello",) and call.token_counts == (None,)
    assert not call.base64 and call.dimensions is None
    call = parse_embeddings({"model": "m", "input": ["a", "b"], "dimensions": 8, "encoding_format": "base64"})
    assert call.texts == ("a", "b") and call.dimensions == 8 and call.base64
    assert parse_embeddings({"model": "m", "input": [1, 2, 3]}).token_counts == (3,)
    assert parse_embeddings({"model": "m", "input": [[1, 2], [3]]}).token_counts == (2, 1)
    assert parse_embeddings({"input": "x"}, model="deployment").model == "deployment"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"input": "x"}, "you must provide a model parameter"),
        ({"model": "m"}, "Missing required parameter: 'input'."),
        ({"model": "m", "input": ""}, "'$.input' is invalid"),
        ({"model": "m", "input": []}, "'$.input' is invalid"),
        ({"model": "m", "input": ["a", 3]}, "'$.input' is invalid"),
        ({"model": "m", "input": {"a": 1}}, "'$.input' is invalid"),
        ({"model": "m", "input": ["x"] * 2049}, "'$.input' is invalid"),
        (
            {"model": "text-embedding-ada-002", "input": "x", "dimensions": 8},
            "does not support specifying dimensions",
        ),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 5000}, "Expected a value <= 1536"),
        ({"model": "m", "input": "x", "dimensions": 0}, "Expected a value >= 1"),
        (
            {"model": "m", "input": "x", "encoding_format": "int8"},
            "Supported values are: 'float' and 'base64'.",
        ),
        ({"model": "m", "input": "x", "truncate": True}, "Unrecognized request argument supplied: truncate"),
    ],
)
def test_embedding_refusals(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(OpenAIError) as caught:
        parse_embeddings(body)
    assert caught.value.status == 400
    assert fragment in caught.value.message


def test_input_tokens_and_the_context_limit() -> None:
    call = parse_embeddings({"model": "m", "input": ["one two", [5, 6, 7]]})
    assert input_tokens(call) == [2, 3]
    long = parse_embeddings({"model": "m", "input": "word " * (EMBEDDING_CONTEXT + 1)})
    with pytest.raises(OpenAIError, match="maximum context length is 8192"):
        input_tokens(long)


def test_default_dimensions() -> None:
    assert default_dimensions("text-embedding-3-large") == 3072
    assert default_dimensions("text-embedding-3-small") == 1536


def test_payload_shape_dimensions_and_encoding() -> None:
    call = parse_embeddings({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 16})
    payload = embeddings_payload(call, [1, 1], seed=0)
    assert payload["object"] == "list"
    assert payload["model"] == "text-embedding-3-small"
    assert payload["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    vectors = [d["embedding"] for d in payload["data"]]
    assert [d["index"] for d in payload["data"]] == [0, 1]
    assert all(len(v) == 16 and abs(math.fsum(x * x for x in v) - 1) < 1e-6 for v in vectors)
    assert vectors[0] != vectors[1]
    b64 = parse_embeddings(
        {"model": "text-embedding-3-small", "input": "a", "dimensions": 16, "encoding_format": "base64"}
    )
    raw = base64.b64decode(embeddings_payload(b64, [1], seed=0)["data"][0]["embedding"])
    assert all(abs(x - y) < 1e-6 for x, y in zip(struct.unpack("<16f", raw), vectors[0], strict=True))
