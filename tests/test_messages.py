import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.messages import coerce_messages
from llmrelay.types import ImagePart, Message, TextPart, ToolCall


def test_string_becomes_one_user_message():
    assert coerce_messages("hi") == (Message(role="user", content="hi"),)


def test_openai_style_dicts():
    msgs = coerce_messages(
        [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
    )
    assert msgs[0] == Message.system("be brief")
    assert msgs[1].parts() == (TextPart("what is this"), ImagePart(url="https://x/y.png", detail="low"))
    assert msgs[2].tool_calls == (ToolCall("c1", "f", '{"a":1}'),)
    assert msgs[3].tool_call_id == "c1"


def test_dict_arguments_are_serialized():
    (m,) = coerce_messages(
        [{"role": "assistant", "tool_calls": [{"id": "c", "name": "f", "arguments": {"x": 1}}]}]
    )
    assert m.tool_calls[0].parsed_arguments() == {"x": 1}


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ([{"role": "wizard", "content": "x"}], "role"),
        ([{"role": "user", "content": 5}], "content must be"),
        ([{"role": "user", "content": [{"type": "audio"}]}], "supported part types"),
        ([42], "is a int"),
        ([{"role": "assistant", "tool_calls": [{"id": "c"}]}], "function name"),
    ],
)
def test_bad_dicts(bad, needle):
    with pytest.raises(InvalidRequestError, match=needle):
        coerce_messages(bad)
