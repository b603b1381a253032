"""Responses API error events and failed responses -> the taxonomy."""

from __future__ import annotations

import pytest

from llmrelay import errors
from llmrelay.providers.openai_responses_errors import event_error, failed_error
from llmrelay.secrets import Secret
from llmrelay.wire import Endpoint

EP = Endpoint(
    "responses", "gpt-5", "https://api.openai.com/v1", Secret("sk-live-abcdef123456"), host="openai-responses"
)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("server_error", errors.ServiceUnavailableError),
        ("rate_limit_exceeded", errors.RateLimitError),
        ("invalid_prompt", errors.InvalidRequestError),
        ("invalid_image_url", errors.InvalidRequestError),
        ("bio_policy", errors.ContentFilterError),
        ("image_content_policy_violation", errors.ContentFilterError),
        ("something_new", errors.ServiceUnavailableError),
    ],
)
def test_failed_response_codes(code: str, cls: type[errors.APIError]) -> None:
    err = failed_error({"status": "failed", "error": {"code": code, "message": "why"}}, EP)
    assert type(err) is cls
    assert (err.code, err.provider, err.model, err.message) == (code, "openai-responses", "gpt-5", "why")


def test_failed_without_an_error_object_still_explains() -> None:
    err = failed_error({"status": "failed"}, EP)
    assert "failed without an explanation" in err.message


def test_error_event_shapes() -> None:
    flat = event_error({"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": None}, EP)
    assert isinstance(flat, errors.RateLimitError) and flat.code == "rate_limit_exceeded"
    nested = event_error({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}, EP)
    assert isinstance(nested, errors.InvalidRequestError)
    empty = event_error({"type": "error"}, EP)
    assert "without a message" in empty.message


def test_keys_never_leak_into_errors() -> None:
    err = event_error({"type": "error", "message": "key sk-live-abcdef123456 rejected"}, EP)
    assert "sk-live-abcdef123456" not in str(err) and "sk-live-abcdef123456" not in repr(err.body)
