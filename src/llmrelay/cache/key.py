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

The encoding is canonical JSON hashed with BLAKE2b-128: fixed separators, floats as
floats, the request's values in the fixed order of ``FORM_FIELDS`` and every
mapping inside them (tool schemas, ``extra``, headers, provider state) with its keys
sorted — so equal requests give equal keys in any process, on any replica. Only the
mappings a caller supplies are sorted (the encoder does not sort every object it meets):
that, and building the form with no walk over values already plain, keeps a key of a
one-line request to a few microseconds on the cache-hit path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring, encode_basestring_ascii
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from llmrelay.resolve import Route
from llmrelay.types import (
    ChatRequest,
    ForcedTool,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    Subject,
    TextPart,
    Tool,
)

#: bumped when the canonical form changes, so old keys stop matching
#: (2: the request's values in ``FORM_FIELDS`` order rather than a sorted object, nested
#: mappings sorted)
KEY_VERSION = 2

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
    # the same text as json.dumps([key_id, team, user], separators=(",", ":")) — it is
    # stored beside entries and matched by ``cache clear`` — without an encoder per call
    return f"[{_ascii(subject.key_id)},{_ascii(subject.team)},{_ascii(subject.user)}]"


def _ascii(v: str | None) -> str:
    if v is None:
        return "null"
    if type(v) is str:
        return encode_basestring_ascii(v)
    return json.dumps(v)  # not a str despite the annotation: still one JSON spelling


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


#: the fields of ``request_form``, in the order the key writes their values
FORM_FIELDS: tuple[str, ...] = (
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "extra",
    "headers",
    "reasoning",
    "cached_content",
    "service_tier",
    "top_k",
    "safety_settings",
    "logprobs",
    "top_logprobs",
    "verbosity",
)


def request_form(req: ChatRequest) -> dict[str, Any]:
    """The answer-deciding part of a chat request, as plain JSON values, by field."""
    return dict(zip(FORM_FIELDS, request_values(req), strict=True))


def request_values(req: ChatRequest) -> list[Any]:
    """``request_form``'s values in ``FORM_FIELDS`` order: what the key encodes (the
    names are fixed by the order, so they need not be written, sorted or hashed)."""
    # most fields are unset: each is tested inline rather than through a helper's call
    # (0 and 0.0 are the same temperature: numbers are floats, one spelling in the key)
    return [
        [_message(m) for m in req.messages],
        None if req.temperature is None else float(req.temperature),
        None if req.top_p is None else float(req.top_p),
        req.max_tokens,
        None if req.stop is None else list(req.stop),
        req.seed,
        None if req.presence_penalty is None else float(req.presence_penalty),
        None if req.frequency_penalty is None else float(req.frequency_penalty),
        None if req.tools is None else [_tool(t) for t in req.tools],
        None if req.tool_choice is None else _tool_choice(req.tool_choice),
        req.parallel_tool_calls,
        None if req.response_format is None else _format(req.response_format),
        None if req.extra is None else _plain(req.extra),
        None if not req.extra_headers else _headers(req.extra_headers),
        None if req.reasoning is None else _reasoning(req.reasoning),
        # the cached content is part of the prompt; the other prompt-cache options only
        # decide what is cached, never what is answered
        None if req.prompt_cache is None else req.prompt_cache.cached_content,
        req.service_tier,
        req.top_k,
        None if req.safety_settings is None else [[s.category, s.threshold] for s in req.safety_settings],
        req.logprobs,
        req.top_logprobs,
        req.verbosity,
    ]


#: ChatRequest fields deliberately left out of ``request_form`` (see the module doc);
#: every other field must be in it (tests/cache/test_key.py checks the two lists cover
#: all the fields)
NOT_IN_KEY: frozenset[str] = frozenset(("model", "user", "metadata", "tags", "n"))  # n is always 1
#: ChatRequest fields that appear in the form under another name, or partly
RENAMED: Mapping[str, str] = MappingProxyType({"extra_headers": "headers", "prompt_cache": "cached_content"})


def _reasoning(r: Reasoning | None) -> Any:
    return None if r is None else [r.effort, r.budget_tokens, r.summary]


def cache_key(req: ChatRequest, route: Route, space: str) -> str:
    """The key of ``req`` served by ``route`` in namespace ``space`` (hex, 32 digits)."""
    body = [KEY_VERSION, space, route_form(route), request_values(req)]
    text = _encode(body)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Keys:
    """``cache_key`` for a long-lived caller: the same keys, with each route's canonical
    form encoded once (the client hands the cache the same ``Route`` object call after
    call, so only the request is encoded per call). Holds at most ``limit`` routes."""

    __slots__ = ("_limit", "_routes")

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        # by identity: a Route holds mappings and is not hashable; the route is kept in
        # the value, so its id cannot be reused while it is here
        self._routes: dict[int, tuple[Route, str]] = {}

    def key(self, req: ChatRequest, route: Route, space: str) -> str:
        known = self._routes.get(id(route))
        if known is None or known[0] is not route:
            if len(self._routes) >= self._limit:
                self._routes.clear()
            known = self._routes[id(route)] = (route, _encode(route_form(route)))
        # the text ``cache_key`` encodes, assembled from its parts
        text = f"[{KEY_VERSION},{encode_basestring(space)},{known[1]},{_encode(request_values(req))}]"
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _fallback(v: Any) -> Any:
    # a value JSON cannot spell (bytes, a custom object in `extra`): its repr still
    # separates different values, and an unusual value is only a miss, never a wrong hit
    return f"<{type(v).__name__}:{v!r}>"


#: stateless (its options are fixed; ``encode`` keeps nothing between calls): one for
#: the process saves building an encoder per key
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_fallback, check_circular=False
)


def _make_encode() -> Callable[[Any], str]:
    """``_ENCODER.encode``, calling the C encoder directly where Python has one: the same
    text (tests/cache/test_key.py compares them) for a third of the cost on a short
    request (``JSONEncoder.encode`` builds a C encoder per call)."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    try:
        # markers None: no circular check (``_plain`` has walked every container already)
        c_encode = make(None, _fallback, encoder.encode_basestring, None, ":", ",", False, False, True)

        def encode(v: Any) -> str:
            return "".join(c_encode(v, 0))

        # a Python whose C encoder takes other arguments, or spells a value otherwise,
        # keeps the documented path: a key must not depend on the interpreter's internals
        probe = [1, -0.5, 1e300, float("nan"), "é\n\u2028", None, True, {"a": [b"x"]}]
        if encode(probe) != _ENCODER.encode(probe):
            return _ENCODER.encode
    except Exception:
        return _ENCODER.encode
    return encode


_encode = _make_encode()


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
    return dict(sorted(kept.items())) if kept else None


_SCALARS = frozenset((str, int, float, bool, type(None)))
_first = itemgetter(0)


def _plain(v: Any) -> Any:
    """Mappings (keys as text, sorted) and sequences (tuples and lists alike) as JSON values."""
    if type(v) in _SCALARS:
        return v
    if type(v) is dict and not v:
        return {}
    if isinstance(v, Mapping):
        # sorted on the text of the key only: values need not be comparable
        return dict(sorted(((str(k), _plain(x)) for k, x in v.items()), key=_first))
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
        return [_plain(x) for x in v]
    return v
