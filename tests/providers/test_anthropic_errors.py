"""Anthropic error answers -> the llmrelay error taxonomy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.anthropic import AnthropicAdapter
from llmrelay.wire import Endpoint

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
EP = Endpoint(
    provider="anthropic", model="claude-sonnet-4-5", base_url="https://api.anthropic.com", host="anthropic"
)


def from_fixture(name: str) -> errors.LLMRelayError:
    doc = json.loads((FIXTURES / name).read_text())
    assert doc["_source"]
    return AnthropicAdapter().parse_error(doc["status"], doc["headers"], json.dumps(doc["body"]).encode(), EP)


def from_body(
    status: int, err: dict[str, Any], headers: dict[str, str] | None = None
) -> errors.LLMRelayError:
    body = json.dumps({"type": "error", "error": err}).encode()
    return AnthropicAdapter().parse_error(status, headers or {}, body, EP)


def test_not_found_fixture() -> None:
    e = from_fixture("error_not_found.json")
    assert type(e) is errors.NotFoundError
    assert e.status == 404
    assert e.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
    assert e.code == "not_found_error"
    assert e.provider == "anthropic"
    assert e.model == "claude-sonnet-4-5"
    assert "The requested resource could not be found." in e.message
    assert "model id" in e.message  # the hint
    assert not e.retryable


def test_overloaded_fixture() -> None:
    e = from_fixture("error_overloaded.json")
    assert type(e) is errors.OverloadedError
    assert e.status == 529
    assert e.retryable
    assert e.request_id == "req_018EeWyXxfu5pfWkrYcMdjWG"


def test_rate_limit_fixture_keeps_retry_after() -> None:
    e = from_fixture("error_rate_limit.json")
    assert type(e) is errors.RateLimitError
    assert e.retry_after == 17.0
    assert e.retryable


def test_prompt_too_long_is_a_context_window_error() -> None:
    e = from_fixture("error_prompt_too_long.json")
    assert type(e) is errors.ContextWindowExceededError
    assert isinstance(e, errors.InvalidRequestError)
    assert "208310 tokens" in e.message


def test_authentication_fixture() -> None:
    e = from_fixture("error_authentication.json")
    assert type(e) is errors.AuthenticationError
    assert e.status == 401
    assert "API key" in e.message


def test_request_too_large_fixture() -> None:
    e = from_fixture("error_request_too_large.json")
    assert type(e) is errors.InvalidRequestError
    assert e.code == "request_too_large"
    assert e.status == 413


@pytest.mark.parametrize(
    ("status", "etype", "cls"),
    [
        (400, "invalid_request_error", errors.InvalidRequestError),
        (401, "authentication_error", errors.AuthenticationError),
        (402, "billing_error", errors.QuotaExceededError),
        (403, "permission_error", errors.PermissionDeniedError),
        (404, "not_found_error", errors.NotFoundError),
        (409, "conflict_error", errors.ConflictError),
        (413, "request_too_large", errors.InvalidRequestError),
        (429, "rate_limit_error", errors.RateLimitError),
        (500, "api_error", errors.ServiceUnavailableError),
        (504, "timeout_error", errors.RequestTimeoutError),
        (529, "overloaded_error", errors.OverloadedError),
        (418, "teapot_error", errors.InvalidRequestError),
        (503, "future_error", errors.ServiceUnavailableError),
    ],
)
def test_error_type_mapping(status: int, etype: str, cls: type[errors.APIError]) -> None:
    e = from_body(status, {"type": etype, "message": "m"})
    assert type(e) is cls
    assert e.status == status
    assert e.code == etype


def test_context_limit_wording_with_max_tokens() -> None:
    msg = "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000, decrease input length"
    assert type(from_body(400, {"type": "invalid_request_error", "message": msg})) is (
        errors.ContextWindowExceededError
    )


def test_out_of_credit_and_spend_limit_are_quota_errors() -> None:
    credit = from_body(
        400,
        {
            "type": "invalid_request_error",
            "message": "Your credit balance is too low to access the Anthropic API.",
        },
    )
    assert type(credit) is errors.QuotaExceededError
    assert not credit.retryable
    spend = from_body(
        429,
        {
            "type": "rate_limit_error",
            "message": "limit",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    )
    assert type(spend) is errors.QuotaExceededError


def test_request_id_from_body_when_header_missing() -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": "api_error", "message": "boom"}, "request_id": "req_body"}
    ).encode()
    assert AnthropicAdapter().parse_error(500, {}, body, EP).request_id == "req_body"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", errors.ServiceUnavailableError),
        (529, b"", errors.OverloadedError),
        (401, b"{}", errors.AuthenticationError),
        (500, b'{"error": "plain string"}', errors.ServiceUnavailableError),
    ],
)
def test_non_json_or_odd_bodies_are_tolerated(status: int, body: bytes, cls: type[errors.APIError]) -> None:
    e = AnthropicAdapter().parse_error(status, {"request-id": "req_x", "retry-after": "3"}, body, EP)
    assert type(e) is cls
    assert e.status == status
    assert e.request_id == "req_x"
    assert e.retry_after == 3.0
    assert str(status) in e.message


def test_key_echoed_by_a_provider_is_redacted() -> None:
    e = from_body(401, {"type": "authentication_error", "message": "bad key sk-ant-api03-abcdefghijkl"})
    assert "sk-ant-api03-abcdefghijkl" not in str(e)
    assert "sk-ant-api03-abcdefghijkl" not in repr(e)
