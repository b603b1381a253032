"""The canonical cache key: a pure function of what decides the answer, and nothing else.

In the key: where the call is served (every deployment of the resolved route: host,
protocol, model, base URL and options — not the alias name, so two aliases served by the
same models share answers, and re-pointing an alias is a miss), every message (roles,
text, images, tool calls and results, replayed provider state), every generation
parameter (reasoning, top_k, safety settings, logprobs, verbosity, service tier and a
Gemini ``cached_content`` — it holds part of the prompt — included), tools, tool choice,
response format, provider extras, and request headers other than tracing ones. Not in the
key: ``metadata``, ``tags`` and ``user`` (llmrelay's own bookkeeping), request ids and
trace headers, API keys, and prompt-cache placement (``Message.cache``, ``Tool.cache``,
``TextPart.cache``, ``PromptCache`` auto/key/retention: they change what a call costs,
never what it answers). The subject goes into the
namespace that prefixes the key (see ``namespace``), so one tenant's answer is never
another's.

The encoding is canonical JSON (sorted keys, fixed separators, floats as floats) hashed
with BLAKE2b-128: equal requests give equal keys in any process, on any replica.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from llmrelay.resolve import Route
from llmrelay.types import (
    ChatRequest,
    ForcedTool,
    ImagePart,
    Message,
    PromptCache,
    Reasoning,
    ResponseFormat,
    Subject,
    TextPart,
    Tool,
)

#: bumped when the canonical form changes, so old keys stop matching
KEY_VERSION = 1

#: request headers that identify a request or a trace, never the answer (lower case)
TRACE_HEADERS: frozenset[str] = frozenset(
    (
        "traceparent",
        "tracestate",
        "baggage",
        "x-request-id",
        "x-correlation-id",
        "request-id",
        "x-amzn-trace-id",
        "x-cloud-trace-context",
        "uber-trace-id",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "b3",
        "x-datadog-trace-id",
        "x-datadog-parent-id",
        "idempotency-key",
    )
)


def namespace(subject: Subject, shared: bool = False) -> str:
    """Whose entries a call may read and write: one namespace per (key, team, user), or
    the shared one. Tags do not split it (they label spending, not identity)."""
    if shared:
        return "shared"
    return json.dumps([subject.key_id, subject.team, subject.user], separators=(",", ":"))


def route_form(route: Route) -> list[Any]:
    """The deployments that may answer, in the route's order (they are interchangeable
    by configuration, so any one's answer serves the alias)."""
    return [
        [
            d.endpoint.host,
            d.endpoint.provider,
            d.endpoint.model,
            d.endpoint.base_url,
            _plain(d.endpoint.options),
        ]
        for d in route.deployments
    ]


def request_form(req: ChatRequest) -> dict[str, Any]:
    """The answer-deciding part of a chat request, as plain JSON values."""
    return {
        "messages": [_message(m) for m in req.messages],
        "temperature": _num(req.temperature),
        "top_p": _num(req.top_p),
        "max_tokens": req.max_tokens,
        "stop": list(req.stop) if req.stop is not None else None,
        "seed": req.seed,
        "presence_penalty": _num(req.presence_penalty),
        "frequency_penalty": _num(req.frequency_penalty),
        "tools": [_tool(t) for t in req.tools] if req.tools is not None else None,
        "tool_choice": _tool_choice(req.tool_choice),
        "parallel_tool_calls": req.parallel_tool_calls,
        "response_format": _format(req.response_format),
        "extra": _plain(req.extra) if req.extra is not None else None,
        "headers": _headers(req.extra_headers),
        "reasoning": _reasoning(req.reasoning),
        "cached_content": _cached_content(req.prompt_cache),
        "service_tier": req.service_tier,
        "top_k": req.top_k,
        "safety_settings": [[s.category, s.threshold] for s in req.safety_settings]
        if req.safety_settings is not None
        else None,
        "logprobs": req.logprobs,
        "top_logprobs": req.top_logprobs,
        "verbosity": req.verbosity,
    }


#: ChatRequest fields deliberately left out of ``request_form`` (see the module doc);
#: every other field must be in it (tests/cache/test_key.py checks the two lists cover
#: all the fields)
NOT_IN_KEY: frozenset[str] = frozenset(("model", "user", "metadata", "tags", "n"))  # n is always 1
#: ChatRequest fields that appear in the form under another name, or partly
RENAMED: Mapping[str, str] = MappingProxyType({"extra_headers": "headers", "prompt_cache": "cached_content"})


def _reasoning(r: Reasoning | None) -> Any:
    return None if r is None else [r.effort, r.budget_tokens, r.summary]


def _cached_content(pc: PromptCache | None) -> Any:
    # the cached content is part of the prompt; the other prompt-cache options only decide
    # what is cached, never what is answered
    return None if pc is None else pc.cached_content


def cache_key(req: ChatRequest, route: Route, space: str) -> str:
    """The key of ``req`` served by ``route`` in namespace ``space`` (hex, 32 digits)."""
    body = [KEY_VERSION, space, route_form(route), request_form(req)]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_fallback)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _num(v: float | None) -> float | None:
    # 0 and 0.0 are the same temperature: one spelling in the key
    return None if v is None else float(v)


def _message(m: Message) -> list[Any]:
    content: Any
    content = m.content if m.content is None or isinstance(m.content, str) else [_part(p) for p in m.content]
    calls = [[c.id, c.name, c.arguments] for c in m.tool_calls]
    state = _plain(m.provider_state) if m.provider_state is not None else None
    return [m.role, content, calls, m.tool_call_id, m.name, state]


def _part(p: Any) -> list[Any]:
    if isinstance(p, TextPart):
        return ["text", p.text]
    if isinstance(p, ImagePart):
        return ["image", p.url, p.data, p.media_type, p.detail]
    return ["other", _plain(p)]


def _tool(t: Tool) -> list[Any]:
    return [t.name, t.description, _plain(t.parameters), t.strict]


def _tool_choice(tc: Any) -> Any:
    if isinstance(tc, ForcedTool):
        return ["tool", tc.name]
    return tc


def _format(rf: ResponseFormat | None) -> Any:
    if rf is None:
        return None
    return [rf.type, _plain(rf.schema) if rf.schema is not None else None, rf.name, rf.strict]


def _headers(headers: Mapping[str, str] | None) -> Any:
    if not headers:
        return None
    kept = {k.lower(): v for k, v in headers.items() if k.lower() not in TRACE_HEADERS}
    return kept or None


def _plain(v: Any) -> Any:
    """Mappings and sequences as JSON values (tuples and lists alike)."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
        return [_plain(x) for x in v]
    return v


def _fallback(v: Any) -> Any:
    # a value JSON cannot spell (bytes, a custom object in `extra`): its repr still
    # separates different values, and an unusual value is only a miss, never a wrong hit
    return f"<{type(v).__name__}:{v!r}>"
