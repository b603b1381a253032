"""Non-2xx OpenAI(-compatible) answers -> llmrelay's typed errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_errors import error_from_payload, parse_error
from llmrelay.secrets import Secret
from llmrelay.wire import Endpoint

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai"
EP = Endpoint(
    provider="openai",
    model="gpt-4o",
    base_url="https://api.openai.com/v1",
    api_key=Secret("sk-proj-REALKEY0123456789"),
    host="openai",
)


def from_fixture(name: str, ep: Endpoint = EP) -> errors.LLMRelayError:
    fx: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return parse_error(fx["status"], fx["headers"], json.dumps(fx["body"]).encode(), ep)


# --------------------------------------------------------------------------- golden fixtures


def test_invalid_api_key() -> None:
    err = from_fixture("error_invalid_api_key.json")
    assert type(err) is errors.AuthenticationError
    assert err.status == 401
    assert err.code == "invalid_api_key"
    assert err.request_id == "req_7a3c1e9f0b2d4c6e8a1f3b5d7c9e0a2b"
    assert err.provider == "openai"
    assert err.model == "gpt-4o"
    assert err.retryable is False
    assert err.message.startswith("Incorrect API key provided")
    assert "check the API key" in err.message  # the fix is named
    assert "req_7a3c1e9f0b2d4c6e8a1f3b5d7c9e0a2b" in str(err)


def test_context_length_exceeded() -> None:
    err = from_fixture("error_context_length.json")
    assert type(err) is errors.ContextWindowExceededError
    assert isinstance(err, errors.InvalidRequestError)
    assert err.status == 400
    assert err.code == "context_length_exceeded"
    assert "maximum context length is 4097 tokens" in err.message
    assert err.retryable is False


@pytest.mark.parametrize("name", ["error_context_length_deepseek.json", "error_vllm_context.json"])
def test_context_overflow_recognised_by_message_on_compatible_servers(name: str) -> None:
    err = from_fixture(name)
    assert type(err) is errors.ContextWindowExceededError
    assert err.status == 400


def test_vllm_top_level_fields() -> None:
    err = from_fixture("error_vllm_context.json")
    assert err.code == "400"
    assert err.message.startswith("This model's maximum context length is 8192 tokens")


def test_rate_limit_with_reset_headers() -> None:
    err = from_fixture("error_rate_limit.json")
    assert type(err) is errors.RateLimitError
    assert err.retryable is True
    assert err.status == 429
    assert err.code == "rate_limit_exceeded"
    assert err.retry_after == pytest.approx(0.644)
    assert err.request_id == "req_5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f"


def test_insufficient_quota_is_not_retryable() -> None:
    err = from_fixture("error_insufficient_quota.json")
    assert type(err) is errors.QuotaExceededError
    assert isinstance(err, errors.RateLimitError)
    assert err.retryable is False
    assert err.status == 429
    assert "billing" in err.message


def test_server_error() -> None:
    err = from_fixture("error_server.json")
    assert type(err) is errors.ServiceUnavailableError
    assert err.retryable is True
    assert err.status == 500
    assert err.code == "server_error"
    assert err.request_id == "req_0d2f4b6a8c0e2a4c6e8b0d2f4a6c8e0d"


def test_azure_content_filter() -> None:
    ep = Endpoint(provider="openai", model="dep", base_url="https://x.openai.azure.com", host="azure")
    err = from_fixture("error_azure_content_filter.json", ep)
    assert type(err) is errors.ContentFilterError
    assert err.status == 400
    assert err.code == "content_filter"
    assert err.provider == "azure"
    assert err.request_id == "f7d1c2a4-8e3b-4c5d-9a6f-0b1e2d3c4a5b"
    filter_result = err.body["error"]["innererror"]["content_filter_result"]
    assert filter_result["hate"] == {"filtered": True, "severity": "medium"}


# --------------------------------------------------------------------------- retry-after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "20"}, 20.0),
        ({"retry-after-ms": "1500", "retry-after": "20"}, 1.5),
        ({"x-ratelimit-reset-tokens": "6m0s"}, 360.0),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float) -> None:
    err = parse_error(429, headers, b'{"error": {"message": "slow down", "code": "rate_limit_exceeded"}}', EP)
    assert err.retry_after == pytest.approx(expected)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Rate limit reached for gpt-4o ... Please try again in 1.8s. Visit ...", 1.8),
        ("Rate limit reached ... Please try again in 644ms.", 0.644),
        ("Requests to the ChatCompletions_Create Operation ... Please retry after 20 seconds.", 20.0),
        ("Too many requests", None),
    ],
)
def test_retry_after_from_message_when_headers_are_missing(message: str, expected: float | None) -> None:
    body = json.dumps({"error": {"message": message, "code": "429"}}).encode()
    err = parse_error(429, {}, body, EP)
    assert type(err) is errors.RateLimitError
    assert err.retry_after == (pytest.approx(expected) if expected is not None else None)


def test_retry_after_kept_on_503() -> None:
    err = parse_error(
        503, {"retry-after": "3"}, b'{"error": {"message": "The engine is currently overloaded"}}', EP
    )
    assert type(err) is errors.OverloadedError
    assert err.retry_after == 3.0


# --------------------------------------------------------------------------- status mapping and refinements


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.InvalidRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (408, errors.RequestTimeoutError),
        (409, errors.ConflictError),
        (422, errors.InvalidRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServiceUnavailableError),
        (502, errors.ServiceUnavailableError),
        (503, errors.ServiceUnavailableError),
    ],
)
def test_status_classes(status: int, kind: type[errors.APIError]) -> None:
    err = parse_error(status, {}, b'{"error": {"message": "something"}}', EP)
    assert type(err) is kind
    assert err.status == status


def test_openrouter_402_means_out_of_credits() -> None:
    body = b'{"error": {"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/credits"}}'
    err = parse_error(402, {}, body, EP)
    assert type(err) is errors.QuotaExceededError
    assert err.retryable is False


def test_model_not_found_names_the_fix() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "The model `gpt-9` does not exist",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        }
    ).encode()
    err = parse_error(404, {}, body, EP)
    assert type(err) is errors.NotFoundError
    assert "does not exist" in err.message
    assert "deployment name" in err.message


def test_content_policy_violation_code() -> None:
    body = b'{"error": {"message": "blocked", "code": "content_policy_violation"}}'
    assert type(parse_error(400, {}, body, EP)) is errors.ContentFilterError


def test_context_message_on_a_rate_limit_is_not_a_context_error() -> None:
    body = b'{"error": {"message": "maximum context length reached in queue", "code": "rate_limit_exceeded"}}'
    assert type(parse_error(429, {}, body, EP)) is errors.RateLimitError


# --------------------------------------------------------------------------- body dialects


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": "Invalid model name"}', "Invalid model name"),
        (b'{"detail": "Not authenticated"}', "Not authenticated"),
        (
            b'{"detail": [{"loc": ["body", "messages", 0, "role"], '
            b'"msg": "field required", "type": "missing"}]}',
            "messages.0.role: field required",
        ),
        (b'{"detail": {"message": "nested"}}', "nested"),
        (
            b'[{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}]',
            "API key not valid.",
        ),
        (b"upstream connect error or disconnect/reset before headers", "upstream connect error"),
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>"
            b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            "502 Bad Gateway",
        ),
        (b"<html><body><h1>Service   Unavailable</h1></body></html>", "Service Unavailable"),
        (b'"just a string"', "just a string"),
        (b'{"unexpected": true}', '{"unexpected":true}'),
    ],
)
def test_compatible_server_bodies(body: bytes, message: str) -> None:
    err = parse_error(400, {}, body, EP)
    assert message in err.message
    assert err.status == 400


def test_empty_body_gets_a_default_message() -> None:
    err = parse_error(502, {}, b"", EP)
    assert type(err) is errors.ServiceUnavailableError
    assert err.message == "openai answered HTTP 502 without an explanation"


def test_very_long_messages_are_truncated() -> None:
    err = parse_error(500, {}, ("x" * 5000).encode(), EP)
    assert len(err.message) <= 500


def test_request_id_header_variants() -> None:
    body = b'{"error": {"message": "x"}}'
    assert parse_error(500, {"apim-request-id": "azure-1"}, body, EP).request_id == "azure-1"
    assert parse_error(500, {"x-request-id": "req_1", "apim-request-id": "a"}, body, EP).request_id == "req_1"
    assert parse_error(500, {}, body, EP).request_id is None


# --------------------------------------------------------------------------- secrets


def test_echoed_key_never_reaches_message_repr_or_body() -> None:
    azure_key = "0123456789abcdef0123456789abcdef"  # Azure keys match no generic key pattern
    ep = Endpoint(provider="openai", model="d", base_url="https://x", api_key=Secret(azure_key), host="azure")
    body = json.dumps(
        {"error": {"message": f"Access denied for key {azure_key}", "code": "401", "key": azure_key}}
    )
    err = parse_error(401, {}, body.encode(), ep)
    for text in (err.message, str(err), repr(err), json.dumps(err.body)):
        assert azure_key not in text
    assert "[REDACTED]" in err.message


def test_openai_shaped_keys_are_scrubbed_even_without_the_endpoint_key() -> None:
    ep = Endpoint(provider="openai", model="m", base_url="https://x")
    err = parse_error(401, {}, b'{"error": {"message": "bad key sk-abcdefghijklmnop"}}', ep)
    assert "sk-abcdefghijklmnop" not in str(err)


# --------------------------------------------------------------------------- without a status


def test_error_from_payload_uses_body_status_or_codes() -> None:
    assert (
        type(error_from_payload({"error": {"message": "x", "status": 401}}, EP)) is errors.AuthenticationError
    )
    err = error_from_payload({"error": {"message": "x", "code": "insufficient_quota"}}, EP)
    assert type(err) is errors.QuotaExceededError
    assert err.status is None
    assert type(error_from_payload({"error": {"message": "x", "type": "invalid_request_error"}}, EP)) is (
        errors.InvalidRequestError
    )
