"""ChatRequest -> OpenAI Chat Completions JSON body: every field, message kind and option."""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay import errors
from llmrelay.hosts import HOSTS
from llmrelay.providers.openai import OpenAIAdapter
from llmrelay.providers.openai_request import max_tokens_field
from llmrelay.secrets import Secret
from llmrelay.types import (
    JSON_OBJECT,
    ChatRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.wire import Endpoint

ADAPTER = OpenAIAdapter()


def endpoint(**kw: Any) -> Endpoint:
    """An endpoint as the resolver builds it: the host row's options, then the given ones."""
    base: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o",
        "base_url": "https://api.openai.com/v1",
        "api_key": Secret("sk-test-0123456789"),
        "host": "openai",
    }
    base.update(kw)
    row = HOSTS.get(base["host"])
    base["options"] = {**(row.options if row is not None else {}), **kw.get("options", {})}
    return Endpoint(**base)


def body(req: ChatRequest, ep: Endpoint | None = None, *, stream: bool = False) -> dict[str, Any]:
    http = ADAPTER.chat_request(req, ep or endpoint(), stream=stream)
    assert http.body is not None
    decoded: dict[str, Any] = json.loads(http.body)
    assert http.body == json.dumps(decoded, separators=(",", ":")).encode()  # compact, no spaces
    return decoded


def chat(*messages: Message, **kw: Any) -> ChatRequest:
    return ChatRequest(model="alias", messages=list(messages) or [Message.user("Hello!")], **kw)


# --------------------------------------------------------------------------- scalar options


def test_minimal_body_omits_every_unset_field() -> None:
    assert body(chat()) == {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}]}


def test_body_model_falls_back_to_request_model_when_endpoint_has_none() -> None:
    assert body(chat(), endpoint(model=""))["model"] == "alias"


def test_every_sampling_field_maps() -> None:
    req = chat(
        temperature=0.2,
        top_p=0.9,
        max_tokens=256,
        stop=("\n\n", "END"),
        seed=42,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        user="user-1234",
        parallel_tool_calls=False,
        metadata={"team": "a"},
        tags=("x",),
    )
    b = body(req)
    assert b == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hello!"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 256,
        "stop": ["\n\n", "END"],
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "parallel_tool_calls": False,
        "user": "user-1234",
    }


def test_zero_values_are_sent_not_dropped() -> None:
    b = body(chat(temperature=0.0, max_tokens=0, seed=0, presence_penalty=0.0))
    assert b["temperature"] == 0.0
    assert b["max_completion_tokens"] == 0
    assert b["seed"] == 0
    assert b["presence_penalty"] == 0.0


@pytest.mark.parametrize(
    ("host", "options", "field"),
    [
        ("openai", {}, "max_completion_tokens"),
        ("azure", {}, "max_completion_tokens"),
        ("groq", {}, "max_tokens"),
        ("vllm", {}, "max_tokens"),
        ("simulator", {}, "max_tokens"),
        ("", {}, "max_tokens"),
        ("openai", {"max_tokens_field": "max_tokens"}, "max_tokens"),
        ("together", {"max_tokens_field": "max_completion_tokens"}, "max_completion_tokens"),
    ],
)
def test_max_tokens_field_choice(host: str, options: dict[str, Any], field: str) -> None:
    ep = endpoint(host=host, options=options)
    assert max_tokens_field(ep) == field
    b = body(chat(max_tokens=99), ep)
    assert b[field] == 99
    other = "max_tokens" if field == "max_completion_tokens" else "max_completion_tokens"
    assert other not in b


def test_the_host_row_not_the_host_name_picks_the_field() -> None:
    # an "openai" endpoint built without the row's options gets the protocol default
    bare = Endpoint("openai", "gpt-4o", "https://api.openai.com/v1", host="openai")
    assert max_tokens_field(bare) == "max_tokens"
    assert HOSTS["openai"].options["max_tokens_field"] == "max_completion_tokens"


def test_an_unknown_max_tokens_field_is_a_config_error() -> None:
    ep = endpoint(host="groq", options={"max_tokens_field": "max_new_tokens"})
    with pytest.raises(
        errors.ConfigError, match="max_tokens_field must be one of max_tokens, max_completion_tokens"
    ):
        body(chat(max_tokens=5), ep)


def test_stream_flags() -> None:
    assert body(chat(), stream=True)["stream"] is True
    assert body(chat(), stream=True)["stream_options"] == {"include_usage": True}
    plain = body(chat(), stream=False)
    assert "stream" not in plain
    assert "stream_options" not in plain
    no_usage = body(chat(), endpoint(options={"stream_usage": False}), stream=True)
    assert no_usage["stream"] is True
    assert "stream_options" not in no_usage


def test_extra_is_merged_last_and_may_override() -> None:
    req = chat(temperature=1.0, extra={"temperature": 0.1, "reasoning_effort": "low", "n": 1})
    b = body(req)
    assert b["temperature"] == 0.1
    assert b["reasoning_effort"] == "low"
    assert b["n"] == 1


def test_extra_may_override_stream_options() -> None:
    b = body(chat(extra={"stream_options": {"include_usage": False}}), stream=True)
    assert b["stream_options"] == {"include_usage": False}


def test_non_finite_numbers_are_rejected_clearly() -> None:
    with pytest.raises(errors.InvalidRequestError, match="NaN"):
        body(chat(temperature=math.nan))


def test_unserialisable_extra_is_rejected_clearly() -> None:
    with pytest.raises(errors.InvalidRequestError, match="JSON"):
        body(chat(extra={"x": object()}))


# --------------------------------------------------------------------------- messages


def test_system_user_assistant_tool_messages() -> None:
    call = ToolCall(id="call_abc123", name="get_weather", arguments='{"city":"Paris"}')
    req = chat(
        Message.system("You are terse."),
        Message(role="user", content="Weather in Paris?", name="alice"),
        Message.assistant(tool_calls=[call]),
        Message.tool("call_abc123", '{"temp_c": 18}', name="get_weather"),
        Message.assistant("It is 18 °C."),
    )
    assert body(req)["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?", "name": "alice"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_abc123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        # OpenAI's tool message has no name field: the call id links it
        {"role": "tool", "tool_call_id": "call_abc123", "content": '{"temp_c": 18}'},
        {"role": "assistant", "content": "It is 18 °C."},
    ]


def test_assistant_with_text_and_tool_calls_keeps_both() -> None:
    msg = Message.assistant("Let me check.", tool_calls=[ToolCall(id="c1", name="f", arguments="")])
    out = body(chat(Message.user("q"), msg))["messages"][1]
    assert out["content"] == "Let me check."
    assert out["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}


def test_empty_assistant_turn_gets_empty_content() -> None:
    assert body(chat(Message.user("q"), Message.assistant()))["messages"][1] == {
        "role": "assistant",
        "content": "",
    }


def test_user_parts_text_and_images() -> None:
    parts = [
        TextPart("What is in these images?"),
        ImagePart(url="https://example.com/a.jpg", detail="high"),
        ImagePart.from_bytes(b"\x89PNG", "image/png"),
        ImagePart(url="data:image/jpeg;base64,AAAA", detail="low"),
    ]
    assert body(chat(Message.user(parts)))["messages"][0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these images?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA", "detail": "low"}},
        ],
    }


def test_system_text_parts_become_text_part_list() -> None:
    msg = Message(role="system", content=[TextPart("a"), TextPart("b")])
    assert body(chat(msg, Message.user("q")))["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }


def test_system_role_can_be_renamed_to_developer() -> None:
    b = body(
        chat(Message.system("Be brief."), Message.user("q")), endpoint(options={"system_role": "developer"})
    )
    assert b["messages"][0] == {"role": "developer", "content": "Be brief."}


def test_image_outside_user_turn_is_rejected() -> None:
    msg = Message(role="system", content=[ImagePart(url="https://example.com/a.png")])
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[0\].*user"):
        body(chat(msg))


def test_inline_image_without_media_type_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="media_type"):
        body(chat(Message.user([ImagePart(data="AAAA")])))


def test_empty_image_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="url or base64"):
        body(chat(Message.user([ImagePart()])))


def test_tool_message_without_call_id_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[1\].*tool_call_id"):
        body(chat(Message.user("q"), Message(role="tool", content="x")))


# --------------------------------------------------------------------------- tools and formats


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}


def test_tools_and_tool_choice_modes() -> None:
    tools = [
        Tool(
            "get_current_weather", "Get the current weather in a given location", WEATHER_SCHEMA, strict=True
        ),
        Tool("noop"),
    ]
    b = body(chat(tools=tools, tool_choice="required"))
    assert b["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "parameters": WEATHER_SCHEMA,
                "strict": True,
            },
        },
        {
            "type": "function",
            "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    assert b["tool_choice"] == "required"
    assert body(chat(tools=tools, tool_choice="auto"))["tool_choice"] == "auto"
    assert body(chat(tools=tools, tool_choice="none"))["tool_choice"] == "none"
    forced = body(chat(tools=tools, tool_choice=ForcedTool("noop")))["tool_choice"]
    assert forced == {"type": "function", "function": {"name": "noop"}}


def test_empty_tool_list_is_sent_as_given() -> None:
    assert body(chat(tools=[]))["tools"] == []


def test_read_only_mappings_in_schemas_serialise() -> None:
    params = MappingProxyType({"type": "object", "properties": MappingProxyType({"q": {"type": "string"}})})
    b = body(chat(tools=[Tool("search", parameters=params)]))
    assert b["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {"q": {"type": "string"}},
    }


def test_invalid_tool_choice_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="tool_choice"):
        body(chat(tool_choice="any"))  # type: ignore[arg-type]


def test_response_formats() -> None:
    assert body(chat(response_format=ResponseFormat()))["response_format"] == {"type": "text"}
    assert body(chat(response_format=JSON_OBJECT))["response_format"] == {"type": "json_object"}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    rf = ResponseFormat.json_schema(schema, name="answer")
    assert body(chat(response_format=rf))["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    loose = ResponseFormat(type="json_schema", schema=schema)
    assert body(chat(response_format=loose))["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }


def test_json_schema_without_schema_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="needs a schema"):
        body(chat(response_format=ResponseFormat(type="json_schema")))


# --------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(max_size=40), min_size=1, max_size=5),
    temperature=st.none() | st.floats(min_value=0, max_value=2, allow_nan=False),
)
def test_any_text_survives_the_round_trip(texts: list[str], temperature: float | None) -> None:
    req = ChatRequest(model="m", messages=[Message.user(t) for t in texts], temperature=temperature)
    b = body(req)
    assert [m["content"] for m in b["messages"]] == texts
    assert b.get("temperature") == temperature
