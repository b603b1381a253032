"""What the budget and rate-limit layers need to know about a call before it is sent:
where it goes and how many tokens (and so dollars) it can use at most.

Prompt counts are made once per call and deployment and kept on the call's
``PromptCounts`` extension, where preflight, budget and rate limits all find them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmrelay.catalog import Catalog, ModelInfo
from llmrelay.pipeline import Call
from llmrelay.resolve import Deployment
from llmrelay.tokens import ESTIMATE, TokenCount, count_for, encodings, estimate_text, guess_encoding
from llmrelay.types import EmbeddingRequest


@dataclass(slots=True)
class PromptCounts:
    """Prompt tokens of this call per deployment name (made by whichever layer asks first)."""

    by_deployment: dict[str, TokenCount] = field(default_factory=dict)
    #: preflight's cheap ceiling on the prompt (None: not settled that way)
    upper_bound: int | None = None
    bound_known: bool = False


def model_info(catalog: Catalog, dep: Deployment) -> ModelInfo | None:
    ep = dep.endpoint
    return catalog.lookup(ep.host or ep.provider, ep.model)


def prompt_count(call: Call, dep: Deployment, info: ModelInfo | None) -> TokenCount:
    """The call's prompt tokens on ``dep``, counted once per call and deployment."""
    counts = call.setdefault(PromptCounts).by_deployment
    count = counts.get(dep.name)
    if count is None:
        ep = dep.endpoint
        req = call.request
        if type(req) is EmbeddingRequest:
            count = count_texts(tuple(req.inputs), info, ep.model)
        else:
            count = count_for(call.chat, info, ep.provider, ep.model)
        counts[dep.name] = count
    return count


def count_texts(texts: list[str] | tuple[str, ...], info: ModelInfo | None, model: str) -> TokenCount:
    """Tokens of embedding inputs: exact with the model's encoding, else an estimate."""
    encoding = info.encoding if info is not None else guess_encoding(model)
    if encoding is not None and encodings.available():
        enc = encodings.get_encoding(encoding)
        return TokenCount(sum(len(enc.encode_ordinary(t)) for t in texts), True, f"tiktoken:{encoding}")
    return TokenCount(sum(estimate_text(t) for t in texts), False, ESTIMATE)


def prompt_tokens(call: Call, dep: Deployment, info: ModelInfo | None, margin: float = 0.0) -> int:
    """Prompt tokens on ``dep``; an estimate (not an exact count) is raised by ``margin``
    so that what is reserved stays an upper bound."""
    count = prompt_count(call, dep, info)
    return count.tokens if count.exact else math.ceil(count.tokens * (1 + margin))


def output_bound(call: Call, info: ModelInfo | None, prompt: int) -> int | None:
    """The most output the call can produce: its ``max_tokens``, else the model's maximum
    output, else what is left of its context window; None when nothing bounds it.
    Embeddings produce none."""
    if call.op != "chat":
        return 0
    req = call.chat
    if req.max_tokens is not None:
        return req.max_tokens
    if info is None:
        return None
    if info.max_output:
        return info.max_output
    return max(info.context_window - prompt, 0)
