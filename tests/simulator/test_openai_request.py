from __future__ import annotations

from typing import Any

import pytest

from llmrelay.simulator.engine import conversation_of
from llmrelay.simulator.openai_checks import OpenAIError
from llmrelay.simulator.openai_request import IMAGE_TOKENS, parse_chat

USER = {"role": "user", "content": "hi"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}


def chat(**body: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [USER], **body}


def refused(body: dict[str, Any]) -> OpenAIError:
    with pytest.raises(OpenAIError) as caught:
        parse_chat(body)
    return caught.value


# --------------------------------------------------------------------------- accepted requests


def test_minimal_request() -> None:
    call = parse_chat(chat())
    assert (call.model, call.stream, call.include_usage, call.n, call.max_tokens) == (
        "gpt-4o",
        False,
        False,
        1,
        None,
    )
    assert call.inp.conversation == "hi"
    assert call.inp.message_count == 1
    assert not call.inp.last_is_tool_result
    assert call.inp.tools == ()


def test_full_request_maps_every_option() -> None:
    body = chat(
        messages=[
            {"role": "developer", "content": "Be brief. Answer in JSON."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "21C"},
        ],
        temperature=0.2,
        top_p=1,
        presence_penalty=-2,
        frequency_penalty=2,
        max_completion_tokens=50,
        n=2,
        seed=9,
        stop=["END"],
        stream=True,
        stream_options={"include_usage": True},
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        response_format={"type": "json_object"},
        user="u1",
        logprobs=True,
        top_logprobs=2,
        metadata={"k": "v"},
        store=False,
    )
    call = parse_chat(body)
    assert call.stream and call.include_usage
    assert call.n == 2
    assert call.max_tokens == 50
    inp = call.inp
    assert inp.conversation == conversation_of(["Be brief. Answer in JSON.", "see", "21C"])
    assert inp.last_is_tool_result
    assert inp.message_count == 4
    assert inp.extra_prompt_tokens == IMAGE_TOKENS
    assert inp.tool_choice == ("tool", "get_weather")
    assert inp.tools[0].name == "get_weather" and inp.tools[0].description == "Weather"
    assert inp.json_mode == "object"
    assert inp.stop == ("END",)
    assert inp.seed == 9
    assert inp.max_tokens == 50
    assert not inp.parallel_tool_calls


def test_nulls_mean_absent() -> None:
    call = parse_chat(chat(temperature=None, max_tokens=None, tools=None, stop=None, response_format=None))
    assert call.max_tokens is None


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert parse_chat(chat(max_tokens=10)).max_tokens == 10
    assert parse_chat(chat(max_tokens=10, max_completion_tokens=5)).max_tokens == 5


def test_json_schema_format_and_string_stop() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    call = parse_chat(
        chat(
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}, stop="\n"
        )
    )
    assert call.inp.json_mode == "schema"
    assert call.inp.schema == schema
    assert call.inp.stop == ("\n",)
    assert parse_chat(chat(response_format={"type": "text"})).inp.json_mode is None


def test_model_override_for_azure() -> None:
    assert parse_chat({"messages": [USER]}, model="my-deployment").model == "my-deployment"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        ({"messages": [USER]}, None, None, "you must provide a model parameter"),
        (
            {"model": 4, "messages": [USER]},
            "model",
            "invalid_type",
            "Invalid type for 'model': expected a string, but got an integer instead.",
        ),
        ({"model": "m"}, "messages", "missing_required_parameter", "Missing required parameter: 'messages'."),
        ({"model": "m", "messages": []}, "messages", "empty_array", "Invalid 'messages': empty array."),
        ({"model": "m", "messages": "hi"}, "messages", "invalid_type", "expected an array"),
        (
            {"model": "m", "messages": [{"content": "x"}]},
            "messages[0].role",
            "missing_required_parameter",
            "'messages[0].role'",
        ),
        (
            {"model": "m", "messages": [{"role": "bot", "content": "x"}]},
            "messages[0].role",
            "invalid_value",
            "Invalid value: 'bot'. Supported values are: 'system', 'assistant', 'user', 'function', "
            "'tool', and 'developer'.",
        ),
        (
            {"model": "m", "messages": [{"role": "user"}]},
            "messages[0].content",
            "missing_required_parameter",
            "content",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages[0].content[0].type",
            "invalid_value",
            "'video'",
        ),
        (
            chat(temperature=2.5),
            "temperature",
            "decimal_above_max_value",
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
        ),
        (chat(temperature=-0.1), "temperature", "decimal_below_min_value", "Expected a value >= 0"),
        (
            chat(temperature="hot"),
            "temperature",
            "invalid_type",
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        ),
        (chat(top_p=1.5), "top_p", "decimal_above_max_value", "<= 1"),
        (chat(presence_penalty=-3), "presence_penalty", "decimal_below_min_value", ">= -2"),
        (chat(frequency_penalty=2.1), "frequency_penalty", "decimal_above_max_value", "<= 2"),
        (
            chat(max_tokens=0),
            "max_tokens",
            "integer_below_min_value",
            "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        ),
        (chat(max_completion_tokens=-5), "max_completion_tokens", "integer_below_min_value", ">= 1"),
        (chat(max_tokens=1.5), "max_tokens", "invalid_type", "expected an integer, but got a decimal"),
        (chat(n=0), "n", "integer_below_min_value", ">= 1"),
        (chat(stream="yes"), "stream", "invalid_type", "expected a boolean"),
        (chat(stop=["a", "b", "c", "d", "e"]), "stop", "array_above_max_length", "maximum length 4"),
        (chat(stop=5), "stop", "invalid_type", "stop"),
        (
            chat(stream_options={"include_usage": True}),
            "stream_options",
            None,
            "only allowed when 'stream' is enabled",
        ),
        (
            chat(tool_choice="auto"),
            "tool_choice",
            None,
            "'tool_choice' is only allowed when 'tools' are specified.",
        ),
        (chat(tools=[WEATHER], tool_choice="always"), "tool_choice", "invalid_value", "'always'"),
        (
            chat(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}}),
            "tool_choice",
            "invalid_value",
            "'nope'",
        ),
        (
            chat(tools=[{"type": "function", "function": {"name": "bad name"}}]),
            "tools[0].function.name",
            "invalid_value",
            "does not match pattern",
        ),
        (chat(tools=[{"type": "retrieval"}]), "tools[0].type", "invalid_value", "'retrieval'"),
        (chat(tools={"a": 1}), "tools", "invalid_type", "expected an array"),
        (chat(response_format={"type": "json_object"}), "messages", None, "must contain the word 'json'"),
        (chat(response_format={"type": "xml"}), "response_format.type", "invalid_value", "'xml'"),
        (
            chat(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
            "response_format.json_schema.name",
            "missing_required_parameter",
            "name",
        ),
        (chat(user=5), "user", "invalid_type", "expected a string"),
        (chat(temprature=1), None, None, "Unrecognized request argument supplied: temprature"),
    ],
)
def test_refusals_match_the_real_api(
    body: dict[str, Any], param: str | None, code: str | None, message: str
) -> None:
    error = refused(body)
    assert error.status == 400
    assert error.type == "invalid_request_error"
    assert error.param == param
    assert error.code == code
    assert message in error.message
    assert error.body() == {
        "error": {"message": error.message, "type": "invalid_request_error", "param": param, "code": code}
    }


def test_tool_message_without_a_preceding_call() -> None:
    error = refused(chat(messages=[USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]))
    assert error.param == "messages.[1].role"
    assert "must be a response to a preceeding message with 'tool_calls'" in error.message


def test_tool_message_answering_an_unknown_call() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_9", "content": "x"},
    ]
    error = refused(chat(messages=messages))
    assert error.param == "messages.[2].tool_call_id"
    assert "'call_9'" in error.message


def test_tool_message_needs_its_call_id() -> None:
    messages = [USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "content": "x"}]
    assert refused(chat(messages=messages)).param == "messages[2].tool_call_id"


def test_unanswered_tool_calls() -> None:
    second = {**CALL, "id": "call_2"}
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [CALL, second]},
        {"role": "tool", "tool_call_id": "call_1", "content": "x"},
        USER,
    ]
    error = refused(chat(messages=messages))
    assert error.param == "messages.[1].role"
    assert error.message.endswith("did not have response messages: call_2")
    error = refused(chat(messages=[USER, {"role": "assistant", "tool_calls": [CALL]}]))
    assert "call_1" in error.message


def test_tool_turn_after_user_turn_cannot_reuse_old_calls() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "x"},
        USER,
        {"role": "tool", "tool_call_id": "call_1", "content": "again"},
    ]
    assert refused(chat(messages=messages)).param == "messages.[4].role"


def test_malformed_tool_calls_in_history() -> None:
    bad = {"id": "call_1", "type": "function", "function": {"name": "f"}}
    error = refused(chat(messages=[USER, {"role": "assistant", "tool_calls": [bad]}]))
    assert error.param == "messages[1].tool_calls[0].function.arguments"
