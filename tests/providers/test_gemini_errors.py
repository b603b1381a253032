"""Gemini error bodies -> typed errors: shapes beyond the golden fixtures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.gemini_errors import gemini_error
from llmrelay.secrets import Secret
from llmrelay.wire import Endpoint

KEY = "AIzaSyREALLOOKINGKEY_0123456789"
EP = Endpoint(
    provider="gemini",
    model="gemini-2.5-pro",
    base_url="https://generativelanguage.googleapis.com",
    api_key=Secret(KEY),
)


def status_body(code: int, status: str | None, message: str = "m", details: list[Any] | None = None) -> bytes:
    err: dict[str, Any] = {"code": code, "message": message}
    if status is not None:
        err["status"] = status
    if details is not None:
        err["details"] = details
    return json.dumps({"error": err}).encode()


@pytest.mark.parametrize(
    ("http", "status", "kind"),
    [
        (400, "INVALID_ARGUMENT", errors.InvalidRequestError),
        (400, "FAILED_PRECONDITION", errors.InvalidRequestError),
        (401, "UNAUTHENTICATED", errors.AuthenticationError),
        (403, "PERMISSION_DENIED", errors.PermissionDeniedError),
        (404, "NOT_FOUND", errors.NotFoundError),
        (409, "ABORTED", errors.ConflictError),
        (429, "RESOURCE_EXHAUSTED", errors.RateLimitError),
        (500, "INTERNAL", errors.ServiceUnavailableError),
        (503, "UNAVAILABLE", errors.OverloadedError),
        (504, "DEADLINE_EXCEEDED", errors.RequestTimeoutError),
        # no status string: fall back on the HTTP status
        (401, None, errors.AuthenticationError),
        (503, None, errors.OverloadedError),
        (502, None, errors.ServiceUnavailableError),
        (418, None, errors.InvalidRequestError),
    ],
)
def test_status_strings(http: int, status: str | None, kind: type[errors.APIError]) -> None:
    err = gemini_error(http, {}, status_body(http, status), EP)
    assert type(err) is kind
    assert err.code == status
    assert err.status == http


def test_non_json_body() -> None:
    err = gemini_error(502, {"x-request-id": "rq-1"}, b"<html><body>Bad Gateway</body></html>", EP)
    assert type(err) is errors.ServiceUnavailableError
    assert "Bad Gateway" in err.message
    assert err.request_id == "rq-1"
    assert err.code is None
    empty = gemini_error(503, {"retry-after": "7"}, b"", EP)
    assert type(empty) is errors.OverloadedError
    assert empty.retry_after == 7.0
    assert "HTTP 503" in empty.message


def test_list_wrapped_and_bare_status_objects() -> None:
    wrapped = json.dumps([{"error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}}]).encode()
    assert type(gemini_error(404, {}, wrapped, EP)) is errors.NotFoundError
    bare = json.dumps({"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED"}).encode()
    assert type(gemini_error(429, {}, bare, EP)) is errors.RateLimitError


def test_retry_after_prefers_retry_info_then_headers() -> None:
    info = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
    assert (
        gemini_error(
            429, {"retry-after": "9"}, status_body(429, "RESOURCE_EXHAUSTED", details=info), EP
        ).retry_after
        == 1.5
    )
    assert (
        gemini_error(429, {"retry-after": "9"}, status_body(429, "RESOURCE_EXHAUSTED"), EP).retry_after == 9.0
    )
    as_object = [
        {
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": {"seconds": 2, "nanos": 500000000},
        }
    ]
    assert (
        gemini_error(429, {}, status_body(429, "RESOURCE_EXHAUSTED", details=as_object), EP).retry_after
        == 2.5
    )
    assert gemini_error(429, {}, status_body(429, "RESOURCE_EXHAUSTED"), EP).retry_after is None


def test_request_id_from_header_or_request_info() -> None:
    info = [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "req-42"}]
    assert gemini_error(500, {}, status_body(500, "INTERNAL", details=info), EP).request_id == "req-42"
    assert (
        gemini_error(
            500, {"x-goog-request-id": "g-1"}, status_body(500, "INTERNAL", details=info), EP
        ).request_id
        == "g-1"
    )
    assert gemini_error(500, {}, status_body(500, "INTERNAL"), EP).request_id is None


@pytest.mark.parametrize(
    "message",
    [
        "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
        "Request exceeds the maximum number of tokens allowed",
    ],
)
def test_context_window_messages(message: str) -> None:
    err = gemini_error(400, {}, status_body(400, "INVALID_ARGUMENT", message), EP)
    assert type(err) is errors.ContextWindowExceededError


def test_other_invalid_argument_is_plain_invalid_request() -> None:
    err = gemini_error(
        400,
        {},
        status_body(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"),
        EP,
    )
    assert type(err) is errors.InvalidRequestError


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("API_KEY_INVALID", errors.AuthenticationError),
        ("API_KEY_EXPIRED", errors.AuthenticationError),
        ("API_KEY_SERVICE_BLOCKED", errors.PermissionDeniedError),
        ("SERVICE_DISABLED", errors.PermissionDeniedError),
        ("CONSUMER_SUSPENDED", errors.PermissionDeniedError),
    ],
)
def test_error_info_reasons(reason: str, kind: type[errors.APIError]) -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
    ]
    status = "INVALID_ARGUMENT" if kind is errors.AuthenticationError else "PERMISSION_DENIED"
    assert type(gemini_error(400, {}, status_body(400, status, details=details), EP)) is kind


def test_api_key_message_without_details_is_auth() -> None:
    err = gemini_error(
        400, {}, status_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."), EP
    )
    assert type(err) is errors.AuthenticationError


def test_quota_exceeded_variants() -> None:
    depleted = status_body(
        429, "RESOURCE_EXHAUSTED", "Your prepayment credits are depleted. Please go to AI Studio."
    )
    assert type(gemini_error(429, {}, depleted, EP)) is errors.QuotaExceededError
    minute = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "PerMinute"}]}
    ]
    assert (
        type(gemini_error(429, {}, status_body(429, "RESOURCE_EXHAUSTED", details=minute), EP))
        is errors.RateLimitError
    )


def test_key_in_message_and_body_is_redacted() -> None:
    echoed = status_body(
        400, "INVALID_ARGUMENT", f"bad key {KEY}", details=[{"@type": "x", "note": f"k={KEY}"}]
    )
    err = gemini_error(400, {}, echoed, EP)
    assert KEY not in err.message and KEY not in str(err) and KEY not in repr(err)
    assert KEY not in json.dumps(err.body)
    plain = gemini_error(400, {}, f"oops {KEY}".encode(), EP)
    assert KEY not in plain.message


def test_provider_name_follows_host() -> None:
    hosted = Endpoint(provider="gemini", model="m", base_url="http://sim", host="simulator")
    assert gemini_error(500, {}, status_body(500, "INTERNAL"), hosted).provider == "simulator"


def test_endpoint_key_is_redacted_even_when_not_key_shaped() -> None:
    odd = Endpoint(provider="gemini", model="m", base_url="http://x", api_key=Secret("proxy-token-7f3a"))
    err = gemini_error(400, {}, status_body(400, "INVALID_ARGUMENT", "token proxy-token-7f3a refused"), odd)
    assert "proxy-token-7f3a" not in err.message
