"""OpenAI Embeddings: request checks and the deterministic answer."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import count_tokens
from llmrelay.simulator.openai_checks import (
    OpenAIError,
    integer,
    invalid_value,
    missing,
    model_of,
    out_of_range,
    reject_unknown,
    typed,
)
from llmrelay.simulator.vectors import embedding_vector, encode_base64

EMBEDDING_FIELDS = frozenset(("model", "input", "dimensions", "encoding_format", "user"))
EMBEDDING_CONTEXT = 8192  # tokens per input
INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
)


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    model: str
    texts: tuple[str, ...]
    token_counts: tuple[int | None, ...]  # known counts for token-array inputs
    dimensions: int | None
    base64: bool


def parse_embeddings(body: Mapping[str, Any], *, model: str | None = None) -> EmbeddingCall:
    reject_unknown(body, EMBEDDING_FIELDS)
    name = model if model is not None else model_of(body)
    raw = body.get("input")
    if raw is None:
        raise missing("input")
    items: list[Any]
    if isinstance(raw, str):
        items = [raw]
    elif isinstance(raw, list) and raw and all(_is_token(t) for t in raw):
        items = [raw]  # one input given as token ids
    elif isinstance(raw, list):
        items = raw
    else:
        raise OpenAIError(INVALID_INPUT)
    if not items or len(items) > 2048:
        raise OpenAIError(INVALID_INPUT)
    texts: list[str] = []
    counts: list[int | None] = []
    for item in items:
        if isinstance(item, str) and item:
            texts.append(item)
            counts.append(None)
        elif isinstance(item, list) and item and all(_is_token(t) for t in item):
            texts.append(" ".join(str(t) for t in item))
            counts.append(len(item))
        else:
            raise OpenAIError(INVALID_INPUT)
    dimensions = integer(body, "dimensions", low=1)
    if dimensions is not None and name == "text-embedding-ada-002":
        raise OpenAIError("This model does not support specifying dimensions.")
    limit = default_dimensions(name)
    if dimensions is not None and dimensions > limit:
        raise out_of_range("dimensions", "integer", dimensions, limit, above=True)
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise invalid_value("encoding_format", encoding, ("float", "base64"))
    typed(body, "user", str, "a string")
    return EmbeddingCall(name, tuple(texts), tuple(counts), dimensions, encoding == "base64")


def default_dimensions(model: str) -> int:
    return 3072 if "large" in model else 1536


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def input_tokens(call: EmbeddingCall) -> list[int]:
    """Tokens of each input, refusing one longer than the model's context."""
    counts = []
    for text, known in zip(call.texts, call.token_counts, strict=True):
        used = known if known is not None else count_tokens(text)
        if used > EMBEDDING_CONTEXT:
            raise OpenAIError(
                f"This model's maximum context length is {EMBEDDING_CONTEXT} tokens, however you "
                f"requested {used} tokens ({used} in your prompt; 0 for the completion). "
                "Please reduce your prompt; or completion length."
            )
        counts.append(used)
    return counts


def embeddings_payload(call: EmbeddingCall, counts: list[int], *, seed: int) -> dict[str, Any]:
    """The answer body: one unit vector per input, shortened to ``dimensions`` when asked."""
    full = default_dimensions(call.model)
    data = []
    for index, text in enumerate(call.texts):
        vector = embedding_vector(text, model=call.model, dimensions=full, seed=seed)
        if call.dimensions is not None and call.dimensions < full:
            vector = _renormalised(vector[: call.dimensions])
        encoded: Any = encode_base64(vector) if call.base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    total = sum(counts)
    return {
        "object": "list",
        "data": data,
        "model": call.model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }


def _renormalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(v * v for v in vector)) or 1.0
    return [round(v / norm, 8) for v in vector]
