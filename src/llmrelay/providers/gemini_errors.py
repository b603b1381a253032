"""Gemini error bodies -> the llmrelay error taxonomy (pure).

Google APIs answer errors with ``{"error": {"code", "message", "status", "details"}}``
(google.rpc.Status); some front ends wrap it in a one-element JSON list. The canonical
``status`` string decides the kind, refined by ``details``:

* an invalid key is ``400 INVALID_ARGUMENT`` with ErrorInfo reason ``API_KEY_INVALID``;
* ``429 RESOURCE_EXHAUSTED`` carries RetryInfo ``retryDelay`` (``"15s"``) and a
  QuotaFailure naming the quota, whose id tells a per-minute limit from a per-day one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers.base import error_class_for_status, parse_duration, parse_retry_after, request_id_from
from llmrelay.secrets import Secret, redact
from llmrelay.wire import Endpoint

_STATUS_KINDS: dict[str, type[errors.APIError]] = {
    "INVALID_ARGUMENT": errors.InvalidRequestError,
    "FAILED_PRECONDITION": errors.InvalidRequestError,
    "OUT_OF_RANGE": errors.InvalidRequestError,
    "UNAUTHENTICATED": errors.AuthenticationError,
    "PERMISSION_DENIED": errors.PermissionDeniedError,
    "NOT_FOUND": errors.NotFoundError,
    "ABORTED": errors.ConflictError,
    "ALREADY_EXISTS": errors.ConflictError,
    "RESOURCE_EXHAUSTED": errors.RateLimitError,
    "INTERNAL": errors.ServiceUnavailableError,
    "UNKNOWN": errors.ServiceUnavailableError,
    "DATA_LOSS": errors.ServiceUnavailableError,
    "UNAVAILABLE": errors.OverloadedError,
    "DEADLINE_EXCEEDED": errors.RequestTimeoutError,
    "UNIMPLEMENTED": errors.NotFoundError,
}
_AUTH_REASONS = frozenset(
    ("API_KEY_INVALID", "API_KEY_EXPIRED", "ACCESS_TOKEN_EXPIRED", "ACCESS_TOKEN_TYPE_UNSUPPORTED")
)
_DENIED_REASONS = frozenset(
    (
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "CONSUMER_SUSPENDED",
        "SERVICE_DISABLED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "API_KEY_ANDROID_APP_BLOCKED",
    )
)
_CONTEXT = re.compile(
    r"input token count.*exceeds|exceeds the maximum number of tokens|context (?:window|length)",
    re.IGNORECASE,
)
REQUEST_ID_HEADERS = ("x-request-id", "x-goog-request-id", "request-id")
_TYPE_PREFIX = "type.googleapis.com/google.rpc."


def gemini_error(
    status: int, headers: Mapping[str, str], body: bytes | str, ep: Endpoint
) -> errors.LLMRelayError:
    provider = ep.host or "gemini"
    status_obj = _status_object(body)
    secrets: tuple[Secret, ...] = (ep.api_key,) if ep.api_key is not None else ()
    if status_obj is None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        text = " ".join(text.split())[:500]
        message = f"Gemini returned HTTP {status}" + (f": {text}" if text else "")
        kind = errors.OverloadedError if status == 503 else error_class_for_status(status)
        return kind(
            redact(message, secrets),
            provider=provider,
            model=ep.model,
            status=status,
            request_id=request_id_from(headers, *REQUEST_ID_HEADERS),
            retry_after=parse_retry_after(headers),
        )
    raw_code, raw_message = status_obj.get("status"), status_obj.get("message")
    code = raw_code if isinstance(raw_code, str) and raw_code else None
    message = (
        raw_message if isinstance(raw_message, str) and raw_message else f"Gemini returned HTTP {status}"
    )
    details = [d for d in status_obj.get("details") or () if isinstance(d, Mapping)]
    kind = _kind(status, code, message, details)
    delay = _retry_delay(details)
    return kind(
        redact(message, secrets),
        provider=provider,
        model=ep.model,
        status=status,
        request_id=request_id_from(headers, *REQUEST_ID_HEADERS) or _detail_request_id(details),
        retry_after=delay if delay is not None else parse_retry_after(headers),
        code=code,
        body=_scrub({**status_obj, "details": [d for d in details if _type(d) != "DebugInfo"]}, secrets),
    )


def _status_object(body: bytes | str) -> Mapping[str, Any] | None:
    """The google.rpc.Status object, from ``{"error": …}``, ``[{"error": …}]`` or a bare status."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, list) and data:
        data = data[0]
    if not isinstance(data, Mapping):
        return None
    inner = data.get("error")
    if isinstance(inner, Mapping):
        return inner
    if "message" in data or "status" in data:
        return data
    return None


def _kind(
    status: int, code: str | None, message: str, details: list[Mapping[str, Any]]
) -> type[errors.APIError]:
    reasons = {d.get("reason") for d in details if _type(d) == "ErrorInfo"}
    if reasons & _AUTH_REASONS or message.lower().startswith(("api key not valid", "api key not found")):
        return errors.AuthenticationError
    if reasons & _DENIED_REASONS:
        return errors.PermissionDeniedError
    kind = _STATUS_KINDS.get(code or "")
    if kind is None:
        kind = errors.OverloadedError if status == 503 else error_class_for_status(status)
    if kind is errors.InvalidRequestError and _CONTEXT.search(message):
        return errors.ContextWindowExceededError
    if kind is errors.RateLimitError and _quota_exhausted(message, details):
        return errors.QuotaExceededError
    return kind


def _quota_exhausted(message: str, details: list[Mapping[str, Any]]) -> bool:
    """A per-day quota or spent prepaid credit: retrying within minutes cannot help."""
    for d in details:
        if _type(d) != "QuotaFailure":
            continue
        for v in d.get("violations") or ():
            if isinstance(v, Mapping) and "PerDay" in str(v.get("quotaId", "")):
                return True
    lowered = message.lower()
    return "credits are depleted" in lowered or "prepayment credits" in lowered


def _retry_delay(details: list[Mapping[str, Any]]) -> float | None:
    for d in details:
        if _type(d) == "RetryInfo":
            delay = d.get("retryDelay")
            if isinstance(delay, str):
                return parse_duration(delay)
            if isinstance(delay, Mapping):  # proto-JSON object form {"seconds": n, "nanos": m}
                return float(delay.get("seconds", 0) or 0) + float(delay.get("nanos", 0) or 0) / 1e9
    return None


def _detail_request_id(details: list[Mapping[str, Any]]) -> str | None:
    for d in details:
        rid = d.get("requestId") if _type(d) == "RequestInfo" else None
        if isinstance(rid, str) and rid:
            return rid
    return None


def _type(detail: Mapping[str, Any]) -> str:
    t = detail.get("@type")
    return t[len(_TYPE_PREFIX) :] if isinstance(t, str) and t.startswith(_TYPE_PREFIX) else str(t)


def _scrub(value: Any, secrets: tuple[Secret, ...]) -> Any:
    """The kept body, with anything key-shaped removed (debug details can echo the key)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
