"""ChatRequest / EmbeddingRequest -> Gemini ``generateContent`` wire JSON (pure functions).

Reference: https://ai.google.dev/api/generate-content (v1beta). Split by concern: the URL,
headers and body assembly here; system instruction and contents (roles, function
responses, replayed thought signatures) in ``gemini_contents``; function declarations
and tool config in ``gemini_tools``; generationConfig and refused fields in
``gemini_options``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from llmrelay.errors import ConfigError, InvalidRequestError
from llmrelay.providers.gemini_contents import contents
from llmrelay.providers.gemini_options import PROTOCOL, generation_config, refuse_unsupported
from llmrelay.providers.gemini_tools import calling_config, declaration
from llmrelay.providers.request_fields import unsupported
from llmrelay.types import ChatRequest, EmbeddingRequest
from llmrelay.wire import Endpoint

DEFAULT_API_VERSION = "v1beta"

_VERSION_SEGMENT = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")


# --------------------------------------------------------------------------- addressing


def resource_name(model: str) -> str:
    """``gemini-2.5-flash`` -> ``models/gemini-2.5-flash``; resource names pass through."""
    if not model:
        raise ConfigError("the Gemini endpoint has no model; set Endpoint.model, e.g. 'gemini-2.5-flash'")
    return model if "/" in model else f"models/{model}"


def method_url(ep: Endpoint, method: str, query: Mapping[str, str] | None = None) -> str:
    """``{base}/{version}/models/{model}:{method}?{query}``.

    A base URL that already ends in a version segment (``…/v1beta``) keeps it unless
    ``ep.options["api_version"]`` says otherwise.
    """
    base = ep.base_url.rstrip("/")
    if not base:
        raise ConfigError(
            "the Gemini endpoint has no base_url; use https://generativelanguage.googleapis.com"
        )
    version = ep.options.get("api_version")
    head, _, last = base.rpartition("/")
    if urllib.parse.urlsplit(base).path.strip("/") and _VERSION_SEGMENT.match(last):
        base, version = head, version or last
    params = dict(query or {})
    params.update(ep.query)
    if any(k.lower() == "key" for k in params):
        raise ConfigError(
            "the Gemini API key must not be put in the URL query (it would leak into logs); "
            "set Endpoint.api_key instead, it is sent as the x-goog-api-key header"
        )
    path = urllib.parse.quote(resource_name(ep.model), safe="/._-~")
    url = f"{base}/{version or DEFAULT_API_VERSION}/{path}:{method}"
    return f"{url}?{urllib.parse.urlencode(params)}" if params else url


def request_headers(ep: Endpoint, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Key header, then endpoint headers, then per-call headers (names lower-cased so
    a later layer really replaces an earlier one)."""
    headers = {"content-type": "application/json"}
    if ep.api_key is not None and ep.api_key:
        headers["x-goog-api-key"] = ep.api_key.reveal()
    for layer in (ep.headers, extra or {}):
        for name, value in layer.items():
            headers[name.lower()] = value
    return headers


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` wins; nested objects merge so ``{"generationConfig": {"thinkingConfig": …}}``
    adds to the generated config instead of replacing it."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- chat body


def chat_body(req: ChatRequest, ep: Endpoint) -> dict[str, Any]:
    refuse_unsupported(req, ep)
    system_parts, turns = contents(req.messages, ep)
    body: dict[str, Any] = {"contents": turns}
    if system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    if req.tools:
        body["tools"] = [{"functionDeclarations": [declaration(t) for t in req.tools]}]
    if req.tool_choice is not None:
        body["toolConfig"] = {"functionCallingConfig": calling_config(req.tool_choice, req.tools)}
    if req.safety_settings:
        body["safetySettings"] = [
            {"category": s.category, "threshold": s.threshold} for s in req.safety_settings
        ]
    config = generation_config(req, ep)
    if config:
        body["generationConfig"] = config
    _cached_content(body, req, ep)
    if req.extra:
        body = deep_merge(body, req.extra)
    return body


def _cached_content(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    """``cachedContent``: the system instruction, tools and tool config live in the cache
    then, and Gemini refuses a request that sets them again."""
    name = req.prompt_cache.cached_content if req.prompt_cache is not None else None
    if name is None:
        return
    clash = [k for k in ("systemInstruction", "tools", "toolConfig") if k in body]
    if clash:
        raise unsupported(
            "prompt_cache.cached_content",
            f"a request that reads cached content cannot also set {', '.join(clash)} (Gemini keeps them in "
            "the cache): put the system prompt and tools in the cache, or drop cached_content",
            ep,
            PROTOCOL,
        )
    body["cachedContent"] = name


# --------------------------------------------------------------------------- embeddings


def embed_body(req: EmbeddingRequest, ep: Endpoint) -> dict[str, Any]:
    if not req.inputs:
        raise InvalidRequestError("embedding inputs are empty; give at least one string")
    resource = resource_name(ep.model)
    requests = []
    for text in req.inputs:
        item: dict[str, Any] = {"model": resource, "content": {"parts": [{"text": text}]}}
        if req.dimensions is not None:
            item["outputDimensionality"] = req.dimensions
        # Gemini's embedding options (taskType, title…) live on each item, not the batch.
        if req.extra:
            item = deep_merge(item, req.extra)
        requests.append(item)
    return {"requests": requests}
