"""ChatRequest -> Responses API body."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from llmrelay import errors
from llmrelay.providers.openai_responses_request import build_body, count_body
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

EP = Endpoint("responses", "gpt-5-mini", "https://api.openai.com/v1", host="openai-responses")
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def body(*messages: Message, stream: bool = False, **kw: Any) -> dict[str, Any]:
    return build_body(ChatRequest(model="alias", messages=list(messages), **kw), EP, stream=stream)


def test_leading_system_messages_become_instructions() -> None:
    b = body(Message.system("Be brief."), Message.system("Answer in French."), Message.user("Hi"))
    assert b["model"] == "gpt-5-mini"
    assert b["instructions"] == "Be brief.\n\nAnswer in French."
    assert b["input"] == [{"type": "message", "role": "user", "content": "Hi"}]
    assert "stream" not in b


def test_a_later_system_message_stays_an_input_item_with_the_configured_role() -> None:
    ep = Endpoint("responses", "m", "https://x/v1", options={"system_role": "developer"})
    req = ChatRequest(model="m", messages=[Message.user("a"), Message.system("now be terse")])
    b = build_body(req, ep, stream=True)
    assert "instructions" not in b and b["stream"] is True
    assert b["input"][1] == {"type": "message", "role": "developer", "content": "now be terse"}


def test_user_parts_and_images() -> None:
    img = ImagePart.from_bytes(b"\x89PNG", "image/png")
    b = body(Message.user([TextPart("look"), img, ImagePart(url="https://x/y.png", detail="low")]))
    content = b["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "look"}
    assert content[1]["type"] == "input_image" and content[1]["image_url"].startswith(
        "data:image/png;base64,"
    )
    assert content[1]["detail"] == "auto"
    assert content[2] == {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}


def test_an_image_outside_a_user_turn_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"messages\[1\].*only in user messages"):
        body(Message.user("a"), Message(role="assistant", content=[ImagePart(url="https://x")]))


def test_a_tool_loop_becomes_function_call_and_output_items() -> None:
    call = ToolCall("call_1", "get_weather", '{"city":"Oslo"}')
    b = body(
        Message.user("weather?"),
        Message.assistant("Let me look.", [call]),
        Message.tool("call_1", "sunny"),
    )
    assert b["input"][1:] == [
        {"type": "message", "role": "assistant", "content": "Let me look."},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]


def test_a_tool_message_needs_its_call_id() -> None:
    with pytest.raises(errors.InvalidRequestError, match="tool_call_id"):
        body(Message.user("a"), Message(role="tool", content="x"))


def test_reasoning_state_replays_items_in_their_order_with_ids() -> None:
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "gAAA=="}
    state = {
        "responses": {
            "items": [
                reasoning,
                {"type": "message", "id": "msg_1"},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1"},
            ]
        }
    }
    turn = Message(
        role="assistant",
        content="Checking.",
        tool_calls=(ToolCall("call_1", "f", "{}"),),
        provider_state=state,
    )
    b = body(Message.user("q"), turn, Message.tool("call_1", "done"))
    assert b["input"][1] == reasoning and b["input"][1] is not reasoning  # verbatim, never aliased
    assert b["input"][2] == {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
    }
    assert b["input"][3] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
        "id": "fc_1",
    }


def test_calls_the_state_does_not_know_follow_the_stored_ones() -> None:
    state = {"responses": {"items": [{"id": "rs_1", "type": "reasoning", "summary": []}]}}
    turn = Message(role="assistant", content="t", tool_calls=(ToolCall("c2", "g"),), provider_state=state)
    items = body(Message.user("q"), turn, Message.tool("c2", "r"))["input"]
    assert [i["type"] for i in items] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert "id" not in items[3]


def test_an_empty_assistant_turn_sends_nothing_not_even_its_reasoning() -> None:
    state = {"responses": {"items": [{"id": "rs_1", "type": "reasoning", "summary": []}]}}
    turn = Message(role="assistant", content=None, provider_state=state)
    assert body(Message.user("q"), turn, Message.user("again"))["input"] == [
        {"type": "message", "role": "user", "content": "q"},
        {"type": "message", "role": "user", "content": "again"},
    ]


def test_other_protocols_state_is_ignored_and_bad_state_refused() -> None:
    other = Message(role="assistant", content="x", provider_state={"anthropic": {"content": []}})
    assert body(Message.user("q"), other)["input"][1] == {
        "type": "message",
        "role": "assistant",
        "content": "x",
    }
    broken = Message(
        role="assistant", content="x", provider_state={"responses": {"items": [{"type": "web"}]}}
    )
    with pytest.raises(errors.InvalidRequestError, match=r'messages\[1\]\.provider_state\["responses"\]'):
        body(Message.user("q"), broken)


def test_sampling_limits_tools_and_formats() -> None:
    tools = [
        Tool("get_weather", "Weather", MappingProxyType(PARAMS)),
        Tool("exact", parameters=PARAMS, strict=True),
    ]
    b = body(
        Message.user("q"),
        temperature=0,
        top_p=0.5,
        max_tokens=64,
        tools=tools,
        tool_choice=ForcedTool("get_weather"),
        parallel_tool_calls=False,
        response_format=ResponseFormat.json_schema(PARAMS, "city"),
        user="u-1",
    )
    assert (b["temperature"], b["top_p"], b["max_output_tokens"], b["user"]) == (0, 0.5, 64, "u-1")
    # Tool.strict=None means "not strict", as on Chat Completions (Responses defaults to strict)
    assert b["tools"][0] == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather",
        "parameters": MappingProxyType(PARAMS),
        "strict": False,
    }
    assert b["tools"][1]["strict"] is True and "description" not in b["tools"][1]
    assert b["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert b["parallel_tool_calls"] is False
    assert b["text"] == {"format": {"type": "json_schema", "name": "city", "schema": PARAMS, "strict": True}}
    assert body(Message.user("json"), response_format=JSON_OBJECT)["text"] == {
        "format": {"type": "json_object"}
    }
    assert body(Message.user("q"), tool_choice="required")["tool_choice"] == "required"


def test_json_schema_without_a_schema_is_refused() -> None:
    with pytest.raises(errors.InvalidRequestError, match="needs a schema"):
        body(Message.user("q"), response_format=ResponseFormat(type="json_schema"))


@pytest.mark.parametrize(
    ("field", "value"), [("stop", ["\n"]), ("seed", 1), ("presence_penalty", 0.1), ("frequency_penalty", 0.2)]
)
def test_fields_the_api_lacks_are_refused_before_sending(field: str, value: Any) -> None:
    with pytest.raises(errors.UnsupportedFeatureError, match=f"ChatRequest.{field}.*Responses API") as info:
        body(Message.user("q"), **{field: value})
    assert info.value.provider == "openai-responses"


def test_extra_wins_but_merges_into_text() -> None:
    b = body(
        Message.user("json please"),
        response_format=JSON_OBJECT,
        extra={"text": {"verbosity": "low"}, "previous_response_id": "resp_1", "store": True},
    )
    assert b["text"] == {"format": {"type": "json_object"}, "verbosity": "low"}
    assert b["previous_response_id"] == "resp_1" and b["store"] is True
    assert "include" not in b


def test_unstored_reasoning_asks_for_encrypted_content() -> None:
    b = body(Message.user("q"), extra={"store": False, "reasoning": {"effort": "low"}})
    assert b["include"] == ["reasoning.encrypted_content"]
    b = body(Message.user("q"), extra={"store": False, "reasoning": {"effort": "low"}, "include": ["x"]})
    assert b["include"] == ["x", "reasoning.encrypted_content"]
    # without reasoning (a model that cannot reason refuses the include), or when stored: untouched
    assert "include" not in body(Message.user("q"), extra={"store": False})
    assert "include" not in body(Message.user("q"), extra={"reasoning": {"effort": "low"}})


def test_the_count_body_keeps_only_prompt_fields() -> None:
    req = ChatRequest(
        model="m",
        messages=[Message.system("s"), Message.user("u")],
        max_tokens=40,
        temperature=0.3,
        tools=[Tool("t")],
    )
    b = count_body(req, EP)
    assert set(b) == {"model", "instructions", "input", "tools"}
