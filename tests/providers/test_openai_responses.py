"""The Responses adapter: addressing, auth, count endpoint, refusals, registry."""

from __future__ import annotations

import json

import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter
from llmrelay.providers.openai_responses import ResponsesAdapter
from llmrelay.secrets import Secret
from llmrelay.types import ChatRequest, EmbeddingRequest, Message
from llmrelay.wire import Endpoint

REQ = ChatRequest(model="m", messages=[Message.user("hi")], max_tokens=20, extra_headers={"X-Trace": "1"})
KEY = Secret("sk-secret-123")


def test_registered_under_responses_with_its_traits() -> None:
    adapter = load_adapter("responses")
    assert isinstance(adapter, ResponsesAdapter)
    assert adapter.name == "responses" and adapter.continues_prefill is False
    assert adapter.count_method == "responses:input_tokens"
    assert adapter.token_rules.encoding_for("gpt-4o") == "o200k_base"


def test_openai_url_headers_and_stream_accept() -> None:
    ep = Endpoint("responses", "gpt-4o", "https://api.openai.com/v1/", KEY, host="openai-responses")
    http = ResponsesAdapter().chat_request(REQ, ep, stream=True)
    assert (http.method, http.url) == ("POST", "https://api.openai.com/v1/responses")
    assert http.headers["Authorization"] == "Bearer sk-secret-123"
    assert http.headers["Accept"] == "text/event-stream" and http.headers["X-Trace"] == "1"
    assert json.loads(http.body or b"")["stream"] is True
    assert "sk-secret" not in repr(http)


@pytest.mark.parametrize(
    ("base", "options", "url"),
    [
        ("https://r.openai.azure.com", {"azure": True}, "https://r.openai.azure.com/openai/v1/responses"),
        (
            "https://r.openai.azure.com/openai/v1",
            {"azure": True},
            "https://r.openai.azure.com/openai/v1/responses",
        ),
        (
            "https://r.openai.azure.com/openai",
            {"azure": True, "api_version": "2025-04-01-preview"},
            "https://r.openai.azure.com/openai/responses?api-version=2025-04-01-preview",
        ),
    ],
)
def test_azure_paths_and_api_key(base: str, options: dict[str, object], url: str) -> None:
    ep = Endpoint("responses", "my-deployment", base, KEY, host="azure-responses", options=options)
    http = ResponsesAdapter().chat_request(REQ, ep, stream=False)
    assert http.url == url
    assert http.headers["api-key"] == "sk-secret-123" and "Authorization" not in http.headers
    assert json.loads(http.body or b"")["model"] == "my-deployment"
    bearer = Endpoint("responses", "d", base, KEY, options={**options, "auth": "bearer"})
    assert (
        ResponsesAdapter()
        .chat_request(REQ, bearer, stream=False)
        .headers["Authorization"]
        .startswith("Bearer")
    )


def test_no_key_sends_no_auth_and_query_is_appended() -> None:
    ep = Endpoint(
        "responses", "m", "http://localhost:8000/v1", query={"a": "b"}, headers={"authorization": "X"}
    )
    http = ResponsesAdapter().chat_request(REQ, ep, stream=False)
    assert http.url == "http://localhost:8000/v1/responses?a=b"
    assert http.headers["authorization"] == "X" and "Authorization" not in http.headers


def test_a_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="no base_url"):
        ResponsesAdapter().chat_request(REQ, Endpoint("responses", "m", ""), stream=False)


def test_count_endpoint_request_and_answer() -> None:
    ep = Endpoint("responses", "gpt-4o", "https://api.openai.com/v1", KEY, host="openai-responses")
    adapter = ResponsesAdapter()
    http = adapter.count_request(REQ, ep)
    assert http.url == "https://api.openai.com/v1/responses/input_tokens"
    assert json.loads(http.body or b"") == {
        "model": "gpt-4o",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
    }
    assert adapter.parse_count(b'{"object": "response.input_tokens", "input_tokens": 11}', ep) == 11
    with pytest.raises(errors.MalformedResponseError, match="openai-responses"):
        adapter.parse_count(b'{"object": "response.input_tokens"}', ep)


def test_embeddings_are_refused_clearly() -> None:
    ep = Endpoint("responses", "text-embedding-3-small", "https://api.openai.com/v1", host="openai-responses")
    with pytest.raises(errors.UnsupportedFeatureError, match=r"no embeddings.*'openai' protocol"):
        ResponsesAdapter().embed_request(EmbeddingRequest("m", ["a"]), ep)
    with pytest.raises(errors.UnsupportedFeatureError):
        ResponsesAdapter().parse_embed(b"{}", ep)


def test_error_answers_keep_status_request_id_and_retry_after() -> None:
    ep = Endpoint("responses", "gpt-4o", "https://api.openai.com/v1", KEY, host="openai-responses")
    body = json.dumps(
        {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
    ).encode()
    err = ResponsesAdapter().parse_error(429, {"x-request-id": "req_7", "retry-after": "3"}, body, ep)
    assert isinstance(err, errors.RateLimitError)
    assert (err.status, err.request_id, err.retry_after, err.provider) == (
        429,
        "req_7",
        3.0,
        "openai-responses",
    )
    unknown = json.dumps(
        {"error": {"message": "Unknown parameter: 'stop'.", "param": "stop", "code": "unknown_parameter"}}
    ).encode()
    assert isinstance(ResponsesAdapter().parse_error(400, {}, unknown, ep), errors.InvalidRequestError)
    assert ResponsesAdapter().request_id({"x-request-id": "req_9"}) == "req_9"
