"""OpenAIAdapter as a whole: addressing (URLs, auth, headers, Azure), embeddings requests,
and the round trip through the adapter's public methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers import load_adapter
from llmrelay.providers.openai import OpenAIAdapter
from llmrelay.secrets import Secret
from llmrelay.types import ChatRequest, EmbeddingRequest, Message
from llmrelay.wire import Endpoint, HttpRequest, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai"
KEY = "sk-proj-TESTKEY0123456789abcdef"
ADAPTER = OpenAIAdapter()


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def endpoint(**kw: Any) -> Endpoint:
    base: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "base_url": "https://api.openai.com/v1",
        "api_key": Secret(KEY),
        "host": "openai",
    }
    base.update(kw)
    return Endpoint(**base)


def request(**kw: Any) -> ChatRequest:
    return ChatRequest(model=kw.pop("model", "my-alias"), messages=[Message.user("Hello!")], **kw)


def body_of(http: HttpRequest) -> dict[str, Any]:
    assert http.body is not None
    decoded: dict[str, Any] = json.loads(http.body)
    return decoded


def header(http: HttpRequest, name: str) -> str | None:
    found = [v for k, v in http.headers.items() if k.lower() == name.lower()]
    assert len(found) <= 1, f"header {name} sent {len(found)} times"
    return found[0] if found else None


# --------------------------------------------------------------------------- registry


def test_registry_loads_this_adapter() -> None:
    adapter = load_adapter("openai")
    assert isinstance(adapter, OpenAIAdapter)
    assert adapter.name == "openai"


# --------------------------------------------------------------------------- URL and auth


def test_openai_url_auth_and_content_type() -> None:
    http = ADAPTER.chat_request(request(), endpoint(base_url="https://api.openai.com/v1/"), stream=False)
    assert http.method == "POST"
    assert http.url == "https://api.openai.com/v1/chat/completions"
    assert header(http, "authorization") == f"Bearer {KEY}"
    assert header(http, "content-type") == "application/json"
    assert header(http, "accept") == "application/json"
    assert KEY not in repr(http)


def test_stream_request_accepts_event_stream() -> None:
    http = ADAPTER.chat_request(request(), endpoint(), stream=True)
    assert header(http, "accept") == "text/event-stream"


def test_endpoint_query_is_appended() -> None:
    ep = endpoint(query={"tenant": "a b", "x": "1"})
    http = ADAPTER.chat_request(request(), ep, stream=False)
    assert http.url == "https://api.openai.com/v1/chat/completions?tenant=a+b&x=1"


def test_compatible_local_host_without_key_sends_no_auth() -> None:
    ep = endpoint(base_url="http://localhost:11434/v1", api_key=None, host="ollama", model="llama3.2")
    http = ADAPTER.chat_request(request(max_tokens=50), ep, stream=False)
    assert http.url == "http://localhost:11434/v1/chat/completions"
    assert header(http, "authorization") is None
    assert header(http, "api-key") is None
    body = body_of(http)
    assert body["model"] == "llama3.2"
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body


def test_empty_key_sends_no_auth() -> None:
    http = ADAPTER.chat_request(request(), endpoint(api_key=Secret("")), stream=False)
    assert header(http, "authorization") is None


def test_endpoint_headers_then_request_headers_override_case_insensitively() -> None:
    ep = endpoint(
        host="openrouter",
        base_url="https://openrouter.ai/api/v1",
        headers={"HTTP-Referer": "https://app.example", "X-Title": "My App", "OpenAI-Organization": "org-1"},
    )
    req = request(extra_headers={"x-title": "Override", "X-Trace": "t-1"})
    http = ADAPTER.chat_request(req, ep, stream=False)
    assert header(http, "http-referer") == "https://app.example"
    assert header(http, "x-title") == "Override"
    assert header(http, "openai-organization") == "org-1"
    assert header(http, "x-trace") == "t-1"
    assert header(http, "authorization") == f"Bearer {KEY}"


def test_endpoint_may_replace_authorization() -> None:
    ep = endpoint(headers={"authorization": "Bearer other-token"})
    http = ADAPTER.chat_request(request(), ep, stream=False)
    assert header(http, "authorization") == "Bearer other-token"


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="base_url"):
        ADAPTER.chat_request(request(), endpoint(base_url=""), stream=False)


# --------------------------------------------------------------------------- Azure


def azure(**kw: Any) -> Endpoint:
    options = {"azure": True, **kw.pop("options", {})}
    return endpoint(
        host="azure",
        base_url=kw.pop("base_url", "https://contoso.openai.azure.com/"),
        model=kw.pop("model", "my-gpt4o"),
        api_key=Secret("0123456789abcdef0123456789abcdef"),
        options=options,
        **kw,
    )


def test_azure_deployment_url_style() -> None:
    ep = azure(options={"api_version": "2024-10-21"})
    http = ADAPTER.chat_request(request(max_tokens=100), ep, stream=False)
    assert http.url == (
        "https://contoso.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    )
    assert header(http, "api-key") == "0123456789abcdef0123456789abcdef"
    assert header(http, "authorization") is None
    body = body_of(http)
    assert body["model"] == "my-gpt4o"  # as the official AzureOpenAI client also sends it
    assert body["max_completion_tokens"] == 100


def test_azure_base_given_with_openai_suffix_is_not_doubled() -> None:
    ep = azure(base_url="https://contoso.openai.azure.com/openai", options={"api_version": "2024-10-21"})
    http = ADAPTER.chat_request(request(), ep, stream=False)
    assert http.url.startswith("https://contoso.openai.azure.com/openai/deployments/my-gpt4o/")


def test_azure_deployment_name_is_url_quoted_and_query_merged() -> None:
    ep = azure(model="team a/gpt", options={"api_version": "2025-01-01-preview"}, query={"x": "1"})
    http = ADAPTER.chat_request(request(), ep, stream=False)
    assert http.url == (
        "https://contoso.openai.azure.com/openai/deployments/team%20a%2Fgpt/chat/completions"
        "?api-version=2025-01-01-preview&x=1"
    )


def test_azure_v1_api_without_api_version() -> None:
    ep = azure(base_url="https://contoso.openai.azure.com/openai/v1/")
    http = ADAPTER.chat_request(request(max_tokens=7), ep, stream=True)
    assert http.url == "https://contoso.openai.azure.com/openai/v1/chat/completions"
    body = body_of(http)
    assert body["model"] == "my-gpt4o"
    assert body["max_completion_tokens"] == 7
    assert body["stream_options"] == {"include_usage": True}


def test_azure_entra_token_uses_bearer() -> None:
    ep = azure(options={"api_version": "2024-10-21", "auth": "bearer"})
    http = ADAPTER.chat_request(request(), ep, stream=False)
    assert header(http, "authorization") == "Bearer 0123456789abcdef0123456789abcdef"
    assert header(http, "api-key") is None


def test_azure_option_without_host_still_uses_max_completion_tokens() -> None:
    ep = endpoint(host="", options={"azure": True}, base_url="https://x.openai.azure.com")
    assert "max_completion_tokens" in body_of(ADAPTER.chat_request(request(max_tokens=3), ep, stream=False))


# --------------------------------------------------------------------------- purity


def test_request_is_not_mutated_and_build_is_deterministic() -> None:
    extra = {"reasoning_effort": "low"}
    headers = {"X-A": "1"}
    req = request(extra=extra, extra_headers=headers, metadata={"team": "x"}, tags=("t",))
    first = ADAPTER.chat_request(req, endpoint(), stream=True)
    second = ADAPTER.chat_request(req, endpoint(), stream=True)
    assert first.body == second.body
    assert extra == {"reasoning_effort": "low"}
    assert headers == {"X-A": "1"}
    body = body_of(first)
    assert "metadata" not in body
    assert "tags" not in body


# --------------------------------------------------------------------------- embeddings


def test_embed_request_body_and_url() -> None:
    req = EmbeddingRequest(model="alias", inputs=("a", "b"), dimensions=256, user="u-1")
    http = ADAPTER.embed_request(req, endpoint(model="text-embedding-3-small"))
    assert http.url == "https://api.openai.com/v1/embeddings"
    assert header(http, "authorization") == f"Bearer {KEY}"
    assert body_of(http) == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "encoding_format": "float",
        "dimensions": 256,
        "user": "u-1",
    }


def test_embed_request_minimal_and_extra() -> None:
    req = EmbeddingRequest(
        model="m", inputs=["x"], extra={"encoding_format": "base64"}, extra_headers={"X-B": "2"}
    )
    http = ADAPTER.embed_request(req, endpoint(model="m"))
    assert body_of(http) == {"model": "m", "input": ["x"], "encoding_format": "base64"}
    assert header(http, "x-b") == "2"


def test_embed_request_azure_styles() -> None:
    req = EmbeddingRequest(model="m", inputs=["x"])
    http = ADAPTER.embed_request(req, azure(model="emb", options={"api_version": "2024-10-21"}))
    assert (
        http.url
        == "https://contoso.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"
    )
    assert body_of(http)["model"] == "emb"  # as the official AzureOpenAI client also sends it
    http = ADAPTER.embed_request(req, azure(model="emb"))
    assert http.url == "https://contoso.openai.azure.com/openai/v1/embeddings"
    assert body_of(http)["model"] == "emb"


def test_embed_request_rejects_a_bare_string() -> None:
    with pytest.raises(errors.InvalidRequestError, match="sequence of strings"):
        ADAPTER.embed_request(EmbeddingRequest(model="m", inputs="hello"), endpoint())


# --------------------------------------------------------------------------- round trip through the adapter


def test_adapter_parses_chat_stream_error_and_embeddings() -> None:
    ep = endpoint()
    resp = ADAPTER.parse_chat(json.dumps(fixture("chat_completion.json")["body"]).encode(), ep)
    assert resp.text == "Hello! How can I assist you today?"

    parser = ADAPTER.stream_parser(ep)
    assert parser.done is False
    parser.feed(SSEEvent("[DONE]"))
    assert parser.done is True

    err_fx = fixture("error_server.json")
    err = ADAPTER.parse_error(err_fx["status"], err_fx["headers"], json.dumps(err_fx["body"]).encode(), ep)
    assert isinstance(err, errors.ServiceUnavailableError)

    emb = ADAPTER.parse_embed(json.dumps(fixture("embeddings.json")["body"]).encode(), ep)
    assert emb.vectors == [[0.0023064255, -0.009327292, -0.0028842222]]
