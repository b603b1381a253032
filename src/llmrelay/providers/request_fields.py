"""What the four request translators share about first-class request fields: the refusal
they raise for a field their protocol has no parameter for, and the OpenAI prompt-cache
parameters (Chat Completions and Responses spell them alike)."""

from __future__ import annotations

from typing import Any

from llmrelay.errors import UnsupportedFeatureError
from llmrelay.types import ChatRequest, Reasoning
from llmrelay.wire import Endpoint


def unsupported(field: str, why: str, ep: Endpoint, protocol: str) -> UnsupportedFeatureError:
    """``ChatRequest.<field>`` refused before sending, naming the provider and model."""
    provider = ep.host or protocol
    model = f" model {ep.model}" if ep.model else ""
    return UnsupportedFeatureError(
        f"ChatRequest.{field} is set, but {provider}{model} cannot honour it: {why}",
        provider=provider,
        model=ep.model or None,
    )


def refuse_set(req: ChatRequest, fields: tuple[tuple[str, str], ...], ep: Endpoint, protocol: str) -> None:
    """Refuse the first of ``(field, why)`` that the request sets."""
    for name, why in fields:
        if getattr(req, name) is not None:
            raise unsupported(name, why, ep, protocol)


def refuse_cache_fields(
    req: ChatRequest, names: tuple[str, ...], why: str, ep: Endpoint, protocol: str
) -> None:
    """Refuse the prompt_cache fields in ``names`` that are set."""
    pc = req.prompt_cache
    if pc is None:
        return
    for name in names:
        if getattr(pc, name) is not None:
            raise unsupported(f"prompt_cache.{name}", why, ep, protocol)


def wants_logprobs(req: ChatRequest) -> bool:
    """logprobs asked for: ``logprobs=True``, or ``top_logprobs`` given (which needs them)."""
    return bool(req.logprobs) or (req.logprobs is None and req.top_logprobs is not None)


def openai_effort(r: Reasoning, ep: Endpoint, protocol: str) -> str | None:
    """The effort level both OpenAI protocols send: they take levels, not token budgets,
    and their highest level is ``xhigh``."""
    if r.budget_tokens is not None:
        raise unsupported(
            "reasoning.budget_tokens",
            "OpenAI takes reasoning effort levels, not token budgets; use Reasoning(effort=...)",
            ep,
            protocol,
        )
    if r.effort == "max":
        raise unsupported("reasoning.effort", "OpenAI's highest effort is 'xhigh'", ep, protocol)
    return r.effort


def openai_cache_params(body: dict[str, Any], req: ChatRequest, ep: Endpoint, protocol: str) -> None:
    """``prompt_cache_key`` / ``prompt_cache_retention`` (OpenAI's prompt caching guide);
    a Gemini cache name is refused. ``auto`` needs nothing: OpenAI caches prefixes of
    1,024 tokens and more by itself."""
    pc = req.prompt_cache
    if pc is None:
        return
    refuse_cache_fields(
        req,
        ("cached_content",),
        "a cachedContents resource is Gemini's; OpenAI caches prompt prefixes by itself "
        "(steer it with prompt_cache.key and prompt_cache.retention)",
        ep,
        protocol,
    )
    if pc.key is not None:
        body["prompt_cache_key"] = pc.key
    if pc.retention is not None:
        body["prompt_cache_retention"] = pc.retention
