from __future__ import annotations

import json

from llmrelay.observe import AttemptRecord, CallRecord, genai


def test_request_and_response_attributes() -> None:
    r = CallRecord("chat", False, "fast", temperature=0.2, top_p=0.9, max_tokens=100, seed=4)
    assert genai.span_name(r.op, r.requested_model) == "chat fast"
    assert genai.request_attributes(r) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "fast",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.seed": 4,
    }
    r.provider, r.response_model, r.finish_reason = "anthropic", "claude-x-20250101", "length"
    r.input_tokens, r.output_tokens, r.cached_tokens = 12, 34, 5
    r.outcome, r.error_type = "error", "StreamTruncatedError"
    a = genai.response_attributes(r)
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.response.model"] == "claude-x-20250101"
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (12, 34)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 5
    assert a["error.type"] == "StreamTruncatedError"


def test_operation_and_provider_names_follow_the_conventions() -> None:
    assert genai.span_name("embed", "e") == "embeddings e"
    assert genai.provider_name("gemini") == "gcp.gemini"
    assert genai.provider_name("azure") == "azure.ai.openai"
    assert genai.provider_name("mistral") == "mistral_ai"
    assert genai.provider_name("together") == "together"
    assert genai.provider_name(None) == "unknown"


def test_attempt_attributes_name_the_server() -> None:
    a = AttemptRecord(2, "east", "openai", "azure", "gpt-4o", "east.example.com:8443", 0.0)
    attrs = genai.attempt_attributes("chat", a)
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["server.address"] == "east.example.com" and attrs["server.port"] == 8443
    assert attrs["llmrelay.attempt"] == 2 and attrs["gen_ai.request.model"] == "gpt-4o"


def test_content_attributes_only_when_captured() -> None:
    r = CallRecord("chat", False, "m")
    assert genai.content_attributes(r) == {}
    r.prompt, r.completion, r.finish_reason = '[{"role": "user"}]', "hello", "stop"
    attrs = genai.content_attributes(r)
    assert attrs["gen_ai.input.messages"] == '[{"role": "user"}]'
    out = json.loads(str(attrs["gen_ai.output.messages"]))
    assert out == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}
    ]
