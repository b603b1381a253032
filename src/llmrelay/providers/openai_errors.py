"""Map OpenAI(-compatible) error answers to llmrelay's error taxonomy.

OpenAI answers ``{"error": {"message", "type", "param", "code"}}``. Compatible servers
are looser: vLLM puts those fields at the top level with a numeric ``code``, FastAPI-based
servers answer ``{"detail": ...}``, some send ``{"error": "text"}``, a bare list, plain
text, or a proxy's HTML page. All of them become one ``_ErrorFields`` first, so that
classification and messages do not depend on the dialect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay import errors
from llmrelay.providers.base import error_class_for_status, parse_retry_after, request_id_from
from llmrelay.providers.openai_common import as_obj, as_str, provider_name
from llmrelay.secrets import redact
from llmrelay.wire import Endpoint

# OpenAI and most compatible servers send x-request-id, Azure apim-request-id; the
# OpenAI-compatible endpoints of other vendors keep their own header (Anthropic's
# request-id, Google's x-goog-request-id).
REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "request-id", "x-goog-request-id")

_CONTENT_FILTER_CODES = frozenset(
    ("content_filter", "content_policy_violation", "responsibleaipolicyviolation")
)
_CONTEXT_CODES = frozenset(("context_length_exceeded", "exceed_context_size_error"))
_CONTEXT_MESSAGE = re.compile(
    r"maximum context length|context[ _]length[ _]exceeded|context[ _]window[ _]exceeded"
    r"|exceeds? the (?:available |model's )?context (?:size|window|length)",
    re.IGNORECASE,
)
_RETRY_IN_MESSAGE = re.compile(
    r"(?:try again in|retry after)\s+(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec(?:ond)?s?)\b", re.IGNORECASE
)
# Without an HTTP status (an error chunk mid-stream, or a 200 carrying an error) the code
# and type are all there is to classify by.
_CODE_CLASSES: dict[str, type[errors.APIError]] = {
    "rate_limit_exceeded": errors.RateLimitError,
    "rate_limit_error": errors.RateLimitError,
    "tokens": errors.RateLimitError,
    "requests": errors.RateLimitError,
    "invalid_api_key": errors.AuthenticationError,
    "authentication_error": errors.AuthenticationError,
    "permission_error": errors.PermissionDeniedError,
    "model_not_found": errors.NotFoundError,
    "deploymentnotfound": errors.NotFoundError,
    "not_found_error": errors.NotFoundError,
    "invalid_request_error": errors.InvalidRequestError,
    "context_length_exceeded": errors.ContextWindowExceededError,
    "exceed_context_size_error": errors.ContextWindowExceededError,
    "overloaded": errors.OverloadedError,
    "overloaded_error": errors.OverloadedError,
    "server_error": errors.ServiceUnavailableError,
    "api_error": errors.ServiceUnavailableError,
}
_HINTS: dict[type[errors.APIError], str] = {
    errors.AuthenticationError: "check the API key configured for this deployment",
    errors.NotFoundError: "check the model name (for Azure, the deployment name) and the base URL",
    errors.QuotaExceededError: "the account is out of credit or quota; check its plan and billing",
}
_MESSAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class _ErrorFields:
    message: str = ""
    type: str | None = None
    code: str | None = None
    inner_code: str | None = None
    status: int | None = None  # an HTTP status named inside the body (vLLM, OpenRouter, Azure)
    payload: Any = None

    def keys(self) -> set[str]:
        return {k.lower() for k in (self.code, self.type, self.inner_code) if k}


def parse_error(status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint) -> errors.LLMRelayError:
    """The typed error for a non-2xx answer. ``headers`` have lower-case names."""
    fields = _fields_from_body(body)
    cls = _classify(status, fields)
    retry_after = parse_retry_after(headers)
    if retry_after is None and cls is errors.RateLimitError:
        retry_after = _retry_after_from_message(fields.message)
    return _build(cls, fields, ep, status, request_id_from(headers, *REQUEST_ID_HEADERS), retry_after)


def error_from_payload(payload: Mapping[str, Any], ep: Endpoint) -> errors.APIError:
    """The typed error for an error object that arrived with a 2xx status (mid-stream, or a
    compatible server that answers 200 with an error body)."""
    fields = _fields_from_obj(payload)
    cls = _classify(fields.status, fields)
    retry_after = _retry_after_from_message(fields.message) if cls is errors.RateLimitError else None
    return _build(cls, fields, ep, fields.status, None, retry_after)


# --------------------------------------------------------------------------- classification


def _classify(status: int | None, f: _ErrorFields) -> type[errors.APIError]:
    keys = f.keys()
    if keys & _CONTENT_FILTER_CODES:
        return errors.ContentFilterError
    # 402 is OpenRouter's (and others') "out of credits"; base maps it to a plain 4xx.
    if "insufficient_quota" in keys or status == 402:
        return errors.QuotaExceededError
    if status is not None:
        cls = error_class_for_status(status)
    else:
        named = [k.lower() for k in (f.code, f.type) if k and k.lower() in _CODE_CLASSES]
        # An unexplained failure after the stream started is the server's fault far more
        # often than the request's, and trying again may well succeed.
        cls = _CODE_CLASSES[named[0]] if named else errors.ServiceUnavailableError
    if cls is errors.InvalidRequestError and (keys & _CONTEXT_CODES or _CONTEXT_MESSAGE.search(f.message)):
        return errors.ContextWindowExceededError
    if cls is errors.ServiceUnavailableError and "overloaded" in f.message.lower():
        return errors.OverloadedError
    return cls


def _retry_after_from_message(message: str) -> float | None:
    """OpenAI and Azure say "Please try again in 1.8s" / "retry after 20 seconds" when the
    headers are missing (e.g. a proxy dropped them)."""
    m = _RETRY_IN_MESSAGE.search(message)
    if m is None:
        return None
    value = float(m.group(1))
    return value / 1000.0 if m.group(2).lower().startswith("m") else value


def _build(
    cls: type[errors.APIError],
    f: _ErrorFields,
    ep: Endpoint,
    status: int | None,
    request_id: str | None,
    retry_after: float | None,
) -> errors.APIError:
    secrets = [ep.api_key] if ep.api_key else []
    message = redact(f.message, secrets) if f.message else _default_message(status, ep)
    hint = _HINTS.get(cls)
    if hint:
        message = f"{message.rstrip('. ')}; {hint}"
    return cls(
        message,
        provider=provider_name(ep),
        model=ep.model,
        status=status,
        request_id=request_id,
        retry_after=retry_after,
        code=f.code or f.type,
        body=_scrub(f.payload, secrets),
    )


def _default_message(status: int | None, ep: Endpoint) -> str:
    what = f"HTTP {status}" if status is not None else "an error"
    return f"{provider_name(ep)} answered {what} without an explanation"


def _scrub(value: Any, secrets: list[Any]) -> Any:
    """The decoded body with every string passed through ``redact``: errors are logged."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


# --------------------------------------------------------------------------- body dialects


def _fields_from_body(body: bytes) -> _ErrorFields:
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return _ErrorFields()
    try:
        payload = json.loads(text)
    except ValueError:
        return _ErrorFields(message=_text_message(text), payload=text[:_MESSAGE_LIMIT])
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]  # Google's OpenAI-compatible endpoint wraps the error in a list
    if isinstance(payload, dict):
        return _fields_from_obj(payload)
    return _ErrorFields(message=_limit(str(payload)), payload=payload)


def _fields_from_obj(obj: Mapping[str, Any]) -> _ErrorFields:
    err = obj.get("error")
    if isinstance(err, dict):
        return _fields_from_error(err, obj)
    if isinstance(err, str):
        return _ErrorFields(
            message=_limit(err), type=as_str(obj.get("type")), code=_code(obj.get("code")), payload=dict(obj)
        )
    if "detail" in obj:
        return _ErrorFields(message=_detail_message(obj["detail"]), payload=dict(obj))
    if "message" in obj:  # vLLM / llama.cpp style, fields at the top level
        return _fields_from_error(obj, obj)
    return _ErrorFields(message=_limit(json.dumps(obj, separators=(",", ":"))), payload=dict(obj))


def _fields_from_error(err: Mapping[str, Any], payload: Mapping[str, Any]) -> _ErrorFields:
    raw_code = err.get("code")
    status = err.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        status = _status_from_code(raw_code)
    inner = as_obj(err.get("innererror")) or {}
    message = err.get("message")
    return _ErrorFields(
        message=_limit(message if isinstance(message, str) else json.dumps(message) if message else ""),
        type=as_str(err.get("type")),
        code=_code(raw_code),
        inner_code=as_str(inner.get("code")),
        status=status,
        payload=dict(payload),
    )


def _code(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _status_from_code(value: Any) -> int | None:
    """OpenRouter and vLLM put the HTTP status in ``code``; Azure sometimes as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 400 <= value <= 599 else None
    if isinstance(value, str) and value.isdigit() and len(value) == 3:
        number = int(value)
        return number if 400 <= number <= 599 else None
    return None


def _detail_message(detail: Any) -> str:
    if isinstance(detail, str):
        return _limit(detail)
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        parts = []
        for item in detail:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {item['msg']}" if loc else item["msg"])
            else:
                parts.append(str(item))
        return _limit("; ".join(parts))
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return _limit(detail["message"])
    return _limit(json.dumps(detail))


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _text_message(text: str) -> str:
    """Plain text as is; a proxy's HTML error page reduced to its title or visible text."""
    if text[:200].lstrip().lower().startswith(("<!doctype", "<html")) or "</" in text[:500]:
        title = _TITLE.search(text)
        if title and title.group(1).strip():
            return _limit(_SPACE.sub(" ", title.group(1)).strip())
        text = _TAG.sub(" ", text)
    return _limit(_SPACE.sub(" ", text).strip())


def _limit(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
