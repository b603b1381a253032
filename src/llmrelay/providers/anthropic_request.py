"""ChatRequest -> Anthropic Messages API request (``POST /v1/messages``).

Pure translation, split by concern: the URL, headers and body assembly here; messages and
content blocks in ``anthropic_messages``; tools, tool_choice and JSON mode emulation in
``anthropic_tools``; the API version, max_tokens, thinking and refused fields in
``anthropic_options``; cache breakpoints in ``anthropic_cache``. See
``docs/providers/anthropic.md`` for every mapping and the choices made where Anthropic's
protocol differs from llmrelay's model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from llmrelay import errors
from llmrelay.providers import anthropic_cache, anthropic_threads
from llmrelay.providers import anthropic_options as options
from llmrelay.providers.anthropic_messages import translate_messages
from llmrelay.providers.anthropic_tools import apply_tools
from llmrelay.types import ChatRequest
from llmrelay.wire import Endpoint, HttpRequest

_AUTH_STYLES = frozenset(("x-api-key", "bearer"))


def build_chat_request(req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
    body = build_body(req, ep, stream=stream)
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpRequest("POST", messages_url(ep), build_headers(req, ep, stream=stream), payload)


def messages_url(ep: Endpoint) -> str:
    base = ep.base_url.rstrip("/")
    # A base configured as ".../v1" (as for OpenAI-style hosts) must not become /v1/v1/messages.
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    if ep.query:
        url += ("&" if "?" in url else "?") + urlencode(dict(ep.query))
    return url


def build_headers(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, str]:
    headers: dict[str, str] = {
        "anthropic-version": options.api_version(ep),
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
    }
    if anthropic_threads.enabled(ep):
        headers["anthropic-beta"] = anthropic_threads.BETA
    auth = str(ep.options.get("auth", "x-api-key")).lower()
    if auth not in _AUTH_STYLES:
        raise errors.ConfigError(
            f"unknown Anthropic auth style {ep.options.get('auth')!r} in endpoint options; "
            "use 'x-api-key' (the default, api.anthropic.com) or 'bearer' (gateways and proxies)",
            provider=ep.host or "anthropic",
        )
    if ep.api_key:
        key = ep.api_key.reveal()
        if auth == "bearer":
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
    for extra in (ep.headers, req.extra_headers or {}):
        for name, value in extra.items():
            lname = name.lower()
            # Betas from the deployment and from the call are both wanted: the header is a list.
            if lname == "anthropic-beta" and headers.get(lname) and value:
                merged = [b.strip() for b in f"{headers[lname]},{value}".split(",") if b.strip()]
                headers[lname] = ",".join(dict.fromkeys(merged))
            else:
                headers[lname] = value
    return headers


def build_body(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, Any]:
    options.reject_unsupported(req, ep)
    thread = anthropic_threads.plan(req.messages, ep)
    start = thread.start if thread is not None else 0
    system, messages = translate_messages(req.messages[start:], start)
    thinking, effort = options.thinking(req, ep)
    body: dict[str, Any] = {
        "model": ep.model or req.model,
        "max_tokens": options.max_tokens(req, ep, thinking),
    }
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.top_k is not None:
        body["top_k"] = req.top_k
    stops = _stop_sequences(req.stop)
    if stops:
        body["stop_sequences"] = stops
    if req.user is not None:
        body["metadata"] = {"user_id": req.user}
    if thinking is not None:
        body["thinking"] = thinking
    apply_tools(body, req, ep, thinking is not None)
    if effort is not None:
        body["output_config"] = {**body.get("output_config", {}), "effort": effort}
    if req.service_tier is not None:
        body["service_tier"] = options.SERVICE_TIERS[req.service_tier]
    if thread is not None:
        body["thread"] = thread.field
        if thread.continues:
            # the thread keeps the system prompt and tools it was created with
            for name in anthropic_threads.CREATE_ONLY:
                body.pop(name, None)
    _apply_cache(body, req, ep)
    if stream:
        body["stream"] = True
    return _merge_extra(body, req.extra)


def _apply_cache(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    placed = anthropic_cache.check(body, ep)
    pc = req.prompt_cache
    if pc is not None and pc.auto is not None:
        anthropic_cache.place_auto(body, pc.auto, pc.min_tokens, placed)


def _stop_sequences(stop: Sequence[str] | None) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):  # a lone string is a Sequence[str] too: do not split it into letters
        return [stop]
    return list(stop)


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Top-level keys of ``extra`` win; where both sides hold an object (``output_config``,
    ``metadata``, ``tool_choice``) they are merged one level deep so that e.g.
    ``extra={"output_config": {"effort": "low"}}`` keeps a structured-output format."""
    for key, value in (extra or {}).items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value
    return body
