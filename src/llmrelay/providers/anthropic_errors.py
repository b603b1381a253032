"""Anthropic error bodies (HTTP answers and in-stream ``error`` events) -> llmrelay errors.

Shape: ``{"type": "error", "error": {"type": "...", "message": "..."}, "request_id": "req_..."}``;
the ``request-id`` response header carries the same id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers import anthropic_threads
from llmrelay.providers.base import error_class_for_status, parse_retry_after, request_id_from
from llmrelay.wire import Endpoint

# error.type -> (kind, the status Anthropic documents for it). The status is used for
# in-stream errors, which arrive after a 200 and so have no HTTP status of their own.
_ERROR_TYPES: dict[str, tuple[type[errors.APIError], int]] = {
    "invalid_request_error": (errors.InvalidRequestError, 400),
    "authentication_error": (errors.AuthenticationError, 401),
    "billing_error": (errors.QuotaExceededError, 402),
    "permission_error": (errors.PermissionDeniedError, 403),
    "not_found_error": (errors.NotFoundError, 404),
    "conflict_error": (errors.ConflictError, 409),
    "request_too_large": (errors.InvalidRequestError, 413),
    "rate_limit_error": (errors.RateLimitError, 429),
    "api_error": (errors.ServiceUnavailableError, 500),
    "timeout_error": (errors.RequestTimeoutError, 504),
    "overloaded_error": (errors.OverloadedError, 529),
}

_CONTEXT_WINDOW = re.compile(
    r"prompt is too long|exceed\w* (?:the )?context (?:limit|window)|context window|maximum context length",
    re.IGNORECASE,
)
_OUT_OF_CREDIT = re.compile(r"credit balance is too low|spend limit", re.IGNORECASE)
_SPEND_LIMIT_CODES = frozenset(("enforced_spend_limit_reached",))

_HINTS: dict[type[errors.APIError], str] = {
    errors.AuthenticationError: "check the API key configured for this Anthropic deployment",
    errors.NotFoundError: "check the model id and the base URL of the deployment",
    errors.QuotaExceededError: "add credit or raise the spend limit in the Anthropic console",
}


REQUEST_ID_HEADERS = ("request-id", "x-request-id")


def parse_error(status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint) -> errors.LLMRelayError:
    payload = _decode(body)
    err = payload.get("error") if isinstance(payload, dict) else None
    request_id = request_id_from(headers, *REQUEST_ID_HEADERS)
    if request_id is None and isinstance(payload, dict) and isinstance(payload.get("request_id"), str):
        request_id = payload["request_id"]
    retry_after = parse_retry_after(headers)
    if not isinstance(err, dict):
        snippet = body[:300].decode("utf-8", "replace").strip()
        text = f"Anthropic returned HTTP {status}" + (f": {snippet}" if snippet else " with an empty body")
        return error_class_for_status(status)(
            text,
            provider=ep.host or "anthropic",
            model=ep.model or None,
            status=status,
            request_id=request_id,
            retry_after=retry_after,
            body=payload,
        )
    return error_from_object(
        err, ep, status=status, request_id=request_id, retry_after=retry_after, body=payload
    )


def error_from_object(
    err: Mapping[str, Any],
    ep: Endpoint,
    *,
    status: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> errors.APIError:
    """The error for an Anthropic ``error`` object; ``status`` None means an in-stream error."""
    etype = str(err.get("type") or "")
    message = str(err.get("message") or "") or "no message"
    known = _ERROR_TYPES.get(etype)
    if known is not None:
        cls, nominal = known
    else:
        nominal = status or 500
        cls = error_class_for_status(nominal)
    cls = _refine(cls, message, err)
    text = f"{etype}: {message}" if etype else message
    if anthropic_threads.lost_error(err):
        return errors.ServerStateLostError(
            text,
            provider=ep.host or "anthropic",
            model=ep.model or None,
            status=status if status is not None else nominal,
            request_id=request_id,
            code=etype or None,
            body=body if body is not None else {"type": "error", "error": dict(err)},
            resend_options=anthropic_threads.resend_options(),
        )
    hint = _HINTS.get(cls)
    if hint and hint not in text:
        text = f"{text} ({hint})"
    return cls(
        text,
        provider=ep.host or "anthropic",
        model=ep.model or None,
        status=status if status is not None else nominal,
        request_id=request_id,
        retry_after=retry_after,
        code=etype or None,
        body=body if body is not None else {"type": "error", "error": dict(err)},
    )


def _refine(cls: type[errors.APIError], message: str, err: Mapping[str, Any]) -> type[errors.APIError]:
    if issubclass(cls, errors.InvalidRequestError):
        if _CONTEXT_WINDOW.search(message):
            return errors.ContextWindowExceededError
        if _OUT_OF_CREDIT.search(message):
            return errors.QuotaExceededError
    if cls is errors.RateLimitError:
        details = err.get("details")
        code = details.get("error_code") if isinstance(details, dict) else None
        if code in _SPEND_LIMIT_CODES:
            # Same error type as a rate limit, but waiting a minute will not lift it.
            return errors.QuotaExceededError
    return cls


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
