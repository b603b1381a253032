"""ChatRequest -> Gemini wire JSON: every mapping of llmrelay.providers.gemini_request and the
modules it assembles (gemini_contents, gemini_tools, gemini_options), through ``chat_body``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.errors import ConfigError, InvalidRequestError
from llmrelay.providers.gemini_contents import SKIP_SIGNATURE, guess_mime
from llmrelay.providers.gemini_request import (
    chat_body,
    deep_merge,
    embed_body,
    method_url,
    request_headers,
)
from llmrelay.secrets import Secret
from llmrelay.types import (
    JSON_OBJECT,
    ChatRequest,
    EmbeddingRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.wire import Endpoint


def ep(**kw: Any) -> Endpoint:
    base: dict[str, Any] = {
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "base_url": "https://generativelanguage.googleapis.com",
    }
    base.update(kw)
    return Endpoint(**base)


def body(*messages: Message, endpoint: Endpoint | None = None, **kw: Any) -> dict[str, Any]:
    return chat_body(ChatRequest(model="m", messages=list(messages), **kw), endpoint or ep())


# --------------------------------------------------------------------------- URL and headers


@pytest.mark.parametrize(
    ("base_url", "options", "expected"),
    [
        ("https://generativelanguage.googleapis.com", {}, "https://generativelanguage.googleapis.com/v1beta"),
        (
            "https://generativelanguage.googleapis.com/",
            {},
            "https://generativelanguage.googleapis.com/v1beta",
        ),
        (
            "https://generativelanguage.googleapis.com",
            {"api_version": "v1"},
            "https://generativelanguage.googleapis.com/v1",
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta",
            {},
            "https://generativelanguage.googleapis.com/v1beta",
        ),
        (
            "https://generativelanguage.googleapis.com/v1alpha",
            {},
            "https://generativelanguage.googleapis.com/v1alpha",
        ),
        ("https://proxy.local/v1beta", {"api_version": "v1"}, "https://proxy.local/v1"),
        ("http://127.0.0.1:8000/gemini", {}, "http://127.0.0.1:8000/gemini/v1beta"),
        ("https://v1", {}, "https://v1/v1beta"),
    ],
)
def test_method_url_versions(base_url: str, options: dict[str, Any], expected: str) -> None:
    assert method_url(ep(base_url=base_url, options=options), "generateContent") == (
        f"{expected}/models/gemini-2.5-flash:generateContent"
    )


def test_method_url_keeps_resource_names() -> None:
    url = method_url(ep(model="tunedModels/my-model-7"), "generateContent")
    assert url.endswith("/v1beta/tunedModels/my-model-7:generateContent")
    assert method_url(ep(model="models/gemini-2.5-pro"), "x").endswith("/v1beta/models/gemini-2.5-pro:x")


def test_method_url_refuses_key_in_query() -> None:
    with pytest.raises(ConfigError, match="x-goog-api-key"):
        method_url(ep(query={"key": "AIzaSecret123456789"}), "generateContent")


def test_method_url_needs_model_and_base() -> None:
    with pytest.raises(ConfigError, match="model"):
        method_url(ep(model=""), "generateContent")
    with pytest.raises(ConfigError, match="base_url"):
        method_url(ep(base_url=""), "generateContent")


def test_headers_layering_is_case_insensitive() -> None:
    endpoint = ep(api_key=Secret("k-1"), headers={"X-Goog-Api-Key": "k-2", "X-Team": "a"})
    headers = request_headers(endpoint, {"x-team": "b", "X-Extra": "1"})
    assert headers == {
        "content-type": "application/json",
        "x-goog-api-key": "k-2",
        "x-team": "b",
        "x-extra": "1",
    }


def test_headers_without_key() -> None:
    assert "x-goog-api-key" not in request_headers(ep(), None)
    assert "x-goog-api-key" not in request_headers(ep(api_key=Secret("")), None)


# --------------------------------------------------------------------------- contents


def test_roles_and_merging_of_same_role_turns() -> None:
    b = body(
        Message.system("one"),
        Message.user("a"),
        Message.user("b"),
        Message.assistant("c"),
        Message.system("two"),
        Message.assistant("d"),
    )
    assert b["systemInstruction"] == {"parts": [{"text": "one"}, {"text": "two"}]}
    assert b["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
    ]


def test_empty_text_and_empty_turns_are_dropped() -> None:
    b = body(Message.user([TextPart(""), TextPart("x")]), Message.assistant(None), Message.user(""))
    assert b["contents"] == [{"role": "user", "parts": [{"text": "x"}]}]
    assert "systemInstruction" not in b


def test_images() -> None:
    b = body(
        Message.user(
            [
                ImagePart(url="data:image/png;base64,iVBORw0KGgo="),
                ImagePart(data="R0lGOD", media_type="image/gif"),
                ImagePart(url="https://example.com/cat.webp?size=big"),
                ImagePart(url="gs://bucket/photo"),
                ImagePart(url="https://generativelanguage.googleapis.com/v1beta/files/abc-123"),
            ]
        )
    )
    assert b["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/gif", "data": "R0lGOD"}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?size=big"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/photo"}},
        {
            "fileData": {
                "mimeType": "image/jpeg",
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc-123",
            }
        },
    ]


def test_image_data_without_media_type_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="media_type"):
        body(Message.user([ImagePart(data="AAAA")]))


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        ("https://x/a.PNG", "image/png"),
        ("https://x/a.jpeg", "image/jpeg"),
        ("https://x/a", "image/jpeg"),
        ("https://x/doc.pdf", "application/pdf"),
    ],
)
def test_guess_mime(url: str, mime: str) -> None:
    assert guess_mime(url) == mime


def test_tool_calls_and_results() -> None:
    b = body(
        Message.user("weather in Paris and Rome?"),
        Message.assistant(
            "Let me check.",
            [
                ToolCall("c1", "get_weather", '{"city":"Paris"}'),
                ToolCall("c2", "get_weather", '{"city":"Rome"}'),
            ],
        ),
        Message.tool("c1", '{"temp": 21, "sky": "clear"}'),
        Message.tool("c2", "rainy, 14C"),
        Message.user("thanks"),
        endpoint=ep(model="gemini-2.5-flash"),
    )
    model_turn, results = b["contents"][1], b["contents"][2]
    assert model_turn == {
        "role": "model",
        "parts": [
            {"text": "Let me check."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
        ],
    }
    # consecutive tool results and the next user text share one user turn
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 21, "sky": "clear"}}},
            {"functionResponse": {"name": "get_weather", "response": {"result": "rainy, 14C"}}},
            {"text": "thanks"},
        ],
    }
    assert len(b["contents"]) == 3


def test_non_object_json_tool_result_is_wrapped() -> None:
    b = body(Message.assistant(None, [ToolCall("c", "f")]), Message.tool("c", "[1, 2]"))
    assert b["contents"][1]["parts"][0]["functionResponse"]["response"] == {"result": "[1, 2]"}


def test_tool_result_name_comes_from_latest_call_with_that_id() -> None:
    b = body(
        Message.assistant(None, [ToolCall("call_0", "first")]),
        Message.tool("call_0", "{}"),
        Message.assistant(None, [ToolCall("call_0", "second")]),
        Message.tool("call_0", "{}"),
    )
    names = [c["parts"][0]["functionResponse"]["name"] for c in b["contents"] if c["role"] == "user"]
    assert names == ["first", "second"]


def test_tool_result_without_known_call_uses_message_name_or_fails() -> None:
    b = body(Message.tool("zz", "{}", name="lookup"))
    assert b["contents"][0]["parts"][0]["functionResponse"]["name"] == "lookup"
    with pytest.raises(InvalidRequestError, match=r"'zz'.*Message\.name"):
        body(Message.tool("zz", "{}"))


def test_bad_tool_call_arguments_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match=r"'c9'.*JSON object"):
        body(Message.assistant(None, [ToolCall("c9", "f", "[1]")]))
    with pytest.raises(InvalidRequestError, match="JSON object"):
        body(Message.assistant(None, [ToolCall("c9", "f", "{not json")]))
    assert body(Message.assistant(None, [ToolCall("c", "f", "")]))["contents"][0]["parts"] == [
        {"functionCall": {"name": "f", "args": {}}}
    ]


def test_call_ids_only_on_request() -> None:
    history = (Message.assistant(None, [ToolCall("c1", "f", "{}")]), Message.tool("c1", "{}"))
    plain = body(*history)
    assert "id" not in plain["contents"][0]["parts"][0]["functionCall"]
    assert "id" not in plain["contents"][1]["parts"][0]["functionResponse"]
    with_ids = body(*history, endpoint=ep(options={"send_call_ids": True}))
    assert with_ids["contents"][0]["parts"][0]["functionCall"]["id"] == "c1"
    assert with_ids["contents"][1]["parts"][0]["functionResponse"]["id"] == "c1"


@pytest.mark.parametrize(
    ("model", "options", "signed"),
    [
        ("gemini-3-pro-preview", {}, True),
        ("gemini-flash-latest", {}, True),
        ("models/gemini-2.5-flash", {}, False),
        ("gemini-2.0-flash", {}, False),
        ("gemini-1.5-pro", {}, False),
        ("gemma-3-27b-it", {}, False),
        ("gemini-2.5-flash", {"thought_signatures": True}, True),
        ("gemini-3-pro-preview", {"thought_signatures": False}, False),
    ],
)
def test_skip_signature_on_first_call_of_each_step(model: str, options: dict[str, Any], signed: bool) -> None:
    b = body(
        Message.assistant(None, [ToolCall("a", "f"), ToolCall("b", "g")]),
        Message.tool("a", "{}"),
        Message.tool("b", "{}"),
        Message.assistant(None, [ToolCall("c", "h")]),
        Message.tool("c", "{}"),
        endpoint=ep(model=model, options=options),
    )
    model_parts = [p for c in b["contents"] if c["role"] == "model" for p in c["parts"]]
    expected = [SKIP_SIGNATURE, None, SKIP_SIGNATURE] if signed else [None, None, None]
    assert [p.get("thoughtSignature") for p in model_parts] == expected


# --------------------------------------------------------------------------- generation config


def test_generation_config_maps_and_omits_none() -> None:
    b = body(Message.user("x"), temperature=0.0, max_tokens=64, stop=["a", "b"], seed=3)
    assert b["generationConfig"] == {
        "temperature": 0.0,
        "maxOutputTokens": 64,
        "stopSequences": ["a", "b"],
        "seed": 3,
    }
    b = body(Message.user("x"), top_p=0.5, presence_penalty=0.1, frequency_penalty=-0.2)
    assert b["generationConfig"] == {"topP": 0.5, "presencePenalty": 0.1, "frequencyPenalty": -0.2}
    assert "generationConfig" not in body(Message.user("x"), user="u-1", parallel_tool_calls=False)


def test_response_formats() -> None:
    assert "generationConfig" not in body(Message.user("x"), response_format=ResponseFormat())
    assert body(Message.user("x"), response_format=JSON_OBJECT)["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    cfg = body(Message.user("x"), response_format=ResponseFormat.json_schema(schema))["generationConfig"]
    assert cfg == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    with pytest.raises(InvalidRequestError, match="no schema"):
        body(Message.user("x"), response_format=ResponseFormat(type="json_schema"))


# --------------------------------------------------------------------------- tools


def test_tool_declarations() -> None:
    params = {
        "type": "object",
        "properties": {"city": {"type": "string", "const": "Paris"}},
        "required": ["city"],
    }
    b = body(
        Message.user("x"),
        tools=[
            Tool("get_weather", "Weather now", params),
            Tool("ping"),
            Tool("no_desc", None, {"type": "object"}),
        ],
    )
    assert b["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather now", "parametersJsonSchema": params},
                {"name": "ping"},
                {"name": "no_desc"},
            ]
        }
    ]
    assert "tools" not in body(Message.user("x"), tools=[])


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (ForcedTool("f"), {"mode": "ANY", "allowedFunctionNames": ["f"]}),
    ],
)
def test_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    b = body(Message.user("x"), tools=[Tool("f")], tool_choice=choice)
    assert b["toolConfig"] == {"functionCallingConfig": config}


def test_forced_tool_must_exist_and_bad_mode_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match=r"'g'.*\(f\)"):
        body(Message.user("x"), tools=[Tool("f")], tool_choice=ForcedTool("g"))
    with pytest.raises(InvalidRequestError, match="tool_choice"):
        body(Message.user("x"), tools=[Tool("f")], tool_choice="sometimes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- extra


def test_extra_merges_last_and_deep() -> None:
    b = body(
        Message.user("x"),
        temperature=0.3,
        extra={
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}, "temperature": 0.9},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "contents": [{"role": "user", "parts": [{"text": "override"}]}],
        },
    )
    assert b["generationConfig"] == {"temperature": 0.9, "thinkingConfig": {"thinkingBudget": 0}}
    assert b["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert b["contents"] == [{"role": "user", "parts": [{"text": "override"}]}]


def test_deep_merge_does_not_mutate() -> None:
    base = {"a": {"b": 1}}
    merged = deep_merge(base, {"a": {"c": 2}})
    assert merged == {"a": {"b": 1, "c": 2}}
    assert base == {"a": {"b": 1}}


def test_body_is_json_serialisable() -> None:
    b = body(Message.user("héllo ✓"), tools=[Tool("f")], tool_choice="auto")
    assert json.loads(json.dumps(b)) == b


# --------------------------------------------------------------------------- embeddings


def test_embed_body_with_extra_per_item() -> None:
    req = EmbeddingRequest(model="m", inputs=["a"], extra={"taskType": "RETRIEVAL_QUERY"})
    assert embed_body(req, ep(model="gemini-embedding-001")) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "a"}]},
                "taskType": "RETRIEVAL_QUERY",
            }
        ]
    }


def test_embed_body_needs_inputs() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        embed_body(EmbeddingRequest(model="m", inputs=[]), ep())
