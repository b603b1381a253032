"""OpenTelemetry GenAI semantic conventions, as pure functions from records to attributes.

Span names are ``"{gen_ai.operation.name} {gen_ai.request.model}"``; the provider name
follows the conventions' well-known values where one exists (``openai``, ``anthropic``,
``gcp.gemini``, ``azure.ai.openai``…) and is the host's name otherwise. Attributes that
are llmrelay's own are under ``llmrelay.``. See
https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeAlias

from llmrelay.observe.record import AttemptRecord, CallRecord

AttrValue: TypeAlias = str | bool | int | float | Sequence[str]
Attributes: TypeAlias = dict[str, AttrValue]

#: llmrelay's host names -> the conventions' ``gen_ai.provider.name`` values
PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "cohere": "cohere",
    "ibm": "ibm.watsonx.ai",
    "simulator": "llmrelay.simulator",
}

#: llmrelay's operations -> ``gen_ai.operation.name``
OPERATIONS = {"chat": "chat", "embed": "embeddings", "count": "count_tokens"}


def provider_name(host: str | None) -> str:
    if not host:
        return "unknown"
    return PROVIDER_NAMES.get(host, host)


def span_name(op: str, model: str) -> str:
    return f"{OPERATIONS.get(op, op)} {model}"


def start_attributes(r: CallRecord) -> Attributes:
    """What the call's span starts with: the attributes the conventions mark as relevant
    to sampling. The rest is set once, when the span ends: the SDK checks every
    attribute given at the start twice (for the sampler, then for the span)."""
    return {"gen_ai.operation.name": OPERATIONS.get(r.op, r.op), "gen_ai.request.model": r.requested_model}


def request_options(r: CallRecord) -> Attributes:
    """The request's sampling options, as far as the caller set them."""
    attrs: Attributes = {}
    if r.temperature is not None:
        attrs["gen_ai.request.temperature"] = r.temperature
    if r.top_p is not None:
        attrs["gen_ai.request.top_p"] = r.top_p
    if r.max_tokens is not None:
        attrs["gen_ai.request.max_tokens"] = r.max_tokens
    if r.seed is not None:
        attrs["gen_ai.request.seed"] = r.seed
    if r.stream:
        attrs["llmrelay.stream"] = True
    return attrs


def request_attributes(r: CallRecord) -> Attributes:
    """Everything known about the call when it starts."""
    return {**start_attributes(r), **request_options(r)}


def response_attributes(r: CallRecord) -> Attributes:
    """What the call's span carries when it ends (the final deployment's answer)."""
    attrs: Attributes = {"llmrelay.attempts": r.attempts, "llmrelay.outcome": r.outcome}
    if r.provider is not None:
        attrs["gen_ai.provider.name"] = provider_name(r.provider)
    if r.alias is not None:
        attrs["llmrelay.alias"] = r.alias
    if r.deployment is not None:
        attrs["llmrelay.deployment"] = r.deployment
    if r.response_model:
        attrs["gen_ai.response.model"] = r.response_model
    if r.response_id:
        attrs["gen_ai.response.id"] = r.response_id
    if r.finish_reason:
        attrs["gen_ai.response.finish_reasons"] = (r.finish_reason,)
    if r.input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = r.input_tokens
    if r.output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = r.output_tokens
    if r.cached_tokens:
        attrs["gen_ai.usage.cache_read.input_tokens"] = r.cached_tokens
    if r.cost is not None:
        attrs["llmrelay.cost_usd"] = r.cost
    if r.ttft is not None:
        attrs["llmrelay.ttft_s"] = r.ttft
    if r.cache:
        attrs["llmrelay.cache"] = r.cache
    if r.resumed:
        attrs["llmrelay.resumed"] = r.resumed
    if r.request_id:
        attrs["llmrelay.request_id"] = r.request_id
    if r.error_type:
        attrs["error.type"] = r.error_type
    return attrs


def closing_attributes(r: CallRecord, content: bool) -> Attributes:
    """What a call's span gets when it ends: the request's options, the answer, and the
    captured bodies when ``content`` is on (the start's attributes are not repeated)."""
    attrs = request_options(r)
    attrs.update(response_attributes(r))
    if content:
        attrs.update(content_attributes(r))
    return attrs


def call_events(r: CallRecord) -> Sequence[tuple[str, Attributes]]:
    """The call span's events: fallbacks, circuit changes and guard decisions."""
    if not (r.fallbacks or r.circuit or r.guards):  # most calls: nothing made
        return ()
    events: list[tuple[str, Attributes]] = [
        ("llmrelay.fallback", {"from": src, "to": dst, "reason": reason}) for src, dst, reason in r.fallbacks
    ]
    events += [("llmrelay.circuit", {"deployment": d, "from": old, "to": new}) for d, old, new in r.circuit]
    events += [("llmrelay.guard", {"kind": k, "action": act, "where": w}) for k, act, w in r.guards]
    return events


def retry_event(a: AttemptRecord) -> Attributes:
    """The ``llmrelay.retry`` event's attributes: a failed attempt the call goes on from."""
    return {"attempt": a.number, "deployment": a.deployment, "error.type": a.error_type or ""}


def attempt_start_attributes(op: str, a: AttemptRecord) -> Attributes:
    """An attempt's span as it starts (the conventions' sampling-relevant attributes):
    the upstream request to one deployment."""
    attrs: Attributes = {
        "gen_ai.operation.name": OPERATIONS.get(op, op),
        "gen_ai.provider.name": provider_name(a.provider),
        "gen_ai.request.model": a.model,
    }
    if a.server:
        host, _, port = a.server.partition(":")
        attrs["server.address"] = host
        if port.isdigit():
            attrs["server.port"] = int(port)
    return attrs


def attempt_end_attributes(a: AttemptRecord, response_model: str | None) -> Attributes:
    """What an attempt's span gets when the upstream request is over."""
    attrs: Attributes = {"llmrelay.attempt": a.number, "llmrelay.deployment": a.deployment}
    if response_model:
        attrs["gen_ai.response.model"] = response_model
    if a.status is not None:
        attrs["http.response.status_code"] = a.status
    if a.outcome != "ok":
        attrs["error.type"] = a.error_type or "other"
    return attrs


def attempt_attributes(op: str, a: AttemptRecord, response_model: str | None = None) -> Attributes:
    """All of an attempt span's attributes."""
    return {**attempt_start_attributes(op, a), **attempt_end_attributes(a, response_model)}


def content_attributes(r: CallRecord) -> Attributes:
    """Captured bodies (only when content capture is on; already redacted) in the
    conventions' ``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON shape."""
    attrs: Attributes = {}
    if r.prompt is not None:
        attrs["gen_ai.input.messages"] = r.prompt
    if r.completion is not None:
        msg = {"role": "assistant", "parts": [{"type": "text", "content": r.completion}]}
        if r.finish_reason:
            msg["finish_reason"] = r.finish_reason
        attrs["gen_ai.output.messages"] = json.dumps([msg], ensure_ascii=False)
    return attrs
