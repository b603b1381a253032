"""Small helpers shared by the OpenAI adapter's modules: JSON decoding and tolerant field access.

OpenAI-compatible servers differ in which fields they send and whether absent values are
omitted or ``null``; every reader here treats "missing", ``null`` and "wrong type" alike,
so one sloppy server cannot crash a parse with a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay import errors
from llmrelay.types import ResponseFormat, ToolChoice
from llmrelay.wire import Endpoint

PROTOCOL = "openai"


def provider_name(ep: Endpoint) -> str:
    """The name reports use: the host (``azure``, ``groq``…) when configured, else ``openai``."""
    return ep.host or PROTOCOL


def decode_json(body: bytes | str, ep: Endpoint, what: str) -> Any:
    """Decode ``body`` or raise ``MalformedResponseError`` naming ``what`` was expected."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.MalformedResponseError(
            f"{what} is not valid JSON ({exc.__class__.__name__}: {exc}); body starts {snippet(body)!r}",
            provider=provider_name(ep),
            model=ep.model,
        ) from None


def snippet(body: bytes | str, limit: int = 120) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:limit]


def as_obj(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int:
    """A token count: ints as-is, integral floats converted, anything else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def json_default(value: Any) -> Any:
    """``json.dumps`` hook: callers may hand us read-only mappings (``MappingProxyType``) or
    other sequences in tool schemas and ``extra``; serialise them like dicts and lists."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(body: Any) -> bytes:
    """Compact JSON bytes; values JSON cannot carry (NaN, objects) are the caller's mistake."""
    try:
        return json.dumps(body, separators=(",", ":"), default=json_default, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise errors.InvalidRequestError(
            f"the request cannot be encoded as JSON ({exc}); tool schemas, response schemas, "
            "extra and numeric options must hold plain JSON values (no NaN or infinity)"
        ) from None


def request_headers(ep: Endpoint, extra: Mapping[str, str] | None, accept: str) -> dict[str, str]:
    """Headers of a request to an OpenAI-protocol endpoint (Chat Completions and Responses):
    the key as Azure's ``api-key`` or a bearer token, then the endpoint's and the call's own."""
    headers = {"Content-Type": "application/json", "Accept": accept}
    if ep.api_key is not None and ep.api_key.reveal():
        if ep.options.get("azure") and ep.options.get("auth") != "bearer":
            headers["api-key"] = ep.api_key.reveal()
        else:
            headers["Authorization"] = f"Bearer {ep.api_key.reveal()}"
    _merge(headers, ep.headers)
    if extra:
        _merge(headers, extra)
    return headers


def _merge(headers: dict[str, str], more: Mapping[str, str]) -> None:
    """Add ``more``, replacing any header of the same name whatever its case (HTTP names are
    case-insensitive, and two spellings would both be sent)."""
    for name, value in more.items():
        lower = name.lower()
        for existing in [k for k in headers if k.lower() == lower]:
            del headers[existing]
        headers[name] = value


def tool_mode(choice: ToolChoice) -> str:
    """A checked ``tool_choice`` mode (a ``ForcedTool`` is spelled by each protocol)."""
    if choice in ("auto", "none", "required"):
        return str(choice)
    raise errors.InvalidRequestError(
        f"tool_choice {choice!r} is not valid; use 'auto', 'none', 'required' or ForcedTool(name)"
    )


def format_spec(rf: ResponseFormat) -> dict[str, Any] | None:
    """The JSON schema part of a checked response format (``name``, ``schema``,
    ``strict``), or None for ``text`` and ``json_object``, which carry only their type.
    Chat Completions nests it under ``json_schema``; Responses puts it beside ``type``."""
    if rf.type in ("text", "json_object"):
        return None
    if rf.type == "json_schema":
        if rf.schema is None:
            raise errors.InvalidRequestError(
                "response_format json_schema needs a schema; use ResponseFormat.json_schema(schema, name)"
            )
        spec: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema}
        if rf.strict is not None:
            spec["strict"] = rf.strict
        return spec
    raise errors.InvalidRequestError(
        f"response_format type {rf.type!r} is not valid; use 'text', 'json_object' or 'json_schema'"
    )
