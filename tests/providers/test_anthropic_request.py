"""ChatRequest -> Anthropic Messages request: URL, headers, auth and every body mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.anthropic import JSON_TOOL_NAME, AnthropicAdapter
from llmrelay.secrets import Secret
from llmrelay.types import (
    JSON_OBJECT,
    ChatRequest,
    ContentPart,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.wire import Endpoint

KEY = "sk-ant-api03-test-key-000000"
EP = Endpoint(
    provider="anthropic",
    model="claude-sonnet-4-5",
    base_url="https://api.anthropic.com",
    api_key=Secret(KEY),
    host="anthropic",
)
WEATHER = Tool(
    name="get_weather",
    description="Get the current weather in a given location",
    parameters={"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)


def req(*messages: Message, **kw: Any) -> ChatRequest:
    return ChatRequest(model="anthropic/claude-sonnet-4-5", messages=messages or (Message.user("hi"),), **kw)


def body(r: ChatRequest, ep: Endpoint = EP, *, stream: bool = False) -> dict[str, Any]:
    http = AnthropicAdapter().chat_request(r, ep, stream=stream)
    assert http.body is not None
    out: dict[str, Any] = json.loads(http.body)
    return out


def with_options(**options: Any) -> Endpoint:
    return Endpoint(
        provider="anthropic", model=EP.model, base_url=EP.base_url, api_key=EP.api_key, options=options
    )


# --------------------------------------------------------------------------- URL and headers


def test_minimal_request_url_headers_and_body() -> None:
    http = AnthropicAdapter().chat_request(req(), EP, stream=False)
    assert http.method == "POST"
    assert http.url == "https://api.anthropic.com/v1/messages"
    assert http.headers["anthropic-version"] == "2023-06-01"
    assert http.headers["content-type"] == "application/json"
    assert http.headers["x-api-key"] == KEY
    assert "authorization" not in http.headers
    assert http.body is not None
    assert json.loads(http.body) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert KEY not in repr(http)


@pytest.mark.parametrize(
    ("base", "query", "expected"),
    [
        ("https://api.anthropic.com/", {}, "https://api.anthropic.com/v1/messages"),
        ("https://proxy.example/anthropic", {}, "https://proxy.example/anthropic/v1/messages"),
        ("https://proxy.example/v1", {}, "https://proxy.example/v1/messages"),
        ("https://api.anthropic.com", {"beta": "true"}, "https://api.anthropic.com/v1/messages?beta=true"),
    ],
)
def test_url_building(base: str, query: dict[str, str], expected: str) -> None:
    ep = Endpoint(provider="anthropic", model="m", base_url=base, query=query)
    assert AnthropicAdapter().chat_request(req(), ep, stream=False).url == expected


def test_bearer_auth_and_version_option() -> None:
    ep = Endpoint(
        provider="anthropic",
        model="m",
        base_url="https://gw.example",
        api_key=Secret("tok-123456"),
        options={"auth": "bearer", "version": "2099-01-01"},
    )
    headers = AnthropicAdapter().chat_request(req(), ep, stream=False).headers
    assert headers["authorization"] == "Bearer tok-123456"
    assert "x-api-key" not in headers
    assert headers["anthropic-version"] == "2099-01-01"


def test_no_key_no_auth_header() -> None:
    ep = Endpoint(provider="anthropic", model="m", base_url="http://simulator.local")
    headers = AnthropicAdapter().chat_request(req(), ep, stream=False).headers
    assert "x-api-key" not in headers
    assert "authorization" not in headers


def test_unknown_auth_style_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="bearer"):
        AnthropicAdapter().chat_request(req(), with_options(auth="basic"), stream=False)


def test_endpoint_then_request_headers_case_insensitive_and_betas_combined() -> None:
    ep = Endpoint(
        provider="anthropic",
        model="m",
        base_url="https://api.anthropic.com",
        headers={"Anthropic-Beta": "prompt-caching-2024-07-31", "X-Team": "a"},
    )
    r = req(extra_headers={"anthropic-beta": "context-1m-2025-08-07", "x-team": "b"})
    headers = AnthropicAdapter().chat_request(r, ep, stream=False).headers
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,context-1m-2025-08-07"
    assert headers["x-team"] == "b"
    assert "X-Team" not in headers


def test_stream_flag_and_accept_header() -> None:
    http = AnthropicAdapter().chat_request(req(), EP, stream=True)
    assert http.headers["accept"] == "text/event-stream"
    assert http.body is not None
    assert json.loads(http.body)["stream"] is True
    assert "stream" not in body(req())


# --------------------------------------------------------------------------- system and messages


def test_single_system_message_is_a_string() -> None:
    b = body(req(Message.system("Be terse."), Message.user("hi")))
    assert b["system"] == "Be terse."
    assert b["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_all_system_messages_are_hoisted_into_text_blocks() -> None:
    b = body(
        req(
            Message.system("One."),
            Message.user("hi"),
            Message(role="system", content=[TextPart("Two."), TextPart("Three.")]),
            Message.assistant("hello"),
        )
    )
    assert b["system"] == [
        {"type": "text", "text": "One."},
        {"type": "text", "text": "Two."},
        {"type": "text", "text": "Three."},
    ]
    assert [m["role"] for m in b["messages"]] == ["user", "assistant"]


def test_system_image_is_rejected() -> None:
    bad = Message(role="system", content=[ImagePart(url="https://x/cat.png")])
    with pytest.raises(errors.InvalidRequestError, match="system"):
        body(req(bad, Message.user("hi")))


def test_only_system_messages_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="at least one user message"):
        body(ChatRequest(model="m", messages=[Message.system("alone")]))


def test_empty_user_message_is_rejected_and_empty_assistant_skipped() -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[0\].*no content"):
        body(req(Message.user("")))
    b = body(req(Message.user("a"), Message.assistant(None), Message.user("b")))
    assert b["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_consecutive_same_role_turns_are_merged() -> None:
    b = body(req(Message.user("a"), Message.user("b"), Message.assistant("c"), Message.assistant("d")))
    assert b["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}]},
    ]


def test_images_base64_data_url_and_remote_url() -> None:
    parts: list[ContentPart] = [
        TextPart("what is this?"),
        ImagePart.from_bytes(b"\x89PNG", "image/png", detail="high"),
        ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
        ImagePart(url="https://upload.wikimedia.org/cat.jpg"),
    ]
    content = body(req(Message.user(parts)))["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw=="}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.jpg"}},
    ]


def test_inline_image_without_media_type_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="media type"):
        body(req(Message.user([ImagePart(data="AAAA")])))


def test_tool_round_trip_is_translated_to_tool_use_and_tool_result() -> None:
    calls = [
        ToolCall("toolu_1", "get_weather", '{"location": "Paris"}'),
        ToolCall("toolu_2", "get_weather", ""),
    ]
    b = body(
        req(
            Message.user("weather in Paris and here?"),
            Message.assistant("Checking.", tool_calls=calls),
            Message.tool("toolu_1", "18C"),
            Message.tool("toolu_2", [TextPart("20C")]),  # type: ignore[arg-type]
            Message.user("and tomorrow?"),
            tools=[WEATHER],
        )
    )
    assert b["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris and here?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "20C"}],
                },
                {"type": "text", "text": "and tomorrow?"},
            ],
        },
    ]


def test_tool_results_come_before_text_in_a_merged_user_turn() -> None:
    b = body(
        req(
            Message.user("go"),
            Message.assistant(tool_calls=[ToolCall("t1", "f", "{}")]),
            Message.user("note first"),
            Message.tool("t1", "done"),
        )
    )
    assert [blk["type"] for blk in b["messages"][2]["content"]] == ["tool_result", "text"]


def test_foreign_tool_ids_are_mapped_consistently() -> None:
    b = body(
        req(
            Message.user("go"),
            Message.assistant(tool_calls=[ToolCall("call.abc/1", "f", "{}")]),
            Message.tool("call.abc/1", "ok"),
        )
    )
    assert b["messages"][1]["content"][0]["id"] == "call_abc_1"
    assert b["messages"][2]["content"][0]["tool_use_id"] == "call_abc_1"


@pytest.mark.parametrize(
    ("arguments", "needle"), [("{not json", "not valid JSON"), ("[1, 2]", "not an object")]
)
def test_bad_tool_call_arguments_are_rejected(arguments: str, needle: str) -> None:
    history = req(Message.user("go"), Message.assistant(tool_calls=[ToolCall("t1", "f", arguments)]))
    with pytest.raises(errors.InvalidRequestError, match=needle) as info:
        body(history)
    assert "messages[1]" in str(info.value)
    assert "'f'" in str(info.value)


def test_tool_message_without_id_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="tool_call_id"):
        body(req(Message.user("go"), Message(role="tool", content="x")))


# --------------------------------------------------------------------------- sampling options


def test_sampling_options_stop_sequences_and_user() -> None:
    b = body(req(temperature=0.2, top_p=0.9, max_tokens=100, stop=["\n\n", "END"], user="user-42"))
    assert b["temperature"] == 0.2
    assert b["top_p"] == 0.9
    assert b["max_tokens"] == 100
    assert b["stop_sequences"] == ["\n\n", "END"]
    assert b["metadata"] == {"user_id": "user-42"}


def test_a_lone_stop_string_is_one_sequence() -> None:
    assert body(req(stop="END"))["stop_sequences"] == ["END"]


def test_default_max_tokens_option_and_invalid_max_tokens() -> None:
    assert body(req(), with_options(default_max_tokens=1234))["max_tokens"] == 1234
    assert body(req(max_tokens=0))["max_tokens"] == 0  # cache pre-warming: valid for Anthropic
    with pytest.raises(errors.InvalidRequestError, match="max_tokens"):
        body(req(max_tokens=-1))
    with pytest.raises(errors.InvalidRequestError, match="max_tokens"):
        body(req(), with_options(default_max_tokens="many"))


def test_api_version_2026_10_21_rejects_sampling_options() -> None:
    new = with_options(version="2026-10-21")
    assert "temperature" not in body(req(), new)
    with pytest.raises(errors.UnsupportedFeatureError, match=r"temperature.*2026-10-21.*2023-06-01"):
        body(req(temperature=0.0), new)
    with pytest.raises(errors.UnsupportedFeatureError, match="top_p"):
        body(req(top_p=0.9), new)
    assert body(req(temperature=0.0), with_options(version="2023-06-01"))["temperature"] == 0.0


def test_seed_is_ignored_but_non_zero_penalties_raise() -> None:
    assert "seed" not in body(req(seed=7))
    b = body(req(presence_penalty=0.0, frequency_penalty=0.0))
    assert "presence_penalty" not in b and "frequency_penalty" not in b
    with pytest.raises(errors.UnsupportedFeatureError, match="presence_penalty"):
        body(req(presence_penalty=0.5))
    with pytest.raises(errors.UnsupportedFeatureError, match="frequency_penalty"):
        body(req(frequency_penalty=-1.0))


# --------------------------------------------------------------------------- tools


def test_tool_definitions() -> None:
    strict = Tool(name="lookup", parameters={"type": "object", "properties": {}}, strict=True)
    b = body(req(tools=[WEATHER, strict]))
    assert b["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": dict(WEATHER.parameters),
        },
        {"name": "lookup", "input_schema": {"type": "object", "properties": {}}, "strict": True},
    ]
    assert "tool_choice" not in b


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        (ForcedTool("get_weather"), {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: dict[str, Any]) -> None:
    assert body(req(tools=[WEATHER], tool_choice=choice))["tool_choice"] == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", {"type": "any", "disable_parallel_tool_use": True}),
        (
            ForcedTool("get_weather"),
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        ("none", {"type": "none"}),
    ],
)
def test_parallel_tool_calls_false(choice: Any, expected: dict[str, Any]) -> None:
    b = body(req(tools=[WEATHER], tool_choice=choice, parallel_tool_calls=False))
    assert b["tool_choice"] == expected


def test_tool_choice_errors() -> None:
    with pytest.raises(errors.InvalidRequestError, match="needs tools"):
        body(req(tool_choice="required"))
    with pytest.raises(errors.InvalidRequestError, match="'nope'"):
        body(req(tools=[WEATHER], tool_choice=ForcedTool("nope")))
    with pytest.raises(errors.InvalidRequestError, match="reserved"):
        body(req(tools=[Tool(name=JSON_TOOL_NAME)]))
    # "auto"/"none" without tools are harmless and simply omitted
    assert "tool_choice" not in body(req(tool_choice="none"))


# --------------------------------------------------------------------------- response formats


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "additionalProperties": False,
}


def test_json_schema_uses_native_structured_outputs() -> None:
    b = body(req(response_format=ResponseFormat.json_schema(SCHEMA)))
    assert b["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in b and "tool_choice" not in b


def test_json_schema_output_config_merges_with_extra() -> None:
    r = req(response_format=ResponseFormat.json_schema(SCHEMA), extra={"output_config": {"effort": "low"}})
    assert body(r)["output_config"] == {
        "format": {"type": "json_schema", "schema": SCHEMA},
        "effort": "low",
    }


def test_json_schema_tool_mode_forces_a_tool_with_the_schema() -> None:
    b = body(req(response_format=ResponseFormat.json_schema(SCHEMA)), with_options(structured_outputs="tool"))
    assert "output_config" not in b
    assert b["tools"] == [
        {"name": JSON_TOOL_NAME, "description": b["tools"][0]["description"], "input_schema": SCHEMA}
    ]
    assert b["tool_choice"] == {"type": "tool", "name": JSON_TOOL_NAME}


def test_json_schema_tool_mode_needs_an_object_root_and_a_known_mode() -> None:
    array = ResponseFormat.json_schema({"type": "array", "items": {"type": "string"}})
    with pytest.raises(errors.UnsupportedFeatureError, match="object"):
        body(req(response_format=array), with_options(structured_outputs="tool"))
    with pytest.raises(errors.ConfigError, match="structured_outputs"):
        body(req(response_format=array), with_options(structured_outputs="magic"))


def test_json_object_is_emulated_with_a_forced_free_form_tool() -> None:
    b = body(req(response_format=JSON_OBJECT))
    assert [t["name"] for t in b["tools"]] == [JSON_TOOL_NAME]
    assert b["tools"][0]["input_schema"] == {"type": "object"}
    assert b["tool_choice"] == {"type": "tool", "name": JSON_TOOL_NAME}


def test_json_object_with_caller_tools() -> None:
    b = body(req(response_format=JSON_OBJECT, tools=[WEATHER]))
    assert [t["name"] for t in b["tools"]] == ["get_weather", JSON_TOOL_NAME]
    assert b["tool_choice"] == {"type": "any"}
    forced = body(req(response_format=JSON_OBJECT, tools=[WEATHER], tool_choice=ForcedTool("get_weather")))
    assert [t["name"] for t in forced["tools"]] == ["get_weather"]
    assert forced["tool_choice"] == {"type": "tool", "name": "get_weather"}
    none = body(req(response_format=JSON_OBJECT, tools=[WEATHER], tool_choice="none"))
    assert none["tool_choice"] == {"type": "tool", "name": JSON_TOOL_NAME}


def test_json_object_with_thinking_is_unsupported() -> None:
    r = req(response_format=JSON_OBJECT, extra={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    with pytest.raises(errors.UnsupportedFeatureError, match="thinking"):
        body(r)


def test_text_response_format_changes_nothing() -> None:
    assert body(req(response_format=ResponseFormat())) == body(req())


# --------------------------------------------------------------------------- extra


def test_extra_keys_are_merged_last() -> None:
    b = body(
        req(
            max_tokens=10,
            user="u1",
            extra={
                "max_tokens": 20,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "metadata": {"tenant": "t"},
            },
        )
    )
    assert b["max_tokens"] == 20
    assert b["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert b["metadata"] == {"user_id": "u1", "tenant": "t"}


def test_endpoint_model_wins_over_the_alias() -> None:
    assert body(req())["model"] == "claude-sonnet-4-5"
    ep = Endpoint(provider="anthropic", model="", base_url="https://api.anthropic.com")
    assert body(ChatRequest(model="claude-haiku-4-5", messages=[Message.user("x")]), ep)["model"] == (
        "claude-haiku-4-5"
    )
